package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/selmount/selmount/label"
)

func TestCgroupMemoryLimit(t *testing.T) {
	write := func(root, name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// cgroup v2: the limit of a parent applies; "max" is none.
	v2 := t.TempDir()
	write(v2, "proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
	write(v2, "sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n")
	write(v2, "sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n")
	write(v2, "sys/fs/cgroup/kubepods/memory.max", "1073741824\n")
	if n, ok := cgroupMemoryLimit(v2); !ok || n != 512<<20 {
		t.Errorf("v2: got %d, %v; want 512 MiB", n, ok)
	}
	// cgroup v1, unlimited: none.
	v1 := t.TempDir()
	write(v1, "proc/self/cgroup", "5:devices:/\n4:memory:/job/42\n0::/\n")
	write(v1, "sys/fs/cgroup/memory/job/42/memory.limit_in_bytes", "9223372036854771712\n")
	write(v1, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
	if n, ok := cgroupMemoryLimit(v1); ok {
		t.Errorf("v1 unlimited: got %d", n)
	}
	// cgroup v1 with a limit, in a joined controller list.
	write(v1, "proc/self/cgroup", "4:cpu,memory:/job/42\n")
	write(v1, "sys/fs/cgroup/memory/job/42/memory.limit_in_bytes", "268435456\n")
	if n, ok := cgroupMemoryLimit(v1); !ok || n != 256<<20 {
		t.Errorf("v1: got %d, %v; want 256 MiB", n, ok)
	}
	// No cgroup information at all.
	if _, ok := cgroupMemoryLimit(t.TempDir()); ok {
		t.Error("no /proc/self/cgroup: want no limit")
	}
}

// TestFlagValueErrorKeepsCause: naming the flag does not hide the parse
// error from errors.Is and errors.As.
func TestFlagValueErrorKeepsCause(t *testing.T) {
	for _, args := range [][2]string{{"garbage", ""}, {"", "s0:c1024"}} {
		_, err := labelFlags(args[0], args[1], "fedora")
		var pe *label.ParseError
		if !errors.Is(err, label.ErrSyntax) || !errors.As(err, &pe) {
			t.Errorf("labelFlags(%q, %q): %v does not match label.ErrSyntax and *label.ParseError", args[0], args[1], err)
		}
		if msg := err.Error(); strings.Contains(msg, "label.Parse") || !strings.HasPrefix(msg, "--l") {
			t.Errorf("labelFlags(%q, %q): %q", args[0], args[1], msg)
		}
	}
}

// TestBuildVersionFromLdflags: the link-time variables win over the build
// information, and the Go version is always the running one.
func TestBuildVersionFromLdflags(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "0123abc"
	v := buildVersion()
	if v.Version != "v1.2.3" || v.Commit != "0123abc" || v.Modified || v.GoVersion != runtime.Version() {
		t.Errorf("buildVersion() = %+v", v)
	}
	var b strings.Builder
	if err := writeVersion(&b, "kubectl selmount", v); err != nil {
		t.Fatal(err)
	}
	want := "kubectl selmount version v1.2.3\ncommit: 0123abc\ngo: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestOperands(t *testing.T) {
	check := operands("SOURCE", "TARGET")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "missing SOURCE and TARGET"},
		{[]string{"a"}, "missing TARGET"},
		{[]string{"a", "b"}, ""},
		{[]string{"a", "b", "c"}, `unexpected argument "c" after SOURCE TARGET`},
	} {
		err := check(nil, tt.args)
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("operands(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}
