package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/label"
)

// Fixtures: one CSI volume (handle "shared") behind two PersistentVolumes,
// pv-a bound in namespace "a" and pv-b in namespace "b", each namespace's
// claim named "data".

func csiDriver() *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr.To(true)}}
}

func pv(name string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "shared"}}}}
}

func pvc(ns, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"},
		Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: volume, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
}

func podSpec(level string) corev1.PodSpec {
	s := corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}
	if level != "" {
		s.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}}
	}
	return s
}

func deployment(ns, name, level string) *appsv1.Deployment {
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Template: corev1.PodTemplateSpec{Spec: podSpec(level)}}}
}

func pod(ns, name, level string) *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec:       podSpec(level), Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// cluster: namespace "a" runs the pod db-0 with level s0:c1,c2 on the
// volume, which namespace "b" can also reach; "c" opts in to deny.
func cluster(extra ...runtime.Object) []runtime.Object {
	return append([]runtime.Object{csiDriver(), pv("pv-a"), pv("pv-b"), pv("pv-c"), pvc("a", "pv-a"), pvc("b", "pv-b"), pvc("c", "pv-c"),
		namespace("a", nil), namespace("b", nil), namespace("c", map[string]string{EnforceLabel: EnforceDeny}),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.0"}}},
		pod("a", "db-0", "s0:c1,c2"), deployment("b", "reports", "s0:c7,c9")}, extra...)
}

// startController runs a controller on a fake clientset and waits for its
// first sync.
func startController(t testing.TB, objs ...runtime.Object) (*controller.Controller, *fake.Clientset) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := controller.New(ctx, client, factory, controller.Options{Delay: time.Millisecond})
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
	deadline := time.Now().Add(20 * time.Second)
	for !c.HasSynced() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the first sync")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c, client
}

func review(t testing.TB, op admissionv1.Operation, obj, old runtime.Object) []byte {
	t.Helper()
	gvk := obj.GetObjectKind().GroupVersionKind()
	m := obj.(metav1.Object)
	req := &admissionv1.AdmissionRequest{UID: "uid-1", Kind: metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Namespace: m.GetNamespace(), Name: m.GetName(), Operation: op}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	req.Object.Raw = raw
	if old != nil {
		if req.OldObject.Raw, err = json.Marshal(old); err != nil {
			t.Fatal(err)
		}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func post(t testing.TB, h http.Handler, path string, body []byte) (*httptest.ResponseRecorder, *admissionv1.AdmissionResponse) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		return w, nil
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("response %q: %v", w.Body.String(), err)
	}
	if out.Response.UID != "uid-1" || out.Kind != "AdmissionReview" {
		t.Errorf("response uid %q kind %q: want the request's", out.Response.UID, out.Kind)
	}
	return w, out.Response
}

func newHandler(t testing.TB, c Cache, opts Options) (*Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	h, err := New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h, reg
}

func TestMalformedRequests(t *testing.T) {
	h, reg := newHandler(t, unsynced{}, Options{MaxBody: 1 << 10})
	for _, tc := range []struct {
		name, method, ctype, body string
		code                      int
		want                      string
	}{
		{"GET", http.MethodGet, "application/json", "", http.StatusMethodNotAllowed, "only POST"},
		{"content type", http.MethodPost, "text/plain", "{}", http.StatusUnsupportedMediaType, `"text/plain"`},
		{"not JSON", http.MethodPost, "application/json", "{", http.StatusBadRequest, "not an AdmissionReview"},
		{"no request", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest, "with a request"},
		{"v1beta1", http.MethodPost, "application/json", `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}`, http.StatusBadRequest, `"admission.k8s.io/v1beta1"`},
		{"too large", http.MethodPost, "application/json", strings.Repeat(" ", 2<<10), http.StatusRequestEntityTooLarge, "over 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, ValidatePath, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ctype)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("got %d %q, want %d with %q", w.Code, w.Body.String(), tc.code, tc.want)
			}
		})
	}
	if n := value(h.metrics.requests.WithLabelValues("validate", "other", "other", resultInvalid)); n != 6 {
		t.Errorf("invalid requests counted %v, want 6", n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Error(err)
	}
}

