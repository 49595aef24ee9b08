//go:build linux

package ctxmount

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selmount/selmount/label"
)

// These tests mount for real with mount(2) and need root. On a kernel
// without SELinux they check everything but the labels themselves; the
// SELinux cases run in hack/selinux-vm.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to call mount(2); run the tests as root to include it")
	}
}

func requireNoSELinux(t *testing.T) {
	t.Helper()
	if h, _ := CheckHost(); h.SELinuxEnabled {
		t.Skip("this case checks a host without SELinux")
	}
}

func mkdir(t *testing.T, dirs ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{t.TempDir()}, dirs...)...)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSyscallMountTmpfs(t *testing.T) {
	requireRoot(t)
	target := mkdir(t, "with space")
	res, err := Mount(context.Background(), Request{Source: "selmount-test", Target: target, FSType: "tmpfs", Options: []string{"size=1m", "nosuid", "mode=0750"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmount(target, nil)
	v := res.Verification
	if !v.Mounted || v.FSType != "tmpfs" || v.Source != "selmount-test" || !v.Match {
		t.Errorf("verification %+v", v)
	}
	if h, _ := CheckHost(); !h.SELinuxEnabled && (v.Seclabel || v.RuntimeRelabel) {
		t.Errorf("no seclabel and no relabel without SELinux: %+v", v)
	}
	again, err := Verify(target, label.Context{}, nil)
	if err != nil || again.MountID != v.MountID {
		t.Errorf("Verify = %+v, %v", again, err)
	}
	if err := Unmount(target, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(target, label.Context{}, nil); !errors.Is(err, ErrNotMounted) {
		t.Errorf("after unmount: %v", err)
	}
	if err := Unmount(target, nil); !errors.Is(err, ErrNotMounted) {
		t.Errorf("second unmount: %v", err)
	}
}

// makeExt4 builds an ext4 image holding n files with mke2fs -d.
func makeExt4(t *testing.T, n int) string {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	dir := mkdir(t, "content")
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(t.TempDir(), "vol.img")
	out, err := exec.Command("mkfs.ext4", "-q", "-F", "-d", dir, img, "8M").CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	return img
}

func TestSyscallMountExt4Loop(t *testing.T) {
	requireRoot(t)
	img := makeExt4(t, 20)
	a, b := mkdir(t, "a"), mkdir(t, "b")
	res, err := Mount(context.Background(), Request{Source: img, Target: a, FSType: "ext4", Options: []string{"ro", "noatime"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := res.Source
	if !strings.HasPrefix(dev, "/dev/loop") {
		t.Fatalf("source %q is not a loop device", dev)
	}
	// The second mount of the same image reuses the loop device, so the
	// superblock is shared (this is what makes context= apply only once).
	res2, err := Mount(context.Background(), Request{Source: img, Target: b, FSType: "ext4", Options: []string{"ro"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Source != dev || res2.Verification.Dev != res.Verification.Dev {
		t.Errorf("second mount on %s (%s), first on %s (%s)", res2.Source, res2.Verification.Dev, dev, res.Verification.Dev)
	}
	entries, _ := os.ReadDir(a)
	if len(entries) < 20 {
		t.Errorf("%d entries in the image", len(entries))
	}
	if err := Unmount(a, nil); err != nil {
		t.Fatal(err)
	}
	if err := Unmount(b, nil); err != nil {
		t.Fatal(err)
	}
	// Autoclear detaches the loop device once the last mount is gone.
	sys := filepath.Join("/sys/block", filepath.Base(dev), "loop")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(sys); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still attached after the last unmount", dev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSyscallBindMountReadOnly(t *testing.T) {
	requireRoot(t)
	src, dst := mkdir(t, "src"), mkdir(t, "dst")
	if _, err := Mount(context.Background(), Request{Source: "tmpfs", Target: src, FSType: "tmpfs"}, nil); err != nil {
		t.Fatal(err)
	}
	defer Unmount(src, nil)
	res, err := Mount(context.Background(), Request{Source: src, Target: dst, Options: []string{"bind", "ro"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmount(dst, nil)
	if res.Verification.Dev == "" {
		t.Error("no device")
	}
	if err := os.WriteFile(filepath.Join(dst, "x"), nil, 0o644); err == nil {
		t.Error("the read-only bind mount is writable")
	}
}

func TestUnknownOptionIsNamed(t *testing.T) {
	requireRoot(t)
	target := mkdir(t, "m")
	_, err := Mount(context.Background(), Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Options: []string{"size=1m", "bogus=1"}}, nil)
	if !errors.Is(err, ErrUnknownOption) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "tmpfs: Unknown parameter 'bogus'") {
		t.Errorf("the kernel's message is missing: %v", err)
	}
}

func TestUnknownFilesystemType(t *testing.T) {
	requireRoot(t)
	target := mkdir(t, "m")
	_, err := Mount(context.Background(), Request{Source: "x", Target: target, FSType: "nosuchfs"}, nil)
	if err == nil || !strings.Contains(err.Error(), `the kernel does not know filesystem type "nosuchfs"`) {
		t.Errorf("got %v", err)
	}
}

func TestLabelOnHostWithoutSELinux(t *testing.T) {
	requireRoot(t)
	requireNoSELinux(t)
	target := mkdir(t, "m")
	lbl := label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	_, err := Mount(context.Background(), Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: lbl}, nil)
	if !errors.Is(err, ErrSELinuxDisabled) {
		t.Errorf("checked before mounting: %v", err)
	}
	// Without the check the kernel refuses context=, and the probe says so.
	_, err = Mount(context.Background(), Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: lbl}, &Options{SkipHostCheck: true})
	if !errors.Is(err, ErrSELinuxDisabled) || !strings.Contains(err.Error(), "Unknown parameter 'context'") {
		t.Errorf("after the kernel refused: %v", err)
	}
}

// TestHelperDropsContextSilently shows the util-linux behaviour the host
// check exists for: with SELinux off (for libselinux), mount(8) removes
// context= and mounts anyway. Verification catches it.
func TestHelperDropsContextSilently(t *testing.T) {
	requireRoot(t)
	requireNoSELinux(t)
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("util-linux mount not installed")
	}
	target := mkdir(t, "m")
	lbl := label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	_, err := Mount(context.Background(), Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Label: lbl},
		&Options{Mounter: NewHelperMounter(), SkipHostCheck: true})
	if !errors.Is(err, ErrContextMissing) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "unmounted again") {
		t.Errorf("the unlabeled mount must be undone: %v", err)
	}
	if _, err := Verify(target, label.Context{}, nil); !errors.Is(err, ErrNotMounted) {
		t.Errorf("still mounted: %v", err)
	}
}

func TestHelperMountPlain(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("mount"); err != nil {
		t.Skip("util-linux mount not installed")
	}
	target := mkdir(t, "m")
	res, err := Mount(context.Background(), Request{Source: "tmpfs", Target: target, FSType: "tmpfs", Options: []string{"size=1m"}},
		&Options{Mounter: NewHelperMounter()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Helper || !res.Verification.Mounted {
		t.Errorf("result %+v", res)
	}
	if err := Unmount(target, &Options{Mounter: NewHelperMounter()}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckHost compares CheckHost with what the files say: selinuxfs at
// its usual place (here: absent; in the SELinux VM suite: enforcing) and
// /etc/selinux/config.
func TestCheckHost(t *testing.T) {
	h, err := CheckHost()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host: %+v", h)
	enforce, err := os.ReadFile(filepath.Join(selinuxfsPath, "enforce"))
	switch {
	case err == nil:
		if h.Selinuxfs != selinuxfsPath || h.Enforcing != (strings.TrimSpace(string(enforce)) == "1") {
			t.Errorf("selinuxfs at %s (enforce %q), CheckHost says %+v", selinuxfsPath, enforce, h)
		}
	case h.Selinuxfs == "":
		if h.SELinuxEnabled || h.Enforcing {
			t.Errorf("no selinuxfs, yet CheckHost says %+v", h)
		}
	default:
		t.Logf("selinuxfs mounted at %s, not %s: not compared", h.Selinuxfs, selinuxfsPath)
	}
	_, err = os.Stat(selinuxConfigPath)
	if h.ConfigPresent != (err == nil) {
		t.Errorf("ConfigPresent %v, but stat %s: %v", h.ConfigPresent, selinuxConfigPath, err)
	}
}
