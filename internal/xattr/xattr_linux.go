//go:build linux

package xattr

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mode selects how At reaches a directory entry.
type Mode int

const (
	// ModeAt uses getxattrat/setxattrat(dirfd, name, AT_SYMLINK_NOFOLLOW):
	// one-component lookups, race-free, Linux 6.13 and later.
	ModeAt Mode = iota
	// ModeProc uses lgetxattr/lsetxattr on "/proc/self/fd/<dirfd>/<name>":
	// as race-free as ModeAt (the directory is the open descriptor), about
	// twice as slow, and needs /proc.
	ModeProc
	// ModePath uses lgetxattr/lsetxattr on "<dir>/<name>". It re-resolves
	// every component of dir, so a directory swapped for a symlink between
	// the read of the directory and the call is followed. Used only when
	// neither *xattrat nor /proc is available.
	ModePath
	// ModeCwd uses lgetxattr/lsetxattr on the entry's bare name, relative to
	// the working directory of the calling thread, which the caller has given
	// a working directory of its own (UnshareCwd) and moved to the directory
	// (Chdir). Lookups are one component from the open directory, as with
	// ModeAt, and as cheap: the fast mode on kernels before 6.13. The dirfd
	// passed to Get and Set is not used.
	ModeCwd
)

func (m Mode) String() string {
	switch m {
	case ModeAt:
		return "xattrat"
	case ModeProc:
		return "procfd"
	case ModePath:
		return "path"
	case ModeCwd:
		return "cwd"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// xattrArgs is the kernel's struct xattr_args.
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

var emptyPath = [1]byte{0}

func getxattrat(dirfd int, name *byte, atFlags int, attr *byte, buf []byte) (int, unix.Errno) {
	return xattrat(sysGetxattrat, dirfd, name, atFlags, attr, buf)
}

func setxattrat(dirfd int, name *byte, atFlags int, attr *byte, value []byte) unix.Errno {
	_, e := xattrat(sysSetxattrat, dirfd, name, atFlags, attr, value)
	return e
}

// xattrat makes the getxattrat or setxattrat call (trap, negative when the
// kernel has none) with buf as the value, retried when interrupted.
func xattrat(trap int, dirfd int, name *byte, atFlags int, attr *byte, buf []byte) (int, unix.Errno) {
	if trap < 0 {
		return 0, unix.ENOSYS
	}
	var args xattrArgs
	if len(buf) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
		args.size = uint32(len(buf))
	}
	for {
		r, _, e := unix.Syscall6(uintptr(trap), uintptr(dirfd), uintptr(unsafe.Pointer(name)), uintptr(atFlags),
			uintptr(unsafe.Pointer(attr)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
		if e == unix.EINTR {
			continue
		}
		runtime.KeepAlive(buf)
		if e != 0 {
			return 0, e
		}
		return int(r), 0
	}
}

func bufPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func lgetxattr(path *byte, attr *byte, buf []byte) (int, unix.Errno) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_LGETXATTR, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(attr)),
			uintptr(bufPtr(buf)), uintptr(len(buf)), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), 0
	}
}

func lsetxattr(path *byte, attr *byte, value []byte) unix.Errno {
	for {
		_, _, e := unix.Syscall6(unix.SYS_LSETXATTR, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(attr)),
			uintptr(bufPtr(value)), uintptr(len(value)), 0, 0)
		if e != unix.EINTR {
			return e
		}
	}
}

// wrap turns a failed call into the error the package returns: ENODATA bare,
// everything else an *os.PathError.
func wrap(op string, path func() string, e unix.Errno) error {
	if e == unix.ENODATA {
		return unix.ENODATA
	}
	return &os.PathError{Op: op, Path: path(), Err: e}
}

// Join returns dir/name for error messages; name may end with its NUL.
func Join(dir string, name []byte) string {
	if n := len(name); n > 0 && name[n-1] == 0 {
		name = name[:n-1]
	}
	return JoinPath(dir, string(name))
}

// Lget reads attr of path without following a final symlink into buf and
// returns its size. A missing attribute gives the bare unix.ENODATA; a buf
// too small gives unix.ERANGE inside the *os.PathError.
func Lget(path string, attr Name, buf []byte) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return 0, &os.PathError{Op: "lgetxattr", Path: path, Err: err}
	}
	n, e := lgetxattr(p, &attr.b[0], buf)
	if e != 0 {
		return 0, wrap("lgetxattr", func() string { return path }, e)
	}
	return n, nil
}

// Lset writes attr of path without following a final symlink.
func Lset(path string, attr Name, value []byte) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return &os.PathError{Op: "lsetxattr", Path: path, Err: err}
	}
	if e := lsetxattr(p, &attr.b[0], value); e != 0 {
		return &os.PathError{Op: "lsetxattr", Path: path, Err: e}
	}
	return nil
}

// Fget reads attr of the open file fd; path is used in errors only.
func Fget(fd int, path string, attr Name, buf []byte) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_FGETXATTR, uintptr(fd), uintptr(unsafe.Pointer(&attr.b[0])),
			uintptr(bufPtr(buf)), uintptr(len(buf)), 0, 0)
		runtime.KeepAlive(buf)
		switch e {
		case unix.EINTR:
			continue
		case 0:
			return int(r), nil
		}
		return 0, wrap("fgetxattr", func() string { return path }, e)
	}
}

