package controller

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	promhttp "github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/controller/metricsauth"
	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationController runs the controller against a real
// kube-apiserver: a conflict between a Deployment scaled to zero and one in
// another namespace appears as Warning events (that do not name the other
// namespace), metrics and status within seconds; bad objects are reported
// and do not stop it; fixing one side clears everything; a deleted status
// object is recreated; the metrics endpoint checks tokens with the API
// server.
func TestIntegrationController(t *testing.T) {
	cl := testcluster.Start(t, testcluster.Options{})
	cs := cl.Client()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cl.RESTConfig())
	must(t, err)
	installCRDs(ctx, t, dyn)

	// Arrange: one CSI volume reached through a PV in each of "a" and "b".
	_, err = cs.StorageV1().CSIDrivers().Create(ctx, csiDriver(), metav1.CreateOptions{})
	must(t, err)
	for _, ns := range []string{"a", "b"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
		createBoundClaim(ctx, t, cs, ns, "data", "pv-"+ns, "csi.example.com", "shared")
	}
	// Bad objects: an invalid level, a claim without a volume, a missing
	// claim, a driver without a CSIDriver object.
	createBoundClaim(ctx, t, cs, "a", "unknown-driver", "pv-unknown", "nope.example.com", "h")
	_, err = cs.CoreV1().PersistentVolumeClaims("a").Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "pending"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}, metav1.CreateOptions{})
	must(t, err)
	bad := pod("a", "bad-level", "s0:c1,c2")
	bad.Spec.SecurityContext.SELinuxOptions.Level = "s0:c5000"
	_, err = cs.CoreV1().Pods("a").Create(ctx, bad, metav1.CreateOptions{})
	must(t, err)
	for _, claim := range []string{"pending", "missing", "unknown-driver"} {
		d := deployment("a", "uses-"+claim, "s0:c1,c2", 1)
		d.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = claim
		createDeployment(ctx, t, cs, d)
	}
	// The conflict: "web" is scaled to zero and still counts.
	createDeployment(ctx, t, cs, deployment("a", "web", "s0:c1,c2", 0))
	createDeployment(ctx, t, cs, deployment("b", "secret-db", "s0:c7,c9", 1))

	// Act: start the controller.
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	defer broadcaster.Shutdown()
	stopEvents, err := WriteEvents(ctx, broadcaster, cs.EventsV1())
	must(t, err)
	defer stopEvents()
	factory := informers.NewSharedInformerFactory(cs, 0)
	c, err := New(ctx, cs, factory, Options{Dynamic: dyn, Recorder: broadcaster.NewRecorder(scheme.Scheme, "selmount-controller"), Recheck: time.Second})
	must(t, err)
	factory.Start(ctx.Done())
	done := make(chan struct{})
	go func() { defer close(done); must(t, c.Run(ctx, 2)) }()
	defer func() { cancel(); <-done; factory.Shutdown() }()
	start := time.Now()

	// Assert: events on both sides, redacted.
	testcluster.Eventually(t, "conflict events in a and b", 15*time.Second, func() error {
		for ns, other := range map[string][]string{"a": {"secret-db", "c7,c9", "b/"}, "b": {"web", "c1,c2", "a/"}} {
			list, err := cs.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			found := false
			for _, e := range list.Items {
				if e.Reason != ReasonConflict {
					continue
				}
				found = true
				if e.Type != corev1.EventTypeWarning || e.Regarding.Kind != "Deployment" {
					return fmt.Errorf("event %s/%s: type %s regarding %+v", ns, e.Name, e.Type, e.Regarding)
				}
				for _, word := range other {
					if strings.Contains(e.Note, word) {
						t.Errorf("event in %s names %q of the other namespace: %s", ns, word, e.Note)
					}
				}
			}
			if !found {
				return fmt.Errorf("no %s event in %s", ReasonConflict, ns)
			}
		}
		return nil
	})
	// Status: the cluster object and the namespaced reports.
	testcluster.Eventually(t, "ClusterSELinuxReport with ConflictsPresent=True", 15*time.Second, func() error {
		return wantCondition(ctx, dyn, "ConflictsPresent", "True")
	})
	t.Logf("events and status after %v", time.Since(start))
	for ns, hidden := range map[string]string{"a": "secret-db", "b": "web"} {
		var raw []byte
		testcluster.Eventually(t, "the SELinuxReport of "+ns, 15*time.Second, func() error {
			u, err := dyn.Resource(ReportResource).Namespace(ns).Get(ctx, ReportName, metav1.GetOptions{})
			if err == nil {
				raw, _ = u.MarshalJSON()
			}
			return err
		})
		if bytes.Contains(raw, []byte(hidden)) {
			t.Errorf("the SELinuxReport of %s names %s of another namespace: %s", ns, hidden, raw)
		}
	}
	if got := gauge(t, c, "selmount_volumes_conflicting"); got != 1 {
		t.Errorf("selmount_volumes_conflicting = %v, want 1", got)
	}
	checkTenantReads(ctx, t, cl, cs)
	// The bad objects are reported, not fatal.
	if snap, _ := c.State().Snapshot(); snap.InputErrors == 0 {
		t.Errorf("the invalid level is not an input error: %+v", snap)
	}

	// A deleted status object comes back.
	must(t, dyn.Resource(ClusterReportResource).Delete(ctx, ClusterReportName, metav1.DeleteOptions{}))
	testcluster.Eventually(t, "the ClusterSELinuxReport recreated", 15*time.Second, func() error { return wantCondition(ctx, dyn, "ConflictsPresent", "True") })

	// The metrics endpoint asks the API server about tokens.
	checkMetricsAuth(ctx, t, cs, c)

	// Act: fix one side.
	fixed := deployment("b", "secret-db", "s0:c1,c2", 1)
	cur, err := cs.AppsV1().Deployments("b").Get(ctx, "secret-db", metav1.GetOptions{})
	must(t, err)
	cur.Spec.Template.Spec = fixed.Spec.Template.Spec
	_, err = cs.AppsV1().Deployments("b").Update(ctx, cur, metav1.UpdateOptions{})
	must(t, err)
	// Assert: status and metrics clear.
	testcluster.Eventually(t, "ConflictsPresent=False", 15*time.Second, func() error { return wantCondition(ctx, dyn, "ConflictsPresent", "False") })
	if got := gauge(t, c, "selmount_volumes_conflicting"); got != 0 {
		t.Errorf("after the fix selmount_volumes_conflicting = %v, want 0", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func installCRDs(ctx context.Context, t *testing.T, dyn dynamic.Interface) {
	t.Helper()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, f := range []string{"selmount.io_clusterselinuxreports.yaml", "selmount.io_selinuxreports.yaml"} {
		raw, err := os.ReadFile("../deploy/crds/" + f)
		must(t, err)
		u := &unstructured.Unstructured{}
		must(t, yaml.Unmarshal(raw, &u.Object))
		_, err = dyn.Resource(crds).Create(ctx, u, metav1.CreateOptions{})
		must(t, err)
	}
	testcluster.Eventually(t, "the CRDs served", 15*time.Second, func() error {
		_, err := dyn.Resource(ClusterReportResource).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		_, err = dyn.Resource(ReportResource).List(ctx, metav1.ListOptions{})
		return err
	})
}

func createBoundClaim(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, claim, pvName, driver, handle string) {
	t.Helper()
	_, err := cs.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pvName}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}},
	}}, metav1.CreateOptions{})
	must(t, err)
	c, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: claim},
		Spec: corev1.PersistentVolumeClaimSpec{VolumeName: pvName, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}, metav1.CreateOptions{})
	must(t, err)
	c.Status.Phase = corev1.ClaimBound
	_, err = cs.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, c, metav1.UpdateOptions{})
	must(t, err)
}

