//go:build linux

package ctxmount

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/mountopt"
)

const (
	selinuxfsPath     = "/sys/fs/selinux"
	selinuxConfigPath = "/etc/selinux/config"
)

// CheckHost reports the SELinux state of the calling process's mount
// namespace.
func CheckHost() (Host, error) { return realSystem{}.host() }

type realSystem struct{}

func (realSystem) host() (Host, error) {
	var h Host
	var st unix.Statfs_t
	if err := statfs(selinuxfsPath, &st); err == nil && uint32(st.Type) == uint32(unix.SELINUX_MAGIC) {
		h.Selinuxfs = selinuxfsPath
		h.SelinuxfsReadOnly = st.Flags&unix.ST_RDONLY != 0
	} else if mounts, err := mountinfo.ReadSelf(); err == nil {
		for _, m := range mounts {
			if m.FSType == "selinuxfs" {
				h.Selinuxfs = m.MountPoint
				h.SelinuxfsReadOnly = m.ReadOnly()
				break
			}
		}
	}
	if h.Selinuxfs != "" {
		if cur, err := os.ReadFile("/proc/self/attr/current"); err == nil {
			h.ProcessLabel = string(bytes.TrimRight(cur, "\x00\n"))
		}
		h.SELinuxEnabled = h.ProcessLabel != "" && h.ProcessLabel != "kernel"
		if b, err := os.ReadFile(filepath.Join(h.Selinuxfs, "enforce")); err == nil {
			h.Enforcing = strings.TrimSpace(string(b)) == "1"
		}
	}
	if _, err := os.Stat(selinuxConfigPath); err == nil {
		h.ConfigPresent = true
	}
	return h, nil
}

func statfs(path string, st *unix.Statfs_t) error {
	for {
		err := unix.Statfs(path, st)
		if err != unix.EINTR {
			return err
		}
	}
}

// checkLabel asks the loaded policy whether c is a valid context, as
// libselinux's security_check_context does: by writing it to
// selinuxfs/context. Only EINVAL is an answer; any other error (no
// selinuxfs, no permission) returns nil and leaves the decision to the
// mount.
func (realSystem) checkLabel(c label.Context) error {
	f, err := os.OpenFile(filepath.Join(selinuxfsPath, "context"), os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	_, err = f.Write(append([]byte(c.String()), 0))
	if errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

func (realSystem) mountTable() ([]mountinfo.Mount, error) { return mountinfo.ReadSelf() }

// device returns the device of a block device source, or of the loop device
// a regular file is already attached to.
func (realSystem) device(source, fstype string) (string, bool) {
	if source == "" {
		return "", false
	}
	var st unix.Stat_t
	if err := unix.Stat(source, &st); err != nil {
		return "", false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), true
	case unix.S_IFREG:
		if dev, ok := findLoop(&st); ok {
			var lst unix.Stat_t
			if unix.Stat(dev, &lst) == nil {
				return fmt.Sprintf("%d:%d", unix.Major(lst.Rdev), unix.Minor(lst.Rdev)), true
			}
		}
	}
	return "", false
}

// probe replays the data options through the new mount API, which checks
// each parameter on its own and logs a message naming the one it refuses.
func (realSystem) probe(fstype string, opts []string) (string, string) {
	fd, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return "", ""
	}
	defer unix.Close(fd)
	_, data, _ := splitOptions(opts)
	for _, o := range data {
		k, v, hasValue := mountopt.KeyValue(o)
		if hasValue {
			err = unix.FsconfigSetString(fd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fd, k)
		}
		if err != nil {
			msg := readFSLog(fd)
			if msg == "" {
				msg = fmt.Sprintf("%s: option %s: %v", fstype, o, err)
			}
			return o, msg
		}
	}
	return "", ""
}

