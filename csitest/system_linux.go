package csitest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountinfo"
)

// LocalSystem observes the calling process's mount namespace.
type LocalSystem struct{}

var _ System = LocalSystem{}

// Host implements System.
func (LocalSystem) Host() (ctxmount.Host, error) { return ctxmount.CheckHost() }

// Mounts implements System.
func (LocalSystem) Mounts() ([]mountinfo.Mount, error) { return mountinfo.ReadSelf() }

// MkdirAll implements System.
func (LocalSystem) MkdirAll(path string) error { return os.MkdirAll(path, 0o750) }

// RemoveAll implements System. It refuses to remove a mount point or
// anything below one, so that a volume the driver left mounted is never
// emptied.
func (LocalSystem) RemoveAll(path string) error {
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if m.MountPoint == path || isBelow(m.MountPoint, path) {
			return &os.PathError{Op: "remove", Path: path, Err: errors.New("still mounted at " + m.MountPoint)}
		}
	}
	return os.RemoveAll(path)
}

// WriteFile implements System.
func (LocalSystem) WriteFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }

// Stat implements System.
func (LocalSystem) Stat(path string) (FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return FileInfo{}, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	fi := FileInfo{Ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec)}
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, "security.selinux", buf)
		if err == unix.ERANGE && len(buf) < 1<<16 {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return fi, &os.PathError{Op: "lgetxattr security.selinux", Path: path, Err: err}
		}
		fi.Label = string(bytes.TrimRight(buf[:n], "\x00"))
		return fi, nil
	}
}

var procRoot = regexp.MustCompile(`^/proc/([0-9]+)/root/?$`)

// PluginEnv implements System. For /proc/PID/root the plugin's mount table
// is /proc/PID/mountinfo; for any other directory, the mounts below it in
// this namespace.
func (LocalSystem) PluginEnv(root string) (PluginEnv, error) {
	root = filepath.Clean(root)
	configPresent := fileExists(filepath.Join(root, "etc/selinux/config"))
	if m := procRoot.FindStringSubmatch(root + "/"); m != nil {
		pid, _ := strconv.Atoi(m[1])
		mounts, err := mountinfo.ReadPID(pid)
		if err != nil {
			return PluginEnv{}, err
		}
		return pluginEnvFromMounts(root, configPresent, mounts), nil
	}
	if _, err := os.Stat(root); err != nil {
		return PluginEnv{}, err
	}
	mounts, err := mountinfo.ReadSelf()
	if err != nil {
		return PluginEnv{}, err
	}
	env := PluginEnv{Root: root, ConfigPresent: configPresent}
	if m, ok := mountinfo.Lookup(mounts, filepath.Join(root, "sys/fs/selinux")); ok {
		env.SelinuxfsFSType, env.SelinuxfsReadOnly = m.FSType, m.ReadOnly()
	}
	return evaluatePluginEnv(env), nil
}