func createDeployment(ctx context.Context, t *testing.T, cs kubernetes.Interface, d *appsv1.Deployment) {
	t.Helper()
	d.UID = ""
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": d.Name}}
	d.Spec.Template.Labels = map[string]string{"app": d.Name}
	_, err := cs.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{})
	must(t, err)
}

func wantCondition(ctx context.Context, dyn dynamic.Interface, typ, status string) error {
	u, err := dyn.Resource(ClusterReportResource).Get(ctx, ClusterReportName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			if m["status"] != status {
				return fmt.Errorf("%s is %v, want %s", typ, m["status"], status)
			}
			return nil
		}
	}
	return fmt.Errorf("no condition %s in %v", typ, u.Object["status"])
}

func gauge(t *testing.T, c *Controller, name string) float64 {
	t.Helper()
	fams, err := c.NewRegistry("test").Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() == name && f.GetType() == dto.MetricType_GAUGE && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// checkMetricsAuth serves the metrics behind metricsauth and scrapes them
// with no token, a token without RBAC and a token allowed /metrics.
func checkMetricsAuth(ctx context.Context, t *testing.T, cs kubernetes.Interface, c *Controller) {
	t.Helper()
	tlsCfg, err := metricsauth.TLSConfig("")
	must(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	h := metricsauth.NewAuthorizer(cs, "/metrics").Wrap(promhttp.HandlerFor(c.NewRegistry("test"), promhttp.HandlerOpts{}))
	go func() { _ = metricsauth.ServeListener(sctx, ln, h, tlsCfg) }()
	_, err = cs.CoreV1().ServiceAccounts("a").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper"}}, metav1.CreateOptions{})
	must(t, err)
	tr, err := cs.CoreV1().ServiceAccounts("a").CreateToken(ctx, "scraper", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	must(t, err)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	scrape := func(token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+ln.Addr().String()+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := scrape(""); got != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", got)
	}
	if got := scrape("not-a-token"); got != http.StatusUnauthorized {
		t.Errorf("invalid token: %d, want 401", got)
	}
	if got := scrape(tr.Status.Token); got != http.StatusForbidden {
		t.Errorf("token without RBAC: %d, want 403", got)
	}
	_, err = cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "a", Name: "scraper"}}}, metav1.CreateOptions{})
	must(t, err)
	// A new token: the answer for the first one is cached for a minute.
	tr2, err := cs.CoreV1().ServiceAccounts("a").CreateToken(ctx, "scraper", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	must(t, err)
	testcluster.Eventually(t, "an allowed scrape", 15*time.Second, func() error {
		if got := scrape(tr2.Status.Token); got != http.StatusOK {
			return fmt.Errorf("allowed token: %d", got)
		}
		return nil
	})
}

