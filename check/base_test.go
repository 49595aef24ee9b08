package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// world is a small random cluster that a test changes one object at a
// time: few names, so that objects collide, share claims and volumes, and
// come and go.
type world struct {
	rng  *rand.Rand
	objs map[objRef]any // pods, workloads, claims and volumes by kind and namespace/name
}

var (
	worldNamespaces = []string{"a", "b"}
	worldLevels     = []string{"s0:c1,c2", "s0:c1,c2", "s0:c3,c4", "s0:c2,c1", "typed", "s0", "", "-", "s0:c1,c2", "s0:c3,c4", "bad level!"} // "-": no seLinuxOptions
	worldNodes      = []string{"", "n1", "n2", "n3"}
	worldClaims     = []string{"c0", "c1", "c2", "c0", "c1", "c3", "missing", "data-st0-0"}
)

func (w *world) pick(s []string) string { return s[w.rng.IntN(len(s))] }

// newWorld returns a world whose claims exist, bound to volumes of which
// two are one storage volume.
func newWorld(seed uint64) *world {
	w := &world{rng: rand.New(rand.NewPCG(seed, 1)), objs: map[objRef]any{}}
	for _, v := range []*corev1.PersistentVolume{pv("pv0", "csi.example.com", "h0"), pv("pv1", "csi.example.com", "h0"),
		pv("pv2", "csi.example.com", "h2"), pv("pv3", "plain.example.com", "h3", corev1.ReadWriteOncePod)} {
		w.objs[objRef{"PersistentVolume", "/" + v.Name}] = v
	}
	for i, name := range worldClaims[:4] {
		for _, namespace := range worldNamespaces {
			c := pvc(namespace, name, fmt.Sprintf("pv%d", i))
			c.Status.Phase = corev1.ClaimBound
			w.objs[objRef{"PersistentVolumeClaim", namespace + "/" + name}] = c
		}
	}
	return w
}

