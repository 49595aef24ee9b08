//go:build linux

package xattr

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to set security.* attributes on symlinks")
	}
}

func TestNewName(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{"security.selinux", ""},
		{"user.x", ""},
		{"", "xattr: empty attribute name"},
		{"selinux", `xattr: attribute name "selinux" has no namespace prefix such as "security."`},
		{"user.", `xattr: attribute name "user." has no namespace prefix such as "security."`},
		{"user.a\x00b", "xattr: attribute name \"user.a\x00b\" contains a NUL byte"},
	} {
		n, err := NewName(tc.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.err {
			t.Errorf("NewName(%q) error %q, want %q", tc.in, got, tc.err)
		}
		if err == nil && n.String() != tc.in {
			t.Errorf("NewName(%q).String() = %q", tc.in, n.String())
		}
	}
}

func TestReadDirent(t *testing.T) {
	dir := t.TempDir()
	want := []string{"a", "dir", "link", "not-utf8-\xff", strings.Repeat("n", 255)}
	for _, n := range want {
		switch n {
		case "dir":
			os.Mkdir(filepath.Join(dir, n), 0o755)
		case "link":
			os.Symlink("a", filepath.Join(dir, n))
		default:
			os.WriteFile(filepath.Join(dir, n), nil, 0o644)
		}
	}
	fd, err := unix.Open(dir, DirFlags, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 300) // forces several reads
	var got []string
	types := map[string]uint8{}
	for {
		n, err := ReadDirent(fd, dir, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		var de Dirent
		for off := 0; off < n; {
			sz := NextDirent(buf[off:n], &de)
			if sz == 0 {
				t.Fatal("truncated entry")
			}
			off += sz
			if de.Name[len(de.Name)-1] != 0 {
				t.Fatalf("name %q lacks its NUL", de.Name)
			}
			if de.IsDot() {
				continue
			}
			s := string(de.Name[:len(de.Name)-1])
			got = append(got, s)
			types[s] = de.Type
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	if types["dir"] != TypeDir || types["link"] != TypeLink {
		t.Errorf("types %v", types)
	}
}

func TestAtModes(t *testing.T) {
	requireRoot(t)
	attr, _ := NewName("security.selinux")
	for _, mode := range []Mode{ModeAt, ModeProc, ModePath, ModeCwd} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "target")
			os.WriteFile(target, nil, 0o644)
			os.Symlink("target", filepath.Join(dir, "link"))
			fd, err := unix.Open(dir, DirFlags, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if mode != ModeCwd {
				testAt(t, NewAt(mode, attr), attr, fd, dir, target)
				return
			}
			// A goroutine of its own, whose thread ends with it, so that
			// nothing else sees the working directory.
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := UnshareCwd(); err != nil {
					t.Errorf("UnshareCwd: %v", err)
					return
				}
				defer unix.Chdir("/")
				if err := Chdir(fd, dir); err != nil {
					t.Error(err)
					return
				}
				testAt(t, NewAt(mode, attr), attr, fd, dir, target)
			}()
			<-done
			if wd, _ := os.Getwd(); wd == dir {
				t.Errorf("the process's working directory moved to %s", wd)
			}
		})
	}
}

func testAt(t *testing.T, at *At, attr Name, fd int, dir, target string) {
	t.Helper()
	name := []byte("link\x00")
	buf := make([]byte, 64)

	if _, err := at.Get(fd, dir, name, buf); err != unix.ENODATA {
		t.Fatalf("Get of an unlabeled link: %v, want bare ENODATA", err)
	}
	if err := at.Set(fd, dir, name, []byte("a:b:c:s0\x00")); err != nil {
		t.Fatal(err)
	}
	n, err := at.Get(fd, dir, name, buf)
	if err != nil || string(buf[:n]) != "a:b:c:s0\x00" {
		t.Fatalf("Get = %q, %v", buf[:n], err)
	}
	if _, err := Lget(target, attr, buf); err != unix.ENODATA {
		t.Errorf("the symlink's target was labeled: %v", err)
	}
	if _, err := at.Get(fd, dir, name, buf[:3]); !strings.Contains(errString(err), "range") {
		t.Errorf("small buffer: %v, want ERANGE", err)
	}
	_, err = at.Get(fd, dir, []byte("missing\x00"), buf)
	var pe *os.PathError
	if !asPathError(err, &pe) || pe.Path != filepath.Join(dir, "missing") || pe.Err != unix.ENOENT {
		t.Errorf("missing entry: %#v", err)
	}
}

func TestFdAndPath(t *testing.T) {
	requireRoot(t)
	attr, _ := NewName("security.selinux")
	dir := t.TempDir()
	fd, err := unix.Open(dir, DirFlags, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if Probe(fd, attr) != ModeAt {
		t.Logf("kernel without getxattrat: probe chose %v", Probe(fd, attr))
	}
	if err := Fset(fd, dir, attr, []byte("x:y:z")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := Lget(dir, attr, buf)
	if err != nil || string(buf[:n]) != "x:y:z" {
		t.Errorf("Lget = %q, %v", buf[:n], err)
	}
	if err := Lset(dir, attr, []byte("p:q:r")); err != nil {
		t.Fatal(err)
	}
	n, err = Fget(fd, dir, attr, buf)
	if err != nil || string(buf[:n]) != "p:q:r" {
		t.Errorf("Fget = %q, %v", buf[:n], err)
	}
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ dir, name, want string }{
		{"/a", "b\x00", "/a/b"}, {"/", "b\x00", "/b"}, {"", "b", "b"}, {"a/", "b", "a/b"},
	} {
		if got := Join(tc.dir, []byte(tc.name)); got != tc.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.dir, tc.name, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func asPathError(err error, pe **os.PathError) bool {
	p, ok := err.(*os.PathError)
	*pe = p
	return ok
}

func TestMountRoot(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"plain", "src", "file-mp"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir-mp"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Bind mounts of the same filesystem: st_dev cannot tell them.
	for _, m := range [][2]string{{"src", "file-mp"}, {".", "dir-mp"}} {
		dst := filepath.Join(dir, m[1])
		if err := unix.Mount(filepath.Join(dir, m[0]), dst, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
	}
	fd, err := unix.Open(dir, DirFlags, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for name, want := range map[string]bool{"plain": false, "src": false, "file-mp": true, "dir-mp": true} {
		root, known, err := MountRoot(fd, dir, name)
		if err != nil || !known {
			t.Fatalf("MountRoot(%s): known %v, %v (statx needs Linux 5.8)", name, known, err)
		}
		if root != want {
			t.Errorf("MountRoot(%s) = %v, want %v", name, root, want)
		}
	}
	if _, _, err := MountRoot(fd, dir, "missing"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("missing entry: %v, want ENOENT", err)
	}
}
