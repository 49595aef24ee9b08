//go:build linux

package relabel

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return st.Ino
}

func ctimeOf(t *testing.T, p string) unix.Timespec {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Lstat(p, &st))
	return st.Ctim
}

// TestBlindWrites: with every label wrong, a worker stops reading after a
// run of wrong labels; the counts say how many labels were written unread,
// and every entry ends up labeled. A dry run and a labeled tree read every
// label, and in a mixed tree at most blindSpan right labels are rewritten
// after a run of wrong ones.
func TestBlindWrites(t *testing.T) {
	requireRoot(t)
	t.Run("all wrong", func(t *testing.T) {
		root := t.TempDir()
		makeFlat(t, root, 1000)
		dry, err := Relabel(context.Background(), root, target, &Options{DryRun: true})
		must(t, err)
		if dry.Unread != 0 || dry.Changed != 1001 {
			t.Errorf("dry run: %+v, want every label read and 1001 to change", dry)
		}
		st, err := Relabel(context.Background(), root, target, &Options{Workers: 1})
		must(t, err)
		if st.Changed != 1001 || st.Unread == 0 || st.Unread > st.Changed-blindAfter {
			t.Errorf("stats %+v: want 1001 changed, most of them unread", st)
		}
		checkAll(t, root, target.String())
		again, err := Relabel(context.Background(), root, target, nil)
		must(t, err)
		if again.Changed != 0 || again.Unread != 0 || again.Correct != 1001 {
			t.Errorf("second run: %+v, want nothing written", again)
		}
	})
	t.Run("mixed", func(t *testing.T) {
		// In inode order (the order of the walk): 200 wrong labels, then
		// 200 right ones, whose ctimes must mostly stay. (Not creation
		// order: inodes freed meanwhile by other tests are reused.)
		root := t.TempDir()
		var files []string
		for i := range 400 {
			p := filepath.Join(root, fmt.Sprintf("f%03d", i))
			must(t, os.WriteFile(p, nil, 0o644))
			files = append(files, p)
		}
		slices.SortFunc(files, func(a, b string) int { return cmp.Compare(inodeOf(t, a), inodeOf(t, b)) })
		right := files[200:]
		for _, p := range right {
			setLabel(t, p, target.String())
		}
		before := map[string]unix.Timespec{}
		for _, p := range right {
			before[p] = ctimeOf(t, p)
		}
		time.Sleep(20 * time.Millisecond) // past the coarse clock's tick: a rewrite changes ctime
		st, err := Relabel(context.Background(), root, target, &Options{Workers: 1})
		must(t, err)
		checkAll(t, root, target.String())
		rewritten := 0
		for _, p := range right {
			if ctimeOf(t, p) != before[p] {
				rewritten++
			}
		}
		if rewritten > blindSpan || int64(rewritten) != st.Changed-201 {
			t.Errorf("%d right labels rewritten (stats %+v), want at most %d, all counted in Changed", rewritten, st, blindSpan)
		}
		if st.Correct+st.Changed != st.Visited {
			t.Errorf("stats %+v do not add up", st)
		}
	})
}