// spec is a random pod spec: a claim, sometimes an ephemeral volume or a
// second container of another level, a level, a policy, a node; sometimes
// no volume at all.
func (w *world) spec() corev1.PodSpec {
	var opts []specOpt
	switch l := w.pick(worldLevels); l {
	case "-":
	case "typed": // the kubelet's label of s0:c1,c2, other raw options
		opts = append(opts, withOptions(corev1.SELinuxOptions{Type: "container_t", Level: "s0:c1,c2"}))
	case "":
		opts = append(opts, withOptions(corev1.SELinuxOptions{Type: "container_t"}))
	default:
		opts = append(opts, withLevel(l))
	}
	if w.rng.IntN(6) == 0 {
		opts = append(opts, withRecursive())
	}
	opts = append(opts, onNode(w.pick(worldNodes)))
	s := podSpec(w.pick(worldClaims), opts...)
	if w.rng.IntN(6) == 0 {
		s.Containers = append(s.Containers, corev1.Container{Name: "side", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/d"}},
			SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: w.pick(worldLevels[:4])}}})
	}
	if w.rng.IntN(8) == 0 {
		s.Volumes = append(s.Volumes, corev1.Volume{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
			VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptrTo("fast")}}}}})
		s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "eph", MountPath: "/e"})
	}
	if w.rng.IntN(8) == 0 { // no volume: nothing to report (a bare one keeps no subject)
		s.Volumes = nil
		for i := range s.Containers {
			s.Containers[i].VolumeMounts = nil
		}
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

// change makes a random change: an object added, replaced or deleted.
func (w *world) change() Change {
	namespace := w.pick(worldNamespaces)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: namespace, Name: name} }
	ctrl := func(kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
	}
	var ch Change
	switch w.rng.IntN(16) {
	case 0, 1, 2, 3, 4, 11:
		p := &corev1.Pod{ObjectMeta: meta(fmt.Sprintf("p%d", w.rng.IntN(12))), Spec: w.spec()}
		p.CreationTimestamp = metav1.NewTime(time.Unix(int64(w.rng.IntN(4)), 0))
		p.Status.Phase = []corev1.PodPhase{corev1.PodRunning, corev1.PodRunning, corev1.PodPending, corev1.PodSucceeded}[w.rng.IntN(4)]
		switch w.rng.IntN(5) {
		case 0:
			p.OwnerReferences = ctrl("ReplicaSet", fmt.Sprintf("rs%d", w.rng.IntN(2)))
		case 1:
			p.OwnerReferences = ctrl("Job", "j0")
		case 2:
			p.OwnerReferences = ctrl("StatefulSet", "st0")
		}
		ch = Change{Kind: "Pod", Object: p}
	case 5:
		ch = Change{Kind: "Deployment", Object: &appsv1.Deployment{ObjectMeta: meta("d0"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: w.spec()}}}}
	case 6:
		rs := &appsv1.ReplicaSet{ObjectMeta: meta(fmt.Sprintf("rs%d", w.rng.IntN(2))), Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: w.spec()}}}
		if w.rng.IntN(2) == 0 {
			rs.OwnerReferences = ctrl("Deployment", "d0")
		}
		ch = Change{Kind: "ReplicaSet", Object: rs}
	case 7:
		j := &batchv1.Job{ObjectMeta: meta("j0"), Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: w.spec()}}}
		if w.rng.IntN(2) == 0 {
			j.OwnerReferences = ctrl("CronJob", "cj0")
		}
		ch = Change{Kind: "Job", Object: j}
	case 8:
		cj := &batchv1.CronJob{ObjectMeta: meta("cj0")}
		cj.Spec.JobTemplate.Spec.Template.Spec = w.spec()
		ch = Change{Kind: "CronJob", Object: cj}
	case 9:
		st := &appsv1.StatefulSet{ObjectMeta: meta("st0"), Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: w.spec()}}}
		if w.rng.IntN(2) == 0 {
			st.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptrTo(w.pick([]string{"fast", "none"}))}}}
		}
		ch = Change{Kind: "StatefulSet", Object: st}
	case 10:
		ds := &appsv1.DaemonSet{ObjectMeta: meta("ds0"), Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: w.spec()}}}
		ch = Change{Kind: "DaemonSet", Object: ds}
	case 14, 15:
		// A volume replaced, added (one claims name but none existed),
		// or deleted: another driver, handle or access mode; NFS ones
		// with or without the option that gives a mount its superblock.
		v := pv(w.pick([]string{"pv0", "pv1", "pv2", "pv3", "pvmissing"}), w.pick([]string{"csi.example.com", "csi.example.com", "plain.example.com", "nfs.example.com"}),
			w.pick([]string{"h0", "h2", "h3"}), []corev1.PersistentVolumeAccessMode{"", corev1.ReadWriteOncePod}[w.rng.IntN(2)])
		if v.Spec.AccessModes[0] == "" {
			v.Spec.AccessModes = nil
		}
		if w.rng.IntN(2) == 0 {
			v.Spec.CSI.VolumeAttributes = map[string]string{"server": "nfs.example.com", "share": "/export"}
		}
		if w.rng.IntN(3) == 0 {
			v.Spec.MountOptions = []string{"nosharecache"}
		}
		ch = Change{Kind: "PersistentVolume", Object: v}
	default:
		c := pvc(namespace, w.pick(worldClaims[:4]), w.pick([]string{"pv0", "pv1", "pv2", "pv3", "pv0", "pv1", "", "pvmissing"}))
		c.Status.Phase = []corev1.PersistentVolumeClaimPhase{corev1.ClaimBound, corev1.ClaimBound, corev1.ClaimPending, ""}[w.rng.IntN(4)]
		if c.Spec.VolumeName == "" && w.rng.IntN(2) == 0 {
			c.Spec.StorageClassName = ptrTo("fast")
		}
		ch = Change{Kind: "PersistentVolumeClaim", Object: c}
	}
	m := ch.Object.(metav1.Object)
	ch.Namespace, ch.Name = m.GetNamespace(), m.GetName()
	ref := objRef{ch.Kind, ch.Namespace + "/" + ch.Name}
	if _, ok := w.objs[ref]; ok && w.rng.IntN(3) == 0 {
		ch.Object = nil // a delete
		delete(w.objs, ref)
	} else {
		w.objs[ref] = ch.Object
		if packable := ch.Kind == "Pod" || ch.Kind == "PersistentVolumeClaim" || ch.Kind == "PersistentVolume"; packable && w.rng.IntN(2) == 0 {
			// Packed, as the controller's cache gives it.
			pp, err := Pack(ch.Object)
			if err != nil {
				panic(err)
			}
			ch.Object = pp
		}
	}
	return ch
}

