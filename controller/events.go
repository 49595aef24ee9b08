package controller

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/check"
)

// Event reasons.
const (
	ReasonConflict       = "SELinuxConflict"
	ReasonSlowPath       = "SELinuxSlowPath"
	ReasonDriverNotReady = "SELinuxDriverNotReady"
)

// maxEventsPerSync bounds the events one sync writes: the rest are written
// by the next syncs (none is dropped; see eventSink.emit).
const maxEventsPerSync = 200

// eventsPerSecond bounds the events written, on average: below the 50
// requests per second of the events' client, so that events never queue
// in its rate limiter (each waiting event is a goroutine and a copy of the
// event: with syncs every few hundred milliseconds and 200 events each,
// thousands waited, and the process grew by hundreds of MiB). Bursts of
// maxEventsPerSync pass at once.
const eventsPerSecond = 40

// maxNote is the events.k8s.io/v1 limit on an event's note.
const maxNote = 1024

// eventKey is what an event is deduplicated by.
type eventKey struct {
	kind, namespace, name string
	volume, reason        string
	property              check.Property
}

// eventSink writes Warning events, each (object, volume, reason) once until
// its text changes.
type eventSink struct {
	recorder events.EventRecorder
	mu       sync.Mutex
	last     map[keySum]noteSum // the note last written, as its hash
	known    map[keySum]bool    // the events of the last emit's findings
	notes    *notes
	pace     flowcontrol.PassiveRateLimiter // an event is written only with a token
}

// newEventSink returns a sink writing to r at eventsPerSecond; pace, when
// not nil, replaces that rate (tests).
func newEventSink(r events.EventRecorder, pace flowcontrol.PassiveRateLimiter) *eventSink {
	if pace == nil {
		pace = flowcontrol.NewTokenBucketPassiveRateLimiter(eventsPerSecond, maxEventsPerSync)
	}
	return &eventSink{recorder: r, last: map[keySum]noteSum{}, known: map[keySum]bool{}, notes: newNotes(), pace: pace}
}

// noteSum is an event note's 64-bit hash: what the sink remembers of each
// event written, to write it again when its text changes (two texts share a
// hash once in 2^64). The notes themselves took 8 MiB for 10,000
// conflicting pods.
type noteSum uint64

// noteSeed seeds the notes' hashes: one per process, as they are compared
// within it only.
var noteSeed = maphash.MakeSeed()

func sumOf(note string) noteSum { return noteSum(maphash.String(noteSeed, note)) }

// keySum is an eventKey's 64-bit hash, by which the sink remembers the
// events it wrote: a map entry of 16 bytes, where the key's six strings
// took 96 (4 MiB for 10,000 conflicting pods). Two keys share a hash once
// in 2^64; the event of one of them would then be written again each time
// the other's is.
type keySum uint64

func (k eventKey) sum() keySum { return keySum(maphash.Comparable(noteSeed, k)) }

// emit writes the events of findings that were not written with the same
// text before, at most maxEventsPerSync less the early ones emitNew wrote
// in this sync and at most eventsPerSecond on average, and returns how many are left for
// the next sync. Events that the last emit did not have (a new conflict)
// come before those left over by earlier syncs. Findings that are gone are
// forgotten, so that they are written again when they come back.
func (s *eventSink) emit(ctx context.Context, findings []check.Finding, ref func(kind, ns, name string) *corev1.ObjectReference, early int) int {
	if s.recorder == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current := make(map[keySum]noteSum, len(s.last))
	known := make(map[keySum]bool, len(s.known))
	var todo, later []EventSpec
	for _, p := range eventSpecs(findings, s.notes) {
		k := p.Key().sum()
		current[k] = p.sum
		known[k] = true
		if s.last[k] == p.sum {
			continue
		}
		if s.known[k] {
			later = append(later, p)
		} else {
			todo = append(todo, p)
		}
	}
	todo = append(todo, later...)
	s.known = known
	s.notes.next()
	written, budget := 0, max(0, maxEventsPerSync-early)
	for _, p := range todo {
		if written == budget || !s.pace.TryAccept() {
			// Left for the next sync (out of budget or of tokens): not
			// remembered as written.
			budget = written
			delete(current, p.Key().sum())
			continue
		}
		// The reference (a cache lookup for the UID) and the note only
		// for the events written: those left over may be many.
		s.recorder.Eventf(ref(p.Kind, p.Namespace, p.Name), nil, corev1.EventTypeWarning, p.Reason, "Check", "%s", p.note())
		written++
	}
	if written > 0 {
		klog.FromContext(ctx).V(2).Info("Wrote events", "count", written, "left", len(todo)-written)
	}
	s.last = current
	return len(todo) - written
}

