package mutate_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/internal/testcluster"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// TestIntegrationPolicyMatchesPod applies the generated
// MutatingAdmissionPolicy to a real kube-apiserver and checks that the pods
// it stores carry exactly the securityContext mutate.Pod computes.
func TestIntegrationPolicyMatchesPod(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
	defer cancel()
	client := c.Client()

	policy, binding := mutate.PolicyObjects(mutate.Options{})
	if _, err := client.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create MutatingAdmissionPolicy: %v", err)
	}
	if _, err := client.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create MutatingAdmissionPolicyBinding: %v", err)
	}

	namespaces := []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "opted-in", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue, mutate.ChangePolicyLabel: "MountOption"}, Annotations: map[string]string{mutate.LevelAnnotation: "s0:c1,c2"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "openshift", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue}, Annotations: map[string]string{mutate.LevelAnnotation: "s0:c1,c2", mutate.OpenShiftLevelAnnotation: "s0:c26,c5"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bad-values", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue, mutate.ChangePolicyLabel: "recursive"}, Annotations: map[string]string{mutate.LevelAnnotation: "bogus"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "not-opted-in", Labels: map[string]string{mutate.ChangePolicyLabel: "MountOption"}, Annotations: map[string]string{mutate.LevelAnnotation: "s0:c1,c2"}}},
	}
	for _, ns := range namespaces {
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns.Name, err)
		}
	}

	pod := func(name string, opts ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/none"}}},
		}
		for _, o := range opts {
			o(p)
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("plain"),
		pod("own-level", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c7,c8"}}
		}),
		pod("own-type", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "container_t"}, SELinuxChangePolicy: ptr.To(corev1.SELinuxChangePolicyRecursive)}
		}),
		pod("container-level", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c3,c4"}}
		}),
		pod("privileged", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		}),
		pod("privileged-init", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "registry.invalid/none", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}
		}),
		pod("host-network", func(p *corev1.Pod) { p.Spec.HostNetwork = true }),
		pod("windows", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }),
	}

	// The admission plugin sees a new policy only after its informer syncs:
	// wait until a dry-run pod in the opted-in namespace comes back mutated.
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err := client.CoreV1().Pods("opted-in").Create(ctx, pod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err
		}
		sc := got.Spec.SecurityContext
		return sc != nil && sc.SELinuxOptions != nil && sc.SELinuxOptions.Level != "", nil
	})
	if err != nil {
		t.Fatalf("the policy never mutated a probe pod: %v", err)
	}

	mutated := 0
	for _, ns := range namespaces {
		for _, p := range pods {
			r := mutate.Pod(ns, p, mutate.Options{})
			if r.Changed() {
				mutated++
			}
			t.Run(ns.Name+"/"+p.Name, func(t *testing.T) {
				want := r.Pod
				stored, err := client.CoreV1().Pods(ns.Name).Create(ctx, p.DeepCopy(), metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				if got, w := normalize(stored.Spec.SecurityContext), normalize(want.Spec.SecurityContext); !reflect.DeepEqual(got, w) {
					t.Errorf("stored securityContext %s, mutate.Pod gives %s", show(got), show(w))
				}
			})
		}
	}
	// The stored pod is what the kubelet sees: with a ReadWriteOncePod claim
	// on a CSI driver with seLinuxMount, 1.37 relabels the submitted pod's
	// volume recursively and mounts the stored one with -o context.
	withClaim := pod("with-claim", func(p *corev1.Pod) {
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "vol", MountPath: "/v"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "vol", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}}
	})
	stored, err := client.CoreV1().Pods("opted-in").Create(ctx, withClaim.DeepCopy(), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod with claim: %v", err)
	}
	withClaim.Namespace = "opted-in"
	if before, after := methodAt137(t, withClaim), methodAt137(t, stored); before != decide.Recursive || after != decide.MountOption {
		t.Errorf("decide: submitted pod %s, stored pod %s; want Recursive, then MountOption", before, after)
	}

	// Not a vacuous comparison: opted-in gets plain, own-level, own-type and
	// host-network mutated, openshift plain, own-type and host-network.
	if mutated != 7 {
		t.Errorf("mutate.Pod changed %d pods, want 7", mutated)
	}
}

// methodAt137 is decide's method for p's only volume, a ReadWriteOncePod
// claim on a CSI driver with seLinuxMount: true, at Kubernetes 1.37.
func methodAt137(t *testing.T, p *corev1.Pod) decide.Method {
	t.Helper()
	const driver = "on.csi.example.com"
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-1"},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: "h1"}},
		},
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: "claim"},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: pv.Name, AccessModes: pv.Spec.AccessModes},
	}
	drv := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driver}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}
	gates, err := kubever.NewGates(kubever.V(37), nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults, _ := label.Profile("fedora")
	e := decide.Explain(decide.Objects{Pods: []*corev1.Pod{p}, PVs: []*corev1.PersistentVolume{pv}, PVCs: []*corev1.PersistentVolumeClaim{pvc}, CSIDrivers: []*storagev1.CSIDriver{drv}},
		decide.Config{Gates: gates, SELinuxEnabled: true, Defaults: defaults})
	if len(e.Errors) > 0 || len(e.Pods) != 1 || len(e.Pods[0].Volumes) != 1 {
		t.Fatalf("explain: errors %v, pods %+v", e.Errors, e.Pods)
	}
	return e.Pods[0].Volumes[0].Method
}

// normalize treats a nil securityContext as the empty one the apiserver
// defaults it to.
func normalize(sc *corev1.PodSecurityContext) *corev1.PodSecurityContext {
	if sc == nil {
		return &corev1.PodSecurityContext{}
	}
	return sc
}

func show(sc *corev1.PodSecurityContext) string {
	s := fmt.Sprintf("policy=%v", ptr.Deref(sc.SELinuxChangePolicy, "<nil>"))
	if sc.SELinuxOptions != nil {
		s += fmt.Sprintf(" options=%+v", *sc.SELinuxOptions)
	}
	return s
}
