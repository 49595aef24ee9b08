//go:build linux

package relabel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/internal/xattr"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

// Relabel gives every entry below root, and root itself, the label to:
// directories, regular files, symlinks (the link, never its target), sockets,
// FIFOs and devices. It reads each label first and writes only those that
// differ, comparing canonically ("s0:c2,c1" on disk equals "s0:c1,c2"), so a
// second run over a labeled tree writes nothing; only after a run of wrong
// labels does it write some without reading them (Stats.Unread). A nil opt
// means the defaults.
//
// Unlike `chcon -R`:
//   - it reads before it writes, so nothing is written (no ctime change, no
//     journal traffic, no overlay copy-up) for entries already labeled;
//   - it reads directories in parallel, and large directories in parallel
//     chunks, with a bounded number of open descriptors;
//   - every lookup is a single component relative to an open directory,
//     symlinks are never followed, and a directory swapped for a symlink
//     during the walk is not entered, so it cannot be led out of root;
//   - it stays on root's mount unless Options.FollowMounts is set: a file
//     mounted over an entry is not labeled either;
//   - it refuses system paths such as /, /usr/local or /etc/ssh unless
//     Options.Force is set (see Protected);
//   - root is labeled last, and only if everything else succeeded, so an
//     interrupted or partial run stays visible and a rerun completes it;
//   - entries that vanish during the walk are skipped, not errors.
//
// Errors: if root's filesystem cannot store labels (ENOTSUP: ramfs, NFS
// without security labels, a context= mount) Relabel stops at once with an
// error that satisfies errors.Is(err, unix.ENOTSUP). Other failures (EROFS,
// EPERM, ...) are collected per path while the rest of the tree is labeled and
// returned as a *PartialError. Cancelling ctx stops the walk and returns
// ctx.Err() wrapped. Stats are valid in every case.
//
// Only labels change: contents, modes, owners and timestamps other than
// ctime are left alone. Relabel prints nothing; use Options.Progress.
func Relabel(ctx context.Context, root string, to label.Context, opt *Options) (Stats, error) {
	start := time.Now()
	if opt == nil {
		opt = &Options{}
	}
	w, err := newWalker(ctx, root, to, opt)
	if err != nil {
		return Stats{Elapsed: time.Since(start)}, err
	}
	defer w.closeRoot()
	err = w.run()
	st := w.totals()
	st.Elapsed = time.Since(start)
	if opt.Progress != nil {
		opt.Progress(st)
	}
	return st, err
}

// walker is the state of one Relabel call.
type walker struct {
	ctx  context.Context
	opt  *Options
	root string // as given, for messages
	to   label.Context

	attr    xattr.Name
	wantStr string     // canonical target label
	want    []byte     // what is written: the label and a NUL, as libselinux does
	mode    xattr.Mode // of the workers
	// fallback is the mode of a worker that cannot use ModeCwd, and of the
	// calls on the root.
	fallback xattr.Mode
	openat2  atomic.Bool // false once openat2 turned out to be missing
	rootDev  uint64

	// The tree root: a directory (top != nil) or a single entry name of the
	// directory parentFD.
	top      *dirNode
	parentFD int
	baseName []byte // NUL-terminated, when the root is not a directory
	treePath string // path of the tree root (root or root/SubPath)
	// topPath is the path of top as the kernel names it ("" without
	// /proc), read once it is open.
	topPath string
	mounts  map[string]map[string]struct{}
	// statEach: the mounts below the tree root are unknown (no
	// /proc/self/mountinfo), so every entry is checked with statx before
	// it is labeled.
	statEach bool

	budget   int64
	openDirs atomic.Int64

	// workers, started as work appears, up to maxWorkers; the last of the
	// live ones to end closes done
	maxWorkers int32
	started    atomic.Int32
	live       atomic.Int32
	done       chan struct{}

	// work queue: directories to read, and shared buffers to join
	mu      sync.Mutex
	cond    sync.Cond
	stack   []item
	shares  []*sharedBuf
	pending int
	idle    atomic.Int32
	stop    atomic.Bool

	fatalMu sync.Mutex
	fatal   error

	errMu sync.Mutex
	errs  []error

	visited, changed, correct, skipped, unread, errors atomic.Int64

	// wrongRun counts the labels read in a row, by any worker, that were
	// wrong; rightGen counts the runs a right label ended (see blindAfter).
	wrongRun, rightGen atomic.Int64
}

// dirNode is a directory of the tree. fd is open while the directory is being
// read, while chunks of it are being processed (busy), and while
// subdirectories wait to be opened from it (kids), unless the descriptor
// budget made it close early; then fd is -1 and kids reopen it.
type dirNode struct {
	parent  *dirNode
	name    string // in parent
	path    string // for errors and ModePath
	foreign bool   // on another mount than the root (FollowMounts)
	mounts  map[string]struct{}

	mu    sync.Mutex
	fd    int
	busy  int // the reader and outstanding chunks
	kids  int // subdirectories not opened yet
	inUse int // kids opening right now with fd
}

// item is a directory to open and read, or a shared buffer to join.
type item struct {
	dir   *dirNode
	share *sharedBuf
}