// input is the world's objects as Run takes them, sorted as a Base
// reports them, with the storage objects every world has.
func (w *world) input(t *testing.T, current int) Input {
	objs := []any{driver("csi.example.com", &yes), driver("plain.example.com", nil), driver("nfs.example.com", &yes),
		storageClass("fast", "csi.example.com"), storageClass("nfs", "nfs.example.com")}
	for _, o := range w.objs {
		objs = append(objs, o)
	}
	in := input(t, 37, current, objs...)
	in.Source = SourceCluster
	in.Objects.Sort()
	return in
}

// TestBaseUpdateAgreesWithRun applies random sequences of changes through
// Update and compares each report, and the users, with Run's over the same
// objects.
func TestBaseUpdateAgreesWithRun(t *testing.T) {
	allDropped := 0
	for seed := range uint64(30) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newWorld(seed)
			current := []int{0, 33, 37}[seed%3]
			for range 20 {
				w.change()
			}
			// Odd seeds: the claims and volumes are read from the
			// world, as the controller's Base reads its caches.
			var st Storage
			if seed%2 == 1 {
				st = worldStorage{w}
			}
			b, r := RunBaseWithStorage(w.input(t, current), st)
			want, wantUsers := RunUsers(w.input(t, current))
			compareReports(t, "RunBase", r, want)
			compareUsers(t, "RunBase", b.Users(), wantUsers)
			last := r
			slimmed, dropped := checkSlim(t, "RunBase", b)
			for step := range 40 {
				var changes []Change
				for range 1 + w.rng.IntN(3) {
					changes = append(changes, w.change())
				}
				var got Report
				if step%2 == 0 {
					var err error
					if got, err = b.Update(changes); err != nil {
						t.Fatal(err)
					}
				} else {
					fresh, err := b.Apply(changes)
					if err != nil {
						t.Fatal(err)
					}
					got = b.Report()
					compareFresh(t, fmt.Sprintf("step %d", step), fresh, last, got)
				}
				want, wantUsers = RunUsers(w.input(t, current))
				compareReports(t, fmt.Sprintf("step %d (%s)", step, describe(changes)), got, want)
				last = got
				compareUsers(t, fmt.Sprintf("step %d", step), b.Users(), wantUsers)
				if err := b.index.Check(); err != nil {
					t.Fatalf("step %d: volume index: %v", step, err)
				}
				s, d := checkSlim(t, fmt.Sprintf("step %d", step), b)
				slimmed, dropped = slimmed+s, dropped+d
			}
			if slimmed == 0 {
				t.Error("no use was ever slimmed: the test does not exercise slim")
			}
			allDropped += dropped
		})
	}
	if allDropped == 0 {
		t.Error("no subject was ever dropped: the test does not exercise dropSubjectIfQuiet")
	}
}

// worldStorage is a Storage of a world's claims and volumes.
type worldStorage struct{ w *world }

func (s worldStorage) Claim(namespace, name string) any {
	return s.w.objs[objRef{"PersistentVolumeClaim", namespace + "/" + name}]
}

func (s worldStorage) Volume(name string) any {
	return s.w.objs[objRef{"PersistentVolume", "/" + name}]
}

// checkSlim checks that no user of a volume with several users is slimmed
// (its findings read every user's use), that a slimmed use is its volume's
// only one and out of the index, and that only quiet bare pods lost
// their subjects, and returns the slimmed uses and dropped subjects.
func checkSlim(t *testing.T, what string, b *Base) (slimmed, dropped int) {
	t.Helper()
	for ek, be := range b.entries {
		if be.bs == nil {
			dropped++
			if !be.bare || b.noted[ek] || be.e != nil || slices.ContainsFunc(be.results, func(r useResult) bool { return r.u != nil }) {
				t.Fatalf("%s: entry %q lost its subject (bare %v, noted %v)", what, ek, be.bare, b.noted[ek])
			}
		}
		for _, res := range be.results {
			if res.key == "" || res.u != nil {
				continue
			}
			slimmed++
			if users := b.index.UsersOf(res.key); len(users) != 0 || b.solo[res.key] != ek {
				t.Fatalf("%s: entry %q has a slimmed use of %s, which has users %q in the index and %q alone", what, ek, res.key, users, b.solo[res.key])
			}
		}
	}
	// Every solo volume is its user's slimmed use.
	for k, ek := range b.solo {
		be := b.entries[ek]
		if be == nil || !slices.ContainsFunc(be.results, func(r useResult) bool { return r.key == k && r.u == nil }) {
			t.Fatalf("%s: volume %s is left to entry %q, which has no slimmed use of it", what, k, ek)
		}
	}
	return slimmed, dropped
}

