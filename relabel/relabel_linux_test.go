//go:build linux

package relabel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/internal/xattr"
	"github.com/selmount/selmount/mountinfo"
)

// modes are the ways Relabel reaches entries; the fallbacks are forced.
var modes = []struct {
	name string
	opt  Options
}{
	{"xattrat", Options{}},
	{"cwd", Options{forceMode: 1 + int(xattr.ModeCwd)}},
	{"procfd", Options{forceMode: 1 + int(xattr.ModeProc)}},
	{"path", Options{forceMode: 1 + int(xattr.ModePath)}},
	{"openat-fallback", Options{noOpenat2: true}},
	{"one-worker", Options{Workers: 1}},
	{"no-mountinfo", Options{noMountinfo: true}},
	{"openat-no-mountinfo", Options{noOpenat2: true, noMountinfo: true}},
}

func TestAllTypes(t *testing.T) {
	requireRoot(t)
	for fsName, mk := range filesystems(t) {
		for _, m := range modes {
			t.Run(fsName+"/"+m.name, func(t *testing.T) {
				// Arrange: a tree with every type of entry, symlinks out of
				// it, and labeled targets outside.
				base := mk(t)
				root := filepath.Join(base, "vol")
				must(t, os.Mkdir(root, 0o755))
				outDir := filepath.Join(base, "outside")
				must(t, os.Mkdir(outDir, 0o755))
				outFile := filepath.Join(outDir, "target")
				must(t, os.WriteFile(outFile, []byte("keep"), 0o644))
				setLabel(t, outDir, other.String())
				setLabel(t, outFile, other.String())
				n := buildAllTypes(t, root, outFile)
				before := snapshot(t, root)
				opt := m.opt

				// Act
				var st Stats
				var err error
				checkNoLeak(t, func() { st, err = Relabel(context.Background(), root, target, &opt) })

				// Assert
				if err != nil {
					t.Fatal(err)
				}
				want := Stats{Visited: int64(n + 1), Changed: int64(n + 1)}
				st.Elapsed = 0
				st.Unread = 0 // some of Changed, after a run of wrong labels (TestBlindWrites)
				if st != want {
					t.Errorf("stats %+v, want %+v", st, want)
				}
				checkAll(t, root, target.String())
				if l := labelOf(t, outFile); l != other.String() {
					t.Errorf("symlink target outside the tree relabeled: %q", l)
				}
				if l := labelOf(t, outDir); l != other.String() {
					t.Errorf("directory outside the tree relabeled: %q", l)
				}
				if after := snapshot(t, root); !reflect.DeepEqual(before, after) {
					t.Errorf("something other than labels changed:\nbefore %v\nafter  %v", before, after)
				}

				// A second run writes nothing.
				st, err = Relabel(context.Background(), root, target, &opt)
				must(t, err)
				if st.Changed != 0 || st.Correct != int64(n+1) {
					t.Errorf("second run: %+v, want nothing changed", st)
				}
			})
		}
	}
}

func TestCanonicalCompare(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	files := map[string]struct {
		onDisk  string
		changed bool
	}{
		"canonical":         {target.String(), false},
		"canonical-nul":     {target.String() + "\x00", false},
		"reordered":         {"system_u:object_r:container_file_t:s0:c2,c1", false},
		"range-collapsed":   {"system_u:object_r:container_file_t:s0:c1,c2-s0:c2,c1", false},
		"other-level":       {"system_u:object_r:container_file_t:s0:c1,c3", true},
		"unparsable":        {"not a label", true},
		"unparsable-prefix": {target.String() + ":junk", true},
		"none":              {"", true},
	}
	ctimes := map[string]unix.Timespec{}
	for name, f := range files {
		p := filepath.Join(root, name)
		must(t, os.WriteFile(p, nil, 0o644))
		if f.onDisk != "" {
			setLabel(t, p, f.onDisk)
		}
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st))
		ctimes[name] = st.Ctim
	}
	setLabel(t, root, target.String())

	st, err := Relabel(context.Background(), root, target, nil)
	must(t, err)

	if st.Changed != 4 || st.Correct != 5 {
		t.Errorf("stats %+v, want 4 changed and 5 correct", st)
	}
	for name, f := range files {
		p := filepath.Join(root, name)
		var s unix.Stat_t
		must(t, unix.Lstat(p, &s))
		if !f.changed {
			if s.Ctim != ctimes[name] {
				t.Errorf("%s: ctime changed although the label was already right", name)
			}
			if got := labelOf(t, p); got != strings.TrimRight(f.onDisk, "\x00") {
				t.Errorf("%s: rewritten to %q", name, got)
			}
		} else if got := labelOf(t, p); got != target.String() {
			t.Errorf("%s: label %q, want %q", name, got, target)
		}
	}
}

