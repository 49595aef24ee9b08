//go:build linux

package relabel

import (
	"slices"
	"sync"
	"time"

	"github.com/selmount/selmount/internal/xattr"
)

// cwdThreads keeps the threads of ModeCwd workers, each with a working
// directory of its own, for a while after a walk, so that the next walk
// does not pay for making them (a thread, and an unshare for its working
// directory) and ending them again: a node agent relabels many small
// volumes, one after the other.
var cwdThreads = &threadPool{keep: 10 * time.Second}

// threadPool runs functions on goroutines locked to threads that have a
// working directory of their own (xattr.UnshareCwd). A thread is parked
// after its function returns and ends when it was not used again within
// keep. A parked thread's working directory is "/" (the worker leaves the
// tree before it returns); it also keeps its own root and umask, which the
// workers never use.
type threadPool struct {
	keep time.Duration

	mu     sync.Mutex
	parked []chan func(bool)
}

// run runs f on such a thread, a parked one if there is one. private says
// whether the thread has a working directory of its own: unshare may be
// refused (a seccomp filter), and f runs on an ordinary goroutine then.
func (p *threadPool) run(f func(private bool)) {
	p.mu.Lock()
	if n := len(p.parked); n > 0 {
		ch := p.parked[n-1]
		p.parked = p.parked[:n-1]
		p.mu.Unlock()
		ch <- f
		return
	}
	p.mu.Unlock()
	go p.serve(f)
}

func (p *threadPool) serve(f func(bool)) {
	if xattr.UnshareCwd() != nil {
		f(false)
		return
	}
	ch := make(chan func(bool), 1)
	for {
		f(true)
		p.mu.Lock()
		p.parked = append(p.parked, ch)
		p.mu.Unlock()
		t := time.NewTimer(p.keep)
		select {
		case f = <-ch:
			t.Stop()
			continue
		case <-t.C:
		}
		p.mu.Lock()
		i := slices.Index(p.parked, ch)
		if i >= 0 {
			p.parked = slices.Delete(p.parked, i, i+1)
		}
		p.mu.Unlock()
		if i >= 0 {
			return // locked: the thread ends with the goroutine
		}
		f = <-ch // taken while the timer fired
	}
}