// emitNew writes, ahead of the sync's emit, the events of findings (the
// conflicts a change just touched) that no emit has had yet, within the
// sync's budget of maxEventsPerSync, and returns how many it wrote. The
// sync's emit then finds them written with the same text and does not
// write them again.
func (s *eventSink) emitNew(findings []check.Finding, ref func(kind, ns, name string) *corev1.ObjectReference) (written int) {
	if s.recorder == nil || len(findings) == 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range eventSpecs(findings, s.notes) {
		if written == maxEventsPerSync {
			break
		}
		k := p.Key().sum()
		if s.known[k] || s.last[k] == p.sum {
			continue // already reported, or left over by an earlier sync: its turn comes in emit
		}
		if !s.pace.TryAccept() {
			break // out of tokens: emit leaves them for a later sync
		}
		s.recorder.Eventf(ref(p.Kind, p.Namespace, p.Name), nil, corev1.EventTypeWarning, p.Reason, "Check", "%s", p.note())
		s.last[k] = p.sum
		written++
	}
	return written
}

// EventSpec is one event the controller writes for a finding.
type EventSpec struct {
	Kind, Namespace, Name string // the object it is about ("" namespace: cluster-scoped)
	Volume                string
	Reason                string
	Property              check.Property
	Note                  string

	// The event sink's specs carry their finding and the hash of their
	// note instead of the note, which is made only for the events written
	// (the notes of 10,000 conflicting pods took 5 MB).
	finding *check.Finding
	sum     noteSum
}

// note returns the spec's note.
func (e EventSpec) note() string {
	if e.finding != nil {
		return Note(*e.finding, e.Namespace)
	}
	return e.Note
}

// Key returns the deduplication key.
func (e EventSpec) Key() eventKey {
	return eventKey{e.Kind, e.Namespace, e.Name, e.Volume, e.Reason, e.Property}
}

// Events returns the events for findings of severity error and warning:
// one per subject of each finding (the owning workload, or the bare pod),
// and one on the CSIDriver for driver readiness. A note names only objects,
// labels and levels of its own object's namespace: users in other
// namespaces are counted ("a pod in another namespace"), never named.
func Events(findings []check.Finding) []EventSpec { return eventSpecs(findings, nil) }

// eventSpecs is Events, or with memo the event sink's specs: without
// their notes, with their notes' hashes taken from memo.
func eventSpecs(findings []check.Finding, memo *notes) []EventSpec {
	n := 0
	for i := range findings {
		n += max(1, len(findings[i].Subjects))
	}
	out := make([]EventSpec, 0, n) // an EventSpec is large: no doubling
	seen := make(map[eventKey]bool, n)
	add := func(e EventSpec) {
		if !seen[e.Key()] {
			seen[e.Key()] = true
			out = append(out, e)
		}
	}
	noted := func(e EventSpec, f *check.Finding) EventSpec {
		if memo == nil {
			e.Note = Note(*f, e.Namespace)
		} else {
			e.finding, e.sum = f, memo.sum(f, e.Namespace)
		}
		return e
	}
	for i := range findings {
		f := &findings[i]
		if f.Severity != check.SeverityError && f.Severity != check.SeverityWarning {
			continue
		}
		reason := reasonOf(f.Type)
		if f.Type == check.TypeDriverReadiness {
			if f.Driver != "" {
				add(noted(EventSpec{Kind: "CSIDriver", Name: f.Driver, Volume: f.Volume, Reason: reason, Property: f.Property}, f))
			}
			continue
		}
		for _, s := range f.Subjects {
			add(noted(EventSpec{Kind: s.Kind, Namespace: s.Namespace, Name: s.Name, Volume: f.Volume, Reason: reason, Property: f.Property}, f))
		}
	}
	return out
}

func reasonOf(t check.FindingType) string {
	switch t {
	case check.TypeConflict:
		return ReasonConflict
	case check.TypeSlowPath:
		return ReasonSlowPath
	}
	return ReasonDriverNotReady
}

