package cli

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationWebhookCommand runs `selmount webhook` as the Helm chart
// does by default (certificate managed in a Secret, caBundle injected into
// both configurations, levels allocated) against a real apiserver that calls
// it over TLS with failurePolicy Fail: the opted-in namespace gets a level
// before any pod, and a pod created there is stored with it, which needs the
// apiserver to trust the injected CA.
func TestIntegrationWebhookCommand(t *testing.T) {
	cl := optInCluster(t)
	cs := cl.Client()
	ctx := t.Context()
	addr := freeAddr(t)
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	team := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "team"}}
	podsCreate := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	url := func(path string) admissionregistrationv1.WebhookClientConfig {
		u := "https://" + addr + path
		return admissionregistrationv1.WebhookClientConfig{URL: &u}
	}
	_, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "selmount-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "mutate.selmount.io", ClientConfig: url("/mutate"),
			Rules: podsCreate, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: team, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "selmount-webhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "validate.selmount.io", ClientConfig: url("/validate"),
			Rules: podsCreate, FailurePolicy: &fail, SideEffects: &none, NamespaceSelector: team, AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{})
	must(t, err)

	probe := freeAddr(t)
	start(t, ctx, "webhook", "--kubeconfig", cl.Kubeconfig(), "--selmount-namespace", "selmount-system",
		"--webhook-bind-address", addr, "--metrics-bind-address", "0", "--health-probe-bind-address", probe,
		"--cert-secret-name", "selmount-webhook-cert", "--webhook-service-name", "selmount-webhook", "--cert-extra-names", "127.0.0.1",
		"--validating-webhook-configuration", "selmount-webhook", "--mutating-webhook-configuration", "selmount-webhook")

	testcluster.Eventually(t, "/readyz", 60*time.Second, func() error {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
	secret, err := cs.CoreV1().Secrets("selmount-system").Get(ctx, "selmount-webhook-cert", metav1.GetOptions{})
	must(t, err)
	testcluster.Eventually(t, "the caBundle in both configurations", 30*time.Second, func() error {
		v, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		m, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		want := string(secret.Data["ca.crt"])
		if want == "" || string(v.Webhooks[0].ClientConfig.CABundle) != want || string(m.Webhooks[0].ClientConfig.CABundle) != want {
			return fmt.Errorf("caBundles not (yet) the Secret's ca.crt")
		}
		return nil
	})
	// The keeper allocates the level when it sees the opted-in namespace.
	level := allocatedLevel(t, cs, "team")

	// The apiserver calls both webhooks over TLS (failurePolicy Fail: an
	// untrusted certificate fails the create) and stores the mutated pod.
	var stored *corev1.Pod
	testcluster.Eventually(t, "a pod created through the webhooks", 30*time.Second, func() error {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "app-"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "x"}}}}
		var err error
		stored, err = cs.CoreV1().Pods("team").Create(ctx, pod, metav1.CreateOptions{})
		return err
	})
	sc := stored.Spec.SecurityContext
	if sc == nil || sc.SELinuxOptions == nil || sc.SELinuxOptions.Level != level {
		t.Errorf("stored pod's security context %+v, want level %s", sc, level)
	}
}
