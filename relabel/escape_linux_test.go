//go:build linux

package relabel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// bind bind-mounts src on dst until the test ends.
func bind(t *testing.T, src, dst string) {
	t.Helper()
	must(t, unix.Mount(src, dst, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
}

// escapeFixture builds base/vol (the tree) and base/outside, with files
// and directories of outside bind-mounted into vol, from the same filesystem
// (same st_dev) and from a tmpfs:
//
//	vol/file-bind      <- outside/secret      (a file, same filesystem)
//	vol/d/file-bind    <- outside/secret2
//	vol/dir-bind       <- outside/dir         (a directory, same filesystem)
//	vol/tmpfs-file     <- a file on a tmpfs
//	vol/plain, vol/d/plain
//
// Everything outside vol carries the label other.
func escapeFixture(t *testing.T, base string) (vol string, outside []string) {
	t.Helper()
	vol = filepath.Join(base, "vol")
	out := filepath.Join(base, "outside")
	must(t, os.MkdirAll(filepath.Join(vol, "d"), 0o755))
	must(t, os.MkdirAll(filepath.Join(vol, "dir-bind"), 0o755))
	must(t, os.MkdirAll(filepath.Join(out, "dir", "sub"), 0o755))
	for _, f := range []string{"vol/file-bind", "vol/d/file-bind", "vol/tmpfs-file", "vol/plain", "vol/d/plain",
		"outside/secret", "outside/secret2", "outside/dir/f", "outside/dir/sub/g"} {
		must(t, os.WriteFile(filepath.Join(base, f), []byte(f), 0o644))
	}
	tmp := mountFS(t, "tmpfs")
	must(t, os.WriteFile(filepath.Join(tmp, "tfile"), nil, 0o644))
	outside = []string{filepath.Join(tmp, "tfile"), out}
	for p := range labels(t, out) {
		setLabel(t, p, other.String())
	}
	setLabel(t, filepath.Join(tmp, "tfile"), other.String())
	bind(t, filepath.Join(out, "secret"), filepath.Join(vol, "file-bind"))
	bind(t, filepath.Join(out, "secret2"), filepath.Join(vol, "d", "file-bind"))
	bind(t, filepath.Join(out, "dir"), filepath.Join(vol, "dir-bind"))
	bind(t, filepath.Join(tmp, "tfile"), filepath.Join(vol, "tmpfs-file"))
	return vol, outside
}

// checkOutside fails if anything outside the tree lost the label other.
func checkOutside(t *testing.T, outside []string) {
	t.Helper()
	for _, o := range outside {
		for p, l := range labels(t, o) {
			if l != other.String() {
				t.Errorf("outside the tree: %s relabeled to %q", p, l)
			}
		}
	}
}

// TestSubPathMountPoint: a sub-path whose last component, or any other, is a
// mount point (a file or a directory, bind-mounted from the same filesystem
// or from another) is refused with EXDEV in every mode, and nothing outside
// the tree is labeled. With FollowMounts it is labeled, as asked.
func TestSubPathMountPoint(t *testing.T) {
	requireRoot(t)
	for fsName, mk := range filesystems(t) {
		vol, outside := escapeFixture(t, mk(t))
		for _, m := range modes {
			for _, sub := range []string{"file-bind", "d/file-bind", "tmpfs-file", "dir-bind", "dir-bind/f", "dir-bind/sub", "dir-bind/sub/g"} {
				t.Run(fsName+"/"+m.name+"/"+sub, func(t *testing.T) {
					opt := m.opt
					opt.SubPath = sub
					_, err := Relabel(context.Background(), vol, target, &opt)
					if !errors.Is(err, unix.EXDEV) {
						t.Errorf("subPath %q over a mount: error %v, want EXDEV", sub, err)
					}
					checkOutside(t, outside)
				})
			}
		}
		t.Run(fsName+"/FollowMounts", func(t *testing.T) {
			st, err := Relabel(context.Background(), vol, target, &Options{SubPath: "d/file-bind", FollowMounts: true})
			must(t, err)
			if st.Changed != 1 || labelOf(t, filepath.Join(vol, "d", "file-bind")) != target.String() {
				t.Errorf("FollowMounts: %+v", st)
			}
			setLabel(t, filepath.Join(vol, "d", "file-bind"), other.String())
		})
		t.Run(fsName+"/plain", func(t *testing.T) {
			// The same sub-path resolution still reaches what is inside.
			st, err := Relabel(context.Background(), vol, target, &Options{SubPath: "d/plain"})
			must(t, err)
			if st.Changed != 1 {
				t.Errorf("d/plain: %+v", st)
			}
		})
	}
}

// TestWalkSkipsMountPoints: a full walk in every mode, the modes without
// mountinfo included, leaves files and directories mounted inside the tree
// alone.
func TestWalkSkipsMountPoints(t *testing.T) {
	requireRoot(t)
	vol, outside := escapeFixture(t, t.TempDir())
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			opt := m.opt
			st, err := Relabel(context.Background(), vol, target, &opt)
			must(t, err)
			if st.Skipped != 4 {
				t.Errorf("stats %+v, want the 4 mount points skipped", st)
			}
			checkOutside(t, outside)
			for _, p := range []string{"plain", "d/plain", "d", "."} {
				if l := labelOf(t, filepath.Join(vol, p)); l != target.String() {
					t.Errorf("%s not labeled: %q", p, l)
				}
			}
		})
	}
}

