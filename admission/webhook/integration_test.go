package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/admission/webhook"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/internal/testcluster"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mcsalloc"
)

// testCA makes a CA and a serving certificate for 127.0.0.1.
func testCA(t *testing.T) (caPEM []byte, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "selmount-webhook-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// hasClaims is the matchCondition that skips objects without a claim or an
// ephemeral volume (the webhook has nothing to say about them).
const hasClaims = `(object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec).volumes.exists(v, has(v.persistentVolumeClaim) || has(v.ephemeral)) || (object.kind == 'StatefulSet' && has(object.spec.volumeClaimTemplates))`

// notSystem excludes kube-system and the webhook's own namespace.
var notSystem = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
	Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", "selmount-system"}}}}

func register(t *testing.T, ctx context.Context, client kubernetes.Interface, url string, caPEM []byte) {
	t.Helper()
	ignore, none, noneDry := admissionregistrationv1.Ignore, admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.SideEffectClassNoneOnDryRun
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "selmount-validate"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "validate.selmount.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + webhook.ValidatePath), CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{
				{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods", "replicationcontrollers"}}},
				{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}}},
				{Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: []string{"batch"}, APIVersions: []string{"v1"}, Resources: []string{"jobs", "cronjobs"}}},
			},
			FailurePolicy: &ignore, SideEffects: &none, TimeoutSeconds: ptr.To[int32](3), AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: notSystem,
			MatchConditions:   []admissionregistrationv1.MatchCondition{{Name: "has-claims", Expression: hasClaims}},
		}}}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "selmount-mutate"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "mutate.selmount.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + webhook.MutatePath), CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{
				{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}},
			},
			FailurePolicy: &ignore, SideEffects: &noneDry, TimeoutSeconds: ptr.To[int32](5), AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{mutate.OptInLabel: mutate.OptInValue}},
		}}}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// warnings collects the API server's warnings.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

const driverName = "csi.example.com"

func spec(level, claim string) corev1.PodSpec {
	s := corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/none", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
	}
	if level != "" {
		s.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}}
	}
	return s
}