// sharedBuf is a getdents64 buffer of directory dir whose entries its reader
// and the workers that join it take a few at a time, in order (see
// sortEntries), so that they all work on neighbouring inodes. A worker with
// nothing else to do joins a buffer that has entries left (walker.shares),
// whenever that is: a worker busy when the buffer was read helps once it is
// free. The buffer returns to the pool when the last holder lets go.
type sharedBuf struct {
	dir   *dirNode
	buf   []byte
	order []direntRef
	_     [64]byte     // next, written by every worker, on a line of its own
	next  atomic.Int64 // index in order of the next entry to take
	_     [56]byte
	// holders: the reader and the workers that joined, each holding one of
	// dir.busy too, so that dir stays open while any of them labels; under
	// dir.mu. Zero once the last let go: no one joins then.
	holders int
}

// minShare is the fewest entries per worker for which a buffer is shared:
// below it, joining costs more than it saves.
const minShare = 32

// takeAtOnce is how many entries a worker takes from a shared buffer at a
// time: a quarter of an ext4 inode-table block (of 256-byte inodes), so that
// the workers move through the inode table together, for an atomic add per
// four entries. In the SELinux guest with a cold cache, two workers labeling
// a 1,000-file directory in turns of 1 or 8 entries took 44-46 ms, in
// contiguous runs of 32 entries 55 ms, and in halves 61 ms (with a warm
// cache, all 18-22 ms); go-selinux's workers, which take one path at a time
// from the walk, took 55 ms in the same runs (docs/benchmarks.md).
const takeAtOnce = 4

const direntBufSize = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, direntBufSize); return &b }}

func newWalker(ctx context.Context, root string, to label.Context, opt *Options) (*walker, error) {
	if to.IsZero() {
		return nil, fmt.Errorf("relabel %s: no label given", root)
	}
	if root == "" {
		return nil, errors.New("relabel: empty path")
	}
	// The path as given (with the sub-path, when it is one that can be
	// opened), before anything is opened...
	p := root
	if sub := filepath.Clean(opt.SubPath); opt.SubPath != "" && !filepath.IsAbs(sub) && sub != ".." && !strings.HasPrefix(sub, "../") {
		p = filepath.Join(root, sub)
	}
	var hs []string // the protected homes, looked up once
	if !opt.Force {
		hs = homes(os.Getenv, homeOf)
	}
	if !opt.Force && !opt.noPathCheck {
		if perr := checkProtected(p, hs, nil); perr != nil {
			return nil, fmt.Errorf("relabel %s: %w", root, perr)
		}
	}
	attr, err := xattr.NewName(opt.xattrName())
	if err != nil {
		return nil, fmt.Errorf("relabel %s: %w", root, err)
	}
	w := &walker{ctx: ctx, opt: opt, root: root, to: to, attr: attr, parentFD: -1}
	w.openat2.Store(!opt.noOpenat2)
	w.cond.L = &w.mu
	w.wantStr = to.String()
	w.want = append([]byte(w.wantStr), 0)
	if err := w.openRoot(); err != nil {
		w.closeRoot()
		if !opt.Force && !opt.noPathCheck && errors.Is(err, unix.ELOOP) {
			// A symlink refused: say so if it leads to a protected path.
			if perr := checkProtected(p, hs, filepath.EvalSymlinks); perr != nil {
				return nil, fmt.Errorf("relabel %s: %w", root, perr)
			}
		}
		return nil, err
	}
	if w.top != nil {
		w.topPath = fdPath(w.top.fd) // for the check below and loadMounts
	}
	if !opt.Force {
		// ...then what was opened, as the kernel names it: symlinks in the
		// path resolved, also one swapped in after the first check.
		// Without /proc, the path with its symlinks resolved (lstat by
		// lstat, so not first: a volume's path is ten components deep).
		if kpath, ok := w.openedPath(); ok {
			if why, bad := protectedRule(kpath, hs); bad {
				w.closeRoot()
				return nil, fmt.Errorf("relabel %s: %w", root, &ProtectedPathError{Path: kpath, Rule: why})
			}
		} else if perr := checkProtected(p, hs, filepath.EvalSymlinks); perr != nil {
			w.closeRoot()
			return nil, fmt.Errorf("relabel %s: %w", root, perr)
		}
	}
	return w, nil
}

// openedPath returns the path of the opened tree root as the kernel reports
// it (symlinks resolved); false without /proc.
func (w *walker) openedPath() (string, bool) {
	if w.top != nil {
		return w.topPath, w.topPath != ""
	}
	p := fdPath(w.parentFD)
	if p == "" {
		return "", false
	}
	return xattr.Join(p, w.baseName), true
}

// fdPath returns the path of the open file fd as the kernel names it; ""
// without /proc.
func fdPath(fd int) string {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || !strings.HasPrefix(p, "/") {
		return ""
	}
	return p
}