// compareFresh checks Apply's findings against the reports before and after
// it: each is in the report after, and every conflict of the report after
// that the report before did not have is among them.
func compareFresh(t *testing.T, what string, fresh []Finding, before, after Report) {
	t.Helper()
	id := func(f Finding) string {
		f.Subjects = slices.Clone(f.Subjects)
		for i := range f.Subjects {
			f.Subjects[i].Running, f.Subjects[i].Nodes = 0, nil // brought up to date by Report
		}
		b, _ := json.Marshal(f)
		return string(b)
	}
	in := func(fs []Finding) map[string]bool {
		m := map[string]bool{}
		for _, f := range fs {
			m[id(f)] = true
		}
		return m
	}
	inFresh, inBefore, inAfter := in(fresh), in(before.Findings), in(after.Findings)
	for _, f := range fresh {
		if !inAfter[id(f)] {
			t.Fatalf("%s: Apply's finding is not in the report: %s", what, id(f))
		}
	}
	for _, f := range after.Findings {
		if f.Type == TypeConflict && !inBefore[id(f)] && !inFresh[id(f)] {
			var near []string
			for _, g := range before.Findings {
				if g.Volume == f.Volume {
					near = append(near, id(g))
				}
			}
			t.Fatalf("%s: a new conflict is not among Apply's findings: %s\nbefore:%s\nfresh %d", what, id(f), near, len(fresh))
		}
	}
}

func describe(changes []Change) string {
	var s []string
	for _, c := range changes {
		op := "upsert"
		if c.Object == nil {
			op = "delete"
		}
		s = append(s, op+" "+c.Kind+" "+c.Namespace+"/"+c.Name)
	}
	return fmt.Sprint(s)
}

func compareReports(t *testing.T, what string, got, want Report) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) == string(w) {
		t.Fatalf("%s: reports differ outside their JSON (InvalidPods?):\n%v\n%v", what, got.InvalidPods, want.InvalidPods)
	}
	t.Fatalf("%s: Update's report differs from Run's:\n%s", what, firstDiff(string(g), string(w)))
}

// firstDiff shows the lines around the first difference of two texts.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-600)
	return fmt.Sprintf("update: ...%s\nrun:    ...%s", a[from:min(len(a), i+300)], b[from:min(len(b), i+300)])
}

func compareUsers(t *testing.T, what string, got, want *Users) {
	t.Helper()
	if got.Len() != want.Len() || got.Volumes() != want.Volumes() {
		t.Fatalf("%s: users %d/%d volumes %d/%d (update/run)", what, got.Len(), want.Len(), got.Volumes(), want.Volumes())
	}
	for key := range want.byVolume {
		g, w := got.Of(key), want.Of(key)
		if !slices.Equal(g, w) {
			t.Fatalf("%s: users of %s: %v, run %v", what, key, g, w)
		}
		for _, u := range w {
			if g, w := got.VolumesOf(u), want.VolumesOf(u); !slices.Equal(g, w) {
				t.Fatalf("%s: volumes of %v: %v, run %v", what, u, g, w)
			}
		}
	}
}

func TestBaseIncomplete(t *testing.T) {
	w := newWorld(1)
	for range 10 {
		w.change()
	}
	b, before := RunBase(w.input(t, 0))
	_, err := b.Update([]Change{{Kind: "Pod", Namespace: "a", Name: "p1"}, {Kind: "StorageClass", Name: "fast"}})
	var ie *IncompleteError
	if !errors.As(err, &ie) || ie.Kind != "StorageClass" || ie.Name != "fast" {
		t.Fatalf("Update with a StorageClass: %v, want an IncompleteError naming it", err)
	}
	if want := "check: a change of StorageClass fast cannot be applied incrementally: run the whole check again"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Nothing was applied: an empty update gives the same report.
	after, err := b.Update(nil)
	if err != nil {
		t.Fatal(err)
	}
	compareReports(t, "after the refused update", after, before)
}

func storageClass(name, provisioner string) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner}
}

// TestBaseUsersWhileUpdating reads the users while the Base is updated
// (run with -race).
func TestBaseUsersWhileUpdating(t *testing.T) {
	w := newWorld(2)
	for range 20 {
		w.change()
	}
	b, _ := RunBase(w.input(t, 0))
	users := b.Users()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			for _, u := range users.Of("csi://csi.example.com^h0") {
				users.VolumesOf(u)
			}
		}
	}()
	for range 20 {
		if _, err := b.Update([]Change{w.change()}); err != nil {
			t.Error(err)
		}
	}
	<-done
}

