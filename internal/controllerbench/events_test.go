package controllerbench

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// The reporters told apart: the KCM's event source ("selinux_warning",
// core/v1 events written through the record package) and selmount's
// events.k8s.io/v1 reporting controller.
const (
	reporterKCM      = "kcm"
	reporterSelmount = "selmount"
)

func reporterOf(e *eventsv1.Event) string {
	for _, s := range []string{e.ReportingController, e.DeprecatedSource.Component} {
		switch {
		case s == "selmount-controller":
			return reporterSelmount
		case strings.Contains(s, "selinux_warning"), strings.Contains(s, "selinux-warning"):
			return reporterKCM
		}
	}
	return ""
}

// eventLog records every Event object as a watch delivers it: when it
// arrived and what it is about.
type eventLog struct {
	mu      sync.Mutex
	byRep   map[string]*reporterLog
	unknown map[string]int // reporters of other events
	changed time.Time      // the last arrival of any event
}

type reporterLog struct {
	objects int
	types   map[string]int
	reasons map[string]int
	first   map[string]time.Time // by "namespace/name" of the regarding object
	last    time.Time
}

// reporterStats is what one reporter wrote.
type reporterStats struct {
	objects      int            // Event objects
	types        map[string]int // by type (Normal, Warning)
	reasons      map[string]int
	conflictPods int       // pods in a conflict with at least one event
	dropped      int       // pods in a conflict without one
	last         time.Time // the last event's arrival
}

func watchEvents(t *testing.T, ctx context.Context, client kubernetes.Interface) *eventLog {
	l := &eventLog{byRep: map[string]*reporterLog{}, unknown: map[string]int{}}
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Events().V1().Events().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		if e, ok := obj.(*eventsv1.Event); ok {
			l.add(e, time.Now())
		}
	}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("the events informer did not sync")
	}
	return l
}

func (l *eventLog) add(e *eventsv1.Event, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changed = at
	rep := reporterOf(e)
	if rep == "" {
		l.unknown[e.ReportingController+"|"+e.DeprecatedSource.Component]++
		return
	}
	r := l.byRep[rep]
	if r == nil {
		r = &reporterLog{types: map[string]int{}, reasons: map[string]int{}, first: map[string]time.Time{}}
		l.byRep[rep] = r
	}
	r.objects++
	r.types[e.Type]++
	r.reasons[e.Reason]++
	key := e.Regarding.Namespace + "/" + e.Regarding.Name
	if _, ok := r.first[key]; !ok {
		r.first[key] = at
	}
	r.last = at
}

// first returns when the first event of rep about key arrived.
func (l *eventLog) first(rep, key string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byRep[rep]; r != nil {
		at, ok := r.first[key]
		return at, ok
	}
	return time.Time{}, false
}

// settle waits until selmount has written an event about every pod in
// pods and no event has arrived for quiet, at most timeout.
func (l *eventLog) settle(t *testing.T, pods map[string]bool, quiet, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		covered := 0
		if r := l.byRep[reporterSelmount]; r != nil {
			for p := range pods {
				if _, ok := r.first[p]; ok {
					covered++
				}
			}
		}
		changed := l.changed
		l.mu.Unlock()
		if covered == len(pods) && time.Since(changed) > quiet {
			return
		}
		time.Sleep(time.Second)
	}
	t.Logf("events still arriving (or selmount's incomplete) after %v", timeout)
}

// others returns the reporters of events that neither controller wrote.
func (l *eventLog) others() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.unknown))
}

func (l *eventLog) stats(rep string, pods map[string]bool) reporterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.byRep[rep]
	if r == nil {
		return reporterStats{dropped: len(pods)}
	}
	s := reporterStats{objects: r.objects, types: maps.Clone(r.types), reasons: maps.Clone(r.reasons), last: r.last}
	for p := range pods {
		if _, ok := r.first[p]; ok {
			s.conflictPods++
		} else {
			s.dropped++
		}
	}
	return s
}
