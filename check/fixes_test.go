package check

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPatchCommandIsOneCommand: the printed kubectl command passes the
// namespace, name and patch as single arguments, whatever they hold, so
// that copying it into a shell runs kubectl and nothing else. Valid names
// are printed unquoted, as before.
func TestPatchCommandIsOneCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		namespace, name string
		plain           bool // printed without quotes
	}{
		{"prod", "web-1.v2", true},
		{"prod", "x; touch pwned", false},
		{"prod", "it's $(id) `id`", false},
		{"a b", "web", false},
	}
	for _, tc := range tests {
		p, ok := patchFor(&subject{kind: "Deployment", namespace: tc.namespace, name: tc.name}, change{level: "s0:c1,c2"})
		if !ok {
			t.Fatal("no patch for a Deployment")
		}
		if got := strings.HasPrefix(p.Command, "kubectl -n "+tc.namespace+" patch deployment "+tc.name+" "); got != tc.plain {
			t.Errorf("%q: printed unquoted %v, want %v: %s", tc.name, got, tc.plain, p.Command)
		}
		// kubectl stands in for itself: a function that prints its arguments.
		out, err := exec.Command(sh, "-c", `kubectl() { printf '%s\n' "$@"; }; `+p.Command).Output()
		if err != nil {
			t.Fatalf("%s: %v", p.Command, err)
		}
		want := []string{"-n", tc.namespace, "patch", "deployment", tc.name, "--type=strategic", "-p", p.Patch}
		if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, want) {
			t.Errorf("%s\nran with %q\nwant      %q", p.Command, got, want)
		}
	}
}
