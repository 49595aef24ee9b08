package vmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/nodevol"
	"github.com/selmount/selmount/relabel"
)

var (
	l12   = label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	l34   = label.MustParse("system_u:object_r:container_file_t:s0:c3,c4")
	l89   = label.MustParse("system_u:object_r:container_file_t:s0:c8,c9")
	bg    = context.Background()
	inVM  bool
	fixes = os.Getenv("SELMOUNT_FIXTURES") // directory with small.img
)

func TestMain(m *testing.M) {
	h, err := ctxmount.CheckHost()
	inVM = err == nil && h.SELinuxEnabled && h.Enforcing && os.Geteuid() == 0
	if !inVM {
		fmt.Println("vmtest: skipping every case: needs root on an SELinux-enforcing kernel; run hack/selinux-vm (see hack/test.d/40-selinux-vm.sh)")
	} else {
		fmt.Printf("vmtest: host %+v\n", h)
	}
	os.Exit(m.Run())
}

func needVM(t *testing.T) {
	t.Helper()
	if !inVM {
		t.Skip("needs root on an SELinux-enforcing kernel")
	}
}

func dir(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileLabel reads a file's label as the kernel reports it.
func fileLabel(t *testing.T, path string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, "security.selinux", buf)
	if err != nil {
		t.Fatalf("lgetxattr %s: %v", path, err)
	}
	return string(bytes.TrimRight(buf[:n], "\x00"))
}

