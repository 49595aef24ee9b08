package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/selmount/selmount/csitest"
	"github.com/selmount/selmount/csitest/refdriver"
	"github.com/selmount/selmount/ctxmount"
)

// serveRefDriver serves the reference driver on a fresh socket. On a host
// without SELinux it never mounts: csi-test stops before.
func serveRefDriver(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "csi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := refdriver.New(refdriver.Options{StateDir: t.TempDir(), Mounter: ctxmount.NewFakeMounter()})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "csi.sock")
	l, err := refdriver.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- refdriver.Serve(ctx, l, srv) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

// TestCSITestWithoutSELinux: on a kernel without SELinux (this development
// machine, CI's host) csi-test says so plainly and exits 2, after checking
// what it can.
func TestCSITestWithoutSELinux(t *testing.T) {
	if h, err := ctxmount.CheckHost(); err == nil && h.SELinuxEnabled {
		t.Skip("SELinux is enabled here")
	}
	sock := serveRefDriver(t)
	r := run(t, "", "csi-test", "--endpoint", "unix://"+sock, "--controller-endpoint", sock)
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), "SELinux is not enabled on this kernel") {
		t.Fatalf("exit %d, error %v: want 2 and the plain message", r.code, r.err)
	}
	for _, want := range []string{"ERROR: SELinux is not enabled on this kernel", "PASS  SEL-001 capabilities",
		"SKIP  SEL-002 context-mount: not run: SELinux is not enabled", "1 passed, 0 failed, 12 skipped"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, "", "csi-test", "--endpoint", sock, "--controller-endpoint", sock, "-o", "json")
	var rep csitest.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Kind != "CSITestReport" || rep.Driver.Name != refdriver.Name || rep.Host.SELinuxEnabled {
		t.Errorf("JSON report %+v: %v", rep, err)
	}
}

func TestCSITestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--endpoint is required"},
		{[]string{"--endpoint", "/x", "-o", "yaml"}, `"yaml"`},
		{[]string{"--endpoint", "/x", "--controller-endpoint", "/x", "--volume-handle", "v"}, "exclude each other"},
		{[]string{"--endpoint", "/x", "--volume-handle", "v", "--label", "system_u:object_r:container_file_t:s0"}, "want two labels"},
		{[]string{"--endpoint", "/x", "--volume-handle", "v", "--label", "bad", "--label", "worse"}, "--label"},
		{[]string{"--endpoint", "/x", "--volume-handle", "v", "--params", "novalue"}, "--params"},
		{[]string{"--endpoint", "/x", "--volume-handle", "v", "--plugin-pid", "1", "--plugin-root", "/"}, "exclude each other"},
		{[]string{"--endpoint", "/x", "--volume-handle", "v", "--secrets", "/nonexistent"}, "--secrets"},
		{[]string{"--endpoint", "/x"}, "no volume to test"},
	} {
		r := run(t, "", append([]string{"csi-test"}, c.args...)...)
		if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), c.want) {
			t.Errorf("%q: exit %d, error %v, want 2 and %q", c.args, r.code, r.err, c.want)
		}
	}
}

func TestCSITestUnreachableDriver(t *testing.T) {
	r := run(t, "", "csi-test", "--endpoint", "unix:///nonexistent/csi.sock", "--volume-handle", "v", "--timeout", "5s", "-o", "junit")
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), "CSI endpoint unix:///nonexistent/csi.sock") {
		t.Fatalf("exit %d, error %v", r.code, r.err)
	}
	if !strings.Contains(r.stdout, "<testsuites") || strings.Count(r.stdout, "<testcase ") != len(csitest.Rules) {
		t.Errorf("JUnit report:\n%s", r.stdout)
	}
}