// TestIntegrationWebhook: a real kube-apiserver calls the webhook over TLS.
func TestIntegrationWebhook(t *testing.T) {
	cl := testcluster.Start(t, testcluster.Options{})
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	client := cl.Client()
	warned := &warnings{}
	wcfg := cl.RESTConfig()
	wcfg.WarningHandler = warned
	wclient := kubernetes.NewForConfigOrDie(wcfg)

	// One RWX CSI volume behind pv-a (namespace team-a) and pv-b (team-b),
	// pv-c (team-c, which denies); team-a runs db-0 with level s0:c1,c2.
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(client.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driverName}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}, metav1.CreateOptions{}))
	must(client.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "rwop.example.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}, metav1.CreateOptions{}))
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "team-b"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team-c", Labels: map[string]string{webhook.EnforceLabel: webhook.EnforceDeny}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "auto", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "selmount-system"}},
	} {
		must(client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}))
	}
	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		name := "pv-" + strings.TrimPrefix(ns, "team-")
		must(client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, Capacity: corev1.ResourceList{corev1.ResourceStorage: resourceGi},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driverName, VolumeHandle: "shared"}}}}, metav1.CreateOptions{}))
		must(client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			VolumeName: name, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, StorageClassName: ptr.To(""),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resourceGi}}}}, metav1.CreateOptions{}))
	}
	must(client.CoreV1().Pods("team-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0"}, Spec: spec("s0:c1,c2", "data")}, metav1.CreateOptions{}))

	// The controller and the webhook, as `selmount webhook` runs them.
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := controller.New(ctx, client, factory, controller.Options{Delay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	alloc, err := mcsalloc.New(client, mcsalloc.Options{Namespace: "selmount-system"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := webhook.New(c, webhook.Options{Allocator: alloc})
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx, 1)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
	})
	caPEM, cert := testCA(t)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	register(t, ctx, client, srv.URL, caPEM)
	const key = "csi://" + driverName + "^shared"
	testcluster.Eventually(t, "the controller's index to hold db-0", 20*time.Second, func() error {
		if idx := c.Index(); idx == nil || len(idx.Users.Of(key)) == 0 {
			return fmt.Errorf("no user of %s yet", key)
		}
		return nil
	})

	// A Deployment with another level in team-b: warned, not named.
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: spec("s0:c3,c4", "data")}}}
	// The webhook registration takes effect asynchronously.
	var got []string
	testcluster.Eventually(t, "warnings on a conflicting Deployment", 20*time.Second, func() error {
		_ = wclient.AppsV1().Deployments("team-b").Delete(ctx, "web", metav1.DeleteOptions{})
		warned.take()
		if _, err := wclient.AppsV1().Deployments("team-b").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			return err
		}
		if got = warned.take(); len(got) == 0 {
			return fmt.Errorf("no warning")
		}
		return nil
	})
	all := strings.Join(got, "\n")
	t.Logf("warnings:\n%s", all)
	for _, want := range []string{"volume pv-b", "this Deployment (level s0:c3,c4)", "a pod in another namespace", "kept:", "fix:"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q", want)
		}
	}
	for _, secret := range []string{"team-a", "db-0", "c1,c2", "pv-a"} {
		if strings.Contains(all, secret) {
			t.Errorf("warnings name %q of another namespace", secret)
		}
	}
	// A Deployment without claims is not even sent (matchConditions).
	plain := dep.DeepCopy()
	plain.Name, plain.Spec.Template.Spec.Volumes, plain.Spec.Template.Spec.Containers[0].VolumeMounts = "plain", nil, nil
	must(wclient.AppsV1().Deployments("team-b").Create(ctx, plain, metav1.CreateOptions{}))
	if w := warned.take(); len(w) != 0 {
		t.Errorf("a Deployment without claims was warned: %v", w)
	}

	// Deny mode: team-c rejects a conflicting pod, with the fix.
	_, err = client.CoreV1().Pods("team-c").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec("s0:c3,c4", "data")}, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "Fix:") || !strings.Contains(err.Error(), webhook.EnforceLabel) {
		t.Fatalf("team-c: want a denial with the fix, got %v", err)
	}
	for _, secret := range []string{"team-a", "db-0", "c1,c2", "pv-a"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("denial names %q of another namespace: %v", secret, err)
		}
	}
	// ...and admits one with the kept level; team-b only warns.
	must(client.CoreV1().Pods("team-c").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ok"}, Spec: spec("s0:c1,c2", "data")}, metav1.CreateOptions{}))
	must(wclient.CoreV1().Pods("team-b").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: spec("s0:c3,c4", "data")}, metav1.CreateOptions{}))
	if w := warned.take(); len(w) == 0 {
		t.Error("team-b: a conflicting pod without warnings")
	}

	// Mutation: the first pod of "auto" (no level yet) gets one allocated,
	// and decide says MountOption for its RWOP volume where it said
	// Recursive for the pod as submitted.
	must(client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-rwop"}, Spec: corev1.PersistentVolumeSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, Capacity: corev1.ResourceList{corev1.ResourceStorage: resourceGi},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "rwop.example.com", VolumeHandle: "h1"}}}}, metav1.CreateOptions{}))
	claim, err := client.CoreV1().PersistentVolumeClaims("auto").Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "claim"}, Spec: corev1.PersistentVolumeClaimSpec{
		VolumeName: "pv-rwop", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, StorageClassName: ptr.To(""),
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resourceGi}}}}, metav1.CreateOptions{})
	must(claim, err)
	submitted := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "first", Namespace: "auto"}, Spec: spec("", "claim")}
	// A dry run allocates nothing.
	must(client.CoreV1().Pods("auto").Create(ctx, submitted, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}))
	if ns, err := client.CoreV1().Namespaces().Get(ctx, "auto", metav1.GetOptions{}); err != nil || ns.Annotations[mutate.LevelAnnotation] != "" {
		t.Fatalf("after a dry run: %v, annotations %v", err, ns.Annotations)
	}
	stored, err := client.CoreV1().Pods("auto").Create(ctx, submitted, metav1.CreateOptions{})
	must(stored, err)
	ns, err := client.CoreV1().Namespaces().Get(ctx, "auto", metav1.GetOptions{})
	must(ns, err)
	level := ns.Annotations[mutate.LevelAnnotation]
	if _, perr := label.ParseLevel(level); level == "" || perr != nil {
		t.Fatalf("namespace auto: level annotation %q", level)
	}
	if sc := stored.Spec.SecurityContext; sc == nil || sc.SELinuxOptions == nil || sc.SELinuxOptions.Level != level {
		t.Fatalf("stored pod's securityContext %+v, want level %s", stored.Spec.SecurityContext, level)
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, "pv-rwop", metav1.GetOptions{})
	must(pv, err)
	drv, err := client.StorageV1().CSIDrivers().Get(ctx, "rwop.example.com", metav1.GetOptions{})
	must(drv, err)
	method := func(p *corev1.Pod) decide.Method {
		gates, err := kubever.NewGates(kubever.V(37), nil)
		if err != nil {
			t.Fatal(err)
		}
		defaults, _ := label.Profile("fedora")
		e := decide.Explain(decide.Objects{Pods: []*corev1.Pod{p}, PVs: []*corev1.PersistentVolume{pv}, PVCs: []*corev1.PersistentVolumeClaim{claim},
			CSIDrivers: []*storagev1.CSIDriver{drv}}, decide.Config{Gates: gates, SELinuxEnabled: true, Defaults: defaults})
		if len(e.Errors) > 0 || len(e.Pods) != 1 || len(e.Pods[0].Volumes) != 1 {
			t.Fatalf("explain: %v %+v", e.Errors, e.Pods)
		}
		return e.Pods[0].Volumes[0].Method
	}
	if before, after := method(submitted), method(stored); before != decide.Recursive || after != decide.MountOption {
		t.Errorf("decide: %s before, %s after; want Recursive then MountOption", before, after)
	}
	// A second pod takes the same level, without a second allocation.
	second, err := client.CoreV1().Pods("auto").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "second"}, Spec: spec("", "claim")}, metav1.CreateOptions{})
	must(second, err)
	if second.Spec.SecurityContext == nil || second.Spec.SecurityContext.SELinuxOptions == nil || second.Spec.SecurityContext.SELinuxOptions.Level != level {
		t.Errorf("second pod: %+v, want level %s", second.Spec.SecurityContext, level)
	}

	// The webhook stopped: pods are still created (failurePolicy Ignore).
	srv.Close()
	must(client.CoreV1().Pods("team-c").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "while-down"}, Spec: spec("s0:c3,c4", "data")}, metav1.CreateOptions{}))
}

var resourceGi = resource.MustParse("1Gi")