func TestUndecodableObjectIsDeniedWithItsName(t *testing.T) {
	c, _ := startController(t, cluster()...)
	h, _ := newHandler(t, c, Options{})
	body := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"b","name":"x","operation":"CREATE","object":{"spec":{"replicas":"many"}}}}`)
	_, resp := post(t, h, ValidatePath, body)
	if resp.Allowed || resp.Result.Code != http.StatusBadRequest || !strings.Contains(resp.Result.Message, "Deployment b/x") {
		t.Errorf("response %+v: want a 400 denial naming the object", resp.Result)
	}
}

// unsynced is a cache before its first sync.
type unsynced struct{ l controller.Listers }

func (unsynced) Index() *controller.Index      { return nil }
func (u unsynced) Listers() controller.Listers { return u.l }
func (unsynced) InformersSynced() bool         { return false }

func TestUnsyncedFailsOpen(t *testing.T) {
	h, _ := newHandler(t, unsynced{}, Options{Deny: true})
	for _, path := range []string{ValidatePath, MutatePath} {
		_, resp := post(t, h, path, review(t, admissionv1.Create, pod("b", "p", "s0:c7,c9"), nil))
		if !resp.Allowed || len(resp.Warnings) != 0 || resp.Patch != nil {
			t.Errorf("%s: %+v: want allowed unchanged without warnings", path, resp)
		}
	}
	if n := value(h.metrics.unsynced); n != 2 {
		t.Errorf("unsynced counted %v, want 2", n)
	}
}

func TestOtherKindsAndOperationsAreSkipped(t *testing.T) {
	c, _ := startController(t, cluster()...)
	h, _ := newHandler(t, c, Options{Deny: true})
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "x"}}
	_, resp := post(t, h, ValidatePath, review(t, admissionv1.Create, cm, nil))
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("ConfigMap: %+v", resp)
	}
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Delete, pod("b", "p", "s0:c7,c9"), nil))
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("DELETE: %+v", resp)
	}
	if n := value(h.metrics.requests.WithLabelValues("validate", "other", "other", resultSkipped)); n != 0 {
		t.Errorf("the ConfigMap's operation is CREATE: %v", n)
	}
	if n := value(h.metrics.requests.WithLabelValues("validate", "CREATE", "other", resultSkipped)); n != 1 {
		t.Errorf("ConfigMap counted %v under kind other, want 1", n)
	}
}

// leaks reports what of namespace "a" a text names.
func leaks(s string) []string {
	var out []string
	for _, secret := range []string{"db-0", "c1,c2", "pv-a", "a/", "Pod db"} {
		if strings.Contains(s, secret) {
			out = append(out, secret)
		}
	}
	return out
}

func TestConflictWarnsWithoutNamingOtherNamespaces(t *testing.T) {
	c, _ := startController(t, cluster()...)
	h, reg := newHandler(t, c, Options{})
	_, resp := post(t, h, ValidatePath, review(t, admissionv1.Create, deployment("b", "web", "s0:c3,c4"), nil))
	if !resp.Allowed || len(resp.Warnings) != 3 {
		t.Fatalf("want allowed with 3 warning lines, got %+v", resp)
	}
	all := strings.Join(resp.Warnings, "\n")
	t.Log(all)
	for _, want := range []string{"volume pv-b", "this Deployment", "(level s0:c3,c4)", "a pod in another namespace",
		"Deployment reports (", "kept:", "already running: a pod in another namespace", "fix:", "Recursive"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if l := leaks(all); len(l) > 0 {
		t.Errorf("warnings name %v of namespace a:\n%s", l, all)
	}
	for _, w := range resp.Warnings {
		if len(w) > maxWarning {
			t.Errorf("warning of %d bytes: %s", len(w), w)
		}
	}
	if n := value(h.metrics.requests.WithLabelValues("validate", "CREATE", "Deployment", resultWarned)); n != 1 {
		t.Errorf("warned counted %v", n)
	}
	if n := gathered(t, reg, "selmount_webhook_warnings_total"); n != 3 {
		t.Errorf("selmount_webhook_warnings_total = %v, want 3", n)
	}

	// The same level as the running pod: nothing to say... but the
	// Deployment "reports" of b still differs.
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Create, deployment("b", "web", "s0:c1,c2"), nil))
	if !resp.Allowed || len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], "Deployment reports") {
		t.Errorf("want the conflict with reports only, got %v", resp.Warnings)
	}
	// The pod of namespace a has web's label: it is not what web
	// conflicts with, so the first line does not count it.
	if len(resp.Warnings) > 0 && strings.Contains(resp.Warnings[0], "another namespace") {
		t.Errorf("the first line counts a user with the same label as a conflict: %s", resp.Warnings[0])
	}
	// A volume nobody else uses.
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Create, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "b", GenerateName: "tmp-"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x"}}}}, nil))
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Errorf("a pod without shared volumes: %+v", resp)
	}
}

func TestDeny(t *testing.T) {
	c, _ := startController(t, cluster()...)
	h, reg := newHandler(t, c, Options{})

	// Namespace c is labelled deny: a conflicting pod is rejected.
	_, resp := post(t, h, ValidatePath, review(t, admissionv1.Create, pod("c", "p", "s0:c3,c4"), nil))
	if resp.Allowed || resp.Result.Code != http.StatusForbidden {
		t.Fatalf("want a denial, got %+v", resp)
	}
	msg := resp.Result.Message
	t.Log(msg)
	for _, want := range []string{EnforceLabel + "=deny", "volume pv-c", "a pod in another namespace", "Fix:", "seLinuxChangePolicy: Recursive"} {
		if !strings.Contains(msg, want) {
			t.Errorf("denial lacks %q: %s", want, msg)
		}
	}
	if l := leaks(msg + strings.Join(resp.Warnings, "")); len(l) > 0 {
		t.Errorf("denial names %v: %s", l, msg)
	}
	// The same pod with the running pod's level is allowed.
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Create, pod("c", "p", "s0:c1,c2"), nil))
	if !resp.Allowed {
		t.Errorf("a pod with the kept level: %+v", resp.Result)
	}
	// Without the label (namespace b) the conflict only warns.
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Create, pod("b", "p", "s0:c3,c4"), nil))
	if !resp.Allowed || len(resp.Warnings) == 0 {
		t.Errorf("namespace b: %+v", resp)
	}
	// An update that keeps the labels is not denied (it can scale or fix
	// something else); one that changes them is.
	old := deployment("c", "web", "s0:c3,c4")
	cur := old.DeepCopy()
	cur.Spec.Replicas = ptr.To[int32](3)
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Update, cur, old))
	if !resp.Allowed || len(resp.Warnings) == 0 {
		t.Errorf("update keeping the labels: %+v", resp)
	}
	old.Spec.Template.Spec.SecurityContext.SELinuxOptions.Level = "s0:c1,c2"
	_, resp = post(t, h, ValidatePath, review(t, admissionv1.Update, cur, old))
	if resp.Allowed {
		t.Errorf("update changing the level to a conflicting one: allowed")
	}
	// --deny: every namespace.
	hd, _ := newHandler(t, c, Options{Deny: true})
	_, resp = post(t, hd, ValidatePath, review(t, admissionv1.Create, pod("b", "p", "s0:c3,c4"), nil))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "--deny") {
		t.Errorf("--deny: %+v", resp.Result)
	}
	if n := value(h.metrics.requests.WithLabelValues("validate", "UPDATE", "Deployment", resultDenied)); n != 1 {
		t.Errorf("denied updates counted %v", n)
	}
	_ = reg
}

// allocator hands out one level and counts its calls.
type allocator struct {
	mu    sync.Mutex
	calls int
}

func (a *allocator) Ensure(_ context.Context, ns string) (label.Level, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	return label.ParseLevel("s0:c5,c6")
}

func TestMutateAllocatesOnTheFirstPod(t *testing.T) {
	optIn := map[string]string{mutate.OptInLabel: mutate.OptInValue, mutate.ChangePolicyLabel: "MountOption"}
	withLevel := namespace("lev", optIn)
	withLevel.Annotations = map[string]string{mutate.LevelAnnotation: "s0:c8,c9"}
	c, _ := startController(t, cluster(namespace("new", optIn), withLevel)...)
	alloc := &allocator{}
	h, _ := newHandler(t, c, Options{Allocator: alloc})

	patchOf := func(ns string, dry bool) (*admissionv1.AdmissionResponse, string) {
		body := review(t, admissionv1.Create, pod(ns, "p", ""), nil)
		if dry {
			body = bytes.Replace(body, []byte(`"operation":"CREATE"`), []byte(`"operation":"CREATE","dryRun":true`), 1)
		}
		_, resp := post(t, h, MutatePath, body)
		return resp, string(resp.Patch)
	}
	// Dry run: no allocation, only the policy default.
	resp, patch := patchOf("new", true)
	if alloc.calls != 0 || strings.Contains(patch, "level") || !strings.Contains(patch, "MountOption") {
		t.Errorf("dry run: %d calls, patch %s", alloc.calls, patch)
	}
	resp, patch = patchOf("new", false)
	if alloc.calls != 1 || !strings.Contains(patch, `"s0:c5,c6"`) || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Errorf("first pod: %d calls, patch %s", alloc.calls, patch)
	}
	// A namespace with a level: no call.
	_, patch = patchOf("lev", false)
	if alloc.calls != 1 || !strings.Contains(patch, `"s0:c8,c9"`) {
		t.Errorf("namespace with a level: %d calls, patch %s", alloc.calls, patch)
	}
	// Not opted in: nothing.
	resp, patch = patchOf("b", false)
	if alloc.calls != 1 || patch != "" || !resp.Allowed {
		t.Errorf("not opted in: %d calls, patch %s", alloc.calls, patch)
	}
	// Not a pod, or not a create: nothing.
	_, resp = post(t, h, MutatePath, review(t, admissionv1.Create, deployment("new", "d", ""), nil))
	if resp.Patch != nil {
		t.Errorf("Deployment patched: %s", resp.Patch)
	}
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// gathered sums the counter family name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
