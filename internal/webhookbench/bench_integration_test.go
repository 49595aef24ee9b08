package webhookbench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/internal/testcluster"
)

const (
	driver       = "bench.csi.selmount.io"
	benchNSCount = 100
	levelA       = "s0:c1,c2"
	levelB       = "s0:c3,c4"
)

// TestIntegrationWebhookBench: see the package documentation and
// hack/bench-webhook.sh for the variables.
func TestIntegrationWebhookBench(t *testing.T) {
	if os.Getenv("SELMOUNT_BENCH_WEBHOOK") != "1" {
		t.Skip("SELMOUNT_BENCH_WEBHOOK=1 runs the webhook benchmark (hack/bench-webhook.sh)")
	}
	pods := envInt(t, "SELMOUNT_BENCH_WEBHOOK_PODS", 100_000)
	requests := envInt(t, "SELMOUNT_BENCH_WEBHOOK_REQUESTS", 5_000)
	perRound := envInt(t, "SELMOUNT_BENCH_WEBHOOK_CREATE", 2_000)
	rounds := envInt(t, "SELMOUNT_BENCH_WEBHOOK_ROUNDS", 5)
	workers := envInt(t, "SELMOUNT_BENCH_WEBHOOK_WORKERS", 16)

	bin := build(t, "./cmd/selmount")
	nullBin := build(t, "./internal/webhookbench/nullwebhook")
	cl := testcluster.Start(t, testcluster.Options{})
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = 20_000, 40_000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := t.Context()

	began := time.Now()
	populate(t, ctx, client, pods, workers)
	t.Logf("index: %d pods created in %v", pods, time.Since(began).Round(time.Second))

	certDir, caPEM := serveCert(t)
	w := startWebhook(t, bin, cl.Kubeconfig(), certDir)
	began = time.Now()
	w.waitReady(t, 15*time.Minute)
	t.Logf("webhook ready %v after start, RSS %d MiB", time.Since(began).Round(time.Second), w.rssMiB())

	null := startNull(t, nullBin, certDir)

	lat := latency(t, w, caPEM, requests, pods)
	tp := throughput(t, ctx, cfg, w, null, caPEM, rounds, perRound, workers, pods, false)
	owned := throughput(t, ctx, cfg, w, null, caPEM, rounds, perRound, workers, pods, true)

	var b strings.Builder
	fmt.Fprintf(&b, "Index: %d pods (%d namespaces, every tenth pod sharing its neighbour's claim with another level); webhook RSS %d MiB.\n\n", pods, benchNSCount, w.rssMiB())
	b.WriteString("| webhook path | requests | median | p99 | mean | answered with warnings |\n|---|---|---|---|---|---|\n")
	for _, l := range lat {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %d |\n", l.path, l.n, ms(l.p50), ms(l.p99), ms(l.mean), l.warned)
	}
	for _, set := range []struct {
		what   string
		rounds []round
	}{
		{"Pods created directly (both webhooks called for each)", tp},
		{"Pods with a controller owner, as a ReplicaSet or Job creates them (the validating webhook skipped by its matchCondition; /mutate called)", owned},
	} {
		fmt.Fprintf(&b, "\n%s, pods per second:\n\n| round | pods created | no webhook | null webhook | selmount | selmount ÷ no webhook | null ÷ no webhook | selmount ÷ null |\n|---|---|---|---|---|---|---|---|\n", set.what)
		var ratios, nullRatios, vsNull []float64
		for i, r := range set.rounds {
			ratios = append(ratios, r.with/r.without)
			nullRatios = append(nullRatios, r.null/r.without)
			vsNull = append(vsNull, r.with/r.null)
			fmt.Fprintf(&b, "| %d | 3 × %d | %.0f | %.0f | %.0f | %.0f%% | %.0f%% | %.0f%% |\n", i+1, perRound, r.without, r.null, r.with,
				100*r.with/r.without, 100*r.null/r.without, 100*r.with/r.null)
		}
		fmt.Fprintf(&b, "\nMedians: selmount %.0f%% of no webhook (goal: at least 90%%); the null webhook %.0f%% of no webhook; selmount %.0f%% of the null webhook.\n",
			100*median(ratios), 100*median(nullRatios), 100*median(vsNull))
	}
	t.Log("\n" + b.String())
	if out := os.Getenv("SELMOUNT_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// build builds the command pkg into the test's temp dir.
func build(t *testing.T, pkg string) string {
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = testcluster.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// chartWebhooks renders the Helm chart's webhook configurations, so that the
// benchmark registers exactly what users install (rules, matchConditions,
// selectors, timeouts), and points them at url with caPEM instead of the
// in-cluster Service.
func chartWebhooks(t *testing.T, url string, caPEM []byte) (*admissionregv1.ValidatingWebhookConfiguration, *admissionregv1.MutatingWebhookConfiguration) {
	cmd := exec.Command("bash", "hack/tools/helm.sh", "template", "selmount", "deploy/helm/selmount", "--namespace", "selmount-system")
	cmd.Dir = testcluster.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	var vwc *admissionregv1.ValidatingWebhookConfiguration
	var mwc *admissionregv1.MutatingWebhookConfiguration
	client := func(c *admissionregv1.WebhookClientConfig) {
		path := "/"
		if c.Service != nil && c.Service.Path != nil {
			path = *c.Service.Path
		}
		u := url + path
		*c = admissionregv1.WebhookClientConfig{URL: &u, CABundle: caPEM}
	}
	for doc := range strings.SplitSeq(string(out), "\n---") {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("helm template output: %v", err)
		}
		switch tm.Kind {
		case "ValidatingWebhookConfiguration":
			vwc = &admissionregv1.ValidatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict([]byte(doc), vwc); err != nil {
				t.Fatal(err)
			}
			for i := range vwc.Webhooks {
				client(&vwc.Webhooks[i].ClientConfig)
			}
		case "MutatingWebhookConfiguration":
			mwc = &admissionregv1.MutatingWebhookConfiguration{}
			if err := yaml.UnmarshalStrict([]byte(doc), mwc); err != nil {
				t.Fatal(err)
			}
			for i := range mwc.Webhooks {
				client(&mwc.Webhooks[i].ClientConfig)
			}
		}
	}
	if vwc == nil || mwc == nil {
		t.Fatal("the chart renders no webhook configurations (webhook.enabled?)")
	}
	return vwc, mwc
}

// Objects laid out as the controller benchmark's: benchNSCount namespaces,
// each pod with its own claim and CSI volume but every tenth, which shares
// its neighbour's claim with another level.

func nsName(i int) string { return fmt.Sprintf("bench-%d", i%benchNSCount) }

func pv(name, handle string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}},
		},
	}
}

