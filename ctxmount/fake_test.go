package ctxmount

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountopt"
)

var (
	l12 = label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	l89 = label.MustParse("system_u:object_r:container_file_t:s0:c8,c9")
)

func fakeOpts(f *FakeMounter) *Options { return &Options{Mounter: f} }

func TestMountWithLabel(t *testing.T) {
	f := NewFakeMounter()
	res, err := Mount(context.Background(), Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Options: []string{"noatime"}, Label: l12}, fakeOpts(f))
	if err != nil {
		t.Fatal(err)
	}
	wantOpts := []string{"noatime", `context="system_u:object_r:container_file_t:s0:c1,c2"`}
	if !reflect.DeepEqual(res.Options, wantOpts) {
		t.Errorf("options %q, want %q", res.Options, wantOpts)
	}
	v := res.Verification
	if !v.Mounted || !v.Match || v.Context != l12 || v.Seclabel || v.RuntimeRelabel {
		t.Errorf("verification %+v", v)
	}
	if got := f.Log(); !reflect.DeepEqual(got, []string{`mount /dev/sdb /mnt/a ext4 noatime,context="system_u:object_r:container_file_t:s0:c1,c2"`}) {
		t.Errorf("log %q", got)
	}
}

func TestMountLabelFromCSIFlags(t *testing.T) {
	f := NewFakeMounter()
	flags := []string{"hard", `context="system_u:object_r:container_file_t:s0:c1,c2"`}
	res, err := Mount(context.Background(), Request{Source: "server:/export", Target: "/mnt/nfs", FSType: "nfs", Options: flags}, fakeOpts(f))
	if err != nil {
		t.Fatal(err)
	}
	if res.Label != l12 || !reflect.DeepEqual(res.Options, []string{"hard", "nosharecache", `context="system_u:object_r:container_file_t:s0:c1,c2"`}) {
		t.Errorf("result %+v", res)
	}
	// A second volume of the same server with another label: nosharecache
	// gives it a superblock of its own.
	flags2 := []string{"hard", l89.MountOption()}
	if _, err := Mount(context.Background(), Request{Source: "server:/export", Target: "/mnt/nfs2", FSType: "nfs", Options: flags2}, fakeOpts(f)); err != nil {
		t.Fatalf("second NFS mount with another label: %v", err)
	}
}