// readFSLog reads the messages the kernel left on a filesystem context
// ("e tmpfs: Unknown parameter 'x'") and returns the error ones.
func readFSLog(fd int) string {
	var msgs []string
	buf := make([]byte, 4096)
	for range 16 {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		line := strings.TrimSpace(string(buf[:n]))
		if kind, msg, ok := strings.Cut(line, " "); ok && (kind == "e" || kind == "w") {
			msgs = append(msgs, msg)
		}
	}
	return strings.Join(msgs, "; ")
}

func (realSystem) resolve(path string) (string, error) {
	p, err := cleanAbs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, nil
	}
	return p, nil
}

// SyscallMounter mounts with mount(2), without any helper program, so it
// needs neither util-linux nor /etc/selinux/config. It understands the
// generic options of mount(8) (ro, nosuid, nodev, noexec, noatime, relatime,
// bind, ...; fstab-only ones such as defaults, auto and nofail are ignored)
// and passes every other option to the filesystem, quotes included. A
// regular file as the source of a non-bind mount is attached to a loop
// device first (or the one it is already attached to is reused); the loop
// device detaches itself when the last mount of it goes away.
//
// Filesystems that need a helper program to mount (NFS, CIFS) need
// NewHelperMounter.
type SyscallMounter struct{}

var _ Mounter = &SyscallMounter{}

// MountSensitive implements Mounter.
func (*SyscallMounter) MountSensitive(source, target, fstype string, options, sensitiveOptions []string) error {
	flags, data, loop := splitOptions(options)
	data = append(data, sensitiveOptions...)
	if flags&unix.MS_BIND != 0 {
		if err := mount(source, target, "", flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return err
		}
		if rest := flags &^ (unix.MS_BIND | unix.MS_REC); rest != 0 {
			if err := mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|rest, ""); err != nil {
				unix.Unmount(target, 0)
				return err
			}
		}
		return nil
	}
	if !loop && source != "" {
		var st unix.Stat_t
		loop = unix.Stat(source, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
	}
	if loop {
		dev, closeLoop, err := attachLoop(source, flags&unix.MS_RDONLY != 0)
		if err != nil {
			return err
		}
		defer closeLoop()
		source = dev
	}
	return mount(source, target, fstype, flags, mountopt.Join(data))
}

// Unmount implements Mounter.
func (*SyscallMounter) Unmount(target string) error {
	for {
		err := unix.Unmount(target, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "umount", Path: target, Err: err}
		}
		return nil
	}
}

func mount(source, target, fstype string, flags uintptr, data string) error {
	for {
		err := unix.Mount(source, target, fstype, flags, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "mount", Path: target, Err: err}
		}
		return nil
	}
}

var flagOptions = map[string]struct {
	set, clear uintptr
}{
	"ro":            {unix.MS_RDONLY, 0},
	"rw":            {0, unix.MS_RDONLY},
	"nosuid":        {unix.MS_NOSUID, 0},
	"suid":          {0, unix.MS_NOSUID},
	"nodev":         {unix.MS_NODEV, 0},
	"dev":           {0, unix.MS_NODEV},
	"noexec":        {unix.MS_NOEXEC, 0},
	"exec":          {0, unix.MS_NOEXEC},
	"sync":          {unix.MS_SYNCHRONOUS, 0},
	"async":         {0, unix.MS_SYNCHRONOUS},
	"dirsync":       {unix.MS_DIRSYNC, 0},
	"mand":          {unix.MS_MANDLOCK, 0},
	"nomand":        {0, unix.MS_MANDLOCK},
	"noatime":       {unix.MS_NOATIME, 0},
	"atime":         {0, unix.MS_NOATIME},
	"nodiratime":    {unix.MS_NODIRATIME, 0},
	"diratime":      {0, unix.MS_NODIRATIME},
	"relatime":      {unix.MS_RELATIME, 0},
	"norelatime":    {0, unix.MS_RELATIME},
	"strictatime":   {unix.MS_STRICTATIME, 0},
	"nostrictatime": {0, unix.MS_STRICTATIME},
	"lazytime":      {unix.MS_LAZYTIME, 0},
	"nolazytime":    {0, unix.MS_LAZYTIME},
	"silent":        {unix.MS_SILENT, 0},
	"loud":          {0, unix.MS_SILENT},
	"bind":          {unix.MS_BIND, 0},
	"rbind":         {unix.MS_BIND | unix.MS_REC, 0},
	// Options of fstab and mount(8) that are not for the kernel.
	"defaults": {}, "auto": {}, "noauto": {}, "user": {}, "nouser": {}, "users": {},
	"nofail": {}, "_netdev": {}, "owner": {}, "group": {},
}

