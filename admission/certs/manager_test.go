package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/selmount/selmount/internal/testcluster"
)

const (
	testNS     = "selmount-system"
	testSecret = "selmount-webhook-cert"
	testSvc    = "selmount-webhook"
	testVWC    = "selmount-validating"
	testMWC    = "selmount-mutating"
	wait       = 10 * time.Second
)

func webhookConfigs() []runtime.Object {
	none := admissionregistrationv1.SideEffectClassNone
	cc := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: testNS, Name: testSvc, Path: &path}}
	}
	return []runtime.Object{
		&admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testVWC},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{
				{Name: "pods.selmount.io", ClientConfig: cc("/validate"), SideEffects: &none, AdmissionReviewVersions: []string{"v1"}},
				{Name: "workloads.selmount.io", ClientConfig: cc("/validate"), SideEffects: &none, AdmissionReviewVersions: []string{"v1"}},
			},
		},
		&admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: testMWC},
			Webhooks: []admissionregistrationv1.MutatingWebhook{
				{Name: "pods.selmount.io", ClientConfig: cc("/mutate"), SideEffects: &none, AdmissionReviewVersions: []string{"v1"}},
			},
		},
	}
}

func testOptions() ManagerOptions {
	return ManagerOptions{
		Namespace:          testNS,
		SecretName:         testSecret,
		ServiceName:        testSvc,
		ValidatingWebhooks: []string{testVWC},
		MutatingWebhooks:   []string{testMWC},
	}
}