// Fset writes attr of the open file fd; path is used in errors only.
func Fset(fd int, path string, attr Name, value []byte) error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_FSETXATTR, uintptr(fd), uintptr(unsafe.Pointer(&attr.b[0])),
			uintptr(bufPtr(value)), uintptr(len(value)), 0, 0)
		runtime.KeepAlive(value)
		switch e {
		case unix.EINTR:
			continue
		case 0:
			return nil
		}
		return &os.PathError{Op: "fsetxattr", Path: path, Err: e}
	}
}

// Probe reports the fastest Mode that works for the open directory dirfd:
// ModeAt when the kernel has getxattrat, else ModeProc when /proc/self/fd is
// usable, else ModePath. It makes one or two system calls.
func Probe(dirfd int, attr Name) Mode {
	var b [1]byte
	_, e := getxattrat(dirfd, &emptyPath[0], unix.AT_EMPTY_PATH, &attr.b[0], b[:0])
	// ENOSYS: an older kernel; EPERM: a seccomp filter that predates the call.
	if e != unix.ENOSYS && e != unix.EPERM {
		return ModeAt
	}
	var st unix.Stat_t
	if unix.Fstat(dirfd, &st) == nil {
		if err := unix.Stat("/proc/self/fd/"+strconv.Itoa(dirfd), &st); err == nil {
			return ModeProc
		}
	}
	return ModePath
}

// UnshareCwd prepares the calling goroutine for ModeCwd: it locks it to its
// OS thread for good and gives the thread a working directory of its own
// (unshare(CLONE_FS)), so that Chdir moves no other thread. The thread ends
// with the goroutine; before the goroutine ends it should Chdir away from
// directories that may be unmounted. On failure (a seccomp filter, a kernel
// without CLONE_FS unsharing) nothing changed and the goroutine is not
// locked.
func UnshareCwd() error {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		runtime.UnlockOSThread()
		return os.NewSyscallError("unshare", err)
	}
	return nil
}

// Chdir moves the working directory of the calling thread to the open
// directory fd; dir is its path, for errors.
func Chdir(fd int, dir string) error {
	for {
		err := unix.Fchdir(fd)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "fchdir", Path: dir, Err: err}
		}
		return nil
	}
}

// At reads and writes one attribute of directory entries relative to an open
// directory, without following a symlink in the entry's name. It keeps
// scratch space for the fallback modes, so that no call allocates; an At must
// not be used by two goroutines at once.
type At struct {
	mode    Mode
	attr    Name
	scratch []byte
}

// NewAt returns an At for attr using mode (see Probe).
func NewAt(mode Mode, attr Name) *At {
	return &At{mode: mode, attr: attr, scratch: make([]byte, 0, 512)}
}

// cpath builds the path of name for the fallback modes in a.scratch.
func (a *At) cpath(dirfd int, dir string, name []byte) *byte {
	if a.mode == ModeCwd {
		return &name[0] // name carries its NUL
	}
	b := a.scratch[:0]
	if a.mode == ModeProc {
		b = append(b, "/proc/self/fd/"...)
		b = strconv.AppendInt(b, int64(dirfd), 10)
		b = append(b, '/')
	} else {
		b = append(b, dir...)
		if len(dir) > 0 && dir[len(dir)-1] != '/' {
			b = append(b, '/')
		}
	}
	b = append(b, name...) // name carries its NUL
	a.scratch = b
	return &b[0]
}

// Get reads the attribute of the entry name (NUL-terminated) of the
// directory dirfd into buf and returns its size. dir is the directory's path:
// it appears in errors, and ModePath resolves it. A missing attribute gives the
// bare unix.ENODATA; a buf too small gives unix.ERANGE.
func (a *At) Get(dirfd int, dir string, name []byte, buf []byte) (int, error) {
	var (
		n int
		e unix.Errno
	)
	if a.mode == ModeAt {
		n, e = getxattrat(dirfd, &name[0], unix.AT_SYMLINK_NOFOLLOW, &a.attr.b[0], buf)
	} else {
		n, e = lgetxattr(a.cpath(dirfd, dir, name), &a.attr.b[0], buf)
	}
	if e != 0 {
		return 0, wrap(a.op("getxattrat", "lgetxattr"), func() string { return Join(dir, name) }, e)
	}
	return n, nil
}

// Set writes value as the attribute of the entry name (NUL-terminated) of
// the directory dirfd.
func (a *At) Set(dirfd int, dir string, name []byte, value []byte) error {
	var e unix.Errno
	if a.mode == ModeAt {
		e = setxattrat(dirfd, &name[0], unix.AT_SYMLINK_NOFOLLOW, &a.attr.b[0], value)
	} else {
		e = lsetxattr(a.cpath(dirfd, dir, name), &a.attr.b[0], value)
	}
	if e != 0 {
		return &os.PathError{Op: a.op("setxattrat", "lsetxattr"), Path: Join(dir, name), Err: e}
	}
	return nil
}

func (a *At) op(at, l string) string {
	if a.mode == ModeAt {
		return at
	}
	return l
}