// checkTenantReads checks that a tenant with a Role in namespace a reads
// a's SELinuxReport, and neither b's nor the cluster object.
func checkTenantReads(ctx context.Context, t *testing.T, cl *testcluster.Cluster, cs kubernetes.Interface) {
	t.Helper()
	_, err := cs.RbacV1().Roles("a").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "report-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{Group}, Resources: []string{"selinuxreports"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{})
	must(t, err)
	_, err = cs.RbacV1().RoleBindings("a").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "report-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "report-reader"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "tenant-a"}}}, metav1.CreateOptions{})
	must(t, err)
	cfg := cl.RESTConfig()
	cfg.Impersonate.UserName = "tenant-a"
	tenant, err := dynamic.NewForConfig(cfg)
	must(t, err)
	testcluster.Eventually(t, "the tenant reads its namespace's report", 15*time.Second, func() error {
		_, err := tenant.Resource(ReportResource).Namespace("a").Get(ctx, ReportName, metav1.GetOptions{})
		return err
	})
	if _, err := tenant.Resource(ReportResource).Namespace("b").Get(ctx, ReportName, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("tenant of a reading b's report: %v, want Forbidden", err)
	}
	if _, err := tenant.Resource(ClusterReportResource).Get(ctx, ClusterReportName, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("tenant of a reading the cluster report: %v, want Forbidden", err)
	}
}
