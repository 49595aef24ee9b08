package ctxmount

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/mountopt"
)

// FakeMounter is an in-memory Mounter that follows the kernel's SELinux
// mount rules, for unit tests of code that mounts volumes:
//
//   - a filesystem gets one superblock per source (per device); tmpfs gets a
//     new one on every mount, and so do NFS with nosharecache and CIFS with
//     nosharesock;
//   - context= is applied on the first mount of a superblock; a later mount
//     with other SELinux options fails with EINVAL;
//   - a bind mount shows the label of its source;
//   - context= fails with EINVAL when Host.SELinuxEnabled is false or the
//     label is in InvalidLabels, and so does an option in UnknownOptions;
//   - with Helper set, the fake behaves as util-linux mount(8): it removes
//     SELinux options silently when Host.HelperKeepsContext reports false
//     (no /etc/selinux/config, no writable selinuxfs), and Mount checks for
//     that before mounting as it does for a real helper.
//
// Mount, Verify, Unmount and ExplainRelabel use the fake's Host and mount
// table when given a *FakeMounter. Paths are not touched on disk. It is safe
// for concurrent use.
type FakeMounter struct {
	// Host is what the fake reports as the host's SELinux state.
	Host Host
	// InvalidLabels are labels the fake policy does not define.
	InvalidLabels []label.Context
	// UnknownOptions are option keys the fake filesystems refuse.
	UnknownOptions []string
	// Helper makes the fake behave as util-linux mount(8).
	Helper bool

	mu     sync.Mutex
	mounts []fakeMount
	sbs    map[string]*fakeSuperblock
	nextID int
	nextSB uint32
	log    []string
}

type fakeMount struct {
	id         int
	target     string
	root       string
	sb         *fakeSuperblock
	opts       []string
	readOnly   bool
	parentPath string
}

type fakeSuperblock struct {
	key     string
	minor   uint32
	fstype  string
	source  string
	context string // raw label, "" for none
	super   []string
}

var _ Mounter = &FakeMounter{}

// NewFakeMounter returns a FakeMounter on a host with SELinux enabled and
// enforcing, /etc/selinux/config present and selinuxfs mounted read-write.
func NewFakeMounter() *FakeMounter {
	return &FakeMounter{Host: Host{SELinuxEnabled: true, Enforcing: true, Selinuxfs: "/sys/fs/selinux", ConfigPresent: true,
		ProcessLabel: "system_u:system_r:kernel_t:s0"}}
}

// Log returns the mounts and unmounts made so far, one line each
// ("mount SOURCE TARGET TYPE OPTIONS", "unmount TARGET").
func (f *FakeMounter) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// ResetLog clears the log.
func (f *FakeMounter) ResetLog() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
}

// MountSensitive implements Mounter.
func (f *FakeMounter) MountSensitive(source, target, fstype string, options, sensitiveOptions []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	target = filepath.Clean(target)
	if f.sbs == nil {
		f.sbs = map[string]*fakeSuperblock{}
	}
	keep, _ := f.Host.HelperKeepsContext()
	drop := f.Helper && !keep
	var bind, ro bool
	var data []string
	ctxRaw := ""
	for _, o := range options {
		k, v, _ := mountopt.KeyValue(o)
		switch {
		case k == "bind" || k == "rbind":
			bind = true
		case k == "ro":
			ro = true
		case k == "rw" || k == "defaults":
		case mountopt.IsSELinuxKey(k):
			if drop {
				continue
			}
			if !f.Host.SELinuxEnabled {
				return fmt.Errorf("fake mount: %s: Unknown parameter '%s': %w", fstype, k, syscall.EINVAL)
			}
			c, err := label.Parse(v)
			if err != nil || slices.Contains(f.InvalidLabels, c) {
				return fmt.Errorf("fake mount: invalid label %q: %w", v, syscall.EINVAL)
			}
			if k == mountopt.Context {
				ctxRaw = v
			}
			data = append(data, o)
		case slices.Contains(f.UnknownOptions, k):
			return fmt.Errorf("fake mount: %s: Unknown parameter '%s': %w", fstype, k, syscall.EINVAL)
		default:
			data = append(data, o)
		}
	}
	f.log = append(f.log, strings.TrimSpace(fmt.Sprintf("mount %s %s %s %s", source, target, fstype, mountopt.Join(options))))
	f.nextID++
	if bind {
		src, ok := f.containing(filepath.Clean(source))
		if !ok {
			return fmt.Errorf("fake mount: bind source %s is not on a fake mount: %w", source, syscall.EINVAL)
		}
		rel, _ := filepath.Rel(src.target, filepath.Clean(source))
		f.mounts = append(f.mounts, fakeMount{id: f.nextID, target: target, root: filepath.Join(src.root, rel), sb: src.sb, opts: data, readOnly: ro})
		return nil
	}
	key := fstype + "\x00" + source
	switch {
	case fstype == "tmpfs",
		(fstype == "nfs" || fstype == "nfs4") && slices.Contains(data, "nosharecache"),
		(fstype == "cifs" || fstype == "smb3") && slices.Contains(data, "nosharesock"):
		key += fmt.Sprintf("\x00%d", f.nextID)
	}
	sb, exists := f.sbs[key]
	if exists && !sameLabel(sb.context, ctxRaw) {
		return fmt.Errorf("fake mount: same superblock, different security settings for %s: %w", source, syscall.EINVAL)
	}
	if !exists {
		f.nextSB++
		sb = &fakeSuperblock{key: key, minor: f.nextSB, fstype: fstype, source: source, context: ctxRaw}
		for _, o := range data {
			if k, _, _ := mountopt.KeyValue(o); !mountopt.IsSELinuxKey(k) {
				sb.super = append(sb.super, o)
			}
		}
		f.sbs[key] = sb
	}
	f.mounts = append(f.mounts, fakeMount{id: f.nextID, target: target, root: "/", sb: sb, opts: data, readOnly: ro})
	return nil
}

