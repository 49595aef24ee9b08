package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/internal/testcluster"
	"github.com/selmount/selmount/mcsalloc"
)

// syncBuffer is a bytes.Buffer safe for the controller's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIntegrationControllerLeaderElection runs two `selmount controller
// --leader-elect` replicas against a real apiserver: only the leader writes
// events and status; when it stops, the other takes over and writes; then
// `selmount status` prints the cluster object.
func TestIntegrationControllerLeaderElection(t *testing.T) {
	cl := testcluster.Start(t, testcluster.Options{})
	cs := cl.Client()
	ctx := t.Context()
	installCRDs(t, cl)
	for _, ns := range []string{"selmount-system", "team"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
	}
	must(t, create(ctx, cs, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr(true)}}))
	must(t, create(ctx, cs, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-shared"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "h"}},
	}}))
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
		VolumeName: "pv-shared", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	claim, err := cs.CoreV1().PersistentVolumeClaims("team").Create(ctx, claim, metav1.CreateOptions{})
	must(t, err)
	claim.Status.Phase = corev1.ClaimBound
	_, err = cs.CoreV1().PersistentVolumeClaims("team").UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	must(t, err)
	must(t, create(ctx, cs, leDeployment("web", "s0:c1,c2", 0)))
	must(t, create(ctx, cs, leDeployment("db", "s0:c3,c4", 1)))

	// Act: two replicas, the first with Go's profiles on its metrics
	// endpoint.
	run := func(probe string, more ...string) *running {
		return start(t, ctx, append([]string{"controller", "--kubeconfig", cl.Kubeconfig(), "--leader-elect", "--leader-elect-namespace", "selmount-system",
			"--health-probe-bind-address", probe, "-v", "2"}, more...)...)
	}
	metrics, otherMetrics := freeAddr(t), freeAddr(t)
	first := run("127.0.0.1:0", "--metrics-bind-address", metrics, "--metrics-secure=false", "--profiling")
	testcluster.Eventually(t, "the first replica to lead", 30*time.Second, func() error {
		if !strings.Contains(first.logs.String(), "Became the leader") {
			return fmt.Errorf("not leading yet")
		}
		return nil
	})
	probe := freeAddr(t)
	second := run(probe, "--metrics-bind-address", otherMetrics, "--metrics-secure=false")
	// Its probes: /healthz at once, /readyz once the informers synced (a
	// follower is ready too: it keeps its caches and metrics).
	for _, path := range []string{"/healthz", "/readyz"} {
		testcluster.Eventually(t, "GET "+path, 30*time.Second, func() error {
			resp, err := http.Get("http://" + probe + path)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", path, resp.Status)
			}
			return nil
		})
	}

	// The profiles: served with --profiling only.
	for addr, want := range map[string]int{metrics: http.StatusOK, otherMetrics: http.StatusNotFound} {
		testcluster.Eventually(t, "GET /debug/pprof/heap on "+addr, 30*time.Second, func() error {
			resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != want {
				return fmt.Errorf("%s, want %d", resp.Status, want)
			}
			if want == http.StatusOK && !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) { // a gzipped profile
				return fmt.Errorf("not a profile: %.40q", body)
			}
			return nil
		})
	}

	// Assert: one event per workload (two replicas that both wrote would
	// give two Event objects for each), and the status.
	countEvents := func(name string) int {
		list, err := cs.EventsV1().Events("team").List(ctx, metav1.ListOptions{})
		must(t, err)
		n := 0
		for _, e := range list.Items {
			if e.Reason == controller.ReasonConflict && e.Regarding.Name == name {
				n++
			}
		}
		return n
	}
	testcluster.Eventually(t, "the leader's events", 30*time.Second, func() error {
		if countEvents("web") != 1 || countEvents("db") != 1 {
			return fmt.Errorf("events: web %d, db %d", countEvents("web"), countEvents("db"))
		}
		return nil
	})
	time.Sleep(2 * time.Second) // the follower has synced by now
	if countEvents("web") != 1 || countEvents("db") != 1 {
		t.Errorf("both replicas wrote events: web %d, db %d\nsecond replica:\n%s", countEvents("web"), countEvents("db"), second.logs)
	}
	if strings.Contains(second.logs.String(), "Became the leader") {
		t.Fatalf("the second replica leads while the first runs")
	}

	// Act: stop the leader.
	first.stop()
	// Assert: the other takes over and writes (its own event per workload).
	testcluster.Eventually(t, "the second replica to take over", 30*time.Second, func() error {
		if !strings.Contains(second.logs.String(), "Became the leader") {
			return fmt.Errorf("not leading yet")
		}
		if countEvents("web") != 2 {
			return fmt.Errorf("events on web: %d", countEvents("web"))
		}
		return nil
	})
	// The new leader writes the status when the answer changes: fix db.
	d, err := cs.AppsV1().Deployments("team").Get(ctx, "db", metav1.GetOptions{})
	must(t, err)
	d.Spec.Template.Spec.SecurityContext.SELinuxOptions.Level = "s0:c1,c2"
	_, err = cs.AppsV1().Deployments("team").Update(ctx, d, metav1.UpdateOptions{})
	must(t, err)
	var out bytes.Buffer
	testcluster.Eventually(t, "selmount status to show no conflict", 30*time.Second, func() error {
		out.Reset()
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &out)
		root.SetArgs([]string{"status", "--kubeconfig", cl.Kubeconfig()})
		if err := root.ExecuteContext(ctx); err != nil {
			return fmt.Errorf("%v: %s", err, out.String())
		}
		if !strings.Contains(out.String(), "ConflictsPresent: False") {
			return fmt.Errorf("status:\n%s", out.String())
		}
		return nil
	})
	t.Logf("selmount status:\n%s", out.String())
}