// splitOptions separates mount(2) flags from filesystem data options.
func splitOptions(options []string) (flags uintptr, data []string, loop bool) {
	for _, o := range options {
		if o == "loop" {
			loop = true
			continue
		}
		if strings.HasPrefix(o, "x-") || strings.HasPrefix(o, "loop=") {
			continue
		}
		if f, ok := flagOptions[o]; ok {
			flags = flags&^f.clear | f.set
			continue
		}
		data = append(data, o)
	}
	return flags, data, loop
}

// attachLoop returns a loop device backed by file: the one it is already
// attached to (with no offset or size limit), or a free one configured with
// autoclear. closeLoop must be called once the device is mounted (or the
// mount failed): with autoclear the device then detaches when its last user
// goes away.
func attachLoop(file string, readOnly bool) (dev string, closeLoop func(), err error) {
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		return "", nil, &os.PathError{Op: "stat", Path: file, Err: err}
	}
	if dev, ok := findLoop(&st); ok {
		return dev, func() {}, nil
	}
	mode := os.O_RDWR
	var loFlags uint32 = unix.LO_FLAGS_AUTOCLEAR
	if readOnly {
		mode = os.O_RDONLY
		loFlags |= unix.LO_FLAGS_READ_ONLY
	}
	backing, err := os.OpenFile(file, mode, 0)
	if err != nil {
		return "", nil, err
	}
	defer backing.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", nil, err
	}
	defer ctl.Close()
	for attempt := 0; attempt < 10; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, os.NewSyscallError("ioctl LOOP_CTL_GET_FREE", err)
		}
		dev = fmt.Sprintf("/dev/loop%d", n)
		lf, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return "", nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
		cfg.Info.Flags = loFlags
		copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], file)
		err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
			// Kernels before 5.8 have no LOOP_CONFIGURE.
			err = unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_SET_FD, int(backing.Fd()))
			if err == nil {
				if err = unix.IoctlLoopSetStatus64(int(lf.Fd()), &cfg.Info); err != nil {
					unix.IoctlSetInt(int(lf.Fd()), unix.LOOP_CLR_FD, 0)
				}
			}
		}
		if errors.Is(err, unix.EBUSY) {
			lf.Close() // another process took it first
			continue
		}
		if err != nil {
			lf.Close()
			return "", nil, &os.PathError{Op: "attach loop device", Path: dev, Err: err}
		}
		return dev, func() { lf.Close() }, nil
	}
	return "", nil, fmt.Errorf("attach loop device for %s: no free loop device: %w", file, syscall.EBUSY)
}

// findLoop returns a loop device already backed by the file st describes.
func findLoop(st *unix.Stat_t) (string, bool) {
	entries, err := os.ReadDir("/sys/block")
	if err != nil {
		return "", false
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "loop") {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/block", name, "loop")); err != nil {
			continue // not attached
		}
		f, err := os.Open("/dev/" + name)
		if err != nil {
			continue
		}
		info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
		f.Close()
		if err != nil {
			continue
		}
		if info.Device == st.Dev && info.Inode == st.Ino && info.Offset == 0 && info.Sizelimit == 0 {
			return "/dev/" + name, true
		}
	}
	return "", false
}
