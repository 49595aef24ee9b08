//go:build linux

package xattr

import (
	"bytes"
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// Directory entry types of getdents64 (d_type).
const (
	TypeUnknown = unix.DT_UNKNOWN
	TypeDir     = unix.DT_DIR
	TypeLink    = unix.DT_LNK
)

// ReadDirent reads directory entries of the open directory fd into buf with
// getdents64 and returns the number of bytes filled; 0 means the end of the
// directory. dir is used in errors only.
func ReadDirent(fd int, dir string, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "getdents64", Path: dir, Err: err}
		}
		return n, nil
	}
}

// Dirent is one entry of a getdents64 buffer.
type Dirent struct {
	Ino  uint64
	Type uint8
	// Name is the entry's name followed by its NUL terminator, pointing into
	// the buffer.
	Name []byte
}

// IsDot reports whether the entry is "." or "..".
func (d *Dirent) IsDot() bool {
	n := d.Name
	return n[0] == '.' && (n[1] == 0 || n[1] == '.' && n[2] == 0)
}

// NextDirent parses the entry at the start of buf, which holds what
// ReadDirent returned from some offset on, and returns the size of the entry
// (the offset of the next one). It returns 0 when buf holds no complete
// entry.
func NextDirent(buf []byte, d *Dirent) int {
	const nameOff = 19 // offsetof(struct linux_dirent64, d_name)
	if len(buf) < nameOff+1 {
		return 0
	}
	reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
	if reclen < nameOff+1 || reclen > len(buf) {
		return 0
	}
	rec := buf[nameOff:reclen]
	i := bytes.IndexByte(rec, 0)
	if i < 0 {
		return 0
	}
	d.Ino = binary.NativeEndian.Uint64(buf[0:8])
	d.Type = buf[18]
	d.Name = rec[:i+1]
	return reclen
}

// DirFlags are the open flags of OpenDir: read-only, a directory, not a
// symlink, closed on exec.
const DirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_LARGEFILE

// OpenDir opens the directory name below dirfd with openat2, refusing a
// symlink anywhere in name and, with noXDev, a mount point (EXDEV). It
// returns unix.ENOSYS unwrapped on kernels before 5.6, where callers fall back
// to OpenDirAt. dir is the path of dirfd, for errors.
func OpenDir(dirfd int, dir, name string, noXDev bool) (int, error) {
	how := unix.OpenHow{Flags: DirFlags, Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH}
	if noXDev {
		how.Resolve |= unix.RESOLVE_NO_XDEV
	}
	for {
		fd, err := unix.Openat2(dirfd, name, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN:
			// EAGAIN: a concurrent rename made a RESOLVE_BENEATH lookup unsafe.
			continue
		case unix.ENOSYS, unix.EPERM:
			if err == unix.EPERM && !probeOpenat2Blocked() {
				return -1, &os.PathError{Op: "openat2", Path: JoinPath(dir, name), Err: err}
			}
			return -1, unix.ENOSYS
		}
		return -1, &os.PathError{Op: "openat2", Path: JoinPath(dir, name), Err: err}
	}
}

// probeOpenat2Blocked tells a seccomp filter that rejects openat2 with EPERM
// from a real permission error: openat2 on "." cannot be refused by
// permissions.
func probeOpenat2Blocked() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_PATH})
	if err == nil {
		unix.Close(fd)
		return false
	}
	return err == unix.EPERM || err == unix.ENOSYS
}

// OpenDirAt opens the directory name below dirfd with openat(O_NOFOLLOW), for
// kernels without openat2. name must be a single component.
func OpenDirAt(dirfd int, dir, name string) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, DirFlags, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "openat", Path: JoinPath(dir, name), Err: err}
		}
		return fd, nil
	}
}

// Lstatat returns the type and device of the entry name (NUL-terminated)
// below dirfd without following a symlink. It is the fallback for
// filesystems that report DT_UNKNOWN.
func Lstatat(dirfd int, dir string, name []byte) (typ uint8, dev uint64, err error) {
	var st unix.Stat_t
	s := string(name[:len(name)-1])
	for {
		err = unix.Fstatat(dirfd, s, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, 0, &os.PathError{Op: "fstatat", Path: Join(dir, name), Err: err}
	}
	return ModeType(st.Mode), st.Dev, nil
}

// ModeType converts st_mode to a d_type value.
func ModeType(mode uint32) uint8 {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return unix.DT_DIR
	case unix.S_IFREG:
		return unix.DT_REG
	case unix.S_IFLNK:
		return unix.DT_LNK
	case unix.S_IFCHR:
		return unix.DT_CHR
	case unix.S_IFBLK:
		return unix.DT_BLK
	case unix.S_IFIFO:
		return unix.DT_FIFO
	case unix.S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}

// JoinPath returns dir/name, for paths reported to the user.
func JoinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	if dir[len(dir)-1] == '/' {
		return dir + name
	}
	return dir + "/" + name
}

// MountRoot reports whether the entry name of the directory dirfd is the root
// of a mount: a directory mount point, or a file mounted over another file
// (which has the st_dev of its directory when both come from one
// filesystem). An empty name asks about dirfd itself. A final symlink is not
// followed. known is false when the kernel cannot tell: statx's
// STATX_ATTR_MOUNT_ROOT needs Linux 5.8. dir is used in errors only.
func MountRoot(dirfd int, dir, name string) (root, known bool, err error) {
	flags := unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT | unix.AT_STATX_DONT_SYNC
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var stx unix.Statx_t
	for {
		err = unix.Statx(dirfd, name, flags, unix.STATX_TYPE, &stx)
		if err != unix.EINTR {
			break
		}
	}
	switch {
	case err == unix.ENOSYS:
		return false, false, nil
	case err != nil:
		return false, false, &os.PathError{Op: "statx", Path: JoinPath(dir, name), Err: err}
	case stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0:
		return false, false, nil
	}
	return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, true, nil
}
