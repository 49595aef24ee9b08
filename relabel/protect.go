package relabel

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// The protected paths, in three kinds. A path is refused without
// Options.Force when it is, or lies inside, a protected tree; when it is one
// of the exact paths (directories whose subdirectories are where data
// legitimately lives: /srv/data, /mnt/disk, /opt/app/data, /tmp/x); or when
// it is inside a runtime's state directory but not one of that runtime's
// volume directories.
var (
	// protectedTrees are refused with everything below them: the operating
	// system, kernel interfaces, root's home, logs and runtime state.
	protectedTrees = []string{
		"/bin", "/boot", "/dev", "/efi", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
		"/proc", "/root", "/run", "/sbin", "/sys", "/usr", "/var/log",
	}
	// protectedExact are refused themselves only.
	protectedExact = []string{
		"/", "/home", "/media", "/mnt", "/opt", "/srv", "/tmp",
		"/var", "/var/cache", "/var/lib", "/var/local", "/var/mail", "/var/opt", "/var/spool", "/var/tmp",
	}
	// stateDirs are the state directories of the kubelet and of the
	// container runtimes: refused with everything below them except the
	// volume directories, given as patterns of the components that follow
	// the state directory (an upper-case component is any one component, and
	// anything may follow a match).
	stateDirs = []struct {
		dir     string
		volumes []string // the volume directories, as patterns
	}{
		{"/var/lib/kubelet", []string{
			"pods/UID/volumes/PLUGIN/NAME",
			"pods/UID/volume-subpaths/NAME/CONTAINER/INDEX",
			"plugins/kubernetes.io/csi/DRIVER/HASH/globalmount", // a CSI staging path
		}},
		{"/var/lib/containers", []string{"storage/volumes/NAME/_data"}}, // Podman, CRI-O
		{"/var/lib/docker", []string{"volumes/NAME/_data"}},
		{"/var/lib/containerd", nil},
		{"/var/lib/crio", nil},
		{"/var/lib/selinux", nil},
	}
)

// ProtectedPathError is the error of a refused system path. It matches
// ErrProtectedPath with errors.Is.
type ProtectedPathError struct {
	Path string // the path refused, absolute and cleaned (symlinks resolved if that is what matched)
	Rule string // why, naming the protected path that matched
}

func (e *ProtectedPathError) Error() string {
	return fmt.Sprintf("%v: %s %s", ErrProtectedPath, e.Path, e.Rule)
}

// Is makes errors.Is(err, ErrProtectedPath) true.
func (e *ProtectedPathError) Is(target error) bool { return target == ErrProtectedPath }

// Protected reports whether Relabel refuses path without Options.Force, and
// if so why. The rule:
//
//   - everything in the system trees /bin, /boot, /dev, /efi, /etc, /lib,
//     /lib32, /lib64, /libx32, /proc, /root, /run, /sbin, /sys, /usr and
//     /var/log, the trees themselves included (so /etc/ssh and /usr/local
//     are refused);
//   - the directories /, /home, /media, /mnt, /opt, /srv, /tmp, /var,
//     /var/cache, /var/lib, /var/local, /var/mail, /var/opt, /var/spool,
//     /var/tmp themselves, every direct child of /home and of /var/lib (a
//     user's home, a service's state directory such as /var/lib/mysql), $HOME
//     and the home of $SUDO_USER; what lies deeper (/srv/data, /mnt/disk,
//     /home/alice/data, /var/lib/longhorn/replicas/x) may be relabeled;
//   - everything in the state directories of the kubelet (/var/lib/kubelet)
//     and of the runtimes (/var/lib/containers, /var/lib/docker,
//     /var/lib/containerd, /var/lib/crio) and /var/lib/selinux, except their
//     volume directories and what lies below them:
//     /var/lib/kubelet/pods/UID/volumes/PLUGIN/NAME,
//     /var/lib/kubelet/pods/UID/volume-subpaths/NAME/CONTAINER/INDEX,
//     /var/lib/kubelet/plugins/kubernetes.io/csi/DRIVER/HASH/globalmount (a
//     CSI staging path), /var/lib/containers/storage/volumes/NAME/_data and
//     /var/lib/docker/volumes/NAME/_data.
//
// The path is made absolute and cleaned ("/srv/../etc/x" is /etc/x), and
// checked again with its symlinks resolved, so that a symlink to /usr/share
// is refused too. Relabel checks once more, after opening the tree, the path
// the kernel reports for what it opened.
func Protected(path string) (why string, protected bool) {
	err := checkProtected(path, homes(os.Getenv, homeOf), filepath.EvalSymlinks)
	if err == nil {
		return "", false
	}
	return err.Rule, true
}

