//go:build linux

package relabel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/internal/xattr"
)

// TestBusyWorkerJoinsLaterLargeDirectory: a worker busy when a large
// directory was read joins its labeling once it is free. (Sharing was once
// decided when the directory was read: with the other worker busy, the
// reader labeled all of it alone.)
func TestBusyWorkerJoinsLaterLargeDirectory(t *testing.T) {
	requireRoot(t)
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			big, small := filepath.Join(root, "big"), filepath.Join(root, "small")
			must(t, os.Mkdir(big, 0o755))
			must(t, os.Mkdir(small, 0o755))
			makeFlat(t, big, 3000)
			makeFlat(t, small, 1)
			offered := make(chan struct{})
			var once sync.Once
			var joins atomic.Int32
			opt := m.opt
			opt.Workers = 2
			opt.beforeOpenDir = func(p string) {
				if p == small { // busy until the other worker offers big
					select {
					case <-offered:
					case <-time.After(10 * time.Second):
					}
				}
			}
			opt.offered = func(p string) {
				if p == big {
					once.Do(func() { close(offered) })
				}
			}
			opt.joined = func(p string) {
				if p == big {
					joins.Add(1)
				}
			}
			st, err := Relabel(context.Background(), root, target, &opt)
			must(t, err)
			if joins.Load() == 0 {
				t.Errorf("no worker joined the large directory (stats %+v)", st)
			}
			if st.Changed != 3004 {
				t.Errorf("stats %+v, want 3004 changed", st)
			}
			checkAll(t, root, target.String())
		})
	}
}

// TestBlindRunCountsEveryWorker: the run of wrong labels after which labels
// are written unread is counted across the workers, so a second worker
// sharing a directory of wrong labels does not read blindAfter labels of
// its own first.
func TestBlindRunCountsEveryWorker(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	const n = 4000
	makeFlat(t, root, n)
	joined := make(chan struct{})
	var once sync.Once
	opt := Options{Workers: 2}
	opt.joined = func(string) { once.Do(func() { close(joined) }) }
	opt.offered = func(string) {
		// The reader labels only once the other worker has joined (and
		// has read a run of wrong labels).
		select {
		case <-joined:
			time.Sleep(5 * time.Millisecond)
		case <-time.After(10 * time.Second):
		}
	}
	st, err := Relabel(context.Background(), root, target, &opt)
	must(t, err)
	checkAll(t, root, target.String())
	// Each worker reads about one label in blindSpan+1 once blind; before
	// that, blindAfter between them, and one more each at most.
	read := st.Changed - st.Unread
	if limit := int64(blindAfter + 2 + n/blindSpan + 2); read > limit {
		t.Errorf("%d labels read before writing (stats %+v), want at most %d", read, st, limit)
	}
}

// TestCwdThreadsLeaveTheTree: the threads of ModeCwd workers outlive the
// walk (cwdThreads keeps them parked), but not in the tree: a filesystem
// relabeled in that mode can be unmounted as soon as Relabel returns, and no
// thread of the process has its working directory there.
func TestCwdThreadsLeaveTheTree(t *testing.T) {
	requireRoot(t)
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	mounted := true
	defer func() {
		if mounted {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	}()
	for _, d := range []string{"a", "b", "c"} {
		must(t, os.Mkdir(filepath.Join(mnt, d), 0o755))
		makeFlat(t, filepath.Join(mnt, d), 300)
	}
	for range 2 { // the second run reuses the threads of the first
		_, err := Relabel(context.Background(), mnt, target, &Options{forceMode: 1 + int(xattr.ModeCwd)})
		must(t, err)
	}
	parked := 0
	for deadline := time.Now().Add(5 * time.Second); parked == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		cwdThreads.mu.Lock()
		parked = len(cwdThreads.parked)
		cwdThreads.mu.Unlock()
	}
	if parked == 0 {
		t.Error("no worker thread was kept after the walk")
	}
	tasks, err := os.ReadDir("/proc/self/task")
	must(t, err)
	for _, task := range tasks {
		if cwd, err := os.Readlink(filepath.Join("/proc/self/task", task.Name(), "cwd")); err == nil && (cwd == mnt || strings.HasPrefix(cwd, mnt+"/")) {
			t.Errorf("thread %s still has its working directory in the tree: %s", task.Name(), cwd)
		}
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Errorf("unmount right after the relabel: %v", err)
	} else {
		mounted = false
	}
}