// labelsUnder counts the entries below root (root included) by label.
func labelsUnder(t *testing.T, root string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "lost+found" && d.IsDir() {
			return filepath.SkipDir
		}
		out[fileLabel(t, p)]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sha(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// image returns a private copy of the fixture ext4 image.
func image(t *testing.T) string {
	t.Helper()
	if fixes == "" {
		t.Skip("SELMOUNT_FIXTURES is not set")
	}
	src, err := os.ReadFile(filepath.Join(fixes, "small.img"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "small.img")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustMount(t *testing.T, req ctxmount.Request, opt *ctxmount.Options) ctxmount.Result {
	t.Helper()
	res, err := ctxmount.Mount(bg, req, opt)
	if err != nil {
		t.Fatalf("Mount(%+v): %v", req, err)
	}
	t.Cleanup(func() { ctxmount.Unmount(req.Target, opt) })
	return res
}

// avcDenials returns the AVC denials the kernel logged since the last call.
// /dev/kmsg is read with raw system calls: through os.File, Go's poller
// would wait for more records instead of returning EAGAIN.
var kmsg = -1

func avcDenials(t *testing.T) []string {
	t.Helper()
	if kmsg < 0 {
		fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		kmsg = fd
	}
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(kmsg, buf)
		if err == unix.EPIPE || err == unix.EINTR {
			continue // records overwritten before we read them
		}
		if err != nil || n <= 0 {
			break
		}
		if rec := string(buf[:n]); strings.Contains(rec, "avc:  denied") {
			out = append(out, strings.TrimSpace(rec[strings.Index(rec, ";")+1:]))
		}
	}
	return out
}

func setEnforce(t *testing.T, on bool) {
	t.Helper()
	v := "0"
	if on {
		v = "1"
	}
	if err := os.WriteFile("/sys/fs/selinux/enforce", []byte(v), 0); err != nil {
		t.Fatal(err)
	}
}

func TestTmpfsContextMount(t *testing.T) {
	needVM(t)
	avcDenials(t)
	target := dir(t, "tmpfs")
	res := mustMount(t, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Options: []string{"size=4m"}, Label: l12}, nil)
	v := res.Verification
	if !v.Match || v.Context != l12 || v.Seclabel || v.RuntimeRelabel {
		t.Fatalf("verification %+v", v)
	}
	// The kernel keeps the quotes in mountinfo.
	m, _ := mountinfo.ReadSelf()
	mi, _ := mountinfo.Lookup(m, target)
	if !strings.Contains(mi.SuperOptions.String(), `context="system_u:object_r:container_file_t:s0:c1,c2"`) {
		t.Errorf("super options %q", mi.SuperOptions.String())
	}
	// New files show the label.
	p := filepath.Join(target, "new")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := fileLabel(t, p); got != l12.String() {
		t.Errorf("new file label %q", got)
	}
	if d := avcDenials(t); len(d) != 0 {
		t.Errorf("AVC denials: %q", d)
	}
}

func TestExt4ImageReadOnlyContextMountLeavesImageUnchanged(t *testing.T) {
	needVM(t)
	img := image(t)
	before := sha(t, img)
	target := dir(t, "ext4")
	res := mustMount(t, ctxmount.Request{Source: img, Target: target, FSType: "ext4", Options: []string{"ro"}, Label: l12}, nil)
	if !strings.HasPrefix(res.Source, "/dev/loop") || !res.Verification.Match {
		t.Fatalf("result %+v", res)
	}
	// Every pre-existing file shows the label at once.
	labels := labelsUnder(t, target)
	if len(labels) != 1 || labels[l12.String()] < 100 {
		t.Errorf("labels under the mount: %v", labels)
	}
	if err := ctxmount.Unmount(target, nil); err != nil {
		t.Fatal(err)
	}
	if after := sha(t, img); after != before {
		t.Errorf("the image changed: %s -> %s", before, after)
	}
}

func TestExt4ReadWriteContextMountWritesNoLabels(t *testing.T) {
	needVM(t)
	img := image(t)
	target := dir(t, "ext4")
	mustMount(t, ctxmount.Request{Source: img, Target: target, FSType: "ext4", Label: l12}, nil)
	if labels := labelsUnder(t, target); len(labels) != 1 || labels[l12.String()] == 0 {
		t.Fatalf("labels %v", labels)
	}
	if err := ctxmount.Unmount(target, nil); err != nil {
		t.Fatal(err)
	}
	// Mounted without context=, the files show what is on disk: not l12.
	res := mustMount(t, ctxmount.Request{Source: img, Target: target, FSType: "ext4", Options: []string{"ro"}}, nil)
	if !res.Verification.Seclabel || !res.Verification.RuntimeRelabel {
		t.Errorf("a plain ext4 mount shows seclabel and would be relabeled: %+v", res.Verification)
	}
	if labels := labelsUnder(t, target); labels[l12.String()] != 0 {
		t.Errorf("the context mount wrote labels to disk: %v", labels)
	}
}

func TestCommaAndNonCanonicalLabels(t *testing.T) {
	needVM(t)
	for _, tt := range []struct{ written, canonical string }{
		{"system_u:object_r:container_file_t:s0:c5,c700", "system_u:object_r:container_file_t:s0:c5,c700"},
		{"system_u:object_r:container_file_t:s0:c9,c3,c2,c1,c0", "system_u:object_r:container_file_t:s0:c0.c3,c9"},
		{"system_u:object_r:container_file_t:s0-s0:c0.c1023", "system_u:object_r:container_file_t:s0-s0:c0.c1023"},
	} {
		t.Run(tt.written, func(t *testing.T) {
			target := dir(t, "m")
			// As a CSI driver gets it: the kubelet's quoted option in the flags.
			res := mustMount(t, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Options: []string{fmt.Sprintf("context=%q", tt.written)}}, nil)
			if res.Verification.RawContext != tt.canonical {
				t.Errorf("kernel shows %q, want %q", res.Verification.RawContext, tt.canonical)
			}
			if got := fileLabel(t, target); got != tt.canonical {
				t.Errorf("root label %q", got)
			}
		})
	}
	// Raw mount(2) without quotes: the comma splits the option.
	target := dir(t, "raw")
	err := (&ctxmount.SyscallMounter{}).MountSensitive("tmpfs", target, "tmpfs", []string{"context=" + l12.String()}, nil)
	if err == nil {
		ctxmount.Unmount(target, nil)
		t.Fatal("an unquoted label with a comma was accepted")
	}
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("unquoted: %v", err)
	}
}

