package ctxmount

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/mountopt"
)

// Mounter mounts and unmounts. Its method set is a subset of
// k8s.io/mount-utils' Interface, so a CSI driver can pass the mounter it
// already has; sensitive options (credentials) are passed separately and
// never appear in errors.
type Mounter interface {
	MountSensitive(source, target, fstype string, options, sensitiveOptions []string) error
	Unmount(target string) error
}

// Request describes one mount.
type Request struct {
	Source string
	Target string
	FSType string
	// Options are the driver's or the PersistentVolume's options, in order.
	Options []string
	// SensitiveOptions are passed to the mounter but never reported.
	SensitiveOptions []string
	// Label is the label the mount must carry. When it is zero the label is
	// taken from a context= option in Options, as a CSI driver receives it
	// from the kubelet (mountopt.FromFlags); without one the mount is made
	// without a label and only reported.
	//
	// For a bind mount (Options has "bind" or "rbind") the label is not
	// passed to the mounter: a bind mount shows the label of its source. It
	// is verified all the same.
	Label label.Context
}

// Options configure Mount, Verify and Unmount. A nil *Options means the
// defaults.
type Options struct {
	// Mounter mounts; nil means SyscallMounter (mount(2) directly). Every
	// Mounter other than *SyscallMounter (and *FakeMounter without Helper)
	// is assumed to run util-linux mount(8), so Mount checks that mount(8)
	// would keep context=.
	Mounter Mounter
	// SkipHostCheck skips the checks made before mounting (SELinux enabled,
	// mount(8) keeping context=, label known to the policy, superblock not
	// mounted with another label). Verification after the mount still
	// happens.
	SkipHostCheck bool
	// KeepOnVerifyFailure leaves a mount that failed verification in place;
	// by default Mount unmounts it again, so that a retry starts clean.
	KeepOnVerifyFailure bool
}

// Result is a successful (or verified-and-failed) mount.
type Result struct {
	Source  string        `json:"source"`
	Target  string        `json:"target"`
	FSType  string        `json:"fsType"`
	Options []string      `json:"options"` // the final list passed to the mounter
	Label   label.Context `json:"label,omitzero"`
	// Helper is true when the mount went through util-linux mount(8).
	Helper       bool         `json:"helper"`
	Verification Verification `json:"verification,omitzero"`
}

// system is what Mount needs from the machine; realSystem on Linux, the
// FakeMounter in tests.
type system interface {
	host() (Host, error)
	// checkLabel returns a non-nil error if the loaded policy rejects c.
	checkLabel(c label.Context) error
	mountTable() ([]mountinfo.Mount, error)
	// device returns the device (major:minor) whose filesystem mounting
	// source would give, if it can be known before mounting.
	device(source, fstype string) (string, bool)
	// probe replays opts through fsopen/fsconfig and returns the first
	// option the filesystem refuses, with the kernel's message.
	probe(fstype string, opts []string) (opt, msg string)
	// resolve makes a path absolute and resolves symbolic links.
	resolve(path string) (string, error)
}

func systemFor(m Mounter) system {
	if f, ok := m.(*FakeMounter); ok {
		return f
	}
	return realSystem{}
}

func (o *Options) mounter() Mounter {
	if o == nil || o.Mounter == nil {
		return &SyscallMounter{}
	}
	return o.Mounter
}

func usesHelper(m Mounter) bool {
	switch m := m.(type) {
	case *SyscallMounter:
		return false
	case *FakeMounter:
		return m.Helper
	}
	return true
}