// installCRDs creates selmount's CustomResourceDefinitions.
func installCRDs(t *testing.T, cl *testcluster.Cluster) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cl.RESTConfig())
	must(t, err)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, f := range []string{"selmount.io_clusterselinuxreports.yaml", "selmount.io_selinuxreports.yaml"} {
		raw, err := os.ReadFile("../../deploy/crds/" + f)
		must(t, err)
		u := &unstructured.Unstructured{}
		must(t, yaml.Unmarshal(raw, &u.Object))
		_, err = dyn.Resource(crds).Create(t.Context(), u, metav1.CreateOptions{})
		must(t, err)
	}
}

func leDeployment(name, level string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name}, Spec: appsv1.DeploymentSpec{
		Replicas: &replicas,
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}},
			Containers:      []corev1.Container{{Name: "app", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes:         []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
		}}}}
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// running is a selmount command running in the test's process.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	logs   *syncBuffer
}

// start runs selmount with args until the test ends (or stop), failing the
// test if the command returns an error.
func start(t *testing.T, ctx context.Context, args ...string) *running {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	r := &running{cancel: cancel, done: make(chan struct{}), logs: &syncBuffer{}}
	root := NewRootCmd("selmount", strings.NewReader(""), r.logs, r.logs)
	root.SetArgs(args)
	go func() {
		defer close(r.done)
		if err := root.ExecuteContext(rctx); err != nil {
			t.Errorf("selmount %s: %v\n%s", args[0], err, r.logs)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// stop cancels the command and waits for it to return.
func (r *running) stop() {
	r.cancel()
	<-r.done
}

// optInCluster starts a cluster with the status CRDs, selmount's namespace
// selmount-system and the namespace "team", opted in to the pod defaults.
func optInCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	cl := testcluster.Start(t, testcluster.Options{})
	installCRDs(t, cl)
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "selmount-system"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: map[string]string{mutate.OptInLabel: mutate.OptInValue}}},
	} {
		_, err := cl.Client().CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{})
		must(t, err)
	}
	return cl
}

// allocatedLevel waits for the level allocator to annotate namespace ns and
// returns the level.
func allocatedLevel(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	var level string
	testcluster.Eventually(t, "the namespace's level", 60*time.Second, func() error {
		n, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if level = n.Annotations[mcsalloc.Annotation]; level == "" {
			return fmt.Errorf("no %s yet", mcsalloc.Annotation)
		}
		return nil
	})
	return level
}