func pvc(ns, name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:  volume,
		},
	}
}

func pod(ns, name, claim, level string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
	if level != "" {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}}
	}
	return p
}

func populate(t *testing.T, ctx context.Context, c kubernetes.Interface, pods, workers int) {
	yes := true
	if _, err := c.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: driver},
		Spec: storagev1.CSIDriverSpec{SELinuxMount: &yes}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range benchNSCount {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i),
			Labels:      map[string]string{"selmount.io/selinux-defaults": "enabled"},
			Annotations: map[string]string{"selmount.io/mcs-level": fmt.Sprintf("s0:c%d,c%d", 10+2*i, 11+2*i)}}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create := metav1.CreateOptions{}
	testcluster.Parallel(t, pods, workers, func(i int) error {
		ns, claim, level := nsName(i), fmt.Sprintf("c%d", i), levelA
		if i%10 == 1 {
			ns, claim, level = nsName(i-1), fmt.Sprintf("c%d", i-1), levelB
		} else {
			name := fmt.Sprintf("pv%d", i)
			if _, err := c.CoreV1().PersistentVolumes().Create(ctx, pv(name, name), create); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			got, err := c.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc(ns, claim, name), create)
			if err != nil {
				return err
			}
			// No PV controller runs: bind the claim as it would.
			got.Status.Phase = corev1.ClaimBound
			if _, err := c.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		_, err := c.CoreV1().Pods(ns).Create(ctx, pod(ns, fmt.Sprintf("p%d", i), claim, level), create)
		return err
	})
}

// serveCert writes a CA-signed serving certificate for 127.0.0.1 into a
// directory as tls.crt and tls.key, and returns the directory and the CA.
func serveCert(t *testing.T) (string, []byte) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webhookbench CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

type webhookProc struct {
	cmd        *exec.Cmd
	webhookURL string // https://127.0.0.1:port
	probeURL   string
	logPath    string
}

func startWebhook(t *testing.T, bin, kubeconfig, certDir string) *webhookProc {
	ports := testcluster.FreePorts(t, 3)
	hook, probe, metrics := ports[0], ports[1], ports[2]
	w := &webhookProc{webhookURL: fmt.Sprintf("https://127.0.0.1:%d", hook), probeURL: fmt.Sprintf("http://127.0.0.1:%d", probe),
		logPath: filepath.Join(t.TempDir(), "webhook.log")}
	logf, err := os.Create(w.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{bin, "webhook", "--kubeconfig", kubeconfig, "--leader-elect=false",
		"--webhook-bind-address", fmt.Sprintf("127.0.0.1:%d", hook), "--cert-dir", certDir,
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe),
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics), "--metrics-secure=false"}
	if cpus := os.Getenv("SELMOUNT_BENCH_WEBHOOK_CPUS"); cpus != "" {
		// The webhook on CPUs of its own, as on a worker node apart from
		// the control plane (hack/bench-webhook.sh pins the rest).
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	w.cmd = exec.Command(args[0], args[1:]...)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = w.cmd.Process.Kill()
		}
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(w.logPath)
			t.Logf("webhook log (end):\n%s", tail(out, 4000))
		}
	})
	return w
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (w *webhookProc) waitReady(t *testing.T, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if w.cmd.ProcessState != nil {
			t.Fatal("the webhook exited")
		}
		resp, err := http.Get(w.probeURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the webhook was not ready within %v", timeout)
}

// cpuTicks is the CPU time the webhook process has used, in clock ticks
// (utime + stime of /proc/PID/stat).
func (w *webhookProc) cpuTicks() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	// The command name may hold spaces: fields count from its closing paren.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return u + k
}

