//go:build linux

package relabel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/internal/xattr"
	"github.com/selmount/selmount/label"
)

var (
	target     = label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	other      = label.MustParse("system_u:object_r:unlabeled_t:s0")
	selAttr, _ = xattr.NewName(DefaultXattr)
)

// requireRoot skips tests that need root; CI and the development machines
// run as root, so there they always run.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sets security.selinux attributes, mounts filesystems and creates devices")
	}
}

// labelOf returns the label of path without following a symlink, "" if it
// has none.
func labelOf(t *testing.T, path string) string {
	t.Helper()
	buf := make([]byte, 512)
	n, err := xattr.Lget(path, selAttr, buf)
	if err == unix.ENODATA {
		return ""
	}
	if err != nil {
		t.Fatalf("labelOf: %v", err)
	}
	return strings.TrimRight(string(buf[:n]), "\x00")
}

func setLabel(t *testing.T, path, l string) {
	t.Helper()
	if err := xattr.Lset(path, selAttr, []byte(l)); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mountFS mounts a fresh filesystem of type fstype on a temporary
// directory and unmounts it when the test ends.
func mountFS(t *testing.T, fstype string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount(fstype, dir, fstype, 0, ""); err != nil {
		t.Fatalf("mount %s: %v", fstype, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// filesystems returns the directories to run a test on: the temporary
// directory (ext4 on the development machines) and a tmpfs.
func filesystems(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"tempdir": func(t *testing.T) string { return t.TempDir() },
		"tmpfs":   func(t *testing.T) string { return mountFS(t, "tmpfs") },
	}
}

// buildAllTypes creates below root a tree with every file type, names that
// are not UTF-8, and symlinks that point inside and outside the tree (to
// outside, which must exist). It returns the number of entries below root.
func buildAllTypes(t *testing.T, root, outside string) int {
	t.Helper()
	n := 0
	mk := func(err error) {
		t.Helper()
		must(t, err)
		n++
	}
	mk(os.Mkdir(filepath.Join(root, "dir"), 0o755))
	mk(os.Mkdir(filepath.Join(root, "dir", "sub"), 0o700))
	mk(os.WriteFile(filepath.Join(root, "dir", "file"), []byte("hello"), 0o640))
	mk(os.WriteFile(filepath.Join(root, "dir", "sub", "exe"), []byte("#!/bin/sh\n"), 0o755))
	mk(os.WriteFile(filepath.Join(root, "empty"), nil, 0o600))
	mk(os.Symlink("dir/file", filepath.Join(root, "link-in")))
	mk(os.Symlink(outside, filepath.Join(root, "link-out")))
	mk(os.Symlink("/nonexistent/target", filepath.Join(root, "link-dangling")))
	mk(os.Symlink(filepath.Dir(outside), filepath.Join(root, "dir", "link-outdir")))
	mk(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	mk(unix.Mknod(filepath.Join(root, "sock"), unix.S_IFSOCK|0o644, 0))
	mk(unix.Mknod(filepath.Join(root, "chr"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	mk(unix.Mknod(filepath.Join(root, "blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 200))))
	mk(os.WriteFile(filepath.Join(root, "not-utf8-\xff\xfe"), []byte{0xff}, 0o644))
	mk(os.Mkdir(filepath.Join(root, "dir-\x80\x81"), 0o755))
	mk(os.WriteFile(filepath.Join(root, "dir-\x80\x81", "name with spaces\tand\nnewline"), []byte("x"), 0o644))
	mk(os.Mkdir(filepath.Join(root, "unreadable"), 0o000))
	mk(os.WriteFile(filepath.Join(root, "unreadable", "inside"), []byte("secret"), 0o000))
	return n
}

// meta is everything about an entry but its label, ctime and atime.
type meta struct {
	Mode, UID, GID uint32
	Size           int64
	Mtime          unix.Timespec
	Rdev, Nlink    uint64
	Target, Sum    string
}

// snapshot records meta for every entry below and including root, without
// following symlinks, and the content hash of regular files.
func snapshot(t *testing.T, root string) map[string]meta {
	t.Helper()
	out := map[string]meta{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		m := meta{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Mtime: st.Mtim, Rdev: st.Rdev, Nlink: uint64(st.Nlink)}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			m.Target, err = os.Readlink(p)
		case unix.S_IFREG:
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			m.Sum = hex.EncodeToString(sum[:])
		}
		out[p] = m
		return err
	})
	must(t, err)
	return out
}

// labels returns the label of every entry below and including root.
func labels(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out[p] = labelOf(t, p)
		return nil
	}))
	return out
}

// checkAll fails unless every entry below and including root has want.
func checkAll(t *testing.T, root string, want string) {
	t.Helper()
	bad := 0
	for p, l := range labels(t, root) {
		if l != want {
			if bad < 5 {
				t.Errorf("%q: label %q, want %q", p, l, want)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d entries not labeled", bad)
	}
}

// openFDs returns the open descriptors of the process and what they are.
func openFDs(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	fds := map[string]string{}
	for _, e := range ents {
		what, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[e.Name()] = what
	}
	return fds
}

// checkNoLeak fails if f leaves descriptors open.
func checkNoLeak(t *testing.T, f func()) {
	t.Helper()
	before := openFDs(t)
	f()
	after := openFDs(t)
	for fd, what := range after {
		if before[fd] != what { // new, or the number reused for another file
			t.Errorf("descriptor %s (%s) left open", fd, what)
		}
	}
}

// makeFlat creates n empty files in dir.
func makeFlat(t *testing.T, dir string, n int) {
	t.Helper()
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%07d", i)))
		must(t, err)
		f.Close()
	}
}

// countLabeledAt walks the tree below the open directory fd with
// descriptor-relative calls (paths may exceed PATH_MAX) and counts entries
// with and without want.
func countLabeledAt(t *testing.T, fd int, want string) (good, bad int) {
	t.Helper()
	at := xattr.NewAt(xattr.ModeAt, selAttr)
	buf := make([]byte, 64<<10)
	val := make([]byte, 512)
	for {
		n, err := xattr.ReadDirent(fd, "", buf)
		must(t, err)
		if n == 0 {
			return
		}
		var subdirs []string
		var de xattr.Dirent
		for off := 0; off < n; {
			sz := xattr.NextDirent(buf[off:n], &de)
			off += sz
			if de.IsDot() {
				continue
			}
			k, err := at.Get(fd, "", de.Name, val)
			if err == nil && bytes.Equal(bytes.TrimRight(val[:k], "\x00"), []byte(want)) {
				good++
			} else {
				bad++
			}
			if de.Type == xattr.TypeDir {
				subdirs = append(subdirs, string(de.Name[:len(de.Name)-1]))
			}
		}
		for _, s := range subdirs {
			cfd, err := unix.Openat(fd, s, xattr.DirFlags, 0)
			must(t, err)
			g, b := countLabeledAt(t, cfd, want)
			unix.Close(cfd)
			good += g
			bad += b
		}
	}
}