func TestDryRun(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	n := buildAllTypes(t, root, "/etc/hostname")
	before := labels(t, root)
	st, err := Relabel(context.Background(), root, target, &Options{DryRun: true})
	must(t, err)
	if st.Changed != int64(n+1) {
		t.Errorf("dry run counted %d changes, want %d", st.Changed, n+1)
	}
	if after := labels(t, root); !reflect.DeepEqual(before, after) {
		t.Error("dry run wrote labels")
	}
}

func TestDirectorySwappedForSymlink(t *testing.T) {
	requireRoot(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "vol")
			outside := filepath.Join(base, "outside")
			must(t, os.MkdirAll(filepath.Join(root, "a", "victim"), 0o755))
			must(t, os.WriteFile(filepath.Join(root, "a", "victim", "f"), nil, 0o644))
			must(t, os.MkdirAll(filepath.Join(outside, "deep"), 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "deep", "secret"), nil, 0o644))
			for p := range labels(t, outside) {
				setLabel(t, p, other.String())
			}
			victim := filepath.Join(root, "a", "victim")
			var swapped atomic.Bool
			opt := m.opt
			opt.beforeOpenDir = func(path string) {
				// Between reading "a" and opening "victim", an attacker
				// replaces the directory with a symlink out of the tree.
				if path == victim && swapped.CompareAndSwap(false, true) {
					must(t, os.Rename(victim, victim+".old"))
					must(t, os.Symlink(outside, victim))
				}
			}

			_, err := Relabel(context.Background(), root, target, &opt)
			must(t, err)

			if !swapped.Load() {
				t.Fatal("hook did not run")
			}
			for p, l := range labels(t, outside) {
				if l != other.String() {
					t.Errorf("%s outside the tree relabeled to %q", p, l)
				}
			}
		})
	}
}

func TestBindMountNotCrossed(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	root := filepath.Join(base, "vol")
	src := filepath.Join(base, "src")
	must(t, os.MkdirAll(filepath.Join(root, "mnt"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "file-mnt"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "plain"), nil, 0o644))
	must(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "d", "f"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(base, "srcfile"), nil, 0o644))
	for p := range labels(t, src) {
		setLabel(t, p, other.String())
	}
	setLabel(t, filepath.Join(base, "srcfile"), other.String())
	// A directory and a file bind-mounted from the same filesystem: same
	// st_dev, so only the mount ID tells them apart.
	must(t, unix.Mount(src, filepath.Join(root, "mnt"), "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "mnt"), unix.MNT_DETACH) })
	must(t, unix.Mount(filepath.Join(base, "srcfile"), filepath.Join(root, "file-mnt"), "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "file-mnt"), unix.MNT_DETACH) })

	for _, m := range modes {
		t.Run("default/"+m.name, func(t *testing.T) {
			opt := m.opt
			st, err := Relabel(context.Background(), root, target, &opt)
			must(t, err)
			if st.Skipped != 2 {
				t.Errorf("stats %+v, want the 2 mount points skipped", st)
			}
			for p, l := range labels(t, src) {
				if l != other.String() {
					t.Errorf("crossed into the bind mount: %s labeled %q", p, l)
				}
			}
			if l := labelOf(t, filepath.Join(base, "srcfile")); l != other.String() {
				t.Errorf("file bind mount relabeled: %q", l)
			}
			if l := labelOf(t, filepath.Join(root, "plain")); l != target.String() {
				t.Errorf("plain file not labeled: %q", l)
			}
		})
	}
	t.Run("FollowMounts", func(t *testing.T) {
		_, err := Relabel(context.Background(), root, target, &Options{FollowMounts: true})
		must(t, err)
		checkAll(t, src, target.String())
		if l := labelOf(t, filepath.Join(base, "srcfile")); l != target.String() {
			t.Errorf("file bind mount not labeled with FollowMounts: %q", l)
		}
	})
}

func TestReadOnlyMount(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	ro := filepath.Join(base, "ro")
	must(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	must(t, os.Mkdir(ro, 0o755))
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(src, "d", fmt.Sprint(i)), nil, 0o644))
	}
	must(t, unix.Mount(src, ro, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	must(t, unix.Mount("", ro, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""))
	rootBefore := labelOf(t, ro)

	st, err := Relabel(context.Background(), ro, target, &Options{MaxErrors: 5})

	var pe *PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *PartialError", err, err)
	}
	if !errors.Is(err, unix.EROFS) {
		t.Errorf("error %v does not match EROFS", err)
	}
	if pe.Total != 21 || len(pe.Errs) != 5 || st.Errors != 21 {
		t.Errorf("total %d, kept %d, stats %+v: want 21 failures (d and 20 files), 5 kept", pe.Total, len(pe.Errs), st)
	}
	var pathErr *os.PathError
	if !errors.As(pe.Errs[0], &pathErr) || !strings.HasPrefix(pathErr.Path, ro+"/") {
		t.Errorf("first error %v is not an *os.PathError below the root", pe.Errs[0])
	}
	if l := labelOf(t, ro); l != rootBefore {
		t.Errorf("root labeled %q although entries failed", l)
	}
}

func TestNoXattrSupport(t *testing.T) {
	requireRoot(t)
	root := mountFS(t, "ramfs")
	must(t, os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "a", "f"), nil, 0o644))

	st, err := Relabel(context.Background(), root, target, nil)

	if !errors.Is(err, unix.ENOTSUP) {
		t.Fatalf("error %v, want one matching unix.ENOTSUP", err)
	}
	if st.Visited != 0 || st.Changed != 0 {
		t.Errorf("stats %+v: the walk should stop at the root", st)
	}
}

