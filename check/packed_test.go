package check

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func packedTestPod() *corev1.Pod {
	yes := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p", UID: "u-1", ResourceVersion: "7",
			CreationTimestamp: metav1.NewTime(time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)),
			OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "u-2", Controller: &yes}}},
		Spec: corev1.PodSpec{
			NodeName:        "n1",
			SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}},
			Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

func TestPackPodRoundTrip(t *testing.T) {
	// Arrange
	p := packedTestPod()
	before := p.DeepCopy()

	// Act
	pp, err := Pack(p)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := pp.Unpack()
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*corev1.Pod)

	// Assert: the pod back, the given one untouched.
	if !reflect.DeepEqual(p, before) {
		t.Errorf("PackPod modified its pod:\n%+v", p)
	}
	if !got.CreationTimestamp.Equal(&p.CreationTimestamp) {
		t.Errorf("creation time %v, want %v", got.CreationTimestamp, p.CreationTimestamp)
	}
	got.CreationTimestamp = p.CreationTimestamp // same instant, another location
	if !reflect.DeepEqual(got, p) {
		t.Errorf("Unpack gave\n%+v\nwant\n%+v", got, p)
	}
	if pp.Size() >= 400 {
		t.Errorf("packed pod of %d bytes, want a few hundred", pp.Size())
	}
}

func TestPackClaimAndVolume(t *testing.T) {
	// Arrange
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "c", UID: "u-3", ResourceVersion: "9"},
		Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: "pv", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
	v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", ResourceVersion: "10"},
		Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d", VolumeHandle: "h"}},
			ClaimRef: &corev1.ObjectReference{Namespace: "a", Name: "c"}}}

	for _, obj := range []metav1.Object{c, v} {
		// Act
		p, err := Pack(obj)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Unpack()

		// Assert
		if err != nil || !reflect.DeepEqual(got, obj) {
			t.Errorf("Unpack gave %+v, %v; want %+v", got, err, obj)
		}
		if key, _ := cache.MetaNamespaceKeyFunc(p); key != cache.MetaObjectToName(obj).String() {
			t.Errorf("key %q", key)
		}
	}
	if _, err := Pack(&corev1.Node{}); err == nil {
		t.Error("Pack packed a Node")
	}
}

func TestPackedPodMeta(t *testing.T) {
	// Arrange
	pp, err := Pack(packedTestPod())
	if err != nil {
		t.Fatal(err)
	}

	// Act
	key, err := cache.MetaNamespaceKeyFunc(pp)

	// Assert: client-go's cache keys it as the pod.
	if err != nil || key != "a/p" {
		t.Errorf("key %q, %v; want a/p", key, err)
	}
	if m := pp.GetObjectMeta(); m.GetNamespace() != "a" || m.GetName() != "p" || m.GetResourceVersion() != "7" {
		t.Errorf("meta %+v", m)
	}
	if pp.Kind() != "Pod" {
		t.Errorf("kind %q", pp.Kind())
	}
	if p, err := Unpacked[*corev1.Pod](pp); err != nil || p.UID != "u-1" || p.Namespace != "a" || p.Name != "p" || p.ResourceVersion != "7" {
		t.Errorf("Unpacked pod: %v, %v", p, err)
	}
	if pp.ResourceVersion() != "7" || pp.Namespace() != "a" || pp.Name() != "p" {
		t.Errorf("resource version %q, namespace %q, name %q", pp.ResourceVersion(), pp.Namespace(), pp.Name())
	}
	if _, err := Unpacked[*corev1.Node](pp); err == nil {
		t.Error("Unpacked gave a pod as a Node")
	}
	// 48 bytes with its allocation's rounding: 150,000 are kept.
	if n := unsafe.Sizeof(*pp); n > 48 {
		t.Errorf("a Packed takes %d bytes", n)
	}
}

// TestPackRefusesWhatItCannotHold: a name or resource version longer than
// a Packed records is an error, not a cut.
func TestPackRefusesWhatItCannotHold(t *testing.T) {
	for _, tc := range []struct{ name, rv string }{
		{strings.Repeat("n", 1<<16), "7"},
		{"p", strings.Repeat("9", 256)},
	} {
		p := packedTestPod()
		p.Name, p.ResourceVersion = tc.name, tc.rv
		if pp, err := Pack(p); err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("Pack of a name of %d and a version of %d bytes: %v, %v", len(tc.name), len(tc.rv), pp, err)
		}
	}
}

func TestPackedPodSameExceptVersion(t *testing.T) {
	// Arrange
	p := packedTestPod()
	a, _ := Pack(p)
	p.ResourceVersion = "8"
	b, _ := Pack(p)
	p.Spec.NodeName = "n2"
	c, _ := Pack(p)

	// Act, Assert
	if !a.SameExceptVersion(b) {
		t.Error("packings differing in the resource version only are not the same")
	}
	if a.SameExceptVersion(c) {
		t.Error("packings of different nodes are the same")
	}
}

// TestPackedInputAgrees: Run and RunBase give the same report whether pods,
// claims and volumes come decoded or packed (Objects.Packed).
func TestPackedInputAgrees(t *testing.T) {
	for seed := range uint64(10) {
		// Arrange
		w := newWorld(seed)
		for range 30 {
			w.change()
		}
		in := w.input(t, 33)
		packedIn := in
		o := in.Objects
		packedIn.Objects.Pods, packedIn.Objects.PVCs, packedIn.Objects.PVs = nil, nil, nil
		for _, obj := range slices.Concat(anySlice(o.Pods), anySlice(o.PVCs), anySlice(o.PVs)) {
			p, err := Pack(obj)
			if err != nil {
				t.Fatal(err)
			}
			packedIn.Objects.Packed = append(packedIn.Objects.Packed, p)
		}

		// Act
		want := Run(in)
		got := Run(packedIn)
		_, gotBase := RunBase(packedIn)

		// Assert
		compareReports(t, fmt.Sprintf("seed %d: Run, packed", seed), got, want)
		compareReports(t, fmt.Sprintf("seed %d: RunBase, packed", seed), gotBase, want)
	}
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