func TestMountWithoutLabel(t *testing.T) {
	f := NewFakeMounter()
	res, err := Mount(context.Background(), Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4"}, fakeOpts(f))
	if err != nil {
		t.Fatal(err)
	}
	v := res.Verification
	if !v.Match || !v.Seclabel || !v.RuntimeRelabel || !v.Context.IsZero() {
		t.Errorf("verification %+v", v)
	}
	if !strings.Contains(v.Summary, "runtime would relabel every file") {
		t.Errorf("summary %q", v.Summary)
	}
}

func TestMountErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(f *FakeMounter)
		req   Request
		opt   func(o *Options)
		kind  error
		msg   string
	}{
		{
			name:  "SELinux disabled",
			setup: func(f *FakeMounter) { f.Host = Host{} },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind:  ErrSELinuxDisabled,
			msg:   `mount /dev/sdb on /mnt/a (type ext4, options context="system_u:object_r:container_file_t:s0:c1,c2"): SELinux is not enabled on this host: the kernel accepts context= only with SELinux enabled (selinuxfs mounted and a policy loaded)`,
		},
		{
			name:  "helper without /etc/selinux/config",
			setup: func(f *FakeMounter) { f.Helper = true; f.Host.ConfigPresent = false },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind:  ErrContextDropped,
			msg:   "/etc/selinux/config does not exist in this mount namespace",
		},
		{
			name:  "helper with read-only selinuxfs",
			setup: func(f *FakeMounter) { f.Helper = true; f.Host.SelinuxfsReadOnly = true },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind:  ErrContextDropped,
			msg:   "/sys/fs/selinux is mounted read-only",
		},
		{
			name:  "helper without selinuxfs",
			setup: func(f *FakeMounter) { f.Helper = true; f.Host.Selinuxfs = "" },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind:  ErrContextDropped,
			msg:   "selinuxfs is not mounted at /sys/fs/selinux",
		},
		{
			name:  "label unknown to the policy",
			setup: func(f *FakeMounter) { f.InvalidLabels = []label.Context{l12} },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind:  ErrInvalidLabel,
			msg:   "invalid SELinux label: the loaded policy does not define system_u:object_r:container_file_t:s0:c1,c2",
		},
		{
			name: "same superblock with another context",
			setup: func(f *FakeMounter) {
				f.MountSensitive("/dev/sdb", "/mnt/first", "ext4", []string{l89.MountOption()}, nil)
			},
			req:  Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind: ErrSuperblockContext,
			msg:  "device 0:1 is mounted at /mnt/first with context=system_u:object_r:container_file_t:s0:c8,c9; the kernel applies context= only on the first mount of a superblock",
		},
		{
			name: "same superblock without context",
			setup: func(f *FakeMounter) {
				f.MountSensitive("/dev/sdb", "/mnt/first", "ext4", nil, nil)
			},
			req:  Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			kind: ErrSuperblockContext,
			msg:  "device 0:1 is mounted at /mnt/first without context=",
		},
		{
			name: "same superblock, found after the kernel refused",
			setup: func(f *FakeMounter) {
				f.MountSensitive("/dev/sdb", "/mnt/first", "ext4", []string{l89.MountOption()}, nil)
			},
			req:  Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			opt:  func(o *Options) { o.SkipHostCheck = true },
			kind: ErrSuperblockContext,
			msg:  "fake mount: same superblock, different security settings for /dev/sdb: invalid argument",
		},
		{
			name:  "unknown option",
			setup: func(f *FakeMounter) { f.UnknownOptions = []string{"bogus"} },
			req:   Request{Source: "tmpfs", Target: "/mnt/a", FSType: "tmpfs", Options: []string{"bogus=1"}, Label: l12},
			kind:  ErrUnknownOption,
			msg:   "unknown mount option: tmpfs: Unknown parameter 'bogus'",
		},
		{
			name: "conflicting option",
			req:  Request{Source: "tmpfs", Target: "/mnt/a", FSType: "tmpfs", Options: []string{l89.MountOption()}, Label: l12},
			kind: mountopt.ErrConflict,
			msg:  `mount option context="system_u:object_r:container_file_t:s0:c8,c9" conflicts with label system_u:object_r:container_file_t:s0:c1,c2`,
		},
		{
			name: "unparsable label in the flags",
			req:  Request{Source: "tmpfs", Target: "/mnt/a", FSType: "tmpfs", Options: []string{`context="nope"`}},
			kind: ErrInvalidLabel,
			msg:  `label.Parse("nope")`,
		},
		{
			name:  "helper drops the label silently, verification catches it",
			setup: func(f *FakeMounter) { f.Helper = true; f.Host.ConfigPresent = false },
			req:   Request{Source: "/dev/sdb", Target: "/mnt/a", FSType: "ext4", Label: l12},
			opt:   func(o *Options) { o.SkipHostCheck = true },
			kind:  ErrContextMissing,
			msg:   `verify /mnt/a (type ext4, options context="system_u:object_r:container_file_t:s0:c1,c2"): mounted without the context= option: mounted without context=, want system_u:object_r:container_file_t:s0:c1,c2; the container runtime would relabel every file (util-linux mount(8) drops context= when /etc/selinux/config or a writable selinuxfs is missing); unmounted again`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFakeMounter()
			if tt.setup != nil {
				tt.setup(f)
			}
			f.ResetLog()
			opt := fakeOpts(f)
			if tt.opt != nil {
				tt.opt(opt)
			}
			_, err := Mount(ctx, tt.req, opt)
			if err == nil {
				t.Fatal("Mount succeeded")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.kind)
			}
			var me *MountError
			if !errors.As(err, &me) {
				t.Errorf("not a *MountError: %T", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error\n got %s\nwant it to contain %s", err, tt.msg)
			}
			for _, mp := range f.MountPoints() {
				if mp == "/mnt/a" {
					t.Error("the failed mount is still there")
				}
			}
		})
	}
}