// Unmount implements Mounter: it removes the last mount at target, or fails
// with EINVAL if there is none.
func (f *FakeMounter) Unmount(target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	target = filepath.Clean(target)
	for i := len(f.mounts) - 1; i >= 0; i-- {
		if f.mounts[i].target != target {
			continue
		}
		sb := f.mounts[i].sb
		f.mounts = slices.Delete(f.mounts, i, i+1)
		f.log = append(f.log, "unmount "+target)
		for _, m := range f.mounts {
			if m.sb == sb {
				return nil
			}
		}
		delete(f.sbs, sb.key)
		return nil
	}
	return fmt.Errorf("fake unmount %s: %w", target, syscall.EINVAL)
}

// containing returns the mount path is on.
func (f *FakeMounter) containing(path string) (fakeMount, bool) {
	best, n := fakeMount{}, -1
	for _, m := range f.mounts {
		if (path == m.target || strings.HasPrefix(path, m.target+"/") || m.target == "/") && len(m.target) >= n {
			best, n = m, len(m.target)
		}
	}
	return best, n >= 0
}

// MountInfo returns the fake mount table in mountinfo form: the superblock's
// context= in the super options, or seclabel for filesystems that store
// labels when SELinux is enabled.
func (f *FakeMounter) MountInfo() []mountinfo.Mount {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]mountinfo.Mount, 0, len(f.mounts))
	for _, m := range f.mounts {
		opts := mountinfo.Options{"rw", "relatime"}
		if m.readOnly {
			opts[0] = "ro"
		}
		super := mountinfo.Options{"rw"}
		if m.sb.context != "" {
			super = append(super, mountopt.Context+`="`+m.sb.context+`"`)
		} else if f.Host.SELinuxEnabled && storesLabels(m.sb.fstype) {
			super = append(super, "seclabel")
		}
		super = append(super, m.sb.super...)
		out = append(out, mountinfo.Mount{ID: 1000 + m.id, ParentID: 1, Major: 0, Minor: m.sb.minor, Root: m.root,
			MountPoint: m.target, Options: opts, FSType: m.sb.fstype, Source: m.sb.source, SuperOptions: super})
	}
	return out
}

// MountPoints returns the mounted targets, sorted.
func (f *FakeMounter) MountPoints() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.mounts {
		out = append(out, m.target)
	}
	sort.Strings(out)
	return out
}

// sameLabel compares two raw labels canonically; "" is no label.
func sameLabel(a, b string) bool {
	if a == b {
		return true
	}
	ca, erra := label.Parse(a)
	cb, errb := label.Parse(b)
	return erra == nil && errb == nil && ca == cb
}

func storesLabels(fstype string) bool {
	switch fstype {
	case "ext4", "ext3", "ext2", "xfs", "btrfs", "tmpfs", "f2fs":
		return true
	}
	return false
}

// The system interface, for Mount and Verify.

func (f *FakeMounter) host() (Host, error) { return f.Host, nil }

func (f *FakeMounter) checkLabel(c label.Context) error {
	if slices.Contains(f.InvalidLabels, c) {
		return fmt.Errorf("fake policy: %s: %w", c, syscall.EINVAL)
	}
	return nil
}

func (f *FakeMounter) mountTable() ([]mountinfo.Mount, error) { return f.MountInfo(), nil }

func (f *FakeMounter) device(source, fstype string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sb, ok := f.sbs[fstype+"\x00"+source]; ok {
		return fmt.Sprintf("0:%d", sb.minor), true
	}
	return "", false
}

func (f *FakeMounter) probe(fstype string, opts []string) (string, string) {
	for _, o := range opts {
		k, _, _ := mountopt.KeyValue(o)
		if slices.Contains(f.UnknownOptions, k) || (mountopt.IsSELinuxKey(k) && !f.Host.SELinuxEnabled) {
			return o, fmt.Sprintf("%s: Unknown parameter '%s'", fstype, k)
		}
	}
	return "", ""
}

func (f *FakeMounter) resolve(path string) (string, error) { return cleanAbs(path) }
