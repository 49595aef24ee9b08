package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/selmount/selmount/internal/testcluster"
)

// EnvImage names the OCI archive written by hack/image.sh.
const envImage = "SELMOUNT_IMAGE"

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestIntegrationDeployImage runs the container image the way the kubelet
// would, against a real kube-apiserver: the kustomize base installed, the
// service account's token and the cluster CA where in-cluster clients look
// for them, KUBERNETES_SERVICE_HOST/PORT set, no flags but the probe
// address. The controller must answer /readyz (informers synced) with the
// base's RBAC and nothing more. Until the image has the controller, the
// test runs `selmount check -A` the same way and then skips. It runs the image with buildah (chroot
// isolation, the host's network), from $SELMOUNT_IMAGE
// (hack/test.d/35-image.sh builds it).
func TestIntegrationDeployImage(t *testing.T) {
	archive := os.Getenv(envImage)
	if archive == "" {
		t.Skipf("%s not set: build the image with hack/image.sh and set it to the archive", envImage)
	}
	buildah, err := exec.LookPath("buildah")
	if err != nil {
		skipOrFail(t, "no buildah (apt-get install buildah)")
	}
	rs := renderings(t)
	c := testcluster.Start(t, testcluster.Options{})
	ctx := t.Context()

	// Arrange: the base installed for real, a token for its service account.
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client().Discovery()))}
	for _, kind := range []string{"CustomResourceDefinition", ""} {
		for _, o := range rs[0].objs {
			if (kind == "") != (o.GetKind() != "CustomResourceDefinition") {
				continue
			}
			if err := a.apply(ctx, o, false); err != nil {
				t.Fatal(err)
			}
		}
		a.mapper.Reset()
	}
	tr, err := c.Client().CoreV1().ServiceAccounts(namespace).CreateToken(ctx, saName,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", namespace, saName, err)
	}
	cfg := c.RESTConfig()
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	host, apiPort, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	saDir := t.TempDir()
	for name, data := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": cfg.CAData, "namespace": []byte(namespace)} {
		if err := os.WriteFile(filepath.Join(saDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(saDir, 0o755); err != nil { // the image runs as 65532
		t.Fatal(err)
	}

	store := []string{"--storage-driver", "vfs"}
	out, err := exec.CommandContext(ctx, buildah, append(store, "from", "oci-archive:"+archive)...).Output()
	if err != nil {
		t.Fatalf("buildah from oci-archive:%s: %v", archive, exitErr(err))
	}
	ctr := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command(buildah, append(store, "rm", ctr)...).Run() })
	runArgs := func(args ...string) []string {
		return append(append(store, "run", "--isolation", "chroot",
			"--volume", saDir+":/var/run/secrets/kubernetes.io/serviceaccount:ro",
			"--env", "KUBERNETES_SERVICE_HOST="+host, "--env", "KUBERNETES_SERVICE_PORT="+apiPort,
			"--env", "POD_NAMESPACE="+namespace, ctr, "--"), args...)
	}
	// The in-cluster plumbing, with what the image has today: `selmount
	// check -A` finds the apiserver, trusts its CA and reads the cluster as
	// the controller's service account.
	out, err = exec.CommandContext(ctx, buildah, runArgs("/selmount", "check", "-A")...).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("selmount check (cluster)")) {
		t.Fatalf("selmount check -A in the image, in-cluster: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, buildah, runArgs("/selmount", "controller", "--help")...).CombinedOutput(); err != nil {
		t.Fatalf("selmount controller --help in the image: %v\n%s", err, out)
	}

	// Act: start the controller as the Deployment does, one replica.
	probePort := freePort(t)
	cmd := exec.Command(buildah, runArgs("/selmount", "controller",
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
		"--metrics-bind-address=0", "--log-format=json")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the process group this test started
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("controller output:\n%s", logs.String())
		}
	})

	// Assert: /readyz answers 200 within a minute.
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)
	client := &http.Client{Timeout: 2 * time.Second}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("the controller exited: %v", err)
		default:
		}
		resp, err := client.Get(readyz)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s: %v", readyz, err)
	}
}

func ptr[T any](v T) *T { return &v }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func exitErr(err error) error {
	if ee, ok := err.(*exec.ExitError); ok {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}
