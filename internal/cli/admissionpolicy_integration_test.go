package cli

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationControllerAdmissionPolicy runs the installation without a
// webhook in the admission path (the chart's admissionPolicy.enabled, the
// kustomize admission-policy overlay): `selmount controller
// --allocate-levels` gives the opted-in namespace a level, and the real
// apiserver's MutatingAdmissionPolicy, as `selmount admission-policy`
// prints it, stores a new pod there with that level.
func TestIntegrationControllerAdmissionPolicy(t *testing.T) {
	cl := optInCluster(t)
	cs := cl.Client()
	ctx := t.Context()
	policy, binding := mutate.PolicyObjects(mutate.Options{})
	_, err := cs.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{})
	must(t, err)

	start(t, ctx, "controller", "--kubeconfig", cl.Kubeconfig(), "--selmount-namespace", "selmount-system",
		"--allocate-levels", "--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(t))
	level := allocatedLevel(t, cs, "team")

	// The apiserver loads the policy asynchronously: dry runs until it
	// applies, then the pod for real.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "x"}}}}
	levelOf := func(p *corev1.Pod) string {
		if sc := p.Spec.SecurityContext; sc != nil && sc.SELinuxOptions != nil {
			return sc.SELinuxOptions.Level
		}
		return ""
	}
	testcluster.Eventually(t, "the policy applied to a dry-run pod", 30*time.Second, func() error {
		got, err := cs.CoreV1().Pods("team").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if l := levelOf(got); l != level {
			return fmt.Errorf("level %q, want %q", l, level)
		}
		return nil
	})
	stored, err := cs.CoreV1().Pods("team").Create(ctx, pod, metav1.CreateOptions{})
	must(t, err)
	if l := levelOf(stored); l != level {
		t.Errorf("stored pod's level %q, want the namespace's %q", l, level)
	}
}