// Mount mounts req.Source on req.Target with the label, then verifies the
// mount. See the package documentation for the checks; every error is a
// *MountError. When verification fails the Result is returned with the
// error, and the mount is undone unless opt.KeepOnVerifyFailure is set.
func Mount(ctx context.Context, req Request, opt *Options) (Result, error) {
	if opt == nil {
		opt = &Options{}
	}
	m := opt.mounter()
	sys := systemFor(m)
	res := Result{Source: req.Source, FSType: req.FSType, Helper: usesHelper(m)}
	fail := func(kind error, detail string, err error) (Result, error) {
		return res, &MountError{Op: "mount", Source: req.Source, Target: res.Target, FSType: req.FSType,
			Options: res.Options, Kind: kind, Detail: detail, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(nil, "", err)
	}
	target, err := sys.resolve(req.Target)
	if err != nil {
		res.Target = req.Target
		return fail(nil, "", err)
	}
	res.Target = target

	var plan mountopt.Plan
	if req.Label.IsZero() {
		plan, err = mountopt.FromFlags(req.FSType, req.Options)
	} else {
		plan.Label = req.Label
		plan.Options, err = mountopt.Build(req.FSType, req.Options, req.Label)
	}
	if err != nil {
		kind := error(mountopt.ErrConflict)
		if errors.Is(err, ErrInvalidLabel) {
			kind = ErrInvalidLabel
		}
		return fail(kind, "", err)
	}
	res.Options, res.Label = plan.Options, plan.Label
	// A bind mount shows the label of its source; SELinux options would be
	// ignored (mount(2)) or dropped (mount(8)), so they are removed, and the
	// label is only verified.
	bind := isBind(plan.Options)
	if bind {
		res.Options = withoutSELinux(plan.Options)
		plan.Options = res.Options
	}

	var host Host
	if !plan.Label.IsZero() && !opt.SkipHostCheck && !bind {
		host, err = sys.host()
		if err != nil {
			return fail(nil, "checking SELinux on the host", err)
		}
		if !host.SELinuxEnabled {
			return fail(ErrSELinuxDisabled, "the kernel accepts context= only with SELinux enabled (selinuxfs mounted and a policy loaded)", nil)
		}
		if res.Helper {
			if ok, why := host.HelperKeepsContext(); !ok {
				return fail(ErrContextDropped, why, nil)
			}
		}
		if err := sys.checkLabel(plan.Label); err != nil {
			return fail(ErrInvalidLabel, fmt.Sprintf("the loaded policy does not define %s", plan.Label), err)
		}
		if detail, ok := superblockConflict(sys, req, target, plan.Label); ok {
			return fail(ErrSuperblockContext, detail, nil)
		}
	}

	if err := m.MountSensitive(req.Source, target, req.FSType, plan.Options, req.SensitiveOptions); err != nil {
		kind, detail := diagnose(sys, req, target, plan, err)
		return fail(kind, detail, err)
	}

	mounts, err := sys.mountTable()
	if err != nil {
		return fail(nil, "reading the mount table to verify the mount", err)
	}
	if host == (Host{}) {
		host, _ = sys.host()
	}
	v, verr := VerifyMounts(mounts, target, plan.Label, host.SELinuxEnabled)
	res.Verification = v
	if v.Mounted {
		res.Source = v.Source
	}
	if verr != nil {
		detail := v.Summary
		if errors.Is(verr, ErrContextMissing) && res.Helper {
			detail += " (util-linux mount(8) drops context= when /etc/selinux/config or a writable selinuxfs is missing)"
		}
		if !opt.KeepOnVerifyFailure {
			if uerr := m.Unmount(target); uerr == nil {
				detail += "; unmounted again"
			} else {
				detail += "; unmounting it failed: " + uerr.Error()
			}
		}
		var me *MountError
		errors.As(verr, &me)
		return res, &MountError{Op: "verify", Source: res.Source, Target: target, FSType: req.FSType,
			Options: res.Options, Kind: me.Kind, Detail: detail}
	}
	return res, nil
}

func isBind(opts []string) bool {
	return slices.Contains(opts, "bind") || slices.Contains(opts, "rbind")
}

func withoutSELinux(opts []string) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		if k, _, _ := mountopt.KeyValue(o); !mountopt.IsSELinuxKey(k) {
			out = append(out, o)
		}
	}
	return out
}

// superblockConflict reports another mount of the filesystem that req would
// mount with a label other than lbl. Only sources whose device is known
// before mounting (block devices, loop images already attached) can be
// checked.
func superblockConflict(sys system, req Request, target string, lbl label.Context) (string, bool) {
	if isBind(req.Options) {
		return "", false // a bind mount has no superblock of its own
	}
	dev, ok := sys.device(req.Source, req.FSType)
	if !ok {
		return "", false
	}
	mounts, err := sys.mountTable()
	if err != nil {
		return "", false
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if m.Dev() != dev {
			continue
		}
		raw, has := m.SELinuxContext()
		if has {
			if c, err := label.Parse(raw); err == nil && c == lbl {
				continue
			}
			return fmt.Sprintf("device %s is mounted at %s with context=%s; the kernel applies context= only on the first mount of a superblock, so unmount every mount of it first", dev, m.MountPoint, raw), true
		}
		return fmt.Sprintf("device %s is mounted at %s without context=; the kernel applies context= only on the first mount of a superblock, so unmount every mount of it first", dev, m.MountPoint), true
	}
	return "", false
}

