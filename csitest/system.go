package csitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountinfo"
)

// System is how Run observes the node: the SELinux state, the mount table
// and files in the volumes. LocalSystem is the real one.
type System interface {
	// Host reports the SELinux state of this mount namespace.
	Host() (ctxmount.Host, error)
	// Mounts returns the mount table of the namespace the driver mounts in.
	Mounts() ([]mountinfo.Mount, error)
	// MkdirAll creates a directory (the staging path, the target's parent).
	MkdirAll(path string) error
	// RemoveAll removes what Run created.
	RemoveAll(path string) error
	// WriteFile creates or replaces a file.
	WriteFile(path string, data []byte) error
	// Stat returns the file's label (security.selinux, without the
	// trailing NUL) and change time.
	Stat(path string) (FileInfo, error)
	// PluginEnv inspects the node plugin's root directory.
	PluginEnv(root string) (PluginEnv, error)
}

// FileInfo is what Run reads from a file.
type FileInfo struct {
	Label string
	Ctime time.Time
}

// PluginEnv is what util-linux mount(8) needs in the node plugin's root.
type PluginEnv struct {
	Root          string
	ConfigPresent bool
	// Selinuxfs is the mount at <root>/sys/fs/selinux as the plugin sees
	// it; FSType "" when nothing is mounted there.
	SelinuxfsFSType   string
	SelinuxfsReadOnly bool
	// Why is a sentence on what is missing, "" when nothing is.
	Why string
}

// PluginRoot returns the root directory of a process: /proc/PID/root.
func PluginRoot(pid int) string { return filepath.Join("/proc", strconv.Itoa(pid), "root") }

// evaluatePluginEnv fills in Why from the mount table seen from root.
func evaluatePluginEnv(env PluginEnv) PluginEnv {
	var why []string
	if !env.ConfigPresent {
		why = append(why, fmt.Sprintf("%s does not exist", filepath.Join(env.Root, "etc/selinux/config")))
	}
	switch {
	case env.SelinuxfsFSType == "":
		why = append(why, "nothing is mounted at /sys/fs/selinux")
	case env.SelinuxfsFSType != "selinuxfs":
		why = append(why, fmt.Sprintf("/sys/fs/selinux is %s, not selinuxfs", env.SelinuxfsFSType))
	case env.SelinuxfsReadOnly:
		why = append(why, "/sys/fs/selinux is mounted read-only (libselinux then reports SELinux disabled)")
	}
	env.Why = ""
	for i, w := range why {
		if i > 0 {
			env.Why += "; "
		}
		env.Why += w
	}
	return env
}

// pluginEnvFromMounts reads the plugin's view: config file through root,
// selinuxfs from the plugin's mount table (mounts, as /proc/PID/mountinfo
// shows them, relative to the plugin's root).
func pluginEnvFromMounts(root string, configPresent bool, mounts []mountinfo.Mount) PluginEnv {
	env := PluginEnv{Root: root, ConfigPresent: configPresent}
	if m, ok := mountinfo.Lookup(mounts, "/sys/fs/selinux"); ok {
		env.SelinuxfsFSType = m.FSType
		env.SelinuxfsReadOnly = m.ReadOnly()
	}
	return evaluatePluginEnv(env)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
