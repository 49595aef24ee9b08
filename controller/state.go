package controller

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/selmount/selmount/check"
)

// Count is the number of findings of one type, severity and property (in
// one namespace, when counted per namespace).
type Count struct {
	Type      check.FindingType `json:"type"`
	Severity  check.Severity    `json:"severity"`
	Property  check.Property    `json:"property"`
	Namespace string            `json:"namespace,omitempty"`
	Count     int               `json:"count"`
}

// Offender is a workload (or bare pod) with findings.
type Offender struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Errors    int    `json:"errors"`
	Findings  int    `json:"findings"`
}

// NamespaceFinding is a finding as the namespace's users may read it: the
// subjects of that namespace only, and a note that counts the others.
type NamespaceFinding struct {
	Type     check.FindingType
	Severity check.Severity
	Property check.Property
	Volume   string
	Subjects []string // Kind/name

	// The note is made when asked for (Message), not kept: the snapshot
	// lives until the next, and the notes of 10,000 conflicting pods took
	// 5 MB.
	finding   *check.Finding
	namespace string
}

// Message is the finding's note for the namespace's readers (see Note).
func (f NamespaceFinding) Message() string { return Note(*f.finding, f.namespace) }

// Snapshot is the result of one sync.
type Snapshot struct {
	TargetVersion  string
	CurrentVersion string
	Errors         int
	Warnings       int
	Infos          int
	InputErrors    int
	// ConflictingVolumes counts the volumes with a conflict the kubelet
	// sees.
	ConflictingVolumes int
	Counts             []Count // per type, severity and property
	NamespaceCounts    []Count // the same per namespace of a subject
	TopOffenders       []Offender
	Namespaces         map[string][]NamespaceFinding
	Computed           time.Time
}

// topOffenders is how many offenders the status lists.
const topOffenders = 10

// State is the latest snapshot and the controller's own measurements.
type State struct {
	mu     sync.RWMutex
	snap   Snapshot
	synced bool
	gen    uint64 // counts the snapshots (update), not their times (touch)
	// reconcile is the histogram of sync durations.
	reconcile prometheus.Histogram
	// syncs counts the syncs by kind: full or partial.
	syncs *prometheus.CounterVec
}

func newState() *State {
	s := &State{reconcile: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "selmount_reconcile_duration_seconds",
		Help:    "Time to bring the findings of the cluster up to date and report them.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}), syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "selmount_syncs_total",
		Help: "Syncs by kind: full (every cached object checked again) or partial (the changed objects applied).",
	}, []string{"kind"})}
	s.syncs.WithLabelValues("full")
	s.syncs.WithLabelValues("partial")
	return s
}

// Snapshot returns the latest snapshot and whether there is one.
func (s *State) Snapshot() (Snapshot, bool) {
	snap, _, ok := s.snapshotGen()
	return snap, ok
}

// snapshotGen is Snapshot with the snapshot's generation: two snapshots of
// one generation differ only in their Computed time.
func (s *State) snapshotGen() (Snapshot, uint64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap, s.gen, s.synced
}

func (s *State) observe(d time.Duration) { s.reconcile.Observe(d.Seconds()) }

func (s *State) update(r check.Report, now time.Time) {
	snap := Summarize(r)
	snap.Computed = now
	s.mu.Lock()
	s.snap, s.synced = snap, true
	s.gen++
	s.mu.Unlock()
}

// touch marks the snapshot as computed again at now, its answer unchanged.
func (s *State) touch(now time.Time) {
	s.mu.Lock()
	s.snap.Computed, s.synced = now, true
	s.mu.Unlock()
}

// Summarize turns a report into a snapshot, which refers to r's findings.
func Summarize(r check.Report) Snapshot {
	snap := Snapshot{TargetVersion: r.TargetVersion, CurrentVersion: r.CurrentVersion,
		Errors: r.Summary.Errors, Warnings: r.Summary.Warnings, Infos: r.Summary.Infos,
		InputErrors: r.Summary.InputErrors, Namespaces: map[string][]NamespaceFinding{}}
	type ck struct {
		t  check.FindingType
		s  check.Severity
		p  check.Property
		ns string
	}
	counts, nsCounts := map[ck]int{}, map[ck]int{}
	offenders := map[[3]string]*Offender{}
	conflicting := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		counts[ck{f.Type, f.Severity, f.Property, ""}]++
		if f.Type == check.TypeConflict && f.KubeletConflict && f.Property != check.PropertyMultipleLabels {
			conflicting[f.Volume] = true
		}
		byNS := map[string][]string{}
		for _, sub := range f.Subjects {
			k := [3]string{sub.Kind, sub.Namespace, sub.Name}
			o := offenders[k]
			if o == nil {
				o = &Offender{Kind: sub.Kind, Namespace: sub.Namespace, Name: sub.Name}
				offenders[k] = o
			}
			o.Findings++
			if f.Severity == check.SeverityError {
				o.Errors++
			}
			byNS[sub.Namespace] = append(byNS[sub.Namespace], sub.Kind+"/"+sub.Name)
		}
		if len(byNS) == 0 {
			nsCounts[ck{f.Type, f.Severity, f.Property, ""}]++
		}
		for ns, subjects := range byNS {
			nsCounts[ck{f.Type, f.Severity, f.Property, ns}]++
			snap.Namespaces[ns] = append(snap.Namespaces[ns], NamespaceFinding{Type: f.Type, Severity: f.Severity,
				Property: f.Property, Volume: f.VolumeFor(ns), Subjects: subjects, finding: f, namespace: ns})
		}
	}
	snap.ConflictingVolumes = len(conflicting)
	toList := func(m map[ck]int) []Count {
		out := make([]Count, 0, len(m))
		for k, n := range m {
			out = append(out, Count{Type: k.t, Severity: k.s, Property: k.p, Namespace: k.ns, Count: n})
		}
		slices.SortFunc(out, func(a, b Count) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.Property, b.Property))
		})
		return out
	}
	snap.Counts, snap.NamespaceCounts = toList(counts), toList(nsCounts)
	// The first ten in this order, kept sorted as the offenders come: a
	// sort of all of them (10,000 at 50,000 pods) took a third of the
	// snapshot's time at each sync.
	order := func(a, b Offender) int {
		return cmp.Or(cmp.Compare(b.Errors, a.Errors), cmp.Compare(b.Findings, a.Findings),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	}
	top := make([]Offender, 0, min(len(offenders), topOffenders))
	for _, o := range offenders {
		if len(top) == topOffenders && order(*o, top[len(top)-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, *o, order)
		if len(top) == topOffenders {
			top = top[:len(top)-1]
		}
		top = slices.Insert(top, i, *o)
	}
	snap.TopOffenders = top
	return snap
}