func TestCancel(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	for i := range 50 {
		d := filepath.Join(root, fmt.Sprint(i))
		must(t, os.Mkdir(d, 0o755))
		makeFlat(t, d, 20)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened atomic.Int32
	opt := &Options{beforeOpenDir: func(string) {
		if opened.Add(1) == 5 {
			cancel()
		}
	}}

	var err error
	checkNoLeak(t, func() { _, err = Relabel(ctx, root, target, opt) })

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if l := labelOf(t, root); l != "" {
		t.Errorf("root labeled %q by an interrupted run", l)
	}
	// A rerun completes the job.
	_, err = Relabel(context.Background(), root, target, nil)
	must(t, err)
	checkAll(t, root, target.String())
}

func TestDeepTree(t *testing.T) {
	requireRoot(t)
	const depth = 2500 // "d0/" × 2500 is far beyond PATH_MAX
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			fd, err := unix.Open(root, xattr.DirFlags, 0)
			must(t, err)
			for i := range depth {
				must(t, unix.Mkdirat(fd, "d0", 0o755))
				f, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
				must(t, err)
				unix.Close(f)
				if i%2 == 0 {
					must(t, unix.Mkdirat(fd, "side", 0o755)) // a sibling keeps the parent pending
				}
				nfd, err := unix.Openat(fd, "d0", xattr.DirFlags, 0)
				must(t, err)
				unix.Close(fd)
				fd = nfd
			}
			unix.Close(fd)
			opt := m.opt
			opt.MaxOpenDirs = 8

			st, err := Relabel(context.Background(), root, target, &opt)
			must(t, err)

			want := int64(depth*2 + (depth+1)/2 + 1)
			if st.Changed != want {
				t.Errorf("stats %+v, want %d changed", st, want)
			}
			rfd, err := unix.Open(root, xattr.DirFlags, 0)
			must(t, err)
			defer unix.Close(rfd)
			if good, bad := countLabeledAt(t, rfd, target.String()); bad != 0 || int64(good) != want-1 {
				t.Errorf("%d labeled, %d not, want %d labeled", good, bad, want-1)
			}
		})
	}
}

func TestMoreDirectoriesThanDescriptors(t *testing.T) {
	requireRoot(t)
	// A comb: a chain of 400 directories, each with two subdirectories that
	// hold files. Reading it depth-first leaves siblings pending at every
	// level, far more than the 64 descriptors allowed.
	root := t.TempDir()
	p := root
	dirs := 0
	for range 400 {
		for _, s := range []string{"x", "y"} {
			must(t, os.Mkdir(filepath.Join(p, s), 0o755))
			must(t, os.WriteFile(filepath.Join(p, s, "f"), nil, 0o644))
			dirs++
		}
		p = filepath.Join(p, "next")
		must(t, os.Mkdir(p, 0o755))
		dirs++
	}
	var old unix.Rlimit
	must(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old))
	lim := old
	lim.Cur = 64
	must(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)

	var st Stats
	var err error
	checkNoLeak(t, func() { st, err = Relabel(context.Background(), root, target, &Options{Workers: 8}) })
	must(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &old))

	must(t, err)
	if want := int64(dirs + 800 + 1); st.Changed != want {
		t.Errorf("stats %+v, want %d changed", st, want)
	}
	checkAll(t, root, target.String())
}

