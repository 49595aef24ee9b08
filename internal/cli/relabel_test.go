//go:build linux

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRelabelCommand runs `selmount relabel` on real files with real
// security.selinux attributes: the JSON result counts what happened, the
// files carry the label, and a second run changes nothing.
func TestRelabelCommand(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("writing security.selinux needs root")
	}
	dir := t.TempDir()
	for _, f := range []string{"a", "b", "sub/c", "sub/deeper/d"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Lsetxattr(filepath.Join(dir, "a"), "security.selinux", []byte("system_u:object_r:container_file_t:s0:c2,c1\x00"), 0); err != nil {
		t.Skipf("this filesystem does not store security.selinux: %v", err)
	}
	run := func() relabelJSON {
		t.Helper()
		var out, errOut bytes.Buffer
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &errOut)
		root.SetArgs([]string{"relabel", dir, "--level", "s0:c1,c2", "-o", "json"})
		if err := root.Execute(); err != nil {
			t.Fatalf("relabel: %v\n%s", err, errOut.String())
		}
		var r relabelJSON
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		return r
	}
	r := run()
	// 7 entries: the root, a, b, sub, sub/c, sub/deeper, sub/deeper/d. "a"
	// already carries the label, written in another category order.
	if r.APIVersion != "selmount.io/v1alpha1" || r.Kind != "RelabelResult" || r.Visited != 7 || r.Changed != 6 || r.Correct != 1 || r.Errors != 0 {
		t.Errorf("first run: %+v", r)
	}
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(filepath.Join(dir, "sub/deeper/d"), "security.selinux", buf)
	if err != nil || strings.TrimRight(string(buf[:n]), "\x00") != "system_u:object_r:container_file_t:s0:c1,c2" {
		t.Errorf("sub/deeper/d label = %q, %v", buf[:max(n, 0)], err)
	}
	if r := run(); r.Changed != 0 || r.Correct != 7 {
		t.Errorf("second run changed something: %+v", r)
	}
}

type relabelJSON struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Visited    int64  `json:"visited"`
	Changed    int64  `json:"changed"`
	Correct    int64  `json:"correct"`
	Errors     int64  `json:"errors"`
}

// TestRelabelRefusesSystemPaths: a system path, or one inside a system
// directory, is refused; the error names the protected path that matched and
// the command's flag that allows it.
func TestRelabelRefusesSystemPaths(t *testing.T) {
	for _, tc := range []struct{ path, sub, want string }{
		{"/usr", "", "/usr is a protected system directory (--force allows it)"},
		{"/etc/ssh", "", "/etc/ssh is inside the protected system directory /etc (--force allows it)"},
		{"/srv/../usr/local", "", "/usr/local is inside the protected system directory /usr (--force allows it)"},
		{"/", "etc", "/etc is a protected system directory (--force allows it)"},
		{"/var/lib/kubelet/pods/u1", "", "/var/lib/kubelet/pods/u1 is inside the protected state directory /var/lib/kubelet, where only volume directories may be relabeled"},
	} {
		var out, errOut bytes.Buffer
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &errOut)
		args := []string{"relabel", tc.path, "--level", "s0:c1,c2", "--dry-run"}
		if tc.sub != "" {
			args = append(args, "--subpath", tc.sub)
		}
		root.SetArgs(args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "(--force allows it)") || strings.Contains(err.Error(), "Options.Force") {
			t.Errorf("relabel %s: %v, want a refusal with %q that names --force", tc.path, err, tc.want)
		}
	}
}