func TestSecondMountOfSuperblockWithAnotherContext(t *testing.T) {
	needVM(t)
	img := image(t)
	a, b := dir(t, "a"), dir(t, "b")
	mustMount(t, ctxmount.Request{Source: img, Target: a, FSType: "ext4", Options: []string{"ro"}, Label: l12}, nil)

	// The kernel refuses it: EINVAL.
	err := (&ctxmount.SyscallMounter{}).MountSensitive(img, b, "ext4", []string{"ro", l89.MountOption()}, nil)
	if !errors.Is(err, unix.EINVAL) {
		ctxmount.Unmount(b, nil)
		t.Fatalf("raw second mount: %v, want EINVAL", err)
	}
	// Mount says why, before trying ...
	_, err = ctxmount.Mount(bg, ctxmount.Request{Source: img, Target: b, FSType: "ext4", Options: []string{"ro"}, Label: l89}, nil)
	if !errors.Is(err, ctxmount.ErrSuperblockContext) || !strings.Contains(err.Error(), "is mounted at "+a+" with context=system_u:object_r:container_file_t:s0:c1,c2") {
		t.Errorf("checked before: %v", err)
	}
	// ... and after the kernel refused.
	_, err = ctxmount.Mount(bg, ctxmount.Request{Source: img, Target: b, FSType: "ext4", Options: []string{"ro"}, Label: l89}, &ctxmount.Options{SkipHostCheck: true})
	if !errors.Is(err, ctxmount.ErrSuperblockContext) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("diagnosed after: %v", err)
	}
	t.Logf("error: %v", err)
	// A mount without context is refused too; the same label is shared.
	if err := (&ctxmount.SyscallMounter{}).MountSensitive(img, b, "ext4", []string{"ro"}, nil); !errors.Is(err, unix.EINVAL) {
		ctxmount.Unmount(b, nil)
		t.Errorf("second mount without context: %v", err)
	}
	res := mustMount(t, ctxmount.Request{Source: img, Target: b, FSType: "ext4", Options: []string{"ro"}, Label: l12}, nil)
	if res.Verification.Context != l12 {
		t.Errorf("shared mount %+v", res.Verification)
	}
	// A bind mount inherits the label.
	c := dir(t, "c")
	bres := mustMount(t, ctxmount.Request{Source: a, Target: c, Options: []string{"bind"}}, nil)
	if bres.Verification.Context != l12 {
		t.Errorf("bind mount %+v", bres.Verification)
	}
}

func TestRelabelInsideContextMount(t *testing.T) {
	needVM(t)
	target := dir(t, "m")
	mustMount(t, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: l12}, nil)
	os.WriteFile(filepath.Join(target, "f"), nil, 0o644)
	_, err := relabel.Relabel(bg, target, l34, nil)
	if !errors.Is(err, unix.ENOTSUP) {
		t.Fatalf("relabel inside a context mount: %v, want ENOTSUP", err)
	}
	explained := ctxmount.ExplainRelabel(target, err, nil)
	if !errors.Is(explained, ctxmount.ErrMountedWithContext) || !strings.Contains(explained.Error(), "mounted with context, nothing to relabel") {
		t.Errorf("explained: %v", explained)
	}
	t.Logf("%v", explained)
	// chcon(1)'s system call fails the same way.
	if err := unix.Lsetxattr(filepath.Join(target, "f"), "security.selinux", []byte(l34.String()), 0); !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("lsetxattr: %v", err)
	}
}

// makeTree creates n files in a few directories.
func makeTree(t *testing.T, root string, n int) {
	t.Helper()
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("d%d", i%7))
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("d0/f0", filepath.Join(root, "link"))
}