func TestLargeFlatDirectory(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	makeFlat(t, root, 30000)
	for _, w := range []int{1, 2, 16} {
		t.Run(fmt.Sprint("workers=", w), func(t *testing.T) {
			to := target.WithLevel(other.Level())
			if w%2 == 0 {
				to = target
			}
			st, err := Relabel(context.Background(), root, to, &Options{Workers: w})
			must(t, err)
			if st.Visited != 30001 || st.Changed+st.Correct != 30001 {
				t.Errorf("stats %+v", st)
			}
			checkAll(t, root, to.String())
		})
	}
}

// The hot path allocates per directory, never per entry.
func TestAllocations(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	makeFlat(t, root, 20000)
	_, err := Relabel(context.Background(), root, target, nil)
	must(t, err)
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := Relabel(context.Background(), root, target, &Options{Workers: 2}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 500 {
		t.Errorf("%.0f allocations to check 20000 labeled files; the hot path allocates", allocs)
	}
}

func TestSubPath(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "a", "sub", "deeper"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "a", "sub", "deeper", "f"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "a", "sibling"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "a", "file"), nil, 0o644))
	must(t, os.Symlink("sub", filepath.Join(root, "a", "link")))
	must(t, os.Symlink("/etc", filepath.Join(root, "escape")))

	st, err := Relabel(context.Background(), root, target, &Options{SubPath: "a/sub"})
	must(t, err)
	if st.Changed != 3 {
		t.Errorf("stats %+v, want 3 changed", st)
	}
	checkAll(t, filepath.Join(root, "a", "sub"), target.String())
	for _, p := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "sibling")} {
		if l := labelOf(t, p); l != "" {
			t.Errorf("%s outside the subPath labeled %q", p, l)
		}
	}

	st, err = Relabel(context.Background(), root, target, &Options{SubPath: "a/file"})
	must(t, err)
	if st.Changed != 1 || labelOf(t, filepath.Join(root, "a", "file")) != target.String() {
		t.Errorf("file subPath: %+v", st)
	}

	for _, bad := range []string{"a/link", "escape/passwd", "../x", "/etc", "a/missing"} {
		if _, err := Relabel(context.Background(), root, target, &Options{SubPath: bad}); err == nil {
			t.Errorf("subPath %q accepted", bad)
		}
	}
	if l := labelOf(t, "/etc/passwd"); l == target.String() {
		t.Fatal("relabeled /etc/passwd through a subPath symlink")
	}
}

// TestSubPathAcrossMount: a subPath that crosses a mount is refused, unless
// FollowMounts is set.
func TestSubPathAcrossMount(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	must(t, os.Mkdir(filepath.Join(root, "mnt"), 0o755))
	must(t, unix.Mount("tmpfs", filepath.Join(root, "mnt"), "tmpfs", 0, ""))
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "mnt"), unix.MNT_DETACH) })
	must(t, os.Mkdir(filepath.Join(root, "mnt", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "mnt", "sub", "f"), nil, 0o644))

	if _, err := Relabel(context.Background(), root, target, &Options{SubPath: "mnt/sub"}); !errors.Is(err, unix.EXDEV) {
		t.Errorf("subPath across a mount without FollowMounts: err %v, want EXDEV", err)
	}
	st, err := Relabel(context.Background(), root, target, &Options{SubPath: "mnt/sub", FollowMounts: true})
	must(t, err)
	if st.Changed != 2 {
		t.Errorf("stats %+v, want 2 changed", st)
	}
	checkAll(t, filepath.Join(root, "mnt", "sub"), target.String())
}

func TestRootIsFileOrSymlink(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	must(t, os.WriteFile(f, nil, 0o644))
	st, err := Relabel(context.Background(), f, target, nil)
	must(t, err)
	if st.Visited != 1 || st.Changed != 1 || labelOf(t, f) != target.String() {
		t.Errorf("file root: %+v, label %q", st, labelOf(t, f))
	}
	l := filepath.Join(dir, "l")
	must(t, os.Symlink(dir, l))
	if _, err := Relabel(context.Background(), l, target, nil); !errors.Is(err, unix.ELOOP) {
		t.Errorf("symlink root: error %v, want ELOOP", err)
	}
	if _, err := Relabel(context.Background(), filepath.Join(dir, "missing"), target, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing root: error %v, want ErrNotExist", err)
	}
}