// openRoot opens the tree root: root itself, or root/SubPath resolved beneath
// it. The final component must not be a symlink.
func (w *walker) openRoot() error {
	// Absolute, so that the paths of the walk (which the path-based
	// fallback mode resolves) never depend on the working directory.
	abs, err := filepath.Abs(w.root)
	if err != nil {
		return fmt.Errorf("relabel %s: %w", w.root, err)
	}
	var pfd int
	var base string
	if abs == "/" {
		pfd, err = unix.Open("/", xattr.DirFlags, 0)
		base = "."
	} else {
		dir, b := filepath.Split(abs)
		if dir == "" {
			dir = "."
		}
		base = b
		pfd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("relabel %s: %w", w.root, &os.PathError{Op: "open", Path: filepath.Dir(abs), Err: err})
	}
	w.parentFD = pfd
	w.treePath = filepath.Dir(abs)

	if base != "." {
		if err := w.descend(w.treePath, base, true); err != nil {
			return err
		}
	} else {
		// root "/": the tree root is the directory already open.
		fd, err := unix.Dup(pfd)
		if err != nil {
			return fmt.Errorf("relabel %s: %w", w.root, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil {
			w.rootDev = st.Dev
		}
		w.treePath = "/"
		w.top = &dirNode{path: w.treePath, fd: fd}
	}
	if sub := w.opt.SubPath; sub != "" {
		if filepath.IsAbs(sub) {
			return fmt.Errorf("relabel %s: subPath %q must be relative", w.root, sub)
		}
		clean := filepath.Clean(sub)
		if clean == ".." || strings.HasPrefix(clean, "../") {
			return fmt.Errorf("relabel %s: subPath %q leaves the volume", w.root, sub)
		}
		if clean != "." {
			if w.top == nil {
				return fmt.Errorf("relabel %s: subPath %q given but the root is not a directory", w.root, sub)
			}
			parts := strings.Split(clean, "/")
			for i, p := range parts {
				if err := w.descend(w.treePath, p, i == len(parts)-1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// descend moves the tree root one component down, to name below the current
// one. The component must be a directory, or, if last, any non-symlink.
func (w *walker) descend(dirPath, name string, last bool) error {
	dfd := w.parentFD
	if w.top != nil {
		dfd = w.top.fd
	}
	path := xattr.JoinPath(dirPath, name)
	// A directory, the usual case, is opened at once (refusing symlinks);
	// anything else is then looked at to say what it is.
	var fd int
	var err error
	if w.top == nil {
		// The first component below the caller's directory: root itself
		// may be a mount point, so it is not checked for one.
		fd, err = xattr.OpenDirAt(dfd, dirPath, name)
	} else {
		// openDir refuses another mount unless FollowMounts is set.
		fd, err = w.openDir(dfd, dirPath, name, w.opt.FollowMounts)
	}
	if err == nil {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil {
			w.rootDev = st.Dev // the walk below stays on the sub-path's mount
		}
		if w.top != nil {
			if w.parentFD >= 0 {
				unix.Close(w.parentFD)
			}
			w.parentFD = w.top.fd
		}
		w.top = &dirNode{path: path, fd: fd}
		w.treePath = path
		return nil
	}
	notCrossed := func() error {
		return fmt.Errorf("relabel %s: %w", w.root, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: a mount point, not crossed unless mounts are followed", unix.EXDEV)})
	}
	switch {
	case errors.Is(err, unix.EXDEV):
		return notCrossed()
	case !errors.Is(err, unix.ENOTDIR) && !errors.Is(err, unix.ELOOP):
		return fmt.Errorf("relabel %s: %w", w.root, err)
	}
	nb := append([]byte(name), 0)
	typ, dev, lerr := xattr.Lstatat(dfd, dirPath, nb)
	switch {
	case lerr != nil:
		return fmt.Errorf("relabel %s: %w", w.root, lerr)
	case typ == xattr.TypeLink:
		return fmt.Errorf("relabel %s: %w", w.root, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: is a symbolic link, pass the path it points to", unix.ELOOP)})
	case typ == xattr.TypeDir || !last:
		// A directory that could not be opened as one (replaced
		// meanwhile), or a file where a directory must be.
		return fmt.Errorf("relabel %s: %w", w.root, err)
	}
	if w.top != nil && !w.opt.FollowMounts {
		// A file mounted over the sub-path's last component (from another
		// filesystem, or bind-mounted from this one, with the same st_dev)
		// lies outside the tree.
		mp, err := w.isMountPoint(dfd, dirPath, name, dev)
		if err != nil {
			return fmt.Errorf("relabel %s: %w", w.root, err)
		}
		if mp {
			return notCrossed()
		}
	}
	if w.top != nil {
		// The current directory becomes the one the entry is reached from.
		if w.parentFD >= 0 {
			unix.Close(w.parentFD)
		}
		w.parentFD = w.top.fd
		w.top = nil
	}
	w.baseName = nb
	w.treePath = path
	return nil
}

func (w *walker) closeRoot() {
	if w.top != nil && w.top.fd >= 0 {
		unix.Close(w.top.fd)
		w.top.fd = -1
	}
	if w.parentFD >= 0 {
		unix.Close(w.parentFD)
		w.parentFD = -1
	}
}

// openDir opens the subdirectory name of dirfd, refusing symlinks and, unless
// foreign mounts are allowed, mount points. It reports EXDEV for a mount point.
func (w *walker) openDir(dirfd int, dir, name string, mayCross bool) (int, error) {
	if w.openat2.Load() {
		fd, err := xattr.OpenDir(dirfd, dir, name, !mayCross)
		if err != unix.ENOSYS {
			return fd, err
		}
		w.openat2.Store(false)
	}
	fd, err := xattr.OpenDirAt(dirfd, dir, name)
	if err != nil || mayCross {
		return fd, err
	}
	// Without openat2's RESOLVE_NO_XDEV: another filesystem has another
	// st_dev, and a bind mount of this one is the root of its mount.
	var st unix.Stat_t
	cross := unix.Fstat(fd, &st) == nil && st.Dev != w.rootDev
	if !cross {
		root, known, _ := xattr.MountRoot(fd, xattr.JoinPath(dir, name), "")
		cross = known && root
	}
	if cross {
		unix.Close(fd)
		return -1, &os.PathError{Op: "openat", Path: xattr.JoinPath(dir, name), Err: unix.EXDEV}
	}
	return fd, nil
}

// isMountPoint reports whether the entry name of dirfd is a mount point: a
// directory or a file mounted there. dev is the entry's st_dev. It asks statx
// (Linux 5.8) and, on older kernels, looks the path up in
// /proc/self/mountinfo; without either, only another st_dev tells.
func (w *walker) isMountPoint(dirfd int, dirPath, name string, dev uint64) (bool, error) {
	if dev != w.rootDev {
		return true, nil
	}
	root, known, err := xattr.MountRoot(dirfd, dirPath, name)
	if err != nil || known {
		return root, err
	}
	dir, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dirfd))
	if err != nil {
		return false, nil
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return false, nil
	}
	_, ok := mountsBelow(mounts, dir)[""][name]
	return ok, nil
}

// run walks the tree with the workers, then labels the root.
func (w *walker) run() error {
	rootAt := w.parentFD
	var probeFD int
	if w.top != nil {
		probeFD = w.top.fd
	} else {
		probeFD = rootAt
	}
	w.mode = xattr.Probe(probeFD, w.attr)
	w.fallback = w.mode
	if w.mode != xattr.ModeAt {
		// Without *xattrat, workers on threads with working directories
		// of their own look entries up by their bare names: as cheap as
		// *xattrat, where /proc/self/fd/N/name resolves four components
		// more (each checked by the LSM) for every call.
		w.mode = xattr.ModeCwd
	}
	if w.opt.forceMode > 0 {
		w.mode = xattr.Mode(w.opt.forceMode - 1)
		if w.mode != xattr.ModeCwd {
			w.fallback = w.mode
		}
	}

	// Read the root's label first: ENOTSUP there means the filesystem
	// cannot store labels at all, and nothing else is worth trying.
	rootBuf := make([]byte, 256)
	rootLabel, err := w.readRoot(rootBuf)
	if err != nil && err != unix.ENODATA {
		if errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("relabel %s: the filesystem cannot store %s labels: %w", w.treePath, w.attr, err)
		}
		return fmt.Errorf("relabel %s: %w", w.treePath, err)
	}

	if w.top != nil {
		if err := w.walk(); err != nil {
			return err
		}
	}

	// The root, last.
	w.visited.Add(1)
	if w.errors.Load() > 0 {
		w.skipped.Add(1)
		return w.partial()
	}
	match := err == nil && w.matches(rootLabel, nil)
	switch {
	case match:
		w.correct.Add(1)
	case w.opt.DryRun:
		w.changed.Add(1)
	default:
		if err := w.writeRoot(); err != nil {
			if errors.Is(err, unix.ENOTSUP) {
				w.errors.Add(1)
				return fmt.Errorf("relabel %s: the filesystem cannot store %s labels: %w", w.treePath, w.attr, err)
			}
			w.record(err)
			return w.partial()
		}
		w.changed.Add(1)
	}
	return nil
}

func (w *walker) readRoot(buf []byte) ([]byte, error) {
	for {
		var n int
		var err error
		if w.top != nil {
			n, err = xattr.Fget(w.top.fd, w.treePath, w.attr, buf)
		} else {
			n, err = xattr.NewAt(w.fallback, w.attr).Get(w.parentFD, filepath.Dir(w.treePath), w.baseName, buf)
		}
		if errors.Is(err, unix.ERANGE) && len(buf) < 1<<16 {
			buf = make([]byte, 2*len(buf))
			continue
		}
		return buf[:n], err
	}
}

func (w *walker) writeRoot() error {
	if w.top != nil {
		return xattr.Fset(w.top.fd, w.treePath, w.attr, w.want)
	}
	return xattr.NewAt(w.fallback, w.attr).Set(w.parentFD, filepath.Dir(w.treePath), w.baseName, w.want)
}

func (w *walker) partial() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return &PartialError{Root: w.treePath, Errs: w.errs, Total: w.errors.Load()}
}

// matches reports whether raw, an on-disk label, equals the target:
// byte-equal after trailing NULs are dropped or, failing that, equal once
// parsed. An unparsable label does not match. c caches the last verdict.
func (w *walker) matches(raw []byte, c *cmpCache) bool {
	for len(raw) > 0 && raw[len(raw)-1] == 0 {
		raw = raw[:len(raw)-1]
	}
	if string(raw) == w.wantStr {
		return true
	}
	if c != nil && c.valid && string(raw) == string(c.raw) {
		return c.ok
	}
	got, err := label.Parse(string(raw))
	ok := err == nil && got == w.to
	if c != nil {
		c.raw = append(c.raw[:0], raw...)
		c.ok, c.valid = ok, true
	}
	return ok
}

type cmpCache struct {
	raw   []byte
	ok    bool
	valid bool
}

// record keeps a per-path error.
func (w *walker) record(err error) {
	w.errors.Add(1)
	w.errMu.Lock()
	if len(w.errs) < w.opt.maxErrors() {
		w.errs = append(w.errs, err)
	}
	w.errMu.Unlock()
}

// fail stops the walk with err unless it is already stopping.
func (w *walker) fail(err error) {
	w.fatalMu.Lock()
	if w.fatal == nil {
		w.fatal = err
	}
	w.fatalMu.Unlock()
	w.stop.Store(true)
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *walker) totals() Stats {
	return Stats{
		Visited: w.visited.Load(),
		Changed: w.changed.Load(),
		Correct: w.correct.Load(),
		Skipped: w.skipped.Load(),
		Unread:  w.unread.Load(),
		Errors:  w.errors.Load(),
	}
}

// walk runs the workers over the tree below w.top and waits for them. It
// returns the first fatal error (ENOTSUP, cancellation).
func (w *walker) walk() error {
	w.budget = int64(w.opt.MaxOpenDirs)
	if w.budget <= 0 {
		var rl unix.Rlimit
		w.budget = 256
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
			w.budget = min(max(int64(rl.Cur/4), 16), 4096)
		}
	}
	w.loadMounts()

	top := w.top
	top.busy = 1 // held by the walk until it ends, so the root stays open
	w.pending = 1
	w.stack = append(w.stack, item{dir: top})

	w.maxWorkers = int32(w.opt.workers())
	w.done = make(chan struct{})
	done := w.done
	func() {
		defer func() { <-done }()
		// One worker to start with; push starts more while items wait
		// for one, so that a small tree costs no idle threads.
		w.startWorker()
		var tick <-chan time.Time
		if w.opt.Progress != nil {
			t := time.NewTicker(w.opt.progressInterval())
			defer t.Stop()
			tick = t.C
		}
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-w.ctx.Done():
				w.fail(fmt.Errorf("relabel %s: %w", w.treePath, w.ctx.Err()))
				<-done
				return
			case <-tick:
				st := w.totals()
				st.Elapsed = time.Since(start)
				w.opt.Progress(st)
			}
		}
	}()

	// Release what an interrupted walk left queued, so that every
	// descriptor but the root's is closed.
	for _, it := range w.stack {
		if it.dir.parent != nil {
			w.kidDone(it.dir.parent)
		}
	}
	w.stack = nil
	w.shares = nil
	w.fatalMu.Lock()
	defer w.fatalMu.Unlock()
	return w.fatal
}

// loadMounts finds the mount points below the tree root in
// /proc/self/mountinfo, so that entries that are mount points (files bind-
// mounted over files too, which openat2 cannot tell) are not labeled.
func (w *walker) loadMounts() {
	kpath := w.topPath
	var mounts []mountinfo.Mount
	var err error
	if kpath != "" && !w.opt.noMountinfo {
		mounts, err = mountinfo.ReadSelf()
	}
	if err != nil || w.opt.noMountinfo || kpath == "" {
		// Without the list, each entry is asked (statx) before it is
		// labeled: slower, but a mount point is never labeled.
		w.statEach = !w.opt.FollowMounts
		return
	}
	w.mounts = mountsBelow(mounts, kpath)
	if m := w.mounts[""]; m != nil {
		w.top.mounts = m
	}
}

// mountsBelow returns, for each directory below root (as a path relative to
// root, "" for root), the names of its entries that are mount points.
func mountsBelow(mounts []mountinfo.Mount, root string) map[string]map[string]struct{} {
	var out map[string]map[string]struct{}
	prefix := strings.TrimSuffix(root, "/") + "/"
	for _, m := range mounts {
		mp := m.MountPoint
		if !strings.HasPrefix(mp, prefix) || len(mp) == len(prefix) {
			continue
		}
		rel := mp[len(prefix):]
		dir, name := "", rel
		if i := strings.LastIndexByte(rel, '/'); i >= 0 {
			dir, name = rel[:i], rel[i+1:]
		}
		if out == nil {
			out = map[string]map[string]struct{}{}
		}
		if out[dir] == nil {
			out[dir] = map[string]struct{}{}
		}
		out[dir][name] = struct{}{}
	}
	return out
}

// startWorker starts a worker. It is called before the first one runs or by
// a running worker, so the live ones never drop to zero before the last.
func (w *walker) startWorker() {
	w.started.Add(1)
	w.live.Add(1)
	run := func(private bool) {
		defer func() {
			if w.live.Add(-1) == 0 {
				close(w.done)
			}
		}()
		wk := newWorker(w, private)
		wk.loop()
	}
	if w.mode == xattr.ModeCwd {
		cwdThreads.run(run)
	} else {
		go run(false)
	}
}

// push queues an item, waking an idle worker, or starting one when the
// queue holds more items than idle workers.
func (w *walker) push(it item) {
	w.mu.Lock()
	w.pending++
	w.stack = append(w.stack, it)
	idle := w.idle.Load()
	if idle > 0 {
		w.cond.Signal()
	}
	start := int(idle) < len(w.stack) && w.started.Load() < w.maxWorkers
	w.mu.Unlock()
	if start {
		w.startWorker()
	}
}

// pop returns the next item, waiting for one: a directory to read or, when
// there is none, a shared buffer to join; false when the walk is over.
func (w *walker) pop() (item, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for !w.stop.Load() {
		if n := len(w.stack); n > 0 {
			it := w.stack[n-1]
			w.stack[n-1] = item{}
			w.stack = w.stack[:n-1]
			return it, true
		}
		if sb := w.join(); sb != nil {
			w.pending++
			if w.opt.joined != nil {
				w.opt.joined(sb.dir.path)
			}
			return item{share: sb}, true
		}
		if w.pending == 0 {
			break
		}
		w.idle.Add(1)
		w.cond.Wait()
		w.idle.Add(-1)
	}
	return item{}, false
}

// join makes the caller a holder of the newest shared buffer with entries
// left, dropping those without; nil if there is none. w.mu is held.
func (w *walker) join() *sharedBuf {
	for n := len(w.shares); n > 0; n = len(w.shares) {
		sb := w.shares[n-1]
		if sb.next.Load() < int64(len(sb.order)) {
			d := sb.dir
			d.mu.Lock()
			ok := sb.holders > 0
			if ok {
				sb.holders++
				d.busy++
			}
			d.mu.Unlock()
			if ok {
				return sb
			}
		}
		w.shares[n-1] = nil
		w.shares = w.shares[:n-1]
	}
	return nil
}

// offer lists sb for workers to join when they have nothing else to do. It
// wakes idle workers, or starts new ones, for it, one per minShare entries;
// in ModeCwd only while fewer workers run than there are CPUs: there each
// worker is a thread of its own, which Go runs only when another is
// preempted (every 10 ms), and in the SELinux guest a 1,000-file directory
// took longer with more workers than CPUs woken for it than with two.
// (Plain goroutines, in the other modes, cost nothing to wake: natively, a
// 100,000-file directory took 6% longer with two than with eight.) Workers
// busy elsewhere join when they are done.
func (w *walker) offer(sb *sharedBuf) {
	want := int32(len(sb.order)/minShare - 1)
	w.mu.Lock()
	w.shares = append(w.shares, sb)
	idle, started := w.idle.Load(), w.started.Load()
	room := w.maxWorkers
	if w.mode == xattr.ModeCwd {
		room = max(int32(runtime.GOMAXPROCS(0))-(started-idle), 0)
	}
	wake := min(idle, want, room)
	for range wake {
		w.cond.Signal()
	}
	start := max(min(want-wake, room-wake, w.maxWorkers-started), 0)
	w.mu.Unlock()
	for range start {
		w.startWorker()
	}
	if w.opt.offered != nil {
		w.opt.offered(sb.dir.path)
	}
}

// finish marks one popped item done.
func (w *walker) finish() {
	w.mu.Lock()
	w.pending--
	if w.pending == 0 {
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

func (w *walker) getBuf() []byte  { return *(bufPool.Get().(*[]byte)) }
func (w *walker) putBuf(b []byte) { bufPool.Put(&b) }

// letGo ends the caller's hold of sb (and of its directory).
func (w *walker) letGo(sb *sharedBuf) {
	d := sb.dir
	d.mu.Lock()
	sb.holders--
	last := sb.holders == 0
	d.busy--
	w.maybeClose(d)
	d.mu.Unlock()
	if last {
		w.putBuf(sb.buf)
	}
}

// maybeClose closes d's descriptor when nothing needs it any more or, under
// descriptor pressure, when only unopened subdirectories do. d.mu is held.
func (w *walker) maybeClose(d *dirNode) {
	if d.fd < 0 || d.busy > 0 || d.inUse > 0 {
		return
	}
	if d.kids == 0 || w.openDirs.Load() > w.budget {
		unix.Close(d.fd)
		d.fd = -1
		w.openDirs.Add(-1)
	}
}

func (w *walker) releaseBusy(d *dirNode) {
	d.mu.Lock()
	d.busy--
	w.maybeClose(d)
	d.mu.Unlock()
}

func (w *walker) kidDone(p *dirNode) {
	p.mu.Lock()
	p.kids--
	w.maybeClose(p)
	p.mu.Unlock()
}

// acquire returns a descriptor of d to open a child from: d's own (marked in
// use) or, if d was closed under descriptor pressure, a fresh one reopened
// from the nearest open ancestor, which the caller must close (owned).
func (w *walker) acquire(d *dirNode) (fd int, owned bool, err error) {
	d.mu.Lock()
	if d.fd >= 0 {
		d.inUse++
		fd = d.fd
		d.mu.Unlock()
		return fd, false, nil
	}
	d.mu.Unlock()
	if d.parent == nil {
		return -1, false, &os.PathError{Op: "open", Path: d.path, Err: unix.EBADF}
	}
	pfd, powned, err := w.acquire(d.parent)
	if err != nil {
		return -1, false, err
	}
	fd, err = w.openDir(pfd, d.parent.path, d.name, d.foreign)
	w.unacquire(d.parent, pfd, powned)
	if err != nil {
		return -1, false, err
	}
	return fd, true, nil
}

func (w *walker) unacquire(d *dirNode, fd int, owned bool) {
	if owned {
		unix.Close(fd)
		return
	}
	d.mu.Lock()
	d.inUse--
	w.maybeClose(d)
	d.mu.Unlock()
}

// worker is one walking goroutine and its buffers.
type worker struct {
	w     *walker
	mode  xattr.Mode
	cwd   *dirNode  // ModeCwd: the directory the thread is in
	at    *xattr.At // in mode
	fb    *xattr.At // in the walker's fallback mode, made on first use
	cur   *xattr.At // at, or fb for a directory the thread cannot enter
	val   []byte
	cache cmpCache
	buf   []byte
	order []direntRef

	visited, changed, correct, skipped, unread int64

	// blindLeft counts down the labels to write unread, while rightGen is
	// still blindGen (see blindAfter).
	blindLeft int
	blindGen  int64
}

// Once the workers together have read blindAfter wrong labels in a row, a
// worker that reads a wrong one writes its next blindSpan labels without
// reading them, then reads one again: when every label is wrong (a new
// volume, a new pod's level), a read costs a tenth of a write in an SELinux
// kernel and saves nothing. A label found right by any worker ends every
// worker's blind writes. A tree whose labels are right is never written, and
// in a mixed tree each worker writes at most blindSpan right labels after a
// run of blindAfter wrong ones before reading resumes. The run is counted
// across workers so that, with many workers, the reads before it are not
// multiplied by their number (in the SELinux guest, a 1,000-file relabel
// by 8 workers that read no label at all took 8% less time).
const (
	blindAfter = 16
	blindSpan  = 64
)

// newWorker returns the state of a worker; private says whether its thread
// has a working directory of its own (ModeCwd needs one).
func newWorker(w *walker, private bool) *worker {
	mode := w.mode
	if mode == xattr.ModeCwd && !private {
		mode = w.fallback
	}
	at := xattr.NewAt(mode, w.attr)
	return &worker{w: w, mode: mode, at: at, cur: at, val: make([]byte, 256)}
}

func (wk *worker) loop() {
	w := wk.w
	defer wk.flush()
	if wk.mode == xattr.ModeCwd {
		// The thread outlives the walk (cwdThreads): leave the tree before
		// Relabel returns, so that it can be unmounted.
		defer unix.Chdir("/")
	}
	for {
		it, ok := w.pop()
		if !ok {
			return
		}
		if it.share != nil {
			wk.labelShare(it.share)
		} else {
			wk.visitDir(it.dir)
		}
		wk.flush()
		w.finish()
	}
}

func (wk *worker) flush() {
	w := wk.w
	if wk.visited != 0 {
		w.visited.Add(wk.visited)
		wk.visited = 0
	}
	if wk.changed != 0 {
		w.changed.Add(wk.changed)
		wk.changed = 0
	}
	if wk.correct != 0 {
		w.correct.Add(wk.correct)
		wk.correct = 0
	}
	if wk.skipped != 0 {
		w.skipped.Add(wk.skipped)
		wk.skipped = 0
	}
	if wk.unread != 0 {
		w.unread.Add(wk.unread)
		wk.unread = 0
	}
}

// visitDir opens d (unless it is the root, already open) and reads it.
func (wk *worker) visitDir(d *dirNode) {
	w := wk.w
	if d.parent != nil {
		if w.opt.beforeOpenDir != nil {
			w.opt.beforeOpenDir(d.path)
		}
		pfd, owned, err := w.acquire(d.parent)
		var fd int
		if err == nil {
			fd, err = w.openDir(pfd, d.parent.path, d.name, d.foreign)
			if errors.Is(err, unix.EXDEV) && w.opt.FollowMounts {
				// a mount point that appeared after mountinfo was read
				d.foreign = true
				fd, err = w.openDir(pfd, d.parent.path, d.name, true)
			}
			w.unacquire(d.parent, pfd, owned)
		}
		w.kidDone(d.parent)
		if err != nil {
			switch {
			case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.EXDEV):
				// Vanished, replaced by a symlink or a file, or a mount
				// point: its own label was handled from the parent (or, for
				// a mount point, deliberately not); nothing to enter.
			default:
				w.record(err)
			}
			return
		}
		d.mu.Lock()
		d.fd = fd
		d.busy++
		d.mu.Unlock()
		w.openDirs.Add(1)
	}
	wk.readDir(d)
	if d.parent != nil {
		w.releaseBusy(d)
	}
}

// readDir reads d with getdents64 and handles its entries. It shares each
// large buffer with the workers that are or become idle, so that a single
// large directory is labeled in parallel too, and reads the next buffer
// before it labels a shared one, so that the others do not wait for the
// read (at most two buffers of a directory are held at once).
func (wk *worker) readDir(d *dirNode) {
	w := wk.w
	var prev *sharedBuf // offered, not yet labeled by this worker
	defer func() { wk.labelShare(prev) }()
	for !w.stop.Load() {
		if wk.buf == nil {
			wk.buf = w.getBuf()
		}
		n, err := xattr.ReadDirent(d.fd, d.path, wk.buf)
		if err != nil {
			w.record(err)
			return
		}
		if n == 0 {
			return
		}
		order := wk.sortEntries(wk.buf[:n])
		if len(order) >= 2*minShare && w.maxWorkers > 1 {
			sb := wk.share(d, order)
			wk.labelShare(prev)
			prev = sb
			continue
		}
		wk.labelShare(prev)
		prev = nil
		wk.visitEntries(d, wk.buf, order)
	}
}

// share offers the entries of wk.buf (order) to the other workers, who
// label them until none are left; the caller takes its part later and lets
// go of the buffer.
func (wk *worker) share(d *dirNode, order []direntRef) *sharedBuf {
	w := wk.w
	sb := &sharedBuf{dir: d, buf: wk.buf, order: slices.Clone(order), holders: 1}
	wk.buf = nil
	d.mu.Lock()
	d.busy++
	d.mu.Unlock()
	w.offer(sb)
	return sb
}

// labelShare labels entries of sb (nil: none), takeAtOnce at a time, until
// none are left, and lets go of it. It does not touch sb.buf once they are
// all taken.
func (wk *worker) labelShare(sb *sharedBuf) {
	if sb == nil {
		return
	}
	defer wk.w.letGo(sb)
	d, buf, order := sb.dir, sb.buf, sb.order
	n := int64(len(order))
	for !wk.w.stop.Load() {
		i := sb.next.Add(takeAtOnce) - takeAtOnce
		if i >= n {
			return
		}
		wk.visitEntries(d, buf, order[i:min(i+takeAtOnce, n)])
	}
}

// sortEntries lists the entries of one getdents64 buffer in wk.order:
// subdirectories first, so that other workers can start reading them (a
// deep tree is a chain of reads) while the files are labeled, each group in
// inode order: directories list entries in hash order, and visiting inodes
// in the order they sit in the inode table lets the filesystem's inode-table
// readahead serve a cold cache.
func (wk *worker) sortEntries(b []byte) []direntRef {
	var de xattr.Dirent
	wk.order = wk.order[:0]
	for off := 0; off < len(b); {
		sz := xattr.NextDirent(b[off:], &de)
		if sz == 0 {
			break
		}
		if de.Ino != 0 && !de.IsDot() {
			wk.order = append(wk.order, direntRef{ino: de.Ino, off: uint32(off), file: de.Type != xattr.TypeDir})
		}
		off += sz
	}
	slices.SortFunc(wk.order, func(a, b direntRef) int {
		return cmp.Or(cmp.Compare(b2i(a.file), b2i(b.file)), cmp.Compare(a.ino, b.ino))
	})
	return wk.order
}

// visitEntries handles the entries refs of the getdents64 buffer b of
// directory d.
func (wk *worker) visitEntries(d *dirNode, b []byte, refs []direntRef) {
	w := wk.w
	if wk.mode == xattr.ModeCwd && wk.cwd != d {
		wk.cur = wk.at
		if err := xattr.Chdir(d.fd, d.path); err != nil {
			// A directory that can be read but not searched: the
			// entries fail one by one, as in the other modes.
			if wk.fb == nil {
				wk.fb = xattr.NewAt(w.fallback, w.attr)
			}
			wk.cur = wk.fb
			wk.cwd = nil
		} else {
			wk.cwd = d
		}
	}
	var de xattr.Dirent
	for _, r := range refs {
		if w.stop.Load() {
			return
		}
		xattr.NextDirent(b[r.off:], &de)
		wk.entry(d, &de)
	}
}

// direntRef is an entry of a getdents64 buffer: its inode, its offset in
// the buffer, and whether it is not a directory.
type direntRef struct {
	ino  uint64
	off  uint32
	file bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (wk *worker) entry(d *dirNode, de *xattr.Dirent) {
	w := wk.w
	foreign := d.foreign
	if d.mounts != nil {
		if _, ok := d.mounts[string(de.Name[:len(de.Name)-1])]; ok {
			if !w.opt.FollowMounts {
				wk.visited++
				wk.skipped++
				return
			}
			foreign = true
		}
	}
	if w.statEach {
		root, known, err := xattr.MountRoot(d.fd, d.path, string(de.Name[:len(de.Name)-1]))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			wk.visited++
			w.record(err)
			return
		}
		if err == nil && root && known {
			wk.visited++
			wk.skipped++
			return
		}
	}
	typ := de.Type
	if typ == xattr.TypeUnknown {
		t, _, err := xattr.Lstatat(d.fd, d.path, de.Name)
		if err != nil {
			wk.visited++
			if errors.Is(err, unix.ENOENT) {
				wk.skipped++
			} else {
				w.record(err)
			}
			return
		}
		typ = t
	}
	if !wk.label(d, de.Name, foreign) {
		return
	}
	if typ == xattr.TypeDir {
		wk.pushDir(d, de.Name, foreign)
	}
}

// label gives the entry name of d the target label if it has another one.
// It returns false if the entry vanished.
func (wk *worker) label(d *dirNode, name []byte, foreign bool) bool {
	w := wk.w
	wk.visited++
	if wk.blindLeft > 0 {
		if w.rightGen.Load() == wk.blindGen {
			wk.blindLeft--
			if err := wk.cur.Set(d.fd, d.path, name, w.want); err != nil {
				return wk.fail(err, foreign)
			}
			wk.changed++
			wk.unread++
			return true
		}
		wk.blindLeft = 0 // another worker found a right label
	}
	var n int
	var err error
	for {
		n, err = wk.cur.Get(d.fd, d.path, name, wk.val)
		if err == nil || err == unix.ENODATA || !errors.Is(err, unix.ERANGE) || len(wk.val) >= 1<<16 {
			break
		}
		wk.val = make([]byte, 2*len(wk.val))
	}
	switch {
	case err == nil:
		if w.matches(wk.val[:n], &wk.cache) {
			wk.correct++
			if w.wrongRun.Load() != 0 { // no store (and no shared cache line written) while all are right
				w.wrongRun.Store(0)
				w.rightGen.Add(1)
			}
			return true
		}
	case err == unix.ENODATA:
	default:
		return wk.fail(err, foreign)
	}
	if w.opt.DryRun {
		wk.changed++
		return true
	}
	if w.wrongRun.Add(1) >= blindAfter && !w.opt.noBlind {
		wk.blindLeft = blindSpan
		wk.blindGen = w.rightGen.Load()
	}
	if err := wk.cur.Set(d.fd, d.path, name, w.want); err != nil {
		return wk.fail(err, foreign)
	}
	wk.changed++
	return true
}

func (wk *worker) fail(err error, foreign bool) bool {
	w := wk.w
	switch {
	case errors.Is(err, unix.ENOENT):
		wk.skipped++
		return false
	case errors.Is(err, unix.ENOTSUP) && !foreign:
		w.errors.Add(1)
		w.fail(fmt.Errorf("relabel %s: the filesystem cannot store %s labels: %w", w.treePath, w.attr, err))
		return false
	}
	w.record(err)
	return true
}

// pushDir queues the subdirectory name of d.
func (wk *worker) pushDir(d *dirNode, name []byte, foreign bool) {
	w := wk.w
	s := string(name[:len(name)-1])
	child := &dirNode{parent: d, name: s, path: xattr.JoinPath(d.path, s), foreign: foreign, fd: -1}
	if len(w.mounts) > 0 {
		child.mounts = w.mounts[strings.TrimPrefix(child.path[len(w.treePath):], "/")]
	}
	d.mu.Lock()
	d.kids++
	d.mu.Unlock()
	w.push(item{dir: child})
}
