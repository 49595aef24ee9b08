// Package relabel gives every entry of a directory tree one SELinux label,
// the way a container runtime relabels a volume that could not be mounted
// with -o context, only faster and safer.
//
// Relabel walks the tree with directory-descriptor-relative system calls
// (openat2, getdents64 and, on Linux 6.13 and later, getxattrat/setxattrat;
// before, l*xattr on bare names from a thread-private working directory),
// reads each entry's label and writes only the ones that differ, in parallel
// across directories and within large ones. It never leaves the tree, does not
// cross into other mounts unless asked, and labels the root last.
//
// The tree is root (or root/SubPath) and what is reachable from it by names
// of directory entries, one component at a time, on the same mount: no
// symlink is followed (the link itself is labeled), and no mount point below
// the tree root is labeled or entered, whether a directory or a file mounted
// over another, from another filesystem or bind-mounted from the same one, in
// a full walk and in the resolution of SubPath alike. The tree root itself
// may be a mount point: the caller named it. What cannot be prevented: a hard
// link in the tree is the same inode as its other names, which may lie
// outside the tree, and they share the label, as with chcon -R (only
// regular files can have them; a directory cannot). A mount made inside the
// tree while the walk runs, by someone allowed to mount in this mount
// namespace, is not entered, but its root may be labeled.
//
// System paths are refused unless Options.Force is set; see Protected for the
// rule (/usr and everything below it, /srv itself but not /srv/data, the
// kubelet's state directory but not its volume directories, ...).
//
// The package needs no SELinux kernel: it reads and writes the
// security.selinux extended attribute, which root can set on any filesystem
// that stores security.* attributes (ext4, XFS, tmpfs, ...). Tests that
// cannot run as root may use another attribute through Options.XattrName.
//
// On systems other than Linux, Relabel returns ErrUnsupported.
package relabel

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// DefaultXattr is the attribute that holds a file's SELinux label.
const DefaultXattr = "security.selinux"

// ErrUnsupported is returned by Relabel on operating systems other than
// Linux.
var ErrUnsupported = errors.New("relabel: SELinux relabeling is only supported on Linux")

// ErrProtectedPath is matched (errors.Is) by the error Relabel returns for a
// system path such as /, /usr/local or a home directory when Options.Force is
// not set. The error is a *ProtectedPathError, which names the rule that
// matched.
var ErrProtectedPath = errors.New("relabeling this system path is not allowed")

// Options change what Relabel does. The zero value, and a nil *Options, ask
// for the defaults described on each field.
type Options struct {
	// Workers is the number of goroutines that read directories and label
	// entries. <= 0 means DefaultWorkers().
	Workers int

	// FollowMounts makes Relabel descend into, and label, filesystems mounted
	// inside the tree. By default mount points below the root are skipped
	// (counted in Stats.Skipped), as `restorecon -x` does.
	FollowMounts bool

	// DryRun reads every label and counts in Stats.Changed the entries whose
	// label would change, without writing anything.
	DryRun bool

	// SubPath, when set, limits the relabel to the subtree root/SubPath, as
	// a runtime does for a subPath volume mount. It is relative, resolved
	// beneath root without following symlinks and without crossing mounts
	// (a directory or a file mounted on any of its components) unless
	// FollowMounts is set; the subtree root is labeled last. The
	// protected-path check applies to the subtree root.
	SubPath string

	// Force allows relabeling a protected system path (see Protected).
	Force bool

	// Progress, when set, is called with the counts so far every
	// ProgressInterval, from the goroutine that called Relabel and never
	// concurrently, and once more at the end.
	Progress func(Stats)

	// ProgressInterval is the period of Progress calls; <= 0 means 200ms.
	ProgressInterval time.Duration

	// MaxErrors bounds the number of per-path errors kept in a
	// *PartialError. Stats.Errors counts them all. <= 0 means 100.
	MaxErrors int

	// XattrName is the extended attribute to set; "" means
	// "security.selinux". Tests that cannot be root can use a "user."
	// attribute (which symlinks and special files cannot carry).
	XattrName string

	// MaxOpenDirs bounds the directory descriptors held open for
	// subdirectories waiting to be read; beyond it, directories are reopened
	// from their nearest open ancestor, one component at a time. <= 0 means
	// a quarter of RLIMIT_NOFILE, between 16 and 4096. Each worker holds one
	// or two descriptors on top of this.
	MaxOpenDirs int

	// test hooks
	beforeOpenDir func(path string) // called before a subdirectory is opened
	offered       func(dir string)  // called when a buffer of dir is offered to the workers
	joined        func(dir string)  // called when a worker joins a buffer of dir
	noMountinfo   bool              // act as if /proc/self/mountinfo were unreadable
	noPathCheck   bool              // skip the protected-path check of the path as given
	noBlind       bool              // always read before writing
	forceMode     int               // 1+xattr.Mode to force a fallback mode
	noOpenat2     bool              // use the openat fallback
}

