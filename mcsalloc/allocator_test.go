package mcsalloc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mcsalloc/mcs"
)

const ctrlNS = "selmount-system"

func nsObj(name string, ann map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann}}
}

func retainPV(name, claimNS string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &corev1.ObjectReference{Namespace: claimNS, Name: "data"},
		},
	}
}

func newAlloc(t *testing.T, c kubernetes.Interface) *Allocator {
	t.Helper()
	a, err := New(c, Options{Namespace: ctrlNS})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustEnsure(t *testing.T, a *Allocator, ns string) label.Level {
	t.Helper()
	l, err := a.Ensure(context.Background(), ns)
	if err != nil {
		t.Fatalf("Ensure(%q): %v", ns, err)
	}
	return l
}

func stored(t *testing.T, c kubernetes.Interface, ns string) string {
	t.Helper()
	o, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return o.Annotations[Annotation]
}

func TestNewRequiresNamespace(t *testing.T) {
	if _, err := New(fake.NewClientset(), Options{}); err == nil {
		t.Fatal("New without Options.Namespace succeeded")
	}
}

func TestEnsureAllocatesPersistsAndIsStable(t *testing.T) {
	c := fake.NewClientset(nsObj("a", nil), nsObj("b", nil))
	a := newAlloc(t, c)
	la, lb := mustEnsure(t, a, "a"), mustEnsure(t, a, "b")
	if la == lb {
		t.Fatalf("a and b both got %v", la)
	}
	if got := stored(t, c, "a"); got != la.String() || got != "s0:c0,c1" {
		t.Errorf("stored annotation on a = %q, returned %v; want s0:c0,c1", got, la)
	}
	if again := mustEnsure(t, a, "a"); again != la {
		t.Errorf("second Ensure(a) = %v, want %v", again, la)
	}
}

func TestEnsureHonoursExistingValues(t *testing.T) {
	c := fake.NewClientset(
		nsObj("os", map[string]string{OpenShiftAnnotation: "s0:c1,c0"}),                           // pair 0, written descending
		nsObj("admin", map[string]string{Annotation: "s0:c0,c2,c3"}),                              // covers pairs 1, 3, 4, 5
		nsObj("both", map[string]string{Annotation: "s0:c7,c9", OpenShiftAnnotation: "s0:c1,c0"}), // OpenShift's wins; both are used
		nsObj("new", nil),
	)
	a := newAlloc(t, c)
	if got := mustEnsure(t, a, "os"); got.String() != "s0:c0,c1" {
		t.Errorf("Ensure(os) = %v, want s0:c0,c1", got)
	}
	if got := stored(t, c, "os"); got != "" {
		t.Errorf("OpenShift namespace got our annotation %q; it must be left alone", got)
	}
	if got := mustEnsure(t, a, "admin"); got.String() != "s0:c0,c2,c3" {
		t.Errorf("Ensure(admin) = %v", got)
	}
	if got := mustEnsure(t, a, "both"); got.String() != "s0:c0,c1" {
		t.Errorf("Ensure(both) = %v, want OpenShift's s0:c0,c1", got)
	}
	// Pairs 0..5 are s0:c0,c1 s0:c0,c2 s0:c1,c2 s0:c0,c3 s0:c1,c3 s0:c2,c3;
	// 0, 1, 3 and 5 are taken, so the first free one is 2.
	if got := mustEnsure(t, a, "new"); got.String() != "s0:c1,c2" {
		t.Errorf("Ensure(new) = %v, want s0:c1,c2", got)
	}
}

// TestUnhonouredLevelIsUsed: an admin level beside OpenShift's is not the
// namespace's level, but files may carry it, so it is never handed out.
func TestUnhonouredLevelIsUsed(t *testing.T) {
	objs := []runtime.Object{nsObj("both", map[string]string{Annotation: "s0:c7,c9", OpenShiftAnnotation: "s0:c1,c0"})}
	for i := range 60 { // s0:c7,c9 is pair 43
		objs = append(objs, nsObj(fmt.Sprintf("n%d", i), nil))
	}
	c := fake.NewClientset(objs...)
	a := newAlloc(t, c)
	for i := range 60 {
		if got := mustEnsure(t, a, fmt.Sprintf("n%d", i)); got.String() == "s0:c7,c9" || got.String() == "s0:c0,c1" {
			t.Fatalf("namespace n%d was given %v, a level of namespace both", i, got)
		}
	}
}

// TestLevelAnnotationsAgreeWithMutate: the allocator and the pod mutation
// read a namespace's level from the same annotations in the same order.
func TestLevelAnnotationsAgreeWithMutate(t *testing.T) {
	if fmt.Sprint(LevelAnnotations) != fmt.Sprint(mutate.LevelAnnotations) {
		t.Fatalf("mcsalloc reads %v, admission/mutate reads %v", LevelAnnotations, mutate.LevelAnnotations)
	}
}

func TestEnsureInvalidAnnotation(t *testing.T) {
	c := fake.NewClientset(nsObj("bad", map[string]string{Annotation: "s0:c1,c2000"}))
	_, err := newAlloc(t, c).Ensure(context.Background(), "bad")
	var ie *InvalidLevelError
	if !errors.As(err, &ie) || ie.Namespace != "bad" || ie.Annotation != Annotation {
		t.Fatalf("Ensure(bad) error = %v, want *InvalidLevelError naming the namespace", err)
	}
	if got := stored(t, c, "bad"); got != "s0:c1,c2000" {
		t.Errorf("invalid value was replaced by %q", got)
	}
}

func TestEnsureMissingNamespace(t *testing.T) {
	_, err := newAlloc(t, fake.NewClientset()).Ensure(context.Background(), "nope")
	if !apierrors.IsNotFound(err) {
		t.Fatalf("Ensure(nope) error = %v, want NotFound", err)
	}
}

// TestEnsureRetriesOnConflict: the first update meets a conflict because
// another writer annotated the namespace meanwhile; Ensure re-reads and
// returns that writer's level, and its own pair is handed out next.
func TestEnsureRetriesOnConflict(t *testing.T) {
	c := fake.NewClientset(nsObj("a", nil), nsObj("b", nil))
	var once sync.Once
	var updates atomic.Int32
	c.PrependReactor("update", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
		updates.Add(1)
		handled := false
		once.Do(func() {
			// Someone else wins the race with s0:c5,c6.
			o := nsObj("a", map[string]string{Annotation: "s0:c5,c6"})
			if err := c.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, o, ""); err != nil {
				t.Error(err)
			}
			handled = true
		})
		if handled {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "namespaces"}, "a", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	a := newAlloc(t, c)
	if got := mustEnsure(t, a, "a"); got.String() != "s0:c5,c6" {
		t.Fatalf("Ensure(a) after conflict = %v, want the winner's s0:c5,c6", got)
	}
	if got := mustEnsure(t, a, "b"); got.String() != "s0:c0,c1" {
		t.Errorf("Ensure(b) = %v, want the released s0:c0,c1", got)
	}
	if n := updates.Load(); n != 2 {
		t.Errorf("%d namespace updates, want 2 (one conflict, one for b)", n)
	}
}

func TestRestartKeepsLevelsAndAddsNoDuplicates(t *testing.T) {
	var objs []runtime.Object
	for i := range 300 {
		objs = append(objs, nsObj("ns"+strconv.Itoa(i), nil))
	}
	c := fake.NewClientset(objs...)
	first := newAlloc(t, c)
	got := map[string]label.Level{}
	for i := range 200 {
		ns := "ns" + strconv.Itoa(i)
		got[ns] = mustEnsure(t, first, ns)
	}
	// A new allocator (a restart, or a new leader) over the same objects.
	second := newAlloc(t, c)
	seen := map[label.Level]string{}
	for i := range 300 {
		ns := "ns" + strconv.Itoa(i)
		l := mustEnsure(t, second, ns)
		if old, ok := got[ns]; ok && old != l {
			t.Fatalf("%s changed from %v to %v after restart", ns, old, l)
		}
		if other, dup := seen[l]; dup {
			t.Fatalf("%s and %s both have %v", ns, other, l)
		}
		seen[l] = ns
	}
}

func ledgerData(t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	cm, err := c.CoreV1().ConfigMaps(ctrlNS).Get(context.Background(), DefaultLedgerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

func deleteNS(t *testing.T, c kubernetes.Interface, name string) *corev1.Namespace {
	t.Helper()
	ctx := context.Background()
	o, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestQuarantine: a deleted namespace's level stays reserved across restarts
// while a Retain PV claimed from it exists, and is free again once it is gone.
func TestQuarantine(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset(nsObj("old", nil), nsObj("n1", nil), nsObj("n2", nil), retainPV("pv-old", "old"))
	a := newAlloc(t, c)
	lOld := mustEnsure(t, a, "old") // s0:c0,c1, pair 0
	if err := a.Retire(ctx, deleteNS(t, c, "old")); err != nil {
		t.Fatal(err)
	}
	if got := ledgerData(t, c)["retired.0.1"]; got != "old" {
		t.Fatalf("ledger retired.0.1 = %q, want old; ledger %v", got, ledgerData(t, c))
	}
	// Restart with the shared cursor back at 0: pair 0 would be next.
	resetCursor(t, c)
	if got := mustEnsure(t, newAlloc(t, c), "n1"); got == lOld {
		t.Fatalf("n1 got the quarantined level %v", got)
	}
	// The PV is deleted: the entry is pruned on the next load and the level
	// is free again.
	if err := c.CoreV1().PersistentVolumes().Delete(ctx, "pv-old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	resetCursor(t, c)
	if got := mustEnsure(t, newAlloc(t, c), "n2"); got != lOld {
		t.Fatalf("n2 = %v, want the released %v", got, lOld)
	}
	if _, ok := ledgerData(t, c)["retired.0.1"]; ok {
		t.Error("ledger entry retired.0.1 not pruned after its PV was deleted")
	}
}

// TestQuarantineWithoutRetire: the controller misses the deletion, but Load
// had recorded the level of a namespace with a Retain PV ahead of time.
func TestQuarantineWithoutRetire(t *testing.T) {
	c := fake.NewClientset(nsObj("old", map[string]string{Annotation: "s0:c0,c1"}), nsObj("n1", nil), retainPV("pv-old", "old"))
	if err := newAlloc(t, c).Load(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if got := ledgerData(t, c)["retired.0.1"]; got != "old" {
		t.Fatalf("Load did not record old's level ahead: ledger %v", ledgerData(t, c))
	}
	deleteNS(t, c, "old") // no Retire
	resetCursor(t, c)
	if got := mustEnsure(t, newAlloc(t, c), "n1"); got.String() == "s0:c0,c1" {
		t.Fatal("n1 got the level of deleted namespace old while its Retain PV exists")
	}
}

func resetCursor(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	cm, err := c.CoreV1().ConfigMaps(ctrlNS).Get(ctx, DefaultLedgerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[keyCursor] = "0"
	if _, err := c.CoreV1().ConfigMaps(ctrlNS).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentNoDuplicates allocates 10,000 namespaces from 8 goroutines
// sharing one allocator (run with -race).
func TestConcurrentNoDuplicates(t *testing.T) {
	const n, workers = 10000, 8
	objs := make([]runtime.Object, n)
	for i := range objs {
		objs[i] = nsObj(fmt.Sprintf("ns-%05d", i), nil)
	}
	// The simple fake clientset: the field-managed one spends most of the
	// time in managed-fields bookkeeping, which this test does not need.
	c := fake.NewSimpleClientset(objs...) //nolint:staticcheck // see above
	a := newAlloc(t, c)
	levels := make([]label.Level, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				l, err := a.Ensure(context.Background(), fmt.Sprintf("ns-%05d", i))
				if err != nil {
					t.Error(err)
					return
				}
				levels[i] = l
			}
		})
	}
	wg.Wait()
	seen := make(map[label.Level]int, n)
	for i, l := range levels {
		if _, ok := mcs.PairOf(l); !ok {
			t.Fatalf("ns-%05d got %v, not a two-category level", i, l)
		}
		if j, dup := seen[l]; dup {
			t.Fatalf("ns-%05d and ns-%05d both got %v", i, j, l)
		}
		seen[l] = i
	}
}

// TestCursorWrapReloads: when the shared cursor wraps around, the allocator
// reads the namespaces again before using a block of the new lap, so a level
// written after its first load (by another allocator, in the previous lap) is
// not handed out again.
func TestCursorWrapReloads(t *testing.T) {
	ctx := context.Background()
	objs := []runtime.Object{nsObj("late", nil)}
	for i := range 17 {
		objs = append(objs, nsObj("ns"+strconv.Itoa(i), nil))
	}
	c := fake.NewClientset(objs...)
	a, err := New(c, Options{Namespace: ctrlNS, BlockSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Load(ctx, false); err != nil {
		t.Fatal(err)
	}
	cm, err := c.CoreV1().ConfigMaps(ctrlNS).Get(ctx, DefaultLedgerName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[keyCursor] = strconv.Itoa(mcs.Pairs - 16) // the last block of lap 0
	if _, err := c.CoreV1().ConfigMaps(ctrlNS).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	late, _ := c.CoreV1().Namespaces().Get(ctx, "late", metav1.GetOptions{})
	late.Annotations = map[string]string{Annotation: "s0:c0,c1"} // written behind a's back
	if _, err := c.CoreV1().Namespaces().Update(ctx, late, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		l := mustEnsure(t, a, "ns"+strconv.Itoa(i))
		if p, _ := mcs.PairOf(l); p.Index() != mcs.Pairs-16+i {
			t.Fatalf("ns%d = %v (index %d), want index %d", i, l, p.Index(), mcs.Pairs-16+i)
		}
	}
	if got := mustEnsure(t, a, "ns16"); got.String() != "s0:c0,c2" {
		t.Fatalf("first level of lap 1 = %v, want s0:c0,c2 (s0:c0,c1 is late's)", got)
	}
	if got := ledgerData(t, c)[keyLap]; got != "1" {
		t.Errorf("ledger lap = %q, want 1", got)
	}
}