// start runs a Manager until the test ends and checks that Run returns nil.
func start(t *testing.T, client kubernetes.Interface, opts ManagerOptions) (*Manager, context.CancelFunc) {
	t.Helper()
	m, err := NewManager(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v after cancel, want nil", err)
			}
		case <-time.After(wait):
			t.Errorf("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return m, stop
}

func getSecret(t *testing.T, client kubernetes.Interface) *corev1.Secret {
	t.Helper()
	s, err := client.CoreV1().Secrets(testNS).Get(context.Background(), testSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// caBundles returns every webhook's caBundle, by "kind/webhook".
func caBundles(t *testing.T, client kubernetes.Interface) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ctx := context.Background()
	v, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, testVWC, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range v.Webhooks {
		out["validating/"+w.Name] = w.ClientConfig.CABundle
	}
	mw, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, testMWC, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range mw.Webhooks {
		out["mutating/"+w.Name] = w.ClientConfig.CABundle
	}
	return out
}

// allBundles returns nil when every webhook's caBundle is want.
func allBundles(t *testing.T, client kubernetes.Interface, want []byte) error {
	for k, b := range caBundles(t, client) {
		if !bytes.Equal(b, want) {
			return fmt.Errorf("%s caBundle is %d bytes, not the %d-byte bundle", k, len(b), len(want))
		}
	}
	return nil
}

// writes returns the verbs and resources of the client's write actions.
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func mustCerts(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	c, err := parseCerts(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestManagerCreatesSecretAndInjects(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	m, _ := start(t, client, testOptions())

	testcluster.Eventually(t, "Ready", wait, func() error {
		if !m.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	s := getSecret(t, client)
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type %q, want %q", s.Type, corev1.SecretTypeTLS)
	}
	for _, k := range []string{TLSCertKey, TLSKeyKey, CACertKey, CAKeyKey} {
		if len(s.Data[k]) == 0 {
			t.Errorf("Secret key %s is empty", k)
		}
	}
	if _, err := m.parseSecret(s); err != nil {
		t.Fatalf("the Secret the manager wrote does not parse: %v", err)
	}
	leaf := mustCerts(t, s.Data[TLSCertKey])[0]
	wantNames := []string{testSvc, testSvc + "." + testNS, testSvc + "." + testNS + ".svc", testSvc + "." + testNS + ".svc.cluster.local"}
	if !slices.Equal(leaf.DNSNames, wantNames) {
		t.Errorf("DNS names %q, want %q", leaf.DNSNames, wantNames)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < DefaultCertValidity || life > DefaultCertValidity+2*backdate {
		t.Errorf("serving certificate lives %v, want about %v", life, DefaultCertValidity)
	}
	ca := mustCerts(t, s.Data[CACertKey])
	if len(ca) != 1 || !ca[0].IsCA || ca[0].NotAfter.Sub(ca[0].NotBefore) < DefaultCAValidity {
		t.Errorf("CA bundle: %d certificates, want one CA valid for %v", len(ca), DefaultCAValidity)
	}
	testcluster.Eventually(t, "caBundle in every webhook", wait, func() error { return allBundles(t, client, s.Data[CACertKey]) })
	if !bytes.Equal(m.CABundle(), s.Data[CACertKey]) {
		t.Errorf("CABundle() differs from the Secret's %s", CACertKey)
	}

	// A TLS client that trusts the bundle accepts the served certificate
	// under the Service's name.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.Data[CACertKey])
	if _, err := handshake(t, m, pool, testSvc+"."+testNS+".svc"); err != nil {
		t.Fatalf("handshake with the managed certificate: %v", err)
	}
}

func TestManagerReusesValidSecret(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	m1, stop := start(t, client, testOptions())
	testcluster.Eventually(t, "first manager ready", wait, func() error {
		if !m1.Ready() {
			return fmt.Errorf("not ready")
		}
		return allBundles(t, client, m1.CABundle())
	})
	stop()
	before := getSecret(t, client)
	client.ClearActions()

	// A restart: the new manager serves the same certificate and writes
	// nothing.
	m2, stop2 := start(t, client, testOptions())
	testcluster.Eventually(t, "second manager ready", wait, func() error {
		if !m2.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	m2.trigger()
	time.Sleep(100 * time.Millisecond) // let a second round run too
	stop2()
	c, _ := m2.GetCertificate(nil)
	if !bytes.Equal(pemOf(c.Certificate[0]), mustPEM(t, before.Data[TLSCertKey])) {
		t.Error("the restarted manager serves another certificate")
	}
	if w := writes(client); len(w) != 0 {
		t.Errorf("a restart on a valid Secret wrote %q, want nothing", w)
	}
	if after := getSecret(t, client); !equalData(after, before) {
		t.Errorf("the Secret changed on a restart")
	}
}

// equalData compares Secrets by contents (the fake clientset sets no
// resourceVersion).
func equalData(a, b *corev1.Secret) bool {
	if len(a.Data) != len(b.Data) {
		return false
	}
	for k, v := range a.Data {
		if !bytes.Equal(v, b.Data[k]) {
			return false
		}
	}
	return true
}

func pemOf(der []byte) []byte { return encodeCerts([]*x509.Certificate{{Raw: der}}) }

func mustPEM(t *testing.T, data []byte) []byte {
	t.Helper()
	return encodeCerts(mustCerts(t, data)[:1])
}

func TestManagerRotation(t *testing.T) {
	t0 := time.Now()
	clk := testingclock.NewFakeClock(t0)
	client := fake.NewClientset(webhookConfigs()...)
	opts := testOptions()
	opts.Clock = clk
	m, _ := start(t, client, opts)
	testcluster.Eventually(t, "ready", wait, func() error {
		if !m.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	first := getSecret(t, client)
	ca0 := mustCerts(t, first.Data[CACertKey])[0]
	leaf0 := mustCerts(t, first.Data[TLSCertKey])[0]

	// Half-way through the serving certificate's life: nothing changes.
	clk.Step(DefaultCertValidity / 2)
	m.trigger()
	time.Sleep(100 * time.Millisecond)
	if s := getSecret(t, client); !equalData(s, first) {
		t.Fatalf("Secret rewritten half-way through the certificate's life")
	}

	// Past two thirds: a new serving certificate from the same CA.
	clk.SetTime(t0.Add(DefaultCertValidity * 7 / 10))
	m.trigger()
	var leaf1 *x509.Certificate
	testcluster.Eventually(t, "serving certificate renewed", wait, func() error {
		s := getSecret(t, client)
		leaf1 = mustCerts(t, s.Data[TLSCertKey])[0]
		if leaf1.Equal(leaf0) {
			return fmt.Errorf("not renewed")
		}
		if ca := mustCerts(t, s.Data[CACertKey]); len(ca) != 1 || !ca[0].Equal(ca0) {
			return fmt.Errorf("the CA changed with the serving certificate")
		}
		return nil
	})
	if err := leaf1.CheckSignatureFrom(ca0); err != nil {
		t.Errorf("renewed certificate not signed by the CA: %v", err)
	}
	if !leaf1.NotAfter.After(clk.Now().Add(DefaultCertValidity - 2*backdate)) {
		t.Errorf("renewed certificate expires %v, want a year after %v", leaf1.NotAfter, clk.Now())
	}
	testcluster.Eventually(t, "manager serves the renewed certificate", wait, func() error {
		c, _ := m.GetCertificate(nil)
		if !c.Leaf.Equal(leaf1) {
			return fmt.Errorf("still the old one")
		}
		return nil
	})

	// Just before two thirds of the CA's life, a fresh serving certificate.
	caDue := renewAt(ca0)
	clk.SetTime(caDue.Add(-time.Hour))
	m.trigger()
	testcluster.Eventually(t, "serving certificate renewed again", wait, func() error {
		if leaf := mustCerts(t, getSecret(t, client).Data[TLSCertKey])[0]; !leaf.NotBefore.After(leaf1.NotBefore) {
			return fmt.Errorf("not renewed")
		}
		return nil
	})

	// Past two thirds of the CA's life: a new CA goes first into the bundle,
	// the old one stays, every webhook gets both, and only then is the
	// serving certificate reissued by the new CA.
	clk.SetTime(caDue.Add(time.Hour))
	m.trigger()
	var ca1 *x509.Certificate
	testcluster.Eventually(t, "CA rotated and reissued", wait, func() error {
		s := getSecret(t, client)
		bundle := mustCerts(t, s.Data[CACertKey])
		if len(bundle) != 2 || !bundle[1].Equal(ca0) {
			return fmt.Errorf("bundle has %d CAs, want the new and the old", len(bundle))
		}
		ca1 = bundle[0]
		if err := allBundles(t, client, s.Data[CACertKey]); err != nil {
			return err
		}
		leaf := mustCerts(t, s.Data[TLSCertKey])[0]
		if err := leaf.CheckSignatureFrom(ca1); err != nil {
			return fmt.Errorf("serving certificate not yet from the new CA: %v", err)
		}
		return nil
	})
	// The new CA's key is the one stored.
	if st, err := m.parseSecret(getSecret(t, client)); err != nil || !st.ca.cert.Equal(ca1) {
		t.Fatalf("after CA rotation: %v", err)
	}
	// The reissue came strictly after the caBundle patches that carried the
	// new CA (the order of the actions).
	rotation, patch, reissue := -1, -1, -1
	for i, a := range client.Actions() {
		switch {
		case a.GetVerb() == "patch" && rotation >= 0 && patch < 0:
			patch = i
		case a.GetVerb() == "update" && a.GetResource().Resource == "secrets":
			s := a.(k8stesting.UpdateAction).GetObject().(*corev1.Secret)
			if rotation < 0 && mustCerts(t, s.Data[CACertKey])[0].Equal(ca1) {
				rotation = i
			}
			if reissue < 0 && mustCerts(t, s.Data[TLSCertKey])[0].CheckSignatureFrom(ca1) == nil {
				reissue = i
			}
		}
	}
	if rotation < 0 || patch < 0 || reissue < 0 || !(rotation < patch && patch < reissue) {
		t.Errorf("action order: new CA written at %d, first caBundle patch after it at %d, reissue by the new CA at %d; want them in that order", rotation, patch, reissue)
	}

	// Once the old CA expired it leaves the bundle.
	clk.SetTime(ca0.NotAfter.Add(time.Hour))
	m.trigger()
	testcluster.Eventually(t, "expired CA dropped", wait, func() error {
		s := getSecret(t, client)
		if b := mustCerts(t, s.Data[CACertKey]); len(b) != 1 || !b[0].Equal(ca1) {
			return fmt.Errorf("bundle has %d CAs, want only the new one", len(b))
		}
		return allBundles(t, client, s.Data[CACertKey])
	})
}

func TestManagerDNSNamesChange(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	m1, stop := start(t, client, testOptions())
	testcluster.Eventually(t, "ready", wait, func() error {
		if !m1.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	stop()
	before := getSecret(t, client)

	opts := testOptions()
	opts.ServiceName = "renamed"
	opts.ExtraDNSNames = []string{"webhook.example.com", "127.0.0.1"}
	m2, _ := start(t, client, opts)
	testcluster.Eventually(t, "reissued for the new names", wait, func() error {
		s := getSecret(t, client)
		leaf := mustCerts(t, s.Data[TLSCertKey])[0]
		want := []string{"renamed", "renamed." + testNS, "renamed." + testNS + ".svc", "renamed." + testNS + ".svc.cluster.local", "webhook.example.com"}
		if !slices.Equal(leaf.DNSNames, want) {
			return fmt.Errorf("DNS names %q, want %q", leaf.DNSNames, want)
		}
		if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.1" {
			return fmt.Errorf("IP SANs %v, want 127.0.0.1", leaf.IPAddresses)
		}
		if !bytes.Equal(s.Data[CACertKey], before.Data[CACertKey]) {
			return fmt.Errorf("the CA changed; only the serving certificate should")
		}
		c, _ := m2.GetCertificate(nil)
		if c == nil || !c.Leaf.Equal(leaf) {
			return fmt.Errorf("not serving the new certificate yet")
		}
		return nil
	})
}

func TestManagerRecreatesDeletedSecret(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	m, _ := start(t, client, testOptions())
	testcluster.Eventually(t, "ready", wait, func() error {
		if !m.Ready() {
			return fmt.Errorf("not ready")
		}
		return allBundles(t, client, m.CABundle())
	})
	old := getSecret(t, client)
	if err := client.CoreV1().Secrets(testNS).Delete(context.Background(), testSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The leader makes a new CA and certificate, serves them and writes
	// the new bundle.
	testcluster.Eventually(t, "recreated", wait, func() error {
		s, err := client.CoreV1().Secrets(testNS).Get(context.Background(), testSecret, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if bytes.Equal(s.Data[CACertKey], old.Data[CACertKey]) {
			return fmt.Errorf("same CA")
		}
		c, _ := m.GetCertificate(nil)
		if !bytes.Equal(pemOf(c.Certificate[0]), mustPEM(t, s.Data[TLSCertKey])) {
			return fmt.Errorf("not serving the new certificate")
		}
		return allBundles(t, client, s.Data[CACertKey])
	})
}

func TestManagerReinjectsCABundle(t *testing.T) {
	objs := webhookConfigs()
	client := fake.NewClientset(objs[0]) // the mutating configuration comes later
	m, _ := start(t, client, testOptions())
	ctx := context.Background()
	testcluster.Eventually(t, "validating caBundle", wait, func() error {
		v, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, testVWC, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, w := range v.Webhooks {
			if len(w.ClientConfig.CABundle) == 0 || !bytes.Equal(w.ClientConfig.CABundle, m.CABundle()) {
				return fmt.Errorf("webhook %s has no caBundle", w.Name)
			}
		}
		return nil
	})

	// A configuration created after the manager started gets it too.
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, objs[1].(*admissionregistrationv1.MutatingWebhookConfiguration), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, "caBundle in the late configuration", wait, func() error { return allBundles(t, client, m.CABundle()) })

	// Someone resets one webhook's caBundle (a re-apply of the manifest):
	// it is written again.
	v, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, testVWC, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v.Webhooks[1].ClientConfig.CABundle = []byte("stale")
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, v, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, "caBundle re-injected", wait, func() error { return allBundles(t, client, m.CABundle()) })
	if got := caBundles(t, client)["validating/pods.selmount.io"]; !bytes.Equal(got, m.CABundle()) {
		t.Error("the untouched webhook lost its caBundle")
	}
}

func TestManagerNonLeaderOnlyReads(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	var leading atomic.Bool
	opts := testOptions()
	clk := testingclock.NewFakeClock(time.Now())
	opts.Clock = clk
	opts.Leading = leading.Load
	m, _ := start(t, client, opts)

	// Not leading and no Secret: not ready, nothing written.
	time.Sleep(100 * time.Millisecond)
	if m.Ready() {
		t.Fatal("ready without a Secret")
	}
	if _, err := m.GetCertificate(nil); err == nil || !strings.Contains(err.Error(), testNS+"/"+testSecret) {
		t.Errorf("GetCertificate before a Secret: %v, want an error naming the Secret", err)
	}
	if w := writes(client); len(w) != 0 {
		t.Fatalf("a non-leader wrote %q", w)
	}

	// Another replica (the leader) creates the Secret: this one serves it.
	leader, stopLeader := start(t, client, testOptions())
	testcluster.Eventually(t, "non-leader serves the leader's certificate", wait, func() error {
		if !leader.Ready() || !m.Ready() {
			return fmt.Errorf("not ready")
		}
		a, _ := leader.GetCertificate(nil)
		b, _ := m.GetCertificate(nil)
		if !a.Leaf.Equal(b.Leaf) {
			return fmt.Errorf("different certificates")
		}
		return allBundles(t, client, leader.CABundle())
	})
	stopLeader()

	// The leader is gone and someone resets a caBundle: the non-leader
	// leaves it alone.
	ctx := context.Background()
	mw, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, testMWC, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mw.Webhooks[0].ClientConfig.CABundle = nil
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, mw, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := caBundles(t, client)["mutating/pods.selmount.io"]; len(got) != 0 {
		t.Fatal("a non-leader wrote the caBundle")
	}

	// It becomes leader: at the next periodic check it writes the caBundle.
	leading.Store(true)
	clk.Step(DefaultCheckInterval)
	testcluster.Eventually(t, "caBundle in place", wait, func() error { return allBundles(t, client, m.CABundle()) })
}

func TestManagerLosesCreateRace(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	winner, stop := start(t, client, testOptions())
	testcluster.Eventually(t, "winner ready", wait, func() error {
		if !winner.Ready() {
			return fmt.Errorf("not ready")
		}
		return nil
	})
	stop()
	won := getSecret(t, client)

	// The loser's first list saw no Secret (as if it listed just before the
	// winner created it, and the watch from there has not delivered it yet),
	// so it tries to create one and gets AlreadyExists.
	var listed atomic.Bool
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if listed.CompareAndSwap(false, true) {
			// The fake tracker's list version, so that the watch from it
			// delivers only later changes.
			all, err := client.Tracker().List(a.GetResource(), corev1.SchemeGroupVersion.WithKind("Secret"), testNS)
			if err != nil {
				return true, nil, err
			}
			return true, &corev1.SecretList{ListMeta: metav1.ListMeta{ResourceVersion: all.(*corev1.SecretList).ResourceVersion}}, nil
		}
		return false, nil, nil
	})
	client.ClearActions()
	loser, _ := start(t, client, testOptions())
	testcluster.Eventually(t, "loser serves the winner's certificate", wait, func() error {
		c, err := loser.GetCertificate(nil)
		if err != nil {
			return err
		}
		if !bytes.Equal(pemOf(c.Certificate[0]), mustPEM(t, won.Data[TLSCertKey])) {
			return fmt.Errorf("another certificate")
		}
		return nil
	})
	// Each round on the stale cache tries a create (which fails); nothing
	// else is written.
	w := writes(client)
	if len(w) == 0 || slices.ContainsFunc(w, func(s string) bool { return s != "create secrets" }) {
		t.Errorf("loser's writes %q, want only failed creates", w)
	}
	if s := getSecret(t, client); !equalData(s, won) {
		t.Error("the loser changed the winner's Secret")
	}
}

func TestManagersRacing(t *testing.T) {
	client := fake.NewClientset(webhookConfigs()...)
	a, _ := start(t, client, testOptions())
	b, _ := start(t, client, testOptions())
	testcluster.Eventually(t, "both serve one certificate", wait, func() error {
		ca, errA := a.GetCertificate(nil)
		cb, errB := b.GetCertificate(nil)
		if errA != nil || errB != nil {
			return fmt.Errorf("%v, %v", errA, errB)
		}
		if !ca.Leaf.Equal(cb.Leaf) {
			return fmt.Errorf("different certificates")
		}
		s := getSecret(t, client)
		if !bytes.Equal(pemOf(ca.Certificate[0]), mustPEM(t, s.Data[TLSCertKey])) {
			return fmt.Errorf("not the Secret's certificate")
		}
		return allBundles(t, client, s.Data[CACertKey])
	})
	// The loser of the create used the winner's Secret: nobody rewrote it.
	w := writes(client)
	if !slices.Contains(w, "create secrets") || slices.Contains(w, "update secrets") {
		t.Errorf("writes %q: want creates and no update of the Secret", w)
	}
}

func TestManagerReplacesInvalidSecret(t *testing.T) {
	for _, tc := range []struct {
		name string
		data map[string][]byte
	}{
		{"empty", map[string][]byte{TLSCertKey: {}, TLSKeyKey: {}}},
		{"garbage", map[string][]byte{TLSCertKey: []byte("x"), TLSKeyKey: []byte("y"), CACertKey: []byte("z"), CAKeyKey: []byte("w")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testSecret}, Type: corev1.SecretTypeTLS, Data: tc.data}
			client := fake.NewClientset(append(webhookConfigs(), bad)...)

			// A non-leader cannot serve it and leaves it alone.
			opts := testOptions()
			opts.Leading = func() bool { return false }
			follower, _ := start(t, client, opts)
			time.Sleep(100 * time.Millisecond)
			if follower.Ready() {
				t.Fatal("a non-leader is ready on an invalid Secret")
			}
			if w := writes(client); len(w) != 0 {
				t.Fatalf("a non-leader wrote %q", w)
			}

			// The leader replaces it, and the follower then serves it.
			leader, _ := start(t, client, testOptions())
			testcluster.Eventually(t, "replaced", wait, func() error {
				if !leader.Ready() || !follower.Ready() {
					return fmt.Errorf("not ready")
				}
				if _, err := leader.parseSecret(getSecret(t, client)); err != nil {
					return err
				}
				return allBundles(t, client, leader.CABundle())
			})
		})
	}
}

func TestManagerWrongSecretType(t *testing.T) {
	bad := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testSecret}, Type: corev1.SecretTypeOpaque}
	client := fake.NewClientset(bad)
	m, err := NewManager(client, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.ensureSecret(context.Background(), bad)
	want := `certs: Secret selmount-system/selmount-webhook-cert has type "Opaque", want "kubernetes.io/tls"; delete it and it will be recreated`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

func TestParseSecretErrors(t *testing.T) {
	m, err := NewManager(fake.NewClientset(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	good, err := m.fresh(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.fresh(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	with := func(k string, v []byte) *corev1.Secret {
		s := good.secret(testNS, testSecret)
		s.Data[k] = v
		return s
	}
	const where = "Secret selmount-system/selmount-webhook-cert key "
	for _, tc := range []struct {
		name   string
		secret *corev1.Secret
		want   string
	}{
		{"no ca.crt", with(CACertKey, nil), where + "ca.crt: empty"},
		{"ca.crt garbage", with(CACertKey, []byte("junk")), where + "ca.crt: not PEM"},
		{"ca.crt not a CA", with(CACertKey, good.leaf.certPEM), where + `ca.crt: certificate "selmount-webhook" is not a CA`},
		{"ca.key missing", with(CAKeyKey, nil), where + "ca.key: empty"},
		{"ca.key of another CA", with(CAKeyKey, other.ca.keyPEM), where + "ca.key: does not match the first certificate of ca.crt"},
		{"tls.key of another cert", with(TLSKeyKey, other.leaf.keyPEM), where + "tls.key: does not match the certificate in tls.crt"},
		{"tls.crt from another CA", func() *corev1.Secret {
			s := with(TLSCertKey, other.leaf.certPEM)
			s.Data[TLSKeyKey] = other.leaf.keyPEM
			return s
		}(), where + "tls.crt: not signed by a CA in ca.crt"},
		{"tls.key of wrong type", with(TLSKeyKey, good.leaf.certPEM), where + `tls.key: PEM block "CERTIFICATE" is not a private key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.parseSecret(tc.secret)
			if err == nil || err.Error() != tc.want {
				t.Errorf("parseSecret error\n got %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := m.parseSecret(good.secret(testNS, testSecret)); err != nil {
		t.Errorf("a fresh Secret does not parse: %v", err)
	}
	// What a non-leader reports when it cannot serve.
	err = m.load(with(TLSCertKey, []byte("junk")))
	if want := "certs: " + where + "tls.crt: not PEM"; err == nil || err.Error() != want {
		t.Errorf("load error\n got %v\nwant %s", err, want)
	}
}

func TestNewManagerOptions(t *testing.T) {
	client := fake.NewClientset()
	for _, tc := range []struct {
		name string
		edit func(*ManagerOptions)
		want string
	}{
		{"no namespace", func(o *ManagerOptions) { o.Namespace = "" }, "certs.NewManager: ManagerOptions.Namespace is empty"},
		{"no secret", func(o *ManagerOptions) { o.SecretName = "" }, "certs.NewManager: ManagerOptions.SecretName is empty"},
		{"no names", func(o *ManagerOptions) { o.ServiceName = "" }, "certs.NewManager: ManagerOptions.ServiceName and ExtraDNSNames are empty: the certificate would name nothing"},
		{"cert outlives CA", func(o *ManagerOptions) { o.CAValidity = time.Hour }, "certs.NewManager: CertValidity 8760h0m0s is longer than CAValidity 1h0m0s"},
		{"negative", func(o *ManagerOptions) { o.CheckInterval = -1 }, "certs.NewManager: negative validity or check interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions()
			tc.edit(&o)
			if _, err := NewManager(client, o); err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := NewManager(nil, testOptions()); err == nil {
		t.Error("nil client accepted")
	}
}