// Note returns the text of finding f for readers of namespace ns ("" for a
// cluster-scoped object): check's own message and fix when every subject
// is in ns, else a text that names only ns's subjects and counts the
// others.
func Note(f check.Finding, ns string) string {
	var mine, foreign []check.Subject
	for _, s := range f.Subjects {
		if s.Namespace == ns {
			mine = append(mine, s)
		} else {
			foreign = append(foreign, s)
		}
	}
	var b strings.Builder
	if len(foreign) == 0 {
		b.WriteString(f.Message)
		if f.Kept != "" {
			b.WriteString(" Kept: " + f.Kept + ".")
		}
		if f.Fix != "" {
			b.WriteString(" Fix: " + f.Fix)
		}
		return truncate(b.String())
	}
	if v := f.VolumeFor(ns); v != "" {
		fmt.Fprintf(&b, "Volume %s: ", v)
	}
	switch {
	case len(mine) == 0:
		b.WriteString("pods in other namespaces")
	default:
		for i, s := range mine {
			if i == 5 {
				fmt.Fprintf(&b, " and %d more", len(mine)-5)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s (%s)", s.Kind, s.Name, describeLabel(s))
		}
	}
	if len(foreign) == 1 {
		b.WriteString(" share it with a pod in another namespace")
	} else {
		fmt.Fprintf(&b, " share it with %d pods or workloads in other namespaces", len(foreign))
	}
	if f.Type == check.TypeConflict {
		b.WriteString(" that use another SELinux label. The kubelet mounts a volume with one label per node: ")
		switch f.When {
		case check.WhenNow:
			b.WriteString("they already share a node, and the pod admitted second waits in ContainerCreating (FailedMount).")
		case check.WhenCoScheduled:
			b.WriteString("a pod fails to start (FailedMount) on a node where a pod with another label already runs.")
		case check.WhenTargetVersion:
			b.WriteString("after the upgrade to the target version, the pod admitted second on a node fails to start.")
		default:
			b.WriteString("this volume is not mounted with -o context, so the kubelet only warns.")
		}
		b.WriteString(" Kept: on each node, the side whose pod is admitted first keeps the volume; pods with another label wait until it is gone.")
		b.WriteString(" Fix: give every user of the volume the same seLinuxOptions level (agree on it with the other namespace's owner), or set spec.securityContext.seLinuxChangePolicy: Recursive in this workload's pod template.")
	} else {
		b.WriteString(".")
	}
	return truncate(b.String())
}

func describeLabel(s check.Subject) string {
	l := s.Label
	if l == "" {
		l = `label ""`
	} else {
		l = fmt.Sprintf("label %q", l)
	}
	if s.Policy != "" {
		l += ", " + s.Policy
	}
	return l
}

// notes remembers, from one sync to the next, the hashes of the notes of
// findings whose subjects are all in the namespace the note is for (the
// common case): such a note is check's message, kept side and fix only,
// which the findings of the volumes no change touched keep from sync to
// sync, so that a sync makes only the notes of new findings.
type notes struct {
	last, cur map[noteKey]noteSum
}

type noteKey struct{ message, kept, fix string }

func newNotes() *notes { return &notes{last: map[noteKey]noteSum{}, cur: map[noteKey]noteSum{}} }

// sum returns the hash of Note(*f, ns).
func (n *notes) sum(f *check.Finding, ns string) noteSum {
	for _, s := range f.Subjects {
		if s.Namespace != ns {
			return sumOf(Note(*f, ns))
		}
	}
	k := noteKey{f.Message, f.Kept, f.Fix}
	sum, ok := n.cur[k]
	if !ok {
		if sum, ok = n.last[k]; !ok {
			sum = sumOf(Note(*f, ns))
		}
		n.cur[k] = sum
	}
	return sum
}

// next forgets the notes not asked for since the last call.
func (n *notes) next() {
	n.last, n.cur = n.cur, make(map[noteKey]noteSum, len(n.cur))
}

func truncate(s string) string {
	if len(s) <= maxNote {
		return s
	}
	return strings.ToValidUTF8(s[:maxNote-3], "") + "..." // no rune cut in half
}

// apiVersions of the kinds events are written on.
var apiVersions = map[string]string{
	"Pod": "v1", "ReplicationController": "v1",
	"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
	"Job": "batch/v1", "CronJob": "batch/v1", "CSIDriver": "storage.k8s.io/v1",
}

// objectRef returns a reference to an object, with its UID when the cache
// has it.
func (c *Controller) objectRef(kind, ns, name string) *corev1.ObjectReference {
	ref := &corev1.ObjectReference{Kind: kind, APIVersion: apiVersions[kind], Namespace: ns, Name: name}
	if obj, err := c.cached(kind, ns, name); err == nil && obj != nil {
		// Unpacked: a packed object keeps its UID in the encoding.
		if m, err := check.Unpacked[metav1.Object](obj); err == nil {
			ref.UID = m.GetUID()
		}
	}
	return ref
}
