package testcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// KCM is a running kube-controller-manager.
type KCM struct {
	url    string // https://127.0.0.1:port of its secure port
	client *http.Client
	pid    int
}

// StartControllerManager starts kube-controller-manager against the cluster
// with --controllers set to controllers, e.g.
//
//	[]string{"persistentvolume-binder-controller", "selinux-warning-controller"}
//	[]string{"*", "selinux-warning-controller"} // the defaults plus a disabled-by-default one
//
// and featureGates, if not empty, as --feature-gates. It runs the way kubeadm
// runs it: as system:kube-controller-manager, each controller with its own
// service-account credentials, so RBAC is the upstream bootstrap policy. It
// waits for /healthz, which answers before the controllers have acted (poll
// for their effects), and is stopped when t ends, before the apiserver. Call
// it at most once per cluster at a time: controllers do not elect a leader.
func (c *Cluster) StartControllerManager(t testing.TB, controllers []string, featureGates string) *KCM {
	t.Helper()
	bins := binDir(t, "kube-controller-manager")
	dir := t.TempDir() // before the cleanup below, so removed after it

	cred, err := c.pki.client("system:kube-controller-manager")
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	serving, err := c.pki.serving("kube-controller-manager")
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	kubeconfig := filepath.Join(dir, "kcm.kubeconfig")
	if err := c.writeKubeconfig(kubeconfig, "system:kube-controller-manager", cred); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	for name, data := range map[string][]byte{"kcm.crt": serving.certPEM, "kcm.key": serving.keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("testcluster: %v", err)
		}
	}
	port := FreePorts(t, 1)[0]
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--client-ca-file=" + filepath.Join(c.dir, "ca.crt"),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + filepath.Join(dir, "kcm.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "kcm.key"),
		"--leader-elect=false",
		"--controllers=" + strings.Join(controllers, ","),
		"--use-service-account-credentials=true",
		// The client CA is given above; the apiserver has no request-header
		// CA for the lookup to find.
		"--authentication-skip-lookup=true",
		// The binder only binds Available volumes; a claim it first sees
		// next to a just-created volume waits for the next resync, 15s by
		// default.
		"--pvclaimbinder-sync-period=1s",
		"--service-account-private-key-file=" + filepath.Join(c.dir, "sa.key"),
		"--root-ca-file=" + filepath.Join(c.dir, "ca.crt"),
		"--cluster-signing-cert-file=" + filepath.Join(c.dir, "ca.crt"),
		"--cluster-signing-key-file=" + filepath.Join(c.dir, "ca.key"),
	}
	if featureGates != "" {
		args = append(args, "--feature-gates="+featureGates)
	}
	proc := startProcess(t, "kube-controller-manager", dir, filepath.Join(bins, "kube-controller-manager"), args...)

	// Scrapes authenticate with the admin certificate and are authorized
	// by the apiserver (a SubjectAccessReview), as a Prometheus would be.
	cert, err := tls.X509KeyPair(c.admin.certPEM, c.admin.keyPEM)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.pki.caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs:      roots,
		Certificates: []tls.Certificate{cert},
	}}
	t.Cleanup(transport.CloseIdleConnections)
	k := &KCM{
		url:    "https://127.0.0.1:" + strconv.Itoa(port),
		client: &http.Client{Timeout: 30 * time.Second, Transport: transport},
		pid:    proc.cmd.Process.Pid,
	}
	if err := proc.waitFor(t.Context(), 60*time.Second, httpOK(k.client, k.url+"/healthz")); err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return k
}

// PID returns the controller-manager's process ID, for benchmarks that read
// its memory from /proc.
func (k *KCM) PID() int { return k.pid }

// Metrics returns the controller-manager's /metrics in the Prometheus text
// format.
func (k *KCM) Metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s/metrics: %s: %s", k.url, resp.Status, body)
	}
	return string(body), nil
}
