package controller

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/check"
)

// Fixtures: one CSI volume behind two PersistentVolumes (one per
// namespace), used by Deployments in namespaces "a" and "b".

func csiDriver() *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}
}

func pv(name string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "shared"}}}}
}

func pvc(ns, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
		Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
}

func podSpec(level string) corev1.PodSpec {
	return corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}},
		Containers:      []corev1.Container{{Name: "app", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes:         []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}
}

func deployment(ns, name, level string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{Spec: podSpec(level)}}}
}

func pod(ns, name, level string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: podSpec(level),
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// recorder keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []recorded
}

type recorded struct {
	ref         corev1.ObjectReference
	typ, reason string
	note        string
}

func (r *recorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, recorded{ref: *regarding.(*corev1.ObjectReference), typ: eventtype, reason: reason, note: fmt.Sprintf(note, args...)})
}

func (r *recorder) WithLogger(klog.Logger) events.EventRecorderLogger { return r }

func (r *recorder) list() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.events...)
}

// start runs a controller on a fake clientset holding objs.
func start(t *testing.T, opts Options, objs ...runtime.Object) (*Controller, *fake.Clientset, *recorder) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	rec := &recorder{}
	opts.Recorder = rec
	if opts.Delay == 0 {
		opts.Delay = time.Millisecond
	}
	if opts.Batch == 0 {
		opts.Batch = 10 * time.Millisecond
	}
	c, err := New(ctx, client, factory, opts)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx, 2); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})
	waitFor(t, "the first sync", c.HasSynced)
	return c, client, rec
}