// TestBaseClaimNamedAsWorkload: a claim and a workload of one namespace and
// name; changes of either agree with Run (a claim's change marks its
// readers changed, never an entry of its own).
func TestBaseClaimNamedAsWorkload(t *testing.T) {
	// Arrange: Deployment a/c0 on claim c0; a pod of another level on it.
	claim := pvc("a", "c0", "pv0")
	claim.Status.Phase = corev1.ClaimBound
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "c0"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec("c0", withLevel("s0:c1,c2"))}}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p"}, Spec: podSpec("c0", withLevel("s0:c3,c4"), onNode("n1"))}
	objs := []any{driver("csi.example.com", &yes), pv("pv0", "csi.example.com", "h0"), claim, dep, p}
	b, _ := RunBase(input(t, 37, 0, objs...))

	// Act: the claim changes (bound to the same volume, a new phase).
	claim2 := claim.DeepCopy()
	claim2.Status.Phase = ""
	got, err := b.Update([]Change{{Kind: "PersistentVolumeClaim", Namespace: "a", Name: "c0", Object: claim2}})
	if err != nil {
		t.Fatal(err)
	}

	// Assert
	want := Run(input(t, 37, 0, driver("csi.example.com", &yes), pv("pv0", "csi.example.com", "h0"), claim2, dep, p))
	compareReports(t, "after the claim's change", got, want)
	if got.Summary.Workloads != 1 {
		t.Errorf("%d workloads, want 1", got.Summary.Workloads)
	}

	// Act: the Deployment goes, then the claim changes back.
	steps := [][]Change{{{Kind: "Deployment", Namespace: "a", Name: "c0"}}, {{Kind: "PersistentVolumeClaim", Namespace: "a", Name: "c0", Object: claim}}}
	for i, changes := range steps {
		got, err := b.Update(changes)
		if err != nil {
			t.Fatal(err)
		}

		// Assert
		want := Run(input(t, 37, 0, driver("csi.example.com", &yes), pv("pv0", "csi.example.com", "h0"), []any{claim2, claim}[i], p))
		compareReports(t, fmt.Sprintf("step %d", i+1), got, want)
	}
}

// TestBaseKeepsAPodPackCannotHold: a pod whose name is longer than a
// Packed records (never from an API server, possible in a manifest) is kept
// as given, alone on its volume and again when another user joins it.
func TestBaseKeepsAPodPackCannotHold(t *testing.T) {
	// Arrange: the long-named pod alone on claim c0.
	claim := pvc("a", "c0", "pv0")
	claim.Status.Phase = corev1.ClaimBound
	long := runningPod("a", strings.Repeat("p", 1<<16), "c0", time.Unix(1, 0), nil, withLevel("s0:c1,c2"), onNode("n1"))
	if _, err := Pack(long); err == nil {
		t.Fatal("Pack took a name of 65,536 bytes: the test needs one it refuses")
	}
	other := runningPod("a", "q", "c0", time.Unix(2, 0), nil, withLevel("s0:c3,c4"), onNode("n1"))
	storage := []any{driver("csi.example.com", &yes), pv("pv0", "csi.example.com", "h0"), claim}
	b, r := RunBase(input(t, 37, 0, append(slices.Clone(storage), long)...))
	compareReports(t, "alone", r, Run(input(t, 37, 0, append(slices.Clone(storage), long)...)))
	if vols := b.Users().VolumesOf(User{Kind: "Pod", Namespace: "a", Name: long.Name}); len(vols) != 1 || len(b.Users().Of(vols[0].Key)) != 1 {
		t.Fatalf("the long-named pod's volumes: %v", vols)
	}

	// Act: another pod joins the volume; the first is built again.
	got, err := b.Update([]Change{{Kind: "Pod", Namespace: "a", Name: "q", Object: other}})
	if err != nil {
		t.Fatal(err)
	}

	// Assert
	compareReports(t, "joined", got, Run(input(t, 37, 0, append(slices.Clone(storage), long, other)...)))
	if len(find(got, TypeConflict, PropertyLabel)) != 1 {
		t.Errorf("no conflict between the two pods: %s", dump(got))
	}
}

// TestBaseEntrySize: one is kept per pod; 128 bytes is its allocation's
// size class (160 with one more word).
func TestBaseEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(baseEntry{}); n > 128 {
		t.Errorf("a baseEntry takes %d bytes", n)
	}
}
