// Package testcluster runs a real Kubernetes control plane for integration
// tests: etcd and kube-apiserver, and on request kube-controller-manager, as
// child processes of the test, bound to 127.0.0.1 on free ports.
//
// The binaries come from hack/k8s-bins/build.sh. They are looked up in the
// directory named by $SELMOUNT_K8S_BINS, by default hack/k8s-bins/bin of the
// repository. When they are missing, Start skips the test, unless
// $SELMOUNT_REQUIRE_INTEGRATION=1, when it fails it (CI sets this, so a
// broken build cannot pass as skipped tests).
//
// Everything a cluster creates lives in the test's t.TempDir(): etcd's data,
// certificates, kubeconfigs and one log file per process. The processes are
// stopped in t.Cleanup, controller-manager first, then the apiserver, then
// etcd; each gets SIGTERM and, after 10 seconds, SIGKILL. When the test has
// failed, the end of each log is printed. On Linux the kernel also kills the
// processes if the test binary dies without cleaning up.
//
// Name tests that use this package TestIntegration*, so that
// hack/test.d/30-integration.sh (go test -run Integration ./...) runs them.
// A cluster starts in about 3 seconds; share one between subtests where the
// tests allow it.
package testcluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Environment variables read by Start.
const (
	// EnvBins names the directory holding etcd, kube-apiserver and
	// kube-controller-manager.
	EnvBins = "SELMOUNT_K8S_BINS"
	// EnvRequire, set to 1, turns a skip for missing binaries into a failure.
	EnvRequire = "SELMOUNT_REQUIRE_INTEGRATION"
)

// Options configures the apiserver. The zero value starts it with the
// release's default feature gates.
type Options struct {
	// FeatureGates is passed as --feature-gates, e.g. "SELinuxMount=true".
	FeatureGates string
	// APIServerFlags are appended to the apiserver's command line, after the
	// harness's own flags, e.g. "--runtime-config=api/all=true".
	APIServerFlags []string
}

// Cluster is a running etcd and kube-apiserver. RESTConfig, Kubeconfig and
// Client may be called from any goroutine.
type Cluster struct {
	dir        string // the test's temp dir: certificates, kubeconfigs, logs
	pki        *pki
	apiServer  string // https://127.0.0.1:port
	admin      keyPair
	config     *rest.Config
	client     kubernetes.Interface
	kubeconfig string
}

// Start starts etcd and kube-apiserver, waits for the apiserver's /readyz,
// and stops both when the test ends. It skips or fails t when the binaries
// are missing (see the package documentation) and fails t when the cluster
// does not come up.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bins := binDir(t, "etcd", "kube-apiserver")
	// Created before any cleanup is registered, so it is removed after all
	// processes have stopped and their logs have been printed.
	dir := t.TempDir()
	ctx := t.Context()

	p, err := newPKI()
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	serving, err := p.serving("kube-apiserver")
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	admin, err := p.client("selmount-admin", "system:masters")
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	files := map[string][]byte{
		"ca.crt":        p.caPEM,
		"ca.key":        p.caKeyPEM,
		"apiserver.crt": serving.certPEM,
		"apiserver.key": serving.keyPEM,
		"sa.key":        p.saKeyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("testcluster: %v", err)
		}
	}

	ports := FreePorts(t, 3)
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	etcdPeer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	etcd := startProcess(t, "etcd", dir, filepath.Join(bins, "etcd"),
		"--name=testcluster",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdClient,
		"--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer,
		"--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=testcluster="+etcdPeer,
		"--unsafe-no-fsync",
	)
	if err := etcd.waitFor(ctx, 30*time.Second, httpOK(http.DefaultClient, etcdClient+"/health")); err != nil {
		t.Fatalf("testcluster: %v", err)
	}

	c := &Cluster{
		dir:       dir,
		pki:       p,
		apiServer: "https://127.0.0.1:" + strconv.Itoa(ports[2]),
		admin:     admin,
	}
	args := []string{
		"--etcd-servers=" + etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[2]),
		// v1.37 refuses a loopback advertise address unless nothing
		// reconciles the kubernetes service's endpoints.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--tls-cert-file=" + filepath.Join(dir, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(dir, "ca.crt"),
		"--authorization-mode=RBAC",
		// Pods then need no "default" ServiceAccount, which only the
		// optional controller-manager would create.
		"--disable-admission-plugins=ServiceAccount",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--allow-privileged=true", // as kubeadm sets it
	}
	if opts.FeatureGates != "" {
		args = append(args, "--feature-gates="+opts.FeatureGates)
	}
	args = append(args, opts.APIServerFlags...)
	apiserver := startProcess(t, "kube-apiserver", dir, filepath.Join(bins, "kube-apiserver"), args...)

	c.config = &rest.Config{
		Host: c.apiServer,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   p.caPEM,
			CertData: admin.certPEM,
			KeyData:  admin.keyPEM,
		},
		QPS:   100,
		Burst: 200,
	}
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	c.client = client
	readyz := func(ctx context.Context) (bool, error) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, fmt.Errorf("/readyz: %w: %s", err, body)
		}
		return true, nil
	}
	if err := apiserver.waitFor(ctx, 90*time.Second, readyz); err != nil {
		t.Fatalf("testcluster: %v", err)
	}

	c.kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := c.writeKubeconfig(c.kubeconfig, "selmount-admin", admin); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return c
}

