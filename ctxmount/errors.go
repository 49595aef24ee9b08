package ctxmount

import (
	"errors"
	"strings"

	"github.com/selmount/selmount/mountopt"
)

// Sentinels matched by *MountError through errors.Is.
var (
	// ErrUnsupported: the operating system has no SELinux mounts.
	ErrUnsupported = errors.New("context mounts are not supported on this operating system")
	// ErrSELinuxDisabled: a label was asked for on a host where SELinux is
	// not enabled (no selinuxfs, or no policy loaded).
	ErrSELinuxDisabled = errors.New("SELinux is not enabled on this host")
	// ErrContextDropped: util-linux mount(8) would mount without the label
	// (no /etc/selinux/config, or no writable selinuxfs, in this mount
	// namespace).
	ErrContextDropped = errors.New("util-linux mount would silently drop the context= option")
	// ErrInvalidLabel: the label does not parse, or the loaded policy does
	// not define it. The same value as mountopt.ErrInvalidLabel.
	ErrInvalidLabel = mountopt.ErrInvalidLabel
	// ErrSuperblockContext: the filesystem (its superblock) is already
	// mounted with another context, or without one.
	ErrSuperblockContext = errors.New("the filesystem is already mounted with another SELinux context")
	// ErrUnknownOption: the filesystem does not know one of the options.
	ErrUnknownOption = errors.New("unknown mount option")
	// ErrNotMounted: the target is not a mount point.
	ErrNotMounted = errors.New("not a mount point")
	// ErrContextMissing: the mount carries no context= although one was
	// asked for.
	ErrContextMissing = errors.New("mounted without the context= option")
	// ErrContextMismatch: the mount carries another label than asked for.
	ErrContextMismatch = errors.New("mounted with another SELinux context")
	// ErrMountedWithContext: a relabel failed because the path is on a
	// context mount, where every file already shows the mount's label.
	ErrMountedWithContext = errors.New("mounted with context, nothing to relabel")
)

// MountError describes a failed mount, unmount, verification or relabel.
// errors.Is(err, ErrX) is true when Kind is ErrX; Unwrap returns the cause
// (a syscall.Errno, an exec error, ...).
type MountError struct {
	Op      string   // "mount", "unmount", "verify", "relabel"
	Source  string   // may be empty
	Target  string   // the mount point (or the path, for "relabel")
	FSType  string   // may be empty
	Options []string // the options passed to mount, without sensitive ones
	Kind    error    // one of the Err* sentinels, or nil
	Detail  string   // what happened and what to do, in words
	Err     error    // the underlying error, or nil
}

func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Op == "mount" && e.Source != "" {
		b.WriteString(" " + e.Source + " on")
	}
	b.WriteString(" " + e.Target)
	if e.FSType != "" {
		b.WriteString(" (type " + e.FSType)
		if len(e.Options) > 0 {
			b.WriteString(", options " + mountopt.Join(e.Options))
		}
		b.WriteString(")")
	}
	if e.Kind != nil {
		b.WriteString(": " + e.Kind.Error())
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil && (e.Kind == nil || !strings.Contains(e.Detail, e.Err.Error())) {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is the error's Kind.
func (e *MountError) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// Unwrap returns the underlying error.
func (e *MountError) Unwrap() error { return e.Err }