func TestRelabelerUnderEnforcing(t *testing.T) {
	needVM(t)
	for _, fstype := range []string{"tmpfs", "ext4"} {
		t.Run(fstype, func(t *testing.T) {
			target := dir(t, "m")
			req := ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs"}
			if fstype == "ext4" {
				req.Source, req.FSType = image(t), "ext4"
			}
			res := mustMount(t, req, nil)
			if !res.Verification.Seclabel || !res.Verification.RuntimeRelabel {
				t.Fatalf("no seclabel: %+v", res.Verification)
			}
			makeTree(t, target, 300)
			avcDenials(t)

			st, err := relabel.Relabel(bg, target, l34, nil)
			if err != nil {
				t.Fatalf("relabel: %v (%+v)", err, st)
			}
			// Every label was wrong: after a run of them the workers
			// write without reading first, and say so.
			if st.Changed != st.Visited || st.Unread == 0 || st.Unread >= st.Changed {
				t.Errorf("first run: %+v, want every entry changed, some written unread", st)
			}
			labels := labelsUnder(t, target)
			if len(labels) != 1 || labels[l34.String()] < 300 {
				t.Errorf("labels after relabel: %v", labels)
			}
			if d := avcDenials(t); len(d) != 0 {
				t.Errorf("AVC denials for an allowed relabel: %q", d)
			}
			// A second run writes nothing.
			if st, err := relabel.Relabel(bg, target, l34, nil); err != nil || st.Changed != 0 {
				t.Errorf("second run: %+v, %v", st, err)
			}

			// A process type is not a file type: the policy denies
			// associating it with the filesystem. Enforcing: EACCES.
			forbidden := label.MustParse("system_u:system_r:kernel_t:s0")
			st, err = relabel.Relabel(bg, target, forbidden, nil)
			var pe *relabel.PartialError
			if !errors.As(err, &pe) || !errors.Is(err, unix.EACCES) {
				t.Fatalf("forbidden relabel in enforcing mode: %v (%+v)", err, st)
			}
			// Every write was denied, the blind ones too, and counted.
			if st.Errors != st.Visited-1 || st.Changed != 0 {
				t.Errorf("forbidden relabel: %+v, want every entry but the (skipped) root failed", st)
			}
			denied := avcDenials(t)
			if len(denied) == 0 {
				t.Error("no AVC denial logged")
			} else {
				t.Logf("%d AVC denials, first: %s", len(denied), denied[0])
			}
			if labels := labelsUnder(t, target); labels[forbidden.String()] != 0 {
				t.Errorf("enforcing mode let labels through: %v", labels)
			}
			// Permissive: the same relabel succeeds, and is logged.
			setEnforce(t, false)
			st, err = relabel.Relabel(bg, target, forbidden, nil)
			setEnforce(t, true)
			if err != nil {
				t.Errorf("permissive: %v (%+v)", err, st)
			}
			if d := avcDenials(t); len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), "permissive=1") {
				t.Errorf("permissive denials not logged: %q", d)
			}
		})
	}
}

