package mutate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// TestDecideMountOptionAfterMutation proves the point of the package: at
// Kubernetes 1.37, a pod without a level gets its ReadWriteOncePod CSI volume
// relabeled recursively; after mutation the kubelet mounts it with -o context.
func TestDecideMountOptionAfterMutation(t *testing.T) {
	const driver = "on.csi.example.com"
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: "h1"}},
		},
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "claim"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: pv.Name, AccessModes: pv.Spec.AccessModes},
	}
	csiDriver := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driver}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}
	pod := basePod(func(p *corev1.Pod) {
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "vol", MountPath: "/v"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "vol", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}}
	})
	gates, err := kubever.NewGates(kubever.V(37), nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults, _ := label.Profile("fedora")
	cfg := decide.Config{Gates: gates, SELinuxEnabled: true, Defaults: defaults}
	method := func(p *corev1.Pod) decide.Method {
		t.Helper()
		e := decide.Explain(decide.Objects{Pods: []*corev1.Pod{p}, PVs: []*corev1.PersistentVolume{pv}, PVCs: []*corev1.PersistentVolumeClaim{pvc}, CSIDrivers: []*storagev1.CSIDriver{csiDriver}}, cfg)
		if len(e.Errors) > 0 || len(e.Pods) != 1 || len(e.Pods[0].Volumes) != 1 {
			t.Fatalf("explain: errors %v, pods %+v", e.Errors, e.Pods)
		}
		return e.Pods[0].Volumes[0].Method
	}

	if got := method(pod); got != decide.Recursive {
		t.Fatalf("before mutation: %s, want Recursive", got)
	}
	r := Pod(optedIn("", lvl), pod, Options{})
	if got := method(r.Pod); got != decide.MountOption {
		t.Fatalf("after mutation: %s, want MountOption (unchanged: %q)", got, r.Unchanged)
	}
}
