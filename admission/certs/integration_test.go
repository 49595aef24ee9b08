package certs_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/admission/certs"
	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationManagerCABundle runs two Managers against a real
// kube-apiserver, each as a service account holding only the grants the
// deployment gives (Secrets in its namespace; get/list/watch/patch on the two
// webhook configurations by name). The apiserver then calls a webhook served
// with the managed certificate over TLS, trusting only the injected caBundle;
// a reset caBundle is written again.
func TestIntegrationManagerCABundle(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	admin := c.Client()

	const (
		ns     = "selmount-system"
		sa     = "selmount-controller"
		secret = "selmount-webhook-cert"
		vwc    = "selmount-validating"
		mwc    = "selmount-mutating"
		testNS = "certs-test"
	)
	mustCreate(t, func() error {
		_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS, Labels: map[string]string{"certs-test": "yes"}}}, metav1.CreateOptions{})
		return err
	})
	grantLeastRBAC(ctx, t, admin, ns, sa, secret, vwc, mwc)

	// The webhook: allows everything with one warning, served with the
	// managed certificate on localhost.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	var src sync.Mutex
	var current certs.Source
	srv := &http.Server{
		Handler: http.HandlerFunc(allowWithWarning),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			src.Lock()
			defer src.Unlock()
			return current.GetCertificate(h)
		}},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	// The configurations, without caBundle (as the chart installs them).
	url := func(path string) *string { return ptr.To("https://localhost:" + strconv.Itoa(port) + path) }
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"certs-test": "yes"}}
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: vwc},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.selmount.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: url("/validate")},
			Rules: rules, NamespaceSelector: sel, SideEffects: &none, FailurePolicy: &fail,
			AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr.To[int32](5),
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: mwc},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "mutate.selmount.io", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: url("/mutate")},
			Rules: rules, NamespaceSelector: sel, SideEffects: &none, FailurePolicy: &fail,
			AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr.To[int32](5),
		}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Two replicas, both leading, racing to create the Secret.
	cfg := c.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa}
	saClient := kubernetes.NewForConfigOrDie(cfg)
	opts := certs.ManagerOptions{
		Namespace: ns, SecretName: secret, ServiceName: "selmount-webhook",
		ExtraDNSNames:      []string{"localhost"},
		ValidatingWebhooks: []string{vwc}, MutatingWebhooks: []string{mwc},
		CheckInterval: time.Second,
	}
	var managers []*certs.Manager
	var wg sync.WaitGroup
	_, lctx := ktesting.NewTestContext(t)
	runCtx, stop := context.WithCancel(lctx)
	defer func() { stop(); wg.Wait() }()
	for range 2 {
		m, err := certs.NewManager(saClient, opts)
		if err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
		wg.Go(func() {
			if err := m.Run(runCtx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	src.Lock()
	current = managers[0]
	src.Unlock()

	var stored *corev1.Secret
	testcluster.Eventually(t, "one Secret, served by both, in both configurations", 30*time.Second, func() error {
		s, err := admin.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		stored = s
		for i, m := range managers {
			cert, err := m.GetCertificate(nil)
			if err != nil {
				return fmt.Errorf("manager %d: %w", i, err)
			}
			if !bytes.Equal(firstDER(s.Data[certs.TLSCertKey]), cert.Certificate[0]) {
				return fmt.Errorf("manager %d serves a certificate that is not the Secret's", i)
			}
		}
		return bundlesAre(ctx, admin, vwc, mwc, s.Data[certs.CACertKey])
	})
	if stored.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type %q", stored.Type)
	}

	// The apiserver calls both webhooks over TLS, trusting the caBundle.
	// failurePolicy Fail: a TLS error would reject the create.
	warnings := createWithWarnings(ctx, t, cfg, testNS, "first")
	if !slices.Equal(warnings, []string{"certs-test: /mutate", "certs-test: /validate"}) {
		t.Errorf("warnings %q, want one from each webhook", warnings)
	}

	// Someone resets the caBundle (a re-apply of the manifest): it is
	// written again, and calls work again.
	v, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, vwc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v.Webhooks[0].ClientConfig.CABundle = nil
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, v, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, "caBundle re-injected", 20*time.Second, func() error {
		return bundlesAre(ctx, admin, vwc, mwc, stored.Data[certs.CACertKey])
	})
	testcluster.Eventually(t, "webhook reachable again", 20*time.Second, func() error {
		_, err := tryCreate(ctx, cfg, testNS, "second")
		return err
	})
}

func mustCreate(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// grantLeastRBAC gives the service account what deploy/ grants the webhook's
// certificate manager, nothing more.
func grantLeastRBAC(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, sa, secret, vwc, mwc string) {
	t.Helper()
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}}
	mustCreate(t, func() error {
		_, err := client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "certs"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
				{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{secret}, Verbs: []string{"get", "list", "watch", "update"}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "certs"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "certs"},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "certs"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, ResourceNames: []string{vwc}, Verbs: []string{"get", "list", "watch", "patch"}},
				{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, ResourceNames: []string{mwc}, Verbs: []string{"get", "list", "watch", "patch"}},
			},
		}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "certs"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "certs"},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		return err
	})
}

// allowWithWarning answers an AdmissionReview: allowed, with one warning
// naming the path.
func allowWithWarning(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Warnings: []string{"certs-test: " + r.URL.Path}}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// tryCreate creates a ConfigMap as the admin, collecting the warnings.
func tryCreate(ctx context.Context, base *rest.Config, ns, name string) ([]string, error) {
	cfg := rest.CopyConfig(base)
	cfg.Impersonate = rest.ImpersonationConfig{}
	h := &warningRecorder{}
	cfg.WarningHandler = h
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	_, err = client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	h.mu.Lock()
	defer h.mu.Unlock()
	slices.Sort(h.warnings)
	return h.warnings, err
}

func createWithWarnings(ctx context.Context, t *testing.T, base *rest.Config, ns, name string) []string {
	t.Helper()
	w, err := tryCreate(ctx, base, ns, name)
	if err != nil {
		t.Fatalf("create through the webhooks: %v", err)
	}
	return w
}

type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

func (r *warningRecorder) HandleWarningHeader(code int, agent, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, text)
}

// bundlesAre checks every webhook's caBundle.
func bundlesAre(ctx context.Context, client kubernetes.Interface, vwc, mwc string, want []byte) error {
	v, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, vwc, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, w := range v.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, want) {
			return fmt.Errorf("%s webhook %s: caBundle is not the Secret's ca.crt", vwc, w.Name)
		}
	}
	m, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, mwc, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, w := range m.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, want) {
			return fmt.Errorf("%s webhook %s: caBundle is not the Secret's ca.crt", mwc, w.Name)
		}
	}
	return nil
}

// firstDER is the DER of the first PEM block of data.
func firstDER(data []byte) []byte {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil
	}
	return b.Bytes
}