func TestMountErrorUnwrapsErrno(t *testing.T) {
	f := NewFakeMounter()
	f.UnknownOptions = []string{"bogus"}
	_, err := Mount(context.Background(), Request{Source: "tmpfs", Target: "/x", FSType: "tmpfs", Options: []string{"bogus"}}, fakeOpts(f))
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, ErrUnknownOption) {
		t.Errorf("want both EINVAL and ErrUnknownOption: %v", err)
	}
}

func TestBindMountInheritsContext(t *testing.T) {
	f := NewFakeMounter()
	ctx := context.Background()
	if _, err := Mount(ctx, Request{Source: "/dev/sdb", Target: "/global", FSType: "ext4", Label: l12}, fakeOpts(f)); err != nil {
		t.Fatal(err)
	}
	// A pod mount: bind, no label of its own, the label of the source shows.
	res, err := Mount(ctx, Request{Source: "/global", Target: "/pods/a/vol", Options: []string{"bind"}}, fakeOpts(f))
	if err != nil {
		t.Fatal(err)
	}
	if res.Verification.Context != l12 {
		t.Errorf("bind mount shows %v", res.Verification.Context)
	}
	v, err := Verify("/pods/a/vol", l12, fakeOpts(f))
	if err != nil || !v.Match {
		t.Errorf("Verify = %+v, %v", v, err)
	}
	_, err = Verify("/pods/a/vol", l89, fakeOpts(f))
	if !errors.Is(err, ErrContextMismatch) {
		t.Errorf("Verify with another label: %v", err)
	}
}

func TestUnmount(t *testing.T) {
	f := NewFakeMounter()
	if err := Unmount("/nowhere", fakeOpts(f)); !errors.Is(err, ErrNotMounted) {
		t.Errorf("Unmount of a non-mount point: %v", err)
	}
	f.MountSensitive("tmpfs", "/m", "tmpfs", nil, nil)
	if err := Unmount("/m", fakeOpts(f)); err != nil {
		t.Fatal(err)
	}
	if len(f.MountPoints()) != 0 {
		t.Error("still mounted")
	}
}

func TestExplainRelabel(t *testing.T) {
	f := NewFakeMounter()
	f.MountSensitive("tmpfs", "/ctx", "tmpfs", []string{l12.MountOption()}, nil)
	f.MountSensitive("tmpfs", "/plain", "tmpfs", nil, nil)
	enotsup := &fakePathError{"/ctx/a/b", syscall.ENOTSUP}

	err := ExplainRelabel("/ctx/a/b", enotsup, fakeOpts(f))
	if !errors.Is(err, ErrMountedWithContext) || !errors.Is(err, syscall.ENOTSUP) {
		t.Fatalf("got %v", err)
	}
	want := "relabel /ctx/a/b: mounted with context, nothing to relabel: /ctx/a/b is on /ctx, which is mounted with context=system_u:object_r:container_file_t:s0:c1,c2: every file already shows that label: lsetxattr /ctx/a/b: operation not supported"
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if err := ExplainRelabel("/plain/x", enotsup, fakeOpts(f)); err != enotsup {
		t.Errorf("without context the error must be unchanged: %v", err)
	}
	other := errors.New("boom")
	if err := ExplainRelabel("/ctx/x", other, fakeOpts(f)); err != other {
		t.Errorf("other errors unchanged: %v", err)
	}
	if ExplainRelabel("/ctx/x", nil, fakeOpts(f)) != nil {
		t.Error("nil stays nil")
	}
}

type fakePathError struct {
	path string
	err  error
}

func (e *fakePathError) Error() string { return fmt.Sprintf("lsetxattr %s: %v", e.path, e.err) }
func (e *fakePathError) Unwrap() error { return e.err }

func TestHelperKeepsContext(t *testing.T) {
	good := Host{SELinuxEnabled: true, Selinuxfs: "/sys/fs/selinux", ConfigPresent: true}
	if ok, why := good.HelperKeepsContext(); !ok || why != "" {
		t.Errorf("good host: %v %q", ok, why)
	}
	elsewhere := good
	elsewhere.Selinuxfs = "/selinux"
	if ok, _ := elsewhere.HelperKeepsContext(); ok {
		t.Error("selinuxfs elsewhere")
	}
	if ok, why := (Host{}).HelperKeepsContext(); ok || why != "SELinux is not enabled" {
		t.Errorf("disabled: %v %q", ok, why)
	}
}