// RESTConfig returns a copy of the admin client configuration (a
// system:masters client certificate).
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// Kubeconfig returns the path of a kubeconfig file with the same admin
// credentials, embedded, for commands run with --kubeconfig.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Client returns an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// writeKubeconfig writes a self-contained kubeconfig for user.
func (c *Cluster) writeKubeconfig(path, user string, cred keyPair) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testcluster"] = &clientcmdapi.Cluster{
		Server:                   c.apiServer,
		CertificateAuthorityData: c.pki.caPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cred.certPEM,
		ClientKeyData:         cred.keyPEM,
	}
	cfg.Contexts["testcluster"] = &clientcmdapi.Context{Cluster: "testcluster", AuthInfo: user}
	cfg.CurrentContext = "testcluster"
	return clientcmd.WriteToFile(*cfg, path)
}

// binDir returns the directory with the control-plane binaries, or skips or
// fails t when one of names is missing from it.
func binDir(t testing.TB, names ...string) string {
	t.Helper()
	dir := os.Getenv(EnvBins)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("testcluster: %v; set %s", err, EnvBins)
		}
		dir = filepath.Join(root, "hack", "k8s-bins", "bin")
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			msg := fmt.Sprintf("testcluster: no %s in %s (run hack/k8s-bins/build.sh or set %s)", name, dir, EnvBins)
			if os.Getenv(EnvRequire) == "1" {
				t.Fatalf("%s; %s=1 requires it", msg, EnvRequire)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// repoRoot finds the selmount module root above the working directory, which
// go test sets to the directory of the package under test.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			f.Close()
			if strings.TrimSpace(line) == "module github.com/selmount/selmount" {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no selmount go.mod above the working directory")
		}
		dir = parent
	}
}

// RepoRoot returns the selmount module root (for tests that build the
// command or read deploy/), failing t when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1. All are
// held open until every one is chosen, so they differ from each other.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testcluster: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// httpOK is a readiness check: a GET of url answers 200.
func httpOK(client *http.Client, url string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return true, nil
	}
}

// Eventually calls f until it returns nil and fails the test with what and
// f's last error when it still fails after timeout. For asserting on what
// a controller or the apiserver does asynchronously.
func Eventually(t testing.TB, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Parallel runs f(i) for i in [0, n) on workers goroutines, as a benchmark
// fills a cluster, and fails t on the first error; AlreadyExists counts as
// done (a retried create).
func Parallel(t testing.TB, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil && !apierrors.IsAlreadyExists(err) {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