func TestProgress(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	makeFlat(t, root, 100)
	var calls []Stats
	st, err := Relabel(context.Background(), root, target, &Options{Progress: func(s Stats) { calls = append(calls, s) }})
	must(t, err)
	if len(calls) == 0 || calls[len(calls)-1] != st {
		t.Errorf("progress calls %v; the last must equal the result %v", calls, st)
	}
}

func TestMountsBelow(t *testing.T) {
	mi := `22 1 0:21 / / rw - ext4 /dev/vda rw
30 22 0:21 /src /vol/mnt rw - ext4 /dev/vda rw
31 22 0:21 /f /vol/a\040b/file rw - ext4 /dev/vda rw
32 22 0:40 / /vol rw - tmpfs tmpfs rw
33 22 0:41 / /volume2/x rw - tmpfs tmpfs rw
`
	mounts, err := mountinfo.Parse(strings.NewReader(mi))
	must(t, err)
	got := mountsBelow(mounts, "/vol")
	want := map[string]map[string]struct{}{"": {"mnt": {}}, "a b": {"file": {}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mountsBelow = %v, want %v", got, want)
	}
}

// The unprivileged part: a user that cannot read a directory gets an error
// for it and everything else labeled. The test binary re-executes itself as
// nobody, with a user.* attribute instead of security.selinux.
func TestUnreadableDirectoryAsUser(t *testing.T) {
	if os.Getenv("SELMOUNT_RELABEL_CHILD") == "unreadable" {
		root := os.Getenv("SELMOUNT_RELABEL_ROOT")
		opt := &Options{XattrName: "user.selmount"}
		if os.Getenv("SELMOUNT_RELABEL_MODE") == "cwd" {
			opt.forceMode = 1 + int(xattr.ModeCwd)
		}
		st, err := Relabel(context.Background(), root, target, opt)
		var pe *PartialError
		if !errors.As(err, &pe) || !errors.Is(err, unix.EACCES) {
			fmt.Printf("FAIL error %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("OK %d %d\n", st.Changed, st.Errors)
		os.Exit(0)
	}
	requireRoot(t)
	base := t.TempDir()
	must(t, os.Chmod(base, 0o755))
	must(t, os.Chmod(filepath.Dir(base), 0o755)) // t.TempDir makes its parent 0700
	root := filepath.Join(base, "vol")
	must(t, os.MkdirAll(filepath.Join(root, "open", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "open", "sub", "f"), nil, 0o644))
	must(t, os.Mkdir(filepath.Join(root, "closed"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "closed", "hidden"), nil, 0o644))
	must(t, os.Mkdir(filepath.Join(root, "nosearch"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "nosearch", "g1"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(root, "nosearch", "g2"), nil, 0o644))
	must(t, filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}))
	must(t, os.Chmod(filepath.Join(root, "closed"), 0o300))   // writable, not readable
	must(t, os.Chmod(filepath.Join(root, "nosearch"), 0o600)) // readable, not searchable
	exe, err := os.Executable()
	must(t, err)
	bin := filepath.Join(base, "relabel.test")
	data, err := os.ReadFile(exe)
	must(t, err)
	must(t, os.WriteFile(bin, data, 0o755))

	for _, mode := range []string{"default", "cwd"} {
		cmd := exec.Command(bin, "-test.run=^TestUnreadableDirectoryAsUser$")
		cmd.Env = append(os.Environ(), "SELMOUNT_RELABEL_CHILD=unreadable", "SELMOUNT_RELABEL_ROOT="+root, "SELMOUNT_RELABEL_MODE="+mode)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "OK ") {
			t.Fatalf("child (%s): %v\n%s", mode, err, out)
		}
		var changed, errs int
		fmt.Sscanf(string(out), "OK %d %d", &changed, &errs)
		// open, sub, f and nosearch are labeled (on the first run). "closed"
		// fails twice: reading its user.* attribute needs read permission,
		// and so does listing it. nosearch can be listed, but each of its
		// two entries fails: looking a name up needs search permission
		// (in cwd mode, entering it fails and the entries fail one by one
		// as in the others). The root is left alone.
		if mode == "default" && changed != 4 || errs != 4 {
			t.Errorf("child (%s) reported %d changed, %d errors; want 4 (then 0) and 4", mode, changed, errs)
		}
	}
	userAttr, _ := xattr.NewName("user.selmount")
	buf := make([]byte, 256)
	if _, err := xattr.Lget(filepath.Join(root, "open", "sub", "f"), userAttr, buf); err != nil {
		t.Errorf("readable file not labeled: %v", err)
	}
	if _, err := xattr.Lget(root, userAttr, buf); err != unix.ENODATA {
		t.Errorf("root labeled despite an error: %v", err)
	}
}
