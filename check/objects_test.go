package check

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestObjectsAdd(t *testing.T) {
	var o Objects
	read := []any{
		&corev1.Pod{}, &appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{}, &appsv1.ReplicaSet{},
		&batchv1.Job{}, &batchv1.CronJob{}, &corev1.ReplicationController{}, &corev1.PersistentVolumeClaim{},
		&corev1.PersistentVolume{}, &storagev1.StorageClass{}, &storagev1.CSIDriver{}, &corev1.Namespace{}, &corev1.Node{},
		&Packed{kind: packedPod},
	}
	for _, obj := range read {
		if !o.Add(obj) {
			t.Errorf("Add(%T) = false", obj)
		}
	}
	for _, obj := range []any{&corev1.Service{}, &corev1.Secret{}, corev1.Pod{}, nil} {
		if o.Add(obj) {
			t.Errorf("Add(%T) = true", obj)
		}
	}
	if o.Len() != len(read) {
		t.Errorf("Len = %d, want %d", o.Len(), len(read))
	}
	// Every field got its object: one each (NodePlugins are never added).
	v := reflect.ValueOf(o)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		want := 1
		if f.Name == "NodePlugins" {
			want = 0
		}
		if n := v.Field(i).Len(); n != want {
			t.Errorf("%s has %d objects, want %d", f.Name, n, want)
		}
	}
}

// TestWorkloadOrder: workloads given to Add keep the input's order across
// kinds (which side a fix aligns the other with depends on it), workloads
// set directly follow the order of the fields, and owned ReplicaSets and
// Jobs are left to their owners' templates.
func TestWorkloadOrder(t *testing.T) {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cj"}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "sts"}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dep"}}
	owned := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "dep-1", OwnerReferences: []metav1.OwnerReference{*ownedBy("Deployment", "dep")}}}
	bare := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}}
	ownedJob := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "cj-1", OwnerReferences: []metav1.OwnerReference{*ownedBy("CronJob", "cj")}}}
	names := func(o *Objects) []string {
		var out []string
		o.templates(func(obj any) { out = append(out, obj.(metav1.Object).GetName()) })
		return out
	}

	var added Objects
	for _, obj := range []any{cj, owned, sts, ownedJob, bare, dep} {
		added.Add(obj)
	}
	if got, want := names(&added), []string{"cj", "sts", "rs", "dep"}; !reflect.DeepEqual(got, want) {
		t.Errorf("added: %v, want %v", got, want)
	}

	set := Objects{CronJobs: []*batchv1.CronJob{cj}, StatefulSets: []*appsv1.StatefulSet{sts}, Deployments: []*appsv1.Deployment{dep}, ReplicaSets: []*appsv1.ReplicaSet{owned, bare}}
	if got, want := names(&set), []string{"dep", "sts", "rs", "cj"}; !reflect.DeepEqual(got, want) {
		t.Errorf("set: %v, want %v", got, want)
	}

	// Added, then one more set directly: the fields' order, each once.
	added.Deployments = append(added.Deployments, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dep2"}})
	before := append([]workloadKind(nil), added.added...)
	if got, want := names(&added), []string{"dep", "dep2", "sts", "rs", "cj"}; !reflect.DeepEqual(got, want) {
		t.Errorf("mixed: %v, want %v", got, want)
	}
	if !reflect.DeepEqual(before, added.added) {
		t.Error("templates changed the recorded order")
	}
}

// TestDocumentOrderDecidesTheFix: of two templates that conflict, the one
// earlier in the input is the one the fix aligns the other with, across
// kinds as within one.
func TestDocumentOrderDecidesTheFix(t *testing.T) {
	storage := []any{driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv")}
	cj := cronJob("ns", "cj", "c", withLevel("s0:c1,c2"))
	dep := deployment("ns", "dep", "c", withLevel("s0:c3,c4"))
	for _, tc := range []struct {
		order []any
		first string
	}{
		{[]any{cj, dep}, "CronJob ns/cj"},
		{[]any{dep, cj}, "Deployment ns/dep"},
	} {
		r := Run(input(t, 37, 0, append(append([]any{}, storage...), tc.order...)...))
		f := only(t, r, TypeConflict, PropertyLabel)
		if got := f.Subjects[0].String(); got != tc.first {
			t.Errorf("first subject %s, want %s: %s", got, tc.first, f.Fix)
		}
	}
}

// TestSlimNodeKeepsTheKubeletVersion: a slimmed node still gives the
// cluster's version.
func TestSlimNodeKeepsTheKubeletVersion(t *testing.T) {
	n := kubelet("v1.35.2")
	n.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.example/big:1"}, SizeBytes: 1 << 30}}
	n.Status.NodeInfo.OSImage = "Fedora CoreOS"
	n.Spec.PodCIDR = "10.0.0.0/24"
	Slim(n)
	if n.Status.Images != nil || n.Status.NodeInfo.OSImage != "" || n.Spec.PodCIDR != "" {
		t.Errorf("node not slimmed: %+v", n)
	}
	if v, ok := ClusterVersion("v1.37.0", []*corev1.Node{n}); !ok || v.Minor() != 35 {
		t.Errorf("ClusterVersion of the slimmed node = %v, %v; want 1.35", v, ok)
	}
}

// TestSlimClearsWhatOnlyPodsNeed: a claim and a volume lose their UID and
// creation time (nothing reads them; packed, they were a third of each), a
// pod keeps both (events name it by UID, and pods are ordered by age).
func TestSlimClearsWhatOnlyPodsNeed(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "0b1e2c3d-0000-4000-8000-000000000001", CreationTimestamp: metav1.Now()}
	}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: meta("c"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv"}}
	vol := &corev1.PersistentVolume{ObjectMeta: meta("pv")}
	pod := &corev1.Pod{ObjectMeta: meta("p")}
	before, _ := Pack(claim)
	for _, o := range []metav1.Object{claim, vol, pod} {
		Slim(o)
	}
	for _, o := range []metav1.Object{claim, vol} {
		if created := o.GetCreationTimestamp(); o.GetUID() != "" || !created.IsZero() {
			t.Errorf("%s: UID %q, created %v after Slim", o.GetName(), o.GetUID(), o.GetCreationTimestamp())
		}
	}
	if pod.UID == "" || pod.CreationTimestamp.IsZero() {
		t.Errorf("the pod lost its UID or creation time")
	}
	after, _ := Pack(claim)
	if after.Size() >= before.Size()-36 {
		t.Errorf("packed claim %d bytes after Slim, %d before", after.Size(), before.Size())
	}
}