// waitTimeout bounds waitFor (longer in TestMeasureSync).
var waitTimeout = 10 * time.Second

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cluster() []runtime.Object {
	return []runtime.Object{csiDriver(), pv("pv-a"), pv("pv-b"), pvc("a", "pv-a"), pvc("b", "pv-b"),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.36.2"}}}}
}

func conflictErrors(snap Snapshot) int {
	n := 0
	for _, c := range snap.Counts {
		if c.Type == check.TypeConflict && c.Severity == check.SeverityError {
			n += c.Count
		}
	}
	return n
}

func TestControllerConflictEventsRedactedAndDeduplicated(t *testing.T) {
	// Arrange: a conflict across namespaces; "web" is scaled to zero.
	objs := append(cluster(), deployment("a", "web", "s0:c1,c2", 0), deployment("b", "secret-db", "s0:c7,c9", 1))
	c, client, rec := start(t, Options{}, objs...)

	// Assert: the conflict is found, with one event on each side.
	snap, _ := c.State().Snapshot()
	if snap.ConflictingVolumes != 1 || conflictErrors(snap) != 1 {
		t.Fatalf("want one conflicting volume with one error, got %+v", snap)
	}
	waitFor(t, "two events", func() bool { return len(rec.list()) >= 2 })
	for _, e := range rec.list() {
		if e.typ != corev1.EventTypeWarning || e.reason != ReasonConflict {
			t.Errorf("event %+v: want a Warning %s", e, ReasonConflict)
		}
		other, otherLevel := "secret-db", "c7,c9"
		if e.ref.Namespace == "b" {
			other, otherLevel = "web", "c1,c2"
		}
		if strings.Contains(e.note, other) || strings.Contains(e.note, otherLevel) || strings.Contains(e.note, "a/") || strings.Contains(e.note, "b/") {
			t.Errorf("event on %s/%s names the other namespace: %s", e.ref.Namespace, e.ref.Name, e.note)
		}
		if !strings.Contains(e.note, "a pod in another namespace") || !strings.Contains(e.note, "Fix:") {
			t.Errorf("event on %s/%s: want the other side counted and a fix, got %s", e.ref.Namespace, e.ref.Name, e.note)
		}
		if e.ref.Kind != "Deployment" || e.ref.APIVersion != "apps/v1" || string(e.ref.UID) != "uid-"+e.ref.Namespace+"-"+e.ref.Name {
			t.Errorf("event regarding %+v: want the Deployment with its UID", e.ref)
		}
	}

	// Act: an unrelated change triggers a sync.
	_, ctx := ktesting.NewTestContext(t)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the namespace in the cache", func() bool { _, err := c.listers.Namespaces.Get("c"); return err == nil })
	c.Resync()
	time.Sleep(100 * time.Millisecond)
	// Assert: no second event for the same answer.
	if n := len(rec.list()); n != 2 {
		t.Fatalf("want the 2 events once, got %d: %+v", n, rec.list())
	}

	// Act: fix one side.
	if _, err := client.AppsV1().Deployments("b").Update(ctx, deployment("b", "secret-db", "s0:c1,c2", 1), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: the conflict clears.
	waitFor(t, "the conflict to clear", func() bool {
		snap, _ := c.State().Snapshot()
		return snap.ConflictingVolumes == 0 && conflictErrors(snap) == 0
	})
}

// TestVolumeNameRedacted: two PersistentVolumes reach one storage volume
// from two namespaces; each namespace sees its own volume's name, never the
// other's, in the event note and in its report.
func TestVolumeNameRedacted(t *testing.T) {
	f := check.Finding{Type: check.TypeConflict, Severity: check.SeverityError, KubeletConflict: true, Volume: "pv-of-b", Message: "m",
		Subjects: []check.Subject{
			{Kind: "Pod", Namespace: "a", Name: "x", Label: "s0:c1,c2", Volume: "pv-of-a"},
			{Kind: "Pod", Namespace: "b", Name: "y", Label: "s0:c3,c4", Volume: "pv-of-b"}}}
	if n := Note(f, "a"); strings.Contains(n, "pv-of-b") || !strings.Contains(n, "Volume pv-of-a:") {
		t.Errorf("Note for a = %q: want its own volume pv-of-a, never pv-of-b", n)
	}
	if n := Note(f, "b"); strings.Contains(n, "pv-of-a") || !strings.Contains(n, "Volume pv-of-b:") {
		t.Errorf("Note for b = %q: want its own volume pv-of-b, never pv-of-a", n)
	}
	snap := Summarize(check.Report{Findings: []check.Finding{f}})
	for ns, other := range map[string]string{"a": "pv-of-b", "b": "pv-of-a"} {
		for _, nf := range snap.Namespaces[ns] {
			if nf.Volume == other || strings.Contains(nf.Message(), other) {
				t.Errorf("report of %s names %s: %+v", ns, other, nf)
			}
		}
	}
	// An unbound claim of the other namespace is named "claim b/data".
	f.Volume = "claim b/data"
	if n := Note(f, "a"); strings.Contains(n, "b/data") {
		t.Errorf("Note for a names the other namespace's claim: %q", n)
	}
}

func TestNoteSameNamespaceUsesCheckText(t *testing.T) {
	f := check.Finding{Type: check.TypeConflict, Severity: check.SeverityError, Volume: "pv", Message: "CHECKMSG.", Kept: "CHECKKEPT", Fix: "CHECKFIX",
		Subjects: []check.Subject{{Kind: "Deployment", Namespace: "a", Name: "x"}, {Kind: "Pod", Namespace: "a", Name: "y"}}}
	if got, want := Note(f, "a"), "CHECKMSG. Kept: CHECKKEPT. Fix: CHECKFIX"; got != want {
		t.Errorf("Note = %q, want %q", got, want)
	}
	f.Subjects = append(f.Subjects, check.Subject{Kind: "Pod", Namespace: "z", Name: "hidden", Label: "s0:c5"}, check.Subject{Kind: "Pod", Namespace: "q", Name: "hidden2"})
	got := Note(f, "a")
	for _, bad := range []string{"hidden", "s0:c5", "z/", "CHECK"} {
		if strings.Contains(got, bad) {
			t.Errorf("Note names %q: %s", bad, got)
		}
	}
	if !strings.Contains(got, "2 pods or workloads in other namespaces") {
		t.Errorf("Note does not count the other namespaces: %s", got)
	}
}

// TestMetricsCardinality checks that the number of series does not grow
// with the number of pods.
func TestMetricsCardinality(t *testing.T) {
	series := func(pods int) int {
		objs := append(cluster(), deployment("b", "db", "s0:c7,c9", 1))
		for i := range pods {
			objs = append(objs, pod("a", fmt.Sprintf("p%d", i), fmt.Sprintf("s0:c%d,c%d", i, i+100)))
		}
		c, _, _ := start(t, Options{}, objs...)
		fams, err := c.NewRegistry("test").Gather()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range fams {
			if strings.HasPrefix(f.GetName(), "selmount_") {
				n += len(f.GetMetric())
			}
		}
		return n
	}
	small, large := series(2), series(40)
	if small != large {
		t.Errorf("selmount_* series: %d with 2 pods, %d with 40", small, large)
	}
}

// syncCount is the number of syncs c has finished (the samples of its
// reconcile histogram).
func syncCount(t *testing.T, c *Controller) uint64 {
	t.Helper()
	fams, err := c.NewRegistry("test").Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "selmount_reconcile_duration_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// TestStatusOnlyUpdatesCostNoSync checks that an update that changes
// nothing the check reads (a pod's conditions) does not enqueue a sync,
// and one that does (its phase) does.
func TestStatusOnlyUpdatesCostNoSync(t *testing.T) {
	// Arrange
	p := pod("a", "p", "s0:c1,c2")
	p.ResourceVersion = "1"
	c, client, _ := start(t, Options{}, append(cluster(), p)...)
	syncs := func() uint64 { return syncCount(t, c) }
	_, ctx := ktesting.NewTestContext(t)
	before := syncs()

	// Act: a new condition and resource version.
	p2 := p.DeepCopy()
	p2.ResourceVersion = "2"
	p2.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := client.CoreV1().Pods("a").UpdateStatus(ctx, p2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the update in the cache", func() bool {
		got, err := c.listers.Pods.Pods("a").Get("p")
		return err == nil && got.ResourceVersion == "2"
	})
	time.Sleep(100 * time.Millisecond)

	// Assert: no sync.
	if n := syncs(); n != before {
		t.Errorf("a condition update caused %d syncs", n-before)
	}

	// Act: the phase changes.
	p3 := p2.DeepCopy()
	p3.ResourceVersion = "3"
	p3.Status.Phase = corev1.PodSucceeded
	if _, err := client.CoreV1().Pods("a").UpdateStatus(ctx, p3, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: a sync.
	waitFor(t, "a sync after the phase change", func() bool { return syncs() > before })
}

func TestNoteTruncatedToTheEventsLimit(t *testing.T) {
	long := strings.Repeat("é", maxNote) // two bytes each
	got := Note(check.Finding{Message: long}, "")
	if len(got) > maxNote || !strings.HasSuffix(got, "...") || !utf8.ValidString(got) {
		t.Errorf("Note of %d bytes: %d bytes, valid UTF-8 %v", len(long), len(got), utf8.ValidString(got))
	}
}

// panicky panics on every event.
type panicky struct{ recorder }

func (p *panicky) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...any) {
	p.mu.Lock()
	p.events = append(p.events, recorded{})
	p.mu.Unlock()
	panic("boom")
}

// TestSyncPanicDoesNotStopTheController checks that a panic in a sync is
// retried, not fatal.
func TestSyncPanicDoesNotStopTheController(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := fake.NewClientset(append(cluster(), deployment("a", "web", "s0:c1,c2", 0), deployment("b", "db", "s0:c7,c9", 1))...)
	factory := informers.NewSharedInformerFactory(client, 0)
	rec := &panicky{}
	c, err := New(ctx, client, factory, Options{Recorder: rec, Delay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan error)
	go func() { done <- c.Run(ctx, 1) }()
	// The failed sync is retried (with backoff): a second panic comes.
	waitFor(t, "a retried sync", func() bool { return len(rec.list()) >= 2 })
	if !c.HasSynced() {
		t.Error("the findings were not computed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	factory.Shutdown()
}

// TestReplicationControllerScaledToZeroCounts: a ReplicationController is a
// workload like the others; its template conflicts even with no pod.
func TestReplicationControllerScaledToZeroCounts(t *testing.T) {
	// Arrange: an RC scaled to zero in a, a Deployment with another level in b.
	zero := int32(0)
	tmpl := corev1.PodTemplateSpec{Spec: podSpec("s0:c1,c2")}
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "legacy", UID: "uid-a-legacy"},
		Spec: corev1.ReplicationControllerSpec{Replicas: &zero, Template: &tmpl}}
	c, _, rec := start(t, Options{}, append(cluster(), rc, deployment("b", "db", "s0:c7,c9", 1))...)

	// Assert: the conflict, with a Warning event on the RC itself.
	snap, _ := c.State().Snapshot()
	if snap.ConflictingVolumes != 1 {
		t.Fatalf("want one conflicting volume, got %+v", snap)
	}
	waitFor(t, "an event on the ReplicationController", func() bool {
		for _, e := range rec.list() {
			if e.ref.Kind == "ReplicationController" && e.ref.Name == "legacy" && e.ref.UID == "uid-a-legacy" && e.typ == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
}

func TestControllerKeepsTheLastIndex(t *testing.T) {
	objs := append(cluster(), deployment("a", "web", "s0:c1,c2", 0), pod("b", "db-0", "s0:c7,c9"))
	c, _, _ := start(t, Options{}, objs...)
	idx := c.Index()
	if idx == nil {
		t.Fatal("no index after the first sync")
	}
	want := []check.User{{Kind: "Deployment", Namespace: "a", Name: "web"}, {Kind: "Pod", Namespace: "b", Name: "db-0"}}
	got := idx.Users.Of("csi://csi.example.com^shared")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users = %v, want %v", got, want)
	}
	if idx.Input.Objects.Len() != 0 || idx.Input.Target.Version().String() == "" || !idx.Input.SELinuxEnabled {
		t.Errorf("index input = %+v: want the settings without the objects", idx.Input)
	}
	if _, err := c.Listers().Pods.Pods("b").Get("db-0"); err != nil {
		t.Errorf("Listers().Pods: %v", err)
	}
}

// TestListersListANamespaceWithoutIndex: the pods' informer keeps no
// namespace index; a namespace's list walks the cache, and finds that
// namespace's pods only.
func TestListersListANamespaceWithoutIndex(t *testing.T) {
	c, _, _ := start(t, Options{}, append(cluster(), deployment("a", "web", "s0:c1,c2", 0), pod("b", "db-0", "s0:c7,c9"))...)
	if _, ok := c.stores["Pod"].(cache.Indexer).GetIndexers()[cache.NamespaceIndex]; ok {
		t.Error("the pods' informer has a namespace index")
	}
	for ns, want := range map[string]string{"b": "[db-0]", "a": "[]", "c": "[]"} {
		pods, err := c.Listers().Pods.Pods(ns).List(labels.Everything())
		if err != nil {
			t.Fatalf("Listers().Pods.Pods(%q).List: %v", ns, err)
		}
		var names []string
		for _, p := range pods {
			names = append(names, p.Name)
		}
		if got := fmt.Sprint(names); got != want {
			t.Errorf("pods of %s: %v, want %s", ns, got, want)
		}
	}
}

// TestUnchangedAnswerKeepsSnapshot checks that a sync whose report says
// what the last one said (a pod that shares no volume) writes no event and
// keeps the snapshot, only its time moving, and that the next change of
// the answer (a conflict) is reported as usual.
func TestUnchangedAnswerKeepsSnapshot(t *testing.T) {
	for _, serial := range []bool{false, true} {
		t.Run(fmt.Sprintf("SerialSync=%v", serial), func(t *testing.T) { testUnchangedAnswer(t, Options{SerialSync: serial}) })
	}
}

func testUnchangedAnswer(t *testing.T, opts Options) {
	c, client, rec := start(t, opts, append(cluster(), deployment("a", "web", "s0:c1,c2", 1))...)
	_, ctx := ktesting.NewTestContext(t)
	syncs := func() uint64 { return syncCount(t, c) }
	before, _ := c.State().Snapshot()
	events, n := len(rec.list()), syncs()

	// Act: a pod without volumes.
	lone := pod("a", "lone", "s0:c5,c6")
	lone.Spec.Volumes, lone.Spec.Containers[0].VolumeMounts = nil, nil
	if _, err := client.CoreV1().Pods("a").Create(ctx, lone, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sync after the new pod", func() bool { return syncs() > n })

	// Assert: the same snapshot, computed again, and no event.
	after, _ := c.State().Snapshot()
	if !after.Computed.After(before.Computed) {
		t.Errorf("snapshot computed at %v, before at %v: want later", after.Computed, before.Computed)
	}
	after.Computed = before.Computed
	if !reflect.DeepEqual(after, before) {
		t.Errorf("the snapshot changed:\n%+v\nwas\n%+v", after, before)
	}
	if got := len(rec.list()); got != events {
		t.Errorf("%d events after the pod, %d before", got, events)
	}

	// Act: a pod that conflicts with the Deployment on its claim.
	if _, err := client.CoreV1().Pods("a").Create(ctx, pod("a", "other", "s0:c3,c4"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Assert: the new answer is reported.
	waitFor(t, "the conflict in the snapshot", func() bool {
		s, _ := c.State().Snapshot()
		return s.ConflictingVolumes > before.ConflictingVolumes
	})
	waitFor(t, "an event for the conflict", func() bool { return len(rec.list()) > events })
}

// TestLoneChangeSyncedAtOnce: a change a second after the last sync that
// applied changes waits for no coalescing delay (here an hour), and its new
// conflict's events are written; the changes that follow it at once do
// wait for the delay.
func TestLoneChangeSyncedAtOnce(t *testing.T) {
	objs := append(cluster(), deployment("a", "web", "s0:c1,c2", 1))
	c, client, rec := start(t, Options{Delay: time.Hour, Batch: time.Second}, objs...)
	_, ctx := ktesting.NewTestContext(t)
	time.Sleep(time.Second + 100*time.Millisecond)
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "db", "s0:c7,c9"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the conflict's events", func() bool { return len(rec.list()) == 2 })
	// The events are written beside the snapshot's update (SerialSync is
	// off): the same sync publishes it a moment later, not after Delay.
	waitFor(t, "the conflict in the snapshot after the lone change", func() bool {
		snap, _ := c.State().Snapshot()
		return snap.ConflictingVolumes == 1
	})
	// A second change right after the sync waits for Delay.
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "db2", "s0:c5,c6"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(rec.list()); n != 2 {
		t.Errorf("%d events 300 ms after a change that follows a sync, want 2 (it waits for Delay)", n)
	}
}

// TestSyncsDoNotWaitForStatus: while the status objects' write hangs (an
// apiserver or a rate limiter that holds it), syncs go on: a new conflict
// still reaches the snapshot and its events.
func TestSyncsDoNotWaitForStatus(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		ClusterReportResource: "ClusterSELinuxReportList", ReportResource: "SELinuxReportList"})
	release, blocked := make(chan struct{}), make(chan struct{}, 1)
	dyn.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		select {
		case blocked <- struct{}{}:
		default:
		}
		<-release
		return true, &unstructured.Unstructured{Object: map[string]any{}}, nil
	})
	objs := append(cluster(), deployment("a", "web", "s0:c1,c2", 1))
	c, client, rec := start(t, Options{Dynamic: dyn}, objs...)
	t.Cleanup(func() { close(release) }) // before start's cleanup stops the controller
	select {
	case <-blocked:
	case <-time.After(waitTimeout):
		t.Fatal("the status objects were never written")
	}
	_, ctx := ktesting.NewTestContext(t)
	if _, err := client.CoreV1().Pods("b").Create(ctx, pod("b", "db", "s0:c7,c9"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the conflict in the snapshot while the status write hangs", func() bool {
		snap, _ := c.State().Snapshot()
		return snap.ConflictingVolumes == 1
	})
	waitFor(t, "the conflict's events while the status write hangs", func() bool { return len(rec.list()) == 2 })
}

// TestPodEventsCarryUIDs: events about bare pods, which the cache keeps
// packed, refer to them with their UIDs.
func TestPodEventsCarryUIDs(t *testing.T) {
	// Arrange: two bare pods of two levels on the shared volume.
	p1, p2 := pod("a", "p1", "s0:c1,c2"), pod("b", "p2", "s0:c3,c4")
	p1.UID, p2.UID = "uid-p1", "uid-p2"
	_, _, rec := start(t, Options{}, append(cluster(), p1, p2)...)

	// Assert
	waitFor(t, "an event on each pod", func() bool { return len(rec.list()) >= 2 })
	for _, e := range rec.list() {
		if e.ref.Kind != "Pod" || string(e.ref.UID) != "uid-"+e.ref.Name {
			t.Errorf("event regarding %+v: want the pod with its UID", e.ref)
		}
	}
}

// TestEventsLeftOverCostNoSnapshot: the events one sync cannot write (more
// than maxEventsPerSync) are written by later syncs that only emit: the
// snapshot is not made again (nor the report), and every event comes once.
func TestEventsLeftOverCostNoSnapshot(t *testing.T) {
	// Arrange: 260 pods on one volume with two levels, an event each.
	const n = maxEventsPerSync + 60
	objs := []runtime.Object{csiDriver(), pv("pv-a"), pvc("a", "pv-a"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.0"}}}}
	for i := range n {
		objs = append(objs, pod("a", fmt.Sprintf("p%03d", i), []string{"s0:c1,c2", "s0:c3,c4"}[i%2]))
	}
	c, _, rec := start(t, Options{}, objs...)
	subjects := func() int {
		snap, _ := c.State().Snapshot()
		if fs := snap.Namespaces["a"]; len(fs) == 1 {
			return len(fs[0].Subjects)
		}
		return 0
	}
	waitFor(t, "every pod in the finding", func() bool { return subjects() == n })
	c.state.mu.RLock()
	gen := c.state.gen
	c.state.mu.RUnlock()

	// Act: the syncs that follow write what is left.
	waitFor(t, "every event", func() bool { return len(rec.list()) >= n })

	// Assert
	c.state.mu.RLock()
	if c.state.gen != gen {
		t.Errorf("the snapshot was made %d more times while only events were left", c.state.gen-gen)
	}
	c.state.mu.RUnlock()
	seen := map[string]bool{}
	for _, e := range rec.list() {
		if seen[e.ref.Name] {
			t.Errorf("two events on %s", e.ref.Name)
		}
		seen[e.ref.Name] = true
	}
	if len(seen) != n {
		t.Errorf("events on %d pods, want %d", len(seen), n)
	}
}