// diagnose tells apart the reasons a mount failed.
func diagnose(sys system, req Request, target string, plan mountopt.Plan, err error) (error, string) {
	var errno syscall.Errno
	isErrno := errors.As(err, &errno)
	helperBadOption := !isErrno && strings.Contains(err.Error(), "bad option")
	if !(isErrno && errno == syscall.EINVAL) && !helperBadOption {
		if isErrno && errno == syscall.ENODEV {
			return nil, fmt.Sprintf("the kernel does not know filesystem type %q", req.FSType)
		}
		return nil, ""
	}
	if !plan.Label.IsZero() {
		if detail, ok := superblockConflict(sys, req, target, plan.Label); ok {
			return ErrSuperblockContext, detail
		}
	}
	if opt, msg := sys.probe(req.FSType, plan.Options); opt != "" {
		if k, v, _ := mountopt.KeyValue(opt); mountopt.IsSELinuxKey(k) {
			if h, err := sys.host(); err == nil && !h.SELinuxEnabled {
				return ErrSELinuxDisabled, msg
			}
			if c, err := label.Parse(v); err == nil && sys.checkLabel(c) != nil {
				return ErrInvalidLabel, fmt.Sprintf("the loaded policy does not define %s", c)
			}
			return ErrInvalidLabel, msg
		}
		return ErrUnknownOption, msg
	}
	if !plan.Label.IsZero() {
		if h, err := sys.host(); err == nil && !h.SELinuxEnabled {
			return ErrSELinuxDisabled, "the kernel accepts context= only with SELinux enabled"
		}
		if err := sys.checkLabel(plan.Label); err != nil {
			return ErrInvalidLabel, fmt.Sprintf("the loaded policy does not define %s", plan.Label)
		}
		return nil, "the kernel refused the options; with context= this usually means another mount of the same superblock (for network filesystems, of the same server) has other SELinux options"
	}
	return nil, ""
}

// Verify reports what the mount at target carries and compares it with want
// (zero: only report). The error is a *MountError matching ErrNotMounted,
// ErrContextMissing or ErrContextMismatch; the Verification is filled in
// either way.
func Verify(target string, want label.Context, opt *Options) (Verification, error) {
	sys := systemFor(opt.mounter())
	path, err := sys.resolve(target)
	if err != nil {
		return Verification{Target: target, Expected: want}, &MountError{Op: "verify", Target: target, Err: err}
	}
	mounts, err := sys.mountTable()
	if err != nil {
		return Verification{Target: path, Expected: want}, &MountError{Op: "verify", Target: path, Err: err}
	}
	host, _ := sys.host()
	return VerifyMounts(mounts, path, want, host.SELinuxEnabled)
}

// Unmount unmounts target through the mounter. Unmounting a path that is not
// a mount point gives a *MountError matching ErrNotMounted.
func Unmount(target string, opt *Options) error {
	m := opt.mounter()
	sys := systemFor(m)
	path, err := sys.resolve(target)
	if err != nil {
		return &MountError{Op: "unmount", Target: target, Err: err}
	}
	if mounts, err := sys.mountTable(); err == nil {
		if _, ok := mountinfo.Lookup(mounts, path); !ok {
			return &MountError{Op: "unmount", Target: path, Kind: ErrNotMounted, Detail: path + " is not a mount point"}
		}
	}
	if err := m.Unmount(path); err != nil {
		return &MountError{Op: "unmount", Target: path, Err: err}
	}
	return nil
}

// ExplainRelabel turns the error of a relabel of path into one that says
// why, when the reason is a context mount: a relabel inside a context mount
// fails with ENOTSUP (EOPNOTSUPP), and there is nothing to relabel since
// every file already shows the mount's label. The result then matches
// ErrMountedWithContext and still wraps err. Any other error is returned
// unchanged.
func ExplainRelabel(path string, err error, opt *Options) error {
	if err == nil || !(errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)) {
		return err
	}
	sys := systemFor(opt.mounter())
	p, rerr := sys.resolve(path)
	if rerr != nil {
		return err
	}
	mounts, merr := sys.mountTable()
	if merr != nil {
		return err
	}
	m, ok := mountinfo.Containing(mounts, p)
	if !ok {
		return err
	}
	raw, has := m.SELinuxContext()
	if !has {
		return err
	}
	where := p + " is on " + m.MountPoint + ", which is"
	if m.MountPoint == p {
		where = p + " is"
	}
	return &MountError{Op: "relabel", Target: p, Kind: ErrMountedWithContext,
		Detail: fmt.Sprintf("%s mounted with context=%s: every file already shows that label", where, raw), Err: err}
}

func cleanAbs(path string) (string, error) {
	if path == "" {
		return "", errors.New("empty path")
	}
	return filepath.Abs(path)
}

// MountTable returns the mount table Mount and Verify read: the fake's
// table for a *FakeMounter, /proc/self/mountinfo otherwise.
func MountTable(opt *Options) ([]mountinfo.Mount, error) {
	return systemFor(opt.mounter()).mountTable()
}