// DefaultWorkers returns the number of workers Relabel uses by default:
// 4 × GOMAXPROCS, between 4 and 32. Relabeling is bound by system call
// latency and, with a cold cache, by disk reads rather than by CPU: more
// workers than CPUs keep several directory and inode reads in flight, so that
// the disk overlaps them.
func DefaultWorkers() int {
	n := 4 * runtime.GOMAXPROCS(0)
	return min(max(n, 4), 32)
}

// Stats are the counts of a relabel. Every visited entry, the root included,
// is counted once in Changed, Correct, Skipped or Errors, except that a
// directory whose own label was handled but whose entries could not be listed
// counts in Errors as well.
//
// Changed counts the labels written. Most were read first and found wrong;
// Unread of them were written without being read: after a run of wrong
// labels, Relabel writes the next ones blindly for a while (a write costs
// about ten reads in an SELinux kernel), so a few of those may have carried
// the label already and been rewritten unchanged. A dry run reads every label
// and its Unread is 0; a tree whose labels are all right is never written.
type Stats struct {
	Visited int64         `json:"visited"` // entries examined
	Changed int64         `json:"changed"` // labels written (in a dry run: that would be written)
	Unread  int64         `json:"unread"`  // of Changed, labels written without being read first
	Correct int64         `json:"correct"` // entries that already had the label
	Skipped int64         `json:"skipped"` // vanished entries, mount points
	Errors  int64         `json:"errors"`  // entries that failed (see PartialError)
	Elapsed time.Duration `json:"elapsed"` // wall time of the call
}

// PartialError is returned when some entries could not be relabeled while
// the rest of the tree was: a read-only filesystem (EROFS), a denied write
// (EPERM, EACCES), an unreadable directory. The root is then left as it was,
// so that the tree still shows that the relabel is incomplete.
type PartialError struct {
	Root  string
	Errs  []error // the first Options.MaxErrors failures, *os.PathError values
	Total int64   // every failure, also those not kept
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "relabel %s: %d %s failed", e.Root, e.Total, plural(e.Total, "entry", "entries"))
	for i, err := range e.Errs {
		if i == 3 {
			b.WriteString("; ...")
			break
		}
		b.WriteString("; ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the kept errors, so that errors.Is(err, unix.EROFS) and
// errors.As(err, &pathErr) see them.
func (e *PartialError) Unwrap() []error { return e.Errs }

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (o *Options) maxErrors() int {
	if o.MaxErrors <= 0 {
		return 100
	}
	return o.MaxErrors
}

func (o *Options) progressInterval() time.Duration {
	if o.ProgressInterval <= 0 {
		return 200 * time.Millisecond
	}
	return o.ProgressInterval
}

func (o *Options) workers() int {
	if o.Workers <= 0 {
		return DefaultWorkers()
	}
	return o.Workers
}

func (o *Options) xattrName() string {
	if o.XattrName == "" {
		return DefaultXattr
	}
	return o.XattrName
}