// IsProtected reports whether path is a system path that Relabel refuses
// without Options.Force; see Protected for the rule.
func IsProtected(path string) bool {
	_, ok := Protected(path)
	return ok
}

func homeOf(name string) string {
	u, err := user.Lookup(name)
	if err != nil {
		return ""
	}
	return u.HomeDir
}

// checkProtected applies the rule of Protected, with the home directories
// homes, to p and, if it resolves differently, to p with symlinks resolved
// by resolve (nil: not resolved).
func checkProtected(p string, homes []string, resolve func(string) (string, error)) *ProtectedPathError {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	if why, bad := protectedRule(abs, homes); bad {
		return &ProtectedPathError{Path: abs, Rule: why}
	}
	if resolve != nil {
		if r, err := resolve(abs); err == nil && r != abs {
			r = filepath.Clean(r)
			if why, bad := protectedRule(r, homes); bad {
				return &ProtectedPathError{Path: r, Rule: why + " (" + abs + " resolves to it)"}
			}
		}
	}
	return nil
}

// homes returns $HOME and the home of $SUDO_USER, the home directories the
// rule protects.
func homes(getenv func(string) string, homeOf func(string) string) []string {
	var hs []string
	if h := getenv("HOME"); h != "" {
		hs = append(hs, filepath.Clean(h))
	}
	if u := getenv("SUDO_USER"); u != "" {
		if h := homeOf(u); h != "" {
			hs = append(hs, filepath.Clean(h))
		}
	}
	return hs
}

// protectedRule applies the rule to an absolute, clean path (symlinks are
// not resolved here) and says which protected path matched.
func protectedRule(p string, homes []string) (string, bool) {
	for _, t := range protectedTrees {
		if p == t {
			return "is a protected system directory", true
		}
		if within(p, t) {
			return "is inside the protected system directory " + t, true
		}
	}
	for _, s := range stateDirs {
		if p == s.dir {
			return "is the state directory of the kubelet or a container runtime", true
		}
		if !within(p, s.dir) {
			continue
		}
		rest := strings.Split(p[len(s.dir)+1:], "/")
		for _, pat := range s.volumes {
			if matchPrefix(strings.Split(pat, "/"), rest) {
				return "", false
			}
		}
		if s.volumes == nil {
			return "is inside the protected state directory " + s.dir, true
		}
		return "is inside the protected state directory " + s.dir + ", where only volume directories may be relabeled (" + s.dir + "/" + strings.Join(s.volumes, ", "+s.dir+"/") + ", and below)", true
	}
	for _, e := range protectedExact {
		if p == e {
			return "is a protected system directory (its subdirectories may be relabeled)", true
		}
	}
	switch filepath.Dir(p) {
	case "/home":
		return "is a home directory (a direct child of /home)", true
	case "/var/lib":
		return "is a service's state directory (a direct child of /var/lib; its subdirectories may be relabeled)", true
	}
	for _, h := range homes {
		if p == h {
			return "is the home directory of the calling user", true
		}
	}
	return "", false
}

// within reports whether p lies strictly below dir.
func within(p, dir string) bool {
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// matchPrefix reports whether the components rest start with pattern, in
// which an upper-case component (UID, NAME) stands for any one component.
func matchPrefix(pattern, rest []string) bool {
	if len(rest) < len(pattern) {
		return false
	}
	for i, c := range pattern {
		if c != rest[i] && (c != strings.ToUpper(c) || rest[i] == "") {
			return false
		}
	}
	return true
}
