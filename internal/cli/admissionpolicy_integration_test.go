package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/internal/testcluster"
	"github.com/selmount/selmount/mcsalloc"
)

// TestIntegrationControllerAdmissionPolicy runs the installation without a
// webhook in the admission path (the chart's admissionPolicy.enabled, the
// kustomize admission-policy overlay): `selmount controller
// --allocate-levels` gives the opted-in namespace a level, and the real
// apiserver's MutatingAdmissionPolicy, as `selmount admission-policy`
// prints it, stores a new pod there with that level.
func TestIntegrationControllerAdmissionPolicy(t *testing.T) {
	cl := testcluster.Start(t, testcluster.Options{})
	cs := cl.Client()
	ctx := t.Context()
	installCRDs(t, cl)
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "selmount-system"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue}}},
	} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
		must(t, err)
	}
	policy, binding := mutate.PolicyObjects(mutate.Options{})
	_, err := cs.AdmissionregistrationV1().MutatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.AdmissionregistrationV1().MutatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{})
	must(t, err)

	logs := &syncBuffer{}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	root := NewRootCmd("selmount", strings.NewReader(""), logs, logs)
	root.SetArgs([]string{"controller", "--kubeconfig", cl.Kubeconfig(), "--selmount-namespace", "selmount-system",
		"--allocate-levels", "--metrics-bind-address", "0", "--health-probe-bind-address", freeAddr(t)})
	go func() {
		defer close(done)
		if err := root.ExecuteContext(rctx); err != nil {
			t.Errorf("controller: %v\n%s", err, logs)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	var level string
	testcluster.Eventually(t, "the namespace's level", 60*time.Second, func() error {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if level = ns.Annotations[mcsalloc.Annotation]; level == "" {
			return fmt.Errorf("no %s yet", mcsalloc.Annotation)
		}
		return nil
	})

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
