package check

import (
	"reflect"
	"testing"
	"time"

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
	pp, err := PackPod(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pp.Unpack()
	if err != nil {
		t.Fatal(err)
	}

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

func TestPackedPodMeta(t *testing.T) {
	// Arrange
	pp, err := PackPod(packedTestPod())
	if err != nil {
		t.Fatal(err)
	}

	// Act
	key, err := cache.MetaNamespaceKeyFunc(pp)

	// Assert: client-go's cache keys it as the pod.
	if err != nil || key != "a/p" {
		t.Errorf("key %q, %v; want a/p", key, err)
	}
	if m := pp.GetObjectMeta(); m.GetUID() != "u-1" || m.GetResourceVersion() != "7" {
		t.Errorf("meta %+v", m)
	}
}

func TestPackedPodSameExceptVersion(t *testing.T) {
	// Arrange
	p := packedTestPod()
	a, _ := PackPod(p)
	p.ResourceVersion = "8"
	b, _ := PackPod(p)
	p.Spec.NodeName = "n2"
	c, _ := PackPod(p)

	// Act, Assert
	if !a.SameExceptVersion(b) {
		t.Error("packings differing in the resource version only are not the same")
	}
	if a.SameExceptVersion(c) {
		t.Error("packings of different nodes are the same")
	}
}