func TestLabelUnknownToThePolicy(t *testing.T) {
	needVM(t)
	unknown := label.MustParse("system_u:object_r:no_such_type_t:s0")
	target := dir(t, "m")
	_, err := ctxmount.Mount(bg, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: unknown}, nil)
	if !errors.Is(err, ctxmount.ErrInvalidLabel) || !strings.Contains(err.Error(), "the loaded policy does not define system_u:object_r:no_such_type_t:s0") {
		t.Errorf("checked before: %v", err)
	}
	_, err = ctxmount.Mount(bg, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: unknown}, &ctxmount.Options{SkipHostCheck: true})
	if !errors.Is(err, ctxmount.ErrInvalidLabel) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("diagnosed after the kernel refused: %v", err)
	}
	t.Logf("%v", err)
	// An unknown user and a category beyond the policy are refused the same way.
	for _, s := range []string{"nobody_u:object_r:container_file_t:s0", "system_u:object_r:container_file_t:s16"} {
		c, perr := label.Parse(s)
		if perr != nil {
			continue // out of range for label.Parse already
		}
		if _, err := ctxmount.Mount(bg, ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: c}, nil); !errors.Is(err, ctxmount.ErrInvalidLabel) {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// TestVerificationCatchesLostContext runs util-linux mount(8) the way a CSI
// node plugin does, first in a mount namespace without /etc/selinux/config.
func TestVerificationCatchesLostContext(t *testing.T) {
	needVM(t)
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("no util-linux mount in the guest")
	}
	os.Remove("/etc/selinux/config")
	helper := &ctxmount.Options{Mounter: ctxmount.NewHelperMounter()}
	target := dir(t, "m")
	req := ctxmount.Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: l12}

	// Checked before mounting.
	_, err := ctxmount.Mount(bg, req, helper)
	if !errors.Is(err, ctxmount.ErrContextDropped) || !strings.Contains(err.Error(), "/etc/selinux/config does not exist") {
		t.Errorf("host check: %v", err)
	}
	// Without the check, mount(8) succeeds without the label: the
	// verification catches it and undoes the mount.
	_, err = ctxmount.Mount(bg, req, &ctxmount.Options{Mounter: helper.Mounter, SkipHostCheck: true})
	if !errors.Is(err, ctxmount.ErrContextMissing) {
		t.Fatalf("verification: %v", err)
	}
	t.Logf("%v", err)
	if _, err := ctxmount.Verify(target, label.Context{}, nil); !errors.Is(err, ctxmount.ErrNotMounted) {
		t.Errorf("the unlabeled mount was not undone: %v", err)
	}

	// With the file, mount(8) passes context= on.
	os.MkdirAll("/etc/selinux", 0o755)
	if err := os.WriteFile("/etc/selinux/config", []byte("SELINUX=enforcing\nSELINUXTYPE=default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove("/etc/selinux/config")
	res := mustMount(t, req, helper)
	if !res.Helper || res.Verification.Context != l12 {
		t.Errorf("helper mount %+v", res)
	}
}

func TestNodeVolumeTrackingUnderSELinux(t *testing.T) {
	needVM(t)
	root := dir(t, "kubelet")
	vol := nodevol.Volume{ID: "pvc-1", Source: image(t), FSType: "ext4"}
	tr, err := nodevol.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	pa, err := tr.Publish(bg, vol, "pod-a", l12)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileLabel(t, pa); got != l12.String() {
		t.Errorf("pod-a sees %q", got)
	}
	if _, err := tr.Publish(bg, vol, "pod-b", l89); !errors.Is(err, nodevol.ErrWaitForUnmount) {
		t.Fatalf("pod-b: %v", err)
	}
	// Restart: the conflict is still detected.
	tr2, _ := nodevol.New(root, nil)
	if notes, err := tr2.Reconstruct(bg); err != nil || notes != nil {
		t.Fatalf("reconstruct: %q %v", notes, err)
	}
	if _, err := tr2.Publish(bg, vol, "pod-b", l89); !errors.Is(err, nodevol.ErrWaitForUnmount) {
		t.Fatalf("pod-b after restart: %v", err)
	}
	if rel, err := tr2.Unpublish(bg, vol.ID, "pod-a"); err != nil || !rel.Unmounted {
		t.Fatalf("unpublish: %+v %v", rel, err)
	}
	pb, err := tr2.Publish(bg, vol, "pod-b", l89)
	if err != nil {
		t.Fatal(err)
	}
	if got := fileLabel(t, pb); got != l89.String() {
		t.Errorf("pod-b sees %q", got)
	}
	tr2.Unpublish(bg, vol.ID, "pod-b")
}

// TestCommands runs the selmount binary's mount and verify commands.
func TestCommands(t *testing.T) {
	needVM(t)
	bin := os.Getenv("SELMOUNT_BIN")
	if bin == "" {
		t.Skip("SELMOUNT_BIN is not set")
	}
	target := dir(t, "m")
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("mount", "-t", "tmpfs", "-o", "size=1m", "--level", "s0:c1,c2", "--node-defaults", "fedora", "tmpfs", target)
	if code != 0 || !strings.Contains(out, `with context="system_u:object_r:container_file_t:s0:c1,c2"`) {
		t.Fatalf("mount: %d %s", code, out)
	}
	defer ctxmount.Unmount(target, nil)
	t.Logf("selmount mount:\n%s", out)

	out, code = run("verify", target, "--label", "system_u:object_r:container_file_t:s0:c2,c1", "-o", "json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["kind"] != "Verification" || v["apiVersion"] != "selmount.io/v1alpha1" || v["match"] != true || v["runtimeRelabel"] != false {
		t.Errorf("verify: %d %s", code, out)
	}
	out, code = run("verify", target, "--level", "s0:c8,c9")
	if code != 1 || !strings.Contains(out, "match:           no") {
		t.Errorf("verify with another label: %d %s", code, out)
	}
	t.Logf("selmount verify (mismatch):\n%s", out)

	out, code = run("mount", "-t", "tmpfs", "--label", "system_u:object_r:no_such_type_t:s0", "tmpfs", dir(t, "x"), "--output", "json")
	if code != 2 || !strings.Contains(out, `"reason": "InvalidLabel"`) {
		t.Errorf("mount with an unknown label: %d %s", code, out)
	}
}
