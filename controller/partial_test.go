package controller

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/klog/v2/ktesting"

	"github.com/selmount/selmount/check"
)

func (c *Controller) syncs(kind string) int {
	var m dto.Metric
	if err := c.state.syncs.WithLabelValues(kind).Write(&m); err != nil {
		panic(err)
	}
	return int(m.GetCounter().GetValue())
}

// fullSnapshot is the snapshot a full check of the caches gives now, over
// the objects decoded and sorted as a Base orders them (check.Run takes
// them in the order given, which decides ties between pods created at the
// same time).
func fullSnapshot(t *testing.T, c *Controller) Snapshot {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	in, err := c.input(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in.Objects = in.Objects.Unpacked()
	in.Objects.Sort()
	return Summarize(check.Run(in))
}

func sameSnapshot(a, b Snapshot) bool {
	a.Computed, b.Computed = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func TestPartialSyncs(t *testing.T) {
	// Arrange: one Deployment on the shared volume.
	c, client, rec := start(t, Options{}, append(cluster(), deployment("a", "web", "s0:c1,c2", 0))...)
	_, ctx := ktesting.NewTestContext(t)
	// A sync publishes its state before it counts itself: wait for the count.
	waitFor(t, "the first sync counted", func() bool { return c.syncs("full") == 1 })
	partial := c.syncs("partial") // the informers' first adds may give one, with no change

	// Act: a pod with another level joins the volume.
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "db-0", "s0:c7,c9"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: a partial sync reports the conflict (events, metrics, users)
	// as a full check of the caches does.
	waitFor(t, "the conflict", func() bool { snap, _ := c.State().Snapshot(); return snap.ConflictingVolumes == 1 })
	waitFor(t, "a partial sync counted", func() bool { return c.syncs("partial") > partial })
	if c.syncs("full") != 1 {
		t.Errorf("%d full syncs, want 1: the new pod was applied by a full sync", c.syncs("full"))
	}
	waitFor(t, "the events on both sides", func() bool { return len(rec.list()) == 2 })
	snap, _ := c.State().Snapshot()
	if full := fullSnapshot(t, c); !sameSnapshot(snap, full) {
		t.Errorf("partial sync's snapshot\n%+v\ndiffers from a full check's\n%+v", snap, full)
	}
	users := c.Index().Users.Of("csi://csi.example.com^shared")
	if want := "[{Deployment a web} {Pod b db-0}]"; fmt.Sprint(users) != want {
		t.Errorf("users = %v, want %s", users, want)
	}

	// Act: a PersistentVolume changes: its NFS attributes, without the
	// option that gives each mount its own superblock.
	partial = c.syncs("partial")
	p := pv("pv-b")
	p.Spec.CSI.VolumeAttributes = map[string]string{"server": "nfs.example.com", "share": "/export"}
	if _, err := client.CoreV1().PersistentVolumes().Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: a partial sync that agrees with a full check.
	waitFor(t, "a partial sync", func() bool { return c.syncs("partial") > partial })
	if n := c.syncs("full"); n != 1 {
		t.Errorf("%d full syncs after the volume's change, want 1", n)
	}
	snap, _ = c.State().Snapshot()
	if full := fullSnapshot(t, c); !sameSnapshot(snap, full) {
		t.Errorf("after the volume's change, the partial sync's snapshot\n%+v\ndiffers from a full check's\n%+v", snap, full)
	}

	// Act: a CSIDriver changes, which Base cannot apply.
	d := csiDriver()
	d.Labels = map[string]string{"changed": "yes"}
	if _, err := client.StorageV1().CSIDrivers().Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: a full sync.
	waitFor(t, "a full sync", func() bool { return c.syncs("full") == 2 })

	// Act: the pod goes away.
	if err := client.CoreV1().Pods("b").Delete(ctx, "db-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: the conflict clears in a partial sync, and the users follow.
	waitFor(t, "the conflict to clear", func() bool { snap, _ := c.State().Snapshot(); return snap.ConflictingVolumes == 0 })
	if c.syncs("full") != 2 {
		t.Errorf("%d full syncs, want 2", c.syncs("full"))
	}
	if users := c.Index().Users.Of("csi://csi.example.com^shared"); len(users) != 1 {
		t.Errorf("users after the delete = %v, want the Deployment only", users)
	}
	snap, _ = c.State().Snapshot()
	if full := fullSnapshot(t, c); !sameSnapshot(snap, full) {
		t.Errorf("partial sync's snapshot\n%+v\ndiffers from a full check's\n%+v", snap, full)
	}
}

// podFinding is finding i of type t (a conflict is an error, anything else
// a warning): on volume v<i> of pod a/p<i>.
func podFinding(t check.FindingType, i int) check.Finding {
	sev := check.SeverityWarning
	if t == check.TypeConflict {
		sev = check.SeverityError
	}
	return check.Finding{Type: t, Severity: sev, Volume: fmt.Sprintf("v%d", i),
		Subjects: []check.Subject{{Kind: "Pod", Namespace: "a", Name: fmt.Sprintf("p%d", i)}}, Message: "m"}
}

// podFindings returns podFinding 0 to n-1.
func podFindings(t check.FindingType, n int) []check.Finding {
	out := make([]check.Finding, n)
	for i := range out {
		out[i] = podFinding(t, i)
	}
	return out
}

// unpacedSink is an event sink with no pace, and its recorder.
func unpacedSink() (*recorder, *eventSink) {
	rec := &recorder{}
	return rec, newEventSink(rec, flowcontrol.NewFakeAlwaysRateLimiter())
}

// ref is an event sink's reference to an object: no UID.
func ref(kind, ns, name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name}
}

// TestNewFindingsEventsComeFirst: events left over by a sync wait behind
// the events of findings that are new at the next sync.
func TestNewFindingsEventsComeFirst(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	finding := func(i int) check.Finding { return podFinding(check.TypeSlowPath, i) }
	rec, sink := unpacedSink()
	fs := podFindings(check.TypeSlowPath, maxEventsPerSync+50)
	if left := sink.emit(ctx, fs, ref, 0); left != 50 || len(rec.list()) != maxEventsPerSync {
		t.Fatalf("first emit: %d written, %d left; want %d and 50", len(rec.list()), left, maxEventsPerSync)
	}
	// A new finding, listed after the ones left over.
	fs = append(fs, finding(-1))
	if left := sink.emit(ctx, fs, ref, 0); left != 0 {
		t.Fatalf("second emit: %d left, want 0", left)
	}
	events := rec.list()
	if len(events) != maxEventsPerSync+51 || events[maxEventsPerSync].ref.Name != "p-1" {
		t.Errorf("second emit wrote %d events, the first on %s; want 51, the first on p-1", len(events)-maxEventsPerSync, events[maxEventsPerSync].ref.Name)
	}
}

// TestEmitNewWritesOnceAhead: emitNew writes a new finding's event ahead of
// the sync's emit, which does not write it again; findings already known
// (written or left over) wait for emit, and the early events count against
// the sync's budget.
func TestEmitNewWritesOnceAhead(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	finding := func(i int) check.Finding { return podFinding(check.TypeConflict, i) }
	rec, sink := unpacedSink()
	fs := podFindings(check.TypeConflict, maxEventsPerSync+10)
	if left := sink.emit(ctx, fs, ref, 0); left != 10 {
		t.Fatalf("first emit: %d left, want 10", left)
	}
	// One new finding, and one left over by the first emit.
	fresh := []check.Finding{finding(-1), fs[maxEventsPerSync]}
	if n := sink.emitNew(fresh, ref); n != 1 {
		t.Fatalf("emitNew wrote %d events, want 1 (the left-over one waits for emit)", n)
	}
	events := rec.list()
	if got := events[len(events)-1].ref.Name; got != "p-1" {
		t.Fatalf("emitNew wrote on %s, want p-1", got)
	}
	fs = append(fs, finding(-1))
	if left := sink.emit(ctx, fs, ref, 1); left != 0 {
		t.Fatalf("second emit: %d left, want 0", left)
	}
	seen := map[string]int{}
	for _, e := range rec.list() {
		seen[e.ref.Name]++
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%d events on %s, want 1", n, name)
		}
	}
	if len(seen) != maxEventsPerSync+11 {
		t.Errorf("events on %d objects, want %d", len(seen), maxEventsPerSync+11)
	}
	// The budget: early events count against the sync's emit.
	_, sink = unpacedSink()
	if left := sink.emit(ctx, fs, ref, maxEventsPerSync-5); left != len(fs)-5 {
		t.Errorf("emit after %d early events: %d left, want %d", maxEventsPerSync-5, left, len(fs)-5)
	}
}

// TestEventsPaced: the sink writes no more events than its pace allows;
// the rest are left for a later sync, not dropped.
func TestEventsPaced(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	fs := podFindings(check.TypeConflict, 10)
	rec := &recorder{}
	sink := newEventSink(rec, flowcontrol.NewTokenBucketPassiveRateLimiter(0.001, 4)) // 4 tokens, none more for the test's length
	if n := sink.emitNew(fs[:2], ref); n != 2 {
		t.Fatalf("emitNew wrote %d events, want 2", n)
	}
	if left := sink.emit(ctx, fs, ref, 2); left != 6 || len(rec.list()) != 4 {
		t.Fatalf("emit: %d events written in all, %d left; want 4 and 6", len(rec.list()), left)
	}
	if left := sink.emit(ctx, fs, ref, 0); left != 6 || len(rec.list()) != 4 {
		t.Fatalf("emit without tokens: %d events written in all, %d left; want 4 and 6", len(rec.list()), left)
	}
}

// TestNotesAgreeWithNote: the notes' hashes remembered between syncs are
// those of Note's.
func TestNotesAgreeWithNote(t *testing.T) {
	f := check.Finding{Type: check.TypeConflict, Severity: check.SeverityError, Volume: "pv-a", Message: "Volume pv-a: m.", Kept: "k", Fix: "f",
		Subjects: []check.Subject{{Kind: "Pod", Namespace: "a", Name: "p1"}, {Kind: "Pod", Namespace: "b", Name: "p2", Volume: "pv-b"}}}
	own := f
	own.Subjects = f.Subjects[:1]
	memo := newNotes()
	for sync := range 3 {
		for _, c := range []struct {
			f  check.Finding
			ns string
		}{{f, "a"}, {f, "b"}, {own, "a"}, {own, "c"}} {
			if got, want := memo.sum(&c.f, c.ns), sumOf(Note(c.f, c.ns)); got != want {
				t.Errorf("sync %d: note for %s: hash %x, want %x (of %q)", sync, c.ns, got, want, Note(c.f, c.ns))
			}
		}
		memo.next()
		own.Message += " changed." // a new text is not taken from memory
	}
}
