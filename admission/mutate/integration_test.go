package mutate_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/internal/testcluster"
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
	// Not a vacuous comparison: opted-in gets plain, own-level, own-type and
	// host-network mutated, openshift plain, own-type and host-network.
	if mutated != 7 {
		t.Errorf("mutate.Pod changed %d pods, want 7", mutated)
	}
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