// TestRootMountPoint: the root itself may be a mount point, a file
// bind-mounted from elsewhere included: the caller named it.
func TestRootMountPoint(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	must(t, os.WriteFile(filepath.Join(base, "src"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(base, "dst"), nil, 0o644))
	bind(t, filepath.Join(base, "src"), filepath.Join(base, "dst"))
	st, err := Relabel(context.Background(), filepath.Join(base, "dst"), target, nil)
	must(t, err)
	if st.Changed != 1 || labelOf(t, filepath.Join(base, "src")) != target.String() {
		t.Errorf("file mount point as root: %+v", st)
	}
}

// TestRelativeRoot: a relative root is the working directory's, in every
// mode; the path-based fallback once resolved it from "/".
func TestRelativeRoot(t *testing.T) {
	requireRoot(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.Mkdir(filepath.Join(dir, "vol"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "vol", "f"), nil, 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "g"), nil, 0o644))
			t.Chdir(dir)
			for _, root := range []string{".", "vol"} {
				opt := m.opt
				_, err := Relabel(context.Background(), root, target, &opt)
				must(t, err)
			}
			checkAll(t, dir, target.String())
		})
	}
}

// TestProtectedThroughSymlink: a path that leads into a protected directory
// through a symlink or "..", refused by the check of the path as given and,
// without it, by the check of what the kernel opened.
func TestProtectedThroughSymlink(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	must(t, os.Symlink("/usr/share", filepath.Join(dir, "share")))
	must(t, os.Symlink("/etc", filepath.Join(dir, "etc")))
	must(t, os.Mkdir(filepath.Join(dir, "vol"), 0o755))
	rel, err := filepath.Rel(dir, "/")
	must(t, err)
	for _, tc := range []struct {
		root, sub, want string
		linkRefused     bool // refused as a symlink once the path check is skipped
	}{
		{filepath.Join(dir, "share"), "", "/usr/share is inside the protected system directory /usr", true},
		{filepath.Join(dir, "etc") + "/", "", "/etc is a protected system directory", true},
		{filepath.Join(dir, "share", "doc"), "", "/usr/share/doc is inside the protected system directory /usr", false},
		{filepath.Join(dir, "etc", "hostname"), "", "/etc/hostname is inside the protected system directory /etc", false},
		{dir + "/vol/" + rel + "/../etc/hostname", "", "/etc/hostname is inside the protected system directory /etc", false},
		{"/", "usr/share", "/usr/share is inside the protected system directory /usr", false},
		{"/", "", "/ is a protected system directory", false},
		{filepath.Join(dir, "etc", ".."), "etc/hostname", "/etc/hostname is inside the protected system directory /etc", true},
	} {
		for _, skip := range []bool{false, true} {
			_, err := Relabel(context.Background(), tc.root, target, &Options{SubPath: tc.sub, DryRun: true, noPathCheck: skip})
			if skip && tc.linkRefused {
				if !errors.Is(err, unix.ELOOP) {
					t.Errorf("%s: error %v, want ELOOP", tc.root, err)
				}
				continue
			}
			if !errors.Is(err, ErrProtectedPath) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (subpath %q, path check skipped: %v): error %v, want %q", tc.root, tc.sub, skip, err, tc.want)
			}
		}
	}
	if _, err := Relabel(context.Background(), filepath.Join(dir, "etc", "hostname"), target, &Options{DryRun: true, Force: true}); err != nil {
		t.Errorf("Force: %v", err)
	}
}

// TestHardLinkShares documents what cannot be prevented: a hard link inside
// the tree is the same inode as its other names, inside the tree or not, so
// they all get the label (as with chcon -R).
func TestHardLinkShares(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	must(t, os.Mkdir(filepath.Join(base, "vol"), 0o755))
	must(t, os.WriteFile(filepath.Join(base, "outside"), nil, 0o644))
	setLabel(t, filepath.Join(base, "outside"), other.String())
	must(t, os.Link(filepath.Join(base, "outside"), filepath.Join(base, "vol", "link")))
	_, err := Relabel(context.Background(), filepath.Join(base, "vol"), target, nil)
	must(t, err)
	if l := labelOf(t, filepath.Join(base, "outside")); l != target.String() {
		t.Errorf("the other name of a hard link: %q; the documented behaviour changed", l)
	}
}