// settle waits until the webhook process is idle (under a tenth of a CPU
// for two half seconds in a row): the informer events and syncs of the
// previous round are done, so that a round does not pay for the one before.
func (w *webhookProc) settle(t *testing.T) {
	const window, idleTicks = 500 * time.Millisecond, 5 // 5 ticks of 10 ms in 500 ms: 10%
	deadline := time.Now().Add(2 * time.Minute)
	prev, quiet := w.cpuTicks(), 0
	for time.Now().Before(deadline) {
		time.Sleep(window)
		cur := w.cpuTicks()
		if cur-prev <= idleTicks {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet = 0
		}
		prev = cur
	}
	t.Logf("the webhook process was still busy after 2 minutes; measuring anyway")
}

func (w *webhookProc) rssMiB() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb >> 10
		}
	}
	return -1
}

type latencyResult struct {
	path           string
	n, warned      int
	p50, p99, mean time.Duration
}

func review(t *testing.T, obj runtime.Object, ns, name string) []byte {
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ar := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(fmt.Sprintf("bench-%s-%s", ns, name)), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: ns, Name: name,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tlsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4, ForceAttemptHTTP2: true}}
}

// latency sends AdmissionReviews one after another over one kept-alive TLS
// connection, as the apiserver does, and times each answer. Half the pods
// join a volume with a conflict (a warning to write), half a volume where
// they conflict with nobody.
func latency(t *testing.T, w *webhookProc, caPEM []byte, n, pods int) []latencyResult {
	hc := tlsClient(caPEM)
	var out []latencyResult
	for _, path := range []string{"/validate", "/mutate"} {
		bodies := make([][]byte, n)
		for k := range bodies {
			// Even requests join a claim whose users conflict (pods 10j
			// and 10j+1), odd ones a claim of one pod, with its level.
			i := (k * 10) % pods
			level := levelB
			if k%2 == 1 {
				i, level = (k*10+2)%pods, levelA
			}
			if path == "/mutate" {
				level = "" // the namespace's level is applied
			}
			ns, name := nsName(i), fmt.Sprintf("lat-%d", k)
			bodies[k] = review(t, pod(ns, name, fmt.Sprintf("c%d", i), level), ns, name)
		}
		send := func(body []byte) (bool, error) {
			resp, err := hc.Post(w.webhookURL+path, "application/json", bytes.NewReader(body))
			if err != nil {
				return false, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return false, err
			}
			if resp.StatusCode != http.StatusOK {
				return false, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, b)
			}
			var ar admissionv1.AdmissionReview
			if err := json.Unmarshal(b, &ar); err != nil || ar.Response == nil {
				return false, fmt.Errorf("%s: not an AdmissionReview: %v: %s", path, err, b)
			}
			return len(ar.Response.Warnings) > 0, nil
		}
		for k := range min(200, n) { // warm the connection and the caches
			if _, err := send(bodies[k]); err != nil {
				t.Fatal(err)
			}
		}
		ds := make([]time.Duration, n)
		warned := 0
		var sum time.Duration
		for k, body := range bodies {
			start := time.Now()
			wn, err := send(body)
			ds[k] = time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			sum += ds[k]
			if wn {
				warned++
			}
		}
		slices.Sort(ds)
		r := latencyResult{path: path, n: n, warned: warned, p50: ds[n/2], p99: ds[n*99/100], mean: sum / time.Duration(n)}
		if path == "/validate" && warned != (n+1)/2 {
			t.Errorf("/validate warned about %d of %d pods, want the %d that conflict", warned, n, (n+1)/2)
		}
		out = append(out, r)
	}
	return out
}

// round is the pods per second without a webhook, with the null webhook
// and with selmount's.
type round struct{ without, null, with float64 }

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// nullProc is the null webhook (./nullwebhook): the cost of any webhook.
type nullProc struct {
	cmd *exec.Cmd
	url string
}

