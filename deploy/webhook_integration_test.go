package deploy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationDeployWebhookMatch installs the chart's webhook
// configurations on a real kube-apiserver, pointed at a recording server on
// 127.0.0.1 instead of the Service, and checks which requests reach them:
// the matchConditions (CEL), namespaceSelectors and rules as the apiserver
// evaluates them, not as the test reads them.
func TestIntegrationDeployWebhookMatch(t *testing.T) {
	objs := renderHelm(t) // before the cluster: skips without helm
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	find(t, objs, "ValidatingWebhookConfiguration", "selmount-webhook", &vwc)
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	find(t, objs, "MutatingWebhookConfiguration", "selmount-webhook", &mwc)

	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	client := c.Client()

	// Arrange: the recording webhook and the configurations pointing at it.
	rec := &recorder{}
	caPEM := serveTLS(t, rec)
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr(rec.url + "/validate"), CABundle: caPEM}
	}
	for i := range mwc.Webhooks {
		mwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr(rec.url + "/mutate"), CABundle: caPEM}
	}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "strict", Labels: map[string]string{"selmount.io/enforce": "deny"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "opted-in", Labels: map[string]string{"selmount.io/selinux-defaults": "enabled"}}},
	} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The apiserver's webhook informers see the configurations within
	// moments; a pod with a claim in team-a is the probe.
	probes := 0
	testcluster.Eventually(t, "webhooks registered", 20*time.Second, func() error {
		probes++
		name := "probe-" + strconv.Itoa(probes)
		if _, err := client.CoreV1().Pods("team-a").Create(ctx, pod(name, claimVolume), metav1.CreateOptions{}); err != nil {
			return err
		}
		if !slices.Contains(rec.seen(), "validate Pod team-a/"+name) {
			return errNotYet
		}
		return nil
	})
	rec.reset()

	// Act: objects with and without claims, in namespaces in and out of
	// the selectors.
	create := func(ns string, obj runtime.Object) {
		t.Helper()
		var err error
		switch o := obj.(type) {
		case *corev1.Pod:
			_, err = client.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.Deployment:
			_, err = client.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
		case *appsv1.StatefulSet:
			_, err = client.AppsV1().StatefulSets(ns).Create(ctx, o, metav1.CreateOptions{})
		case *batchv1.CronJob:
			_, err = client.BatchV1().CronJobs(ns).Create(ctx, o, metav1.CreateOptions{})
		case *batchv1.Job:
			_, err = client.BatchV1().Jobs(ns).Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("create in %s: %v", ns, err)
		}
	}
	create("team-a", pod("claim", claimVolume))
	create("team-a", pod("ephemeral", ephemeralVolume))
	create("team-a", pod("no-volumes"))
	create("team-a", pod("empty-dir", emptyDirVolume))
	create("team-a", owned(pod("owned", claimVolume)))
	create("strict", pod("claim", claimVolume))
	create("strict", owned(pod("owned", claimVolume)))
	create("team-a", deployment("with-claim", claimVolume))
	create("team-a", deployment("without-claim", emptyDirVolume))
	create("team-a", statefulSet("templates"))
	create("team-a", job("with-claim", claimVolume))
	create("team-a", cronJob("with-claim", claimVolume))
	create("team-a", cronJob("without-claim"))
	create("kube-system", pod("claim", claimVolume))
	create(namespace, pod("claim", claimVolume))
	create("opted-in", pod("no-volumes"))
	create("opted-in", pod("claim", claimVolume))

	// Assert.
	want := []string{
		"mutate Pod opted-in/claim",
		"mutate Pod opted-in/no-volumes",
		"validate CronJob team-a/with-claim",
		"validate Deployment team-a/with-claim",
		"validate Job team-a/with-claim",
		"validate Pod opted-in/claim",
		"validate Pod strict/claim",
		"validate Pod strict/owned",
		"validate Pod team-a/claim",
		"validate Pod team-a/ephemeral",
		"validate StatefulSet team-a/templates",
	}
	got := rec.seen()
	if !slices.Equal(got, want) {
		t.Errorf("requests that reached the webhook:\n got %q\nwant %q", got, want)
	}
}

var errNotYet = &notYet{}

type notYet struct{}

func (*notYet) Error() string { return "not yet" }

// recorder answers every AdmissionReview with allowed and records
// "validate|mutate Kind namespace/name".
type recorder struct {
	url  string
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	name := review.Request.Name
	if name == "" { // a create: the name is in the object
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = json.Unmarshal(review.Request.Object.Raw, &meta)
		name = meta.Metadata.Name
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req.URL.Path[1:]+" "+review.Request.Kind.Kind+" "+review.Request.Namespace+"/"+name)
	r.mu.Unlock()
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.reqs)
	sort.Strings(out)
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// serveTLS serves h on 127.0.0.1 with a fresh self-signed certificate for
// that address, sets rec.url and returns the certificate as the caBundle.
func serveTLS(t *testing.T, rec *recorder) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           rec,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	rec.url = "https://" + ln.Addr().String()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

var (
	claimVolume     = corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}
	emptyDirVolume  = corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	ephemeralVolume = corev1.Volume{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}},
	}}}
)

func podSpec(volumes ...corev1.Volume) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: "c", Image: "registry.invalid/none"}},
		Volumes:       volumes,
	}
}

func pod(name string, volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: podSpec(volumes...)}
}

// owned makes p a ReplicaSet's pod (the owner need not exist: no garbage
// collector runs).
func owned(p *corev1.Pod) *corev1.Pod {
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "0b5e7a8e-1111-4c1a-9a5e-000000000001", Controller: ptr(true)}}
	return p
}

func template(volumes ...corev1.Volume) corev1.PodTemplateSpec {
	s := podSpec(volumes...)
	s.RestartPolicy = corev1.RestartPolicyAlways
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}, Spec: s}
}

func deployment(name string, volumes ...corev1.Volume) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, Template: template(volumes...)}}
}

// statefulSet has claims only through volumeClaimTemplates.
func statefulSet(name string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.StatefulSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, Template: template(),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}},
	}}
}

func job(name string, volumes ...corev1.Volume) *batchv1.Job {
	s := podSpec(volumes...)
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: s}}}
}

func cronJob(name string, volumes ...corev1.Volume) *batchv1.CronJob {
	s := podSpec(volumes...)
	return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: batchv1.CronJobSpec{
		Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: s}}}}}
}