func startNull(t *testing.T, bin, certDir string) *nullProc {
	addr := fmt.Sprintf("127.0.0.1:%d", testcluster.FreePorts(t, 1)[0])
	args := []string{bin, "-addr", addr, "-cert-dir", certDir}
	if cpus := os.Getenv("SELMOUNT_BENCH_WEBHOOK_CPUS"); cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	n := &nullProc{cmd: exec.Command(args[0], args[1:]...), url: "https://" + addr}
	n.cmd.Stderr = os.Stderr
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.cmd.Process.Kill(); _ = n.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for n.count(t) < 0 {
		if time.Now().After(deadline) {
			t.Fatal("the null webhook did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// count is the reviews the null webhook answered, -1 when it cannot say.
func (n *nullProc) count(t *testing.T) int {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get(n.url + "/count")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c, err := strconv.Atoi(string(b))
	if err != nil {
		return -1
	}
	return c
}

// throughput creates pods through the apiserver with workers clients in
// rounds of three, in an order that rotates from round to round: without
// webhook configurations, with the chart's pointed at the null webhook, and
// with them pointed at selmount; it returns pods per second of each.
// With owned, the pods have a controller owner reference, as the pods of a
// ReplicaSet or Job do.
func throughput(t *testing.T, ctx context.Context, cfg *rest.Config, w *webhookProc, null *nullProc, caPEM []byte, rounds, perRound, workers, pods int, owned bool) []round {
	c := kubernetes.NewForConfigOrDie(cfg)
	reg := c.AdmissionregistrationV1()

	// The pods of a round join existing claims of the index that one pod
	// uses (pods 10j+2), with that pod's level: the webhook analyses each
	// against the claim's users, and none conflicts, so no pod is warned
	// about. The namespaces are opted in to the mutation, and the pods set
	// a level but no change policy, so /mutate is called for each as well.
	create := func(name string) float64 {
		w.settle(t)
		start := time.Now()
		testcluster.Parallel(t, perRound, workers, func(k int) error {
			i := (k*10 + 2) % pods
			p := pod(nsName(i), fmt.Sprintf("%s-%d", name, k), fmt.Sprintf("c%d", i), levelA)
			if owned {
				// The owner need not exist: the benchmark runs no garbage collector.
				p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "bench",
					UID: "6f1c1a7e-0000-4000-8000-000000000001", Controller: ptr(true)}}
			}
			_, err := c.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
			return err
		})
		return float64(perRound) / time.Since(start).Seconds()
	}
	// called reports whether the apiserver calls the webhook at url: it
	// creates a conflicting pod with a dry run, which selmount warns
	// about and the null webhook counts.
	called := func(url string) bool {
		var warned atomic.Bool
		cfg := rest.CopyConfig(cfg)
		cfg.WarningHandler = warnFunc(func(string) { warned.Store(true) })
		pc := kubernetes.NewForConfigOrDie(cfg)
		isNull := url == null.url
		before := 0
		if isNull {
			before = null.count(t)
		}
		p := pod(nsName(0), "probe", "c0", levelB)
		if _, err := pc.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		if isNull {
			return null.count(t) > before
		}
		return warned.Load()
	}
	// probe waits until the apiserver calls the webhook at url (or stops
	// calling it).
	probe := func(url string, want bool) {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if called(url) == want {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the apiserver did not %s calling %s within 30 s", map[bool]string{true: "start", false: "stop"}[want], url)
	}
	with := func(url, name string) float64 {
		vwc, mwc := chartWebhooks(t, url, caPEM)
		if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		probe(url, true)
		rate := create(name)
		if err := reg.ValidatingWebhookConfigurations().Delete(ctx, vwc.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := reg.MutatingWebhookConfigurations().Delete(ctx, mwc.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		probe(url, false)
		return rate
	}
	prefix := "r"
	if owned {
		prefix = "o"
	}
	var out []round
	for r := range rounds {
		var rr round
		// Rotated, so that no case always runs first (on the smaller
		// store, after the longest rest).
		steps := []func(){
			func() { rr.without = create(fmt.Sprintf("%s%d-without", prefix, r)) },
			func() { rr.null = with(null.url, fmt.Sprintf("%s%d-null", prefix, r)) },
			func() { rr.with = with(w.webhookURL, fmt.Sprintf("%s%d-with", prefix, r)) },
		}
		for k := range steps {
			steps[(k+r)%len(steps)]()
		}
		t.Logf("round %d (owned %v): without %.0f pods/s, null webhook %.0f pods/s, selmount %.0f pods/s", r+1, owned, rr.without, rr.null, rr.with)
		out = append(out, rr)
	}
	return out
}

type warnFunc func(string)

func (f warnFunc) HandleWarningHeader(code int, _ string, text string) {
	if code == 299 {
		f(text)
	}
}

func ptr[T any](v T) *T { return &v }
