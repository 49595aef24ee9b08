package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationCheckAgainstUpstream runs `selmount check` against a real
// kube-apiserver, side by side with the upstream selinux-warning-controller
// of kube-controller-manager on the same objects: every conflict upstream
// reports must be among selmount's findings, and every extra finding must
// carry its reason. Every generated patch and cluster-wide opt-out must
// pass the API server's validation (server-side dry run).
func TestIntegrationCheckAgainstUpstream(t *testing.T) {
	cl := testcluster.Start(t, testcluster.Options{})
	cs := cl.Client()
	ctx := t.Context()

	// Arrange: a driver with seLinuxMount, shared volumes, and pods that
	// cover the cases where the two views agree and where they differ.
	must(t, create(ctx, cs, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "rbd.csi.example.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: ptr(true)}}))
	for _, ns := range []string{"prod", "other"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, err)
	}
	for _, v := range []struct{ pv, ns, claim string }{
		{"pv-shared", "prod", "shared"}, {"pv-typed", "prod", "typed"}, {"pv-cross", "prod", "cross"}, {"pv-cross", "other", "cross"},
	} {
		if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, v.pv, metav1.GetOptions{}); err != nil {
			must(t, create(ctx, cs, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: v.pv}, Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "rbd.csi.example.com", VolumeHandle: "handle-" + v.pv}},
			}}))
		}
	}
	// pv-cross is bound in prod; "other" reaches the same handle through a
	// second PV (selmount treats driver^handle as one volume).
	must(t, create(ctx, cs, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-cross-alias"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
		PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
		PersistentVolumeSource:        corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "rbd.csi.example.com", VolumeHandle: "handle-pv-cross"}},
	}}))
	for _, c := range []struct{ ns, name, pv string }{{"prod", "shared", "pv-shared"}, {"prod", "typed", "pv-typed"}, {"prod", "cross", "pv-cross"}, {"other", "cross", "pv-cross-alias"}} {
		must(t, create(ctx, cs, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: c.ns, Name: c.name}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, VolumeName: c.pv, StorageClassName: ptr(""),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}))
	}
	kcm := cl.StartControllerManager(t, []string{"persistentvolume-binder-controller", "selinux-warning-controller"}, "")

	level := func(l string) *corev1.SELinuxOptions { return &corev1.SELinuxOptions{Level: l} }
	pods := []*corev1.Pod{
		testPod("prod", "a", "shared", "node-1", level("s0:c1,c2"), nil),
		testPod("prod", "b", "shared", "node-1", level("s0:c3,c4"), nil),
		testPod("prod", "unlabeled", "shared", "node-2", nil, nil),
		testPod("prod", "recursive", "shared", "node-2", level("s0:c1,c2"), ptr(corev1.SELinuxChangePolicyRecursive)),
		testPod("prod", "user", "shared", "node-3", &corev1.SELinuxOptions{User: "foo_u", Level: "s0:c1,c2"}, nil),
		testPod("prod", "typed-1", "typed", "node-1", &corev1.SELinuxOptions{User: "system_u", Type: "container_t", Level: "s0:c7,c8"}, nil),
		testPod("prod", "typed-2", "typed", "node-1", &corev1.SELinuxOptions{User: "system_u", Type: "spc_t", Level: "s0:c7,c8"}, nil),
		testPod("prod", "cross-1", "cross", "node-1", level("s0:c5,c6"), nil),
		testPod("other", "cross-2", "cross", "node-1", level("s0:c6,c5"), nil),
	}
	for _, p := range pods {
		must(t, create(ctx, cs, p))
	}
	// A Deployment scaled to zero: no pod, so upstream cannot see it.
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "batch"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr(int32(0)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "batch"}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "batch"}}, Spec: testPod("prod", "", "shared", "", level("s0:c9,c10"), nil).Spec},
	}}
	dep.Spec.Template.Spec.NodeName = ""
	must(t, create(ctx, cs, dep))

	// Act: wait until the upstream controller's conflicts stop changing,
	// then run selmount.
	series := waitStable(t, ctx, kcm)
	if len(series) == 0 {
		t.Fatal("the upstream controller reported no conflict at all")
	}
	t.Logf("upstream reports %d conflict series", len(series))
	for _, s := range series {
		t.Logf("  upstream: %s %s=%q %s=%q", s.property, s.pod1, s.value1, s.pod2, s.value2)
	}
	var out, errOut bytes.Buffer
	root := NewRootCmd("selmount", strings.NewReader(""), &out, &errOut)
	root.SetArgs([]string{"check", "-A", "--kubeconfig", cl.Kubeconfig(), "-o", "json", "--fail-on", "none"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("selmount check: %v\n%s", err, errOut.String())
	}
	var r check.Report
	must(t, json.Unmarshal(out.Bytes(), &r))
	if r.CurrentVersion != "1.37" || r.TargetVersion != "1.37" || r.Source != "cluster" {
		t.Errorf("report versions %q/%q source %q", r.CurrentVersion, r.TargetVersion, r.Source)
	}

	for _, f := range r.Findings {
		t.Logf("  selmount: %s %s/%s %s upstream=%v subjects=%s", f.Severity, f.Type, f.Property, f.Volume, f.UpstreamControllerReports, subjectNames(f.Subjects))
	}
	// Assert 1: every upstream pair is a selmount finding that says upstream reports it.
	covered := map[string]bool{}
	for _, f := range r.Findings {
		if f.Type != check.TypeConflict || !f.UpstreamControllerReports {
			continue
		}
		for _, a := range f.Subjects {
			for _, b := range f.Subjects {
				covered[a.Namespace+"/"+a.Name+"|"+b.Namespace+"/"+b.Name] = true
			}
		}
	}
	for _, s := range series {
		if !covered[s.pod1+"|"+s.pod2] {
			t.Errorf("upstream reports %s between %s and %s (%q vs %q); selmount has no finding for it", s.property, s.pod1, s.pod2, s.value1, s.value2)
		}
	}
	// Assert 1b: the upstream view computed from selmount's groups is the
	// controller's own: as many ordered pairs (each volume's count is on
	// one finding), and every sampled pair is one of its series.
	predicted := 0
	have := map[conflictSeries]bool{}
	for _, s := range series {
		have[s] = true
	}
	for _, f := range r.Findings {
		if f.Upstream == nil {
			continue
		}
		predicted += f.Upstream.Conflicts
		for _, c := range f.Upstream.Sample {
			if s := (conflictSeries{c.Property, c.Pod, c.OtherPod, c.Value, c.OtherValue}); !have[s] {
				t.Errorf("selmount predicts the upstream conflict %+v, which the controller does not report", s)
			}
		}
	}
	if predicted != len(series) {
		t.Errorf("selmount predicts %d upstream conflicts, the controller reports %d", predicted, len(series))
	}
	// Assert 2: what selmount finds beyond upstream is explained, naming
	// the subjects concerned, and the known cases are among it.
	extra := map[string]string{}
	for _, f := range r.Findings {
		if f.Type == check.TypeConflict && f.KubeletConflict {
			if !f.UpstreamControllerReports && f.UpstreamDifference == "" {
				t.Errorf("finding not reported upstream without a reason: %s", f.Message)
			}
			for _, s := range f.Subjects {
				if strings.Contains(f.UpstreamDifference, s.Kind+" "+s.Namespace+"/"+s.Name) {
					extra[s.Kind+"/"+s.Name] = f.UpstreamDifference
				}
			}
		}
	}
	for subj, why := range map[string]string{"Deployment/batch": "running pods only", "Pod/user": "without node defaults"} {
		if !strings.Contains(extra[subj], why) {
			t.Errorf("want an extra finding for %s because %q; extras: %v", subj, why, extra)
		}
	}
	// The category-order conflict across namespaces and PVs: both report it.
	if !hasFinding(r, check.PropertyLabel, "Pod/cross-1", "Pod/cross-2") {
		t.Errorf("no conflict between cross-1 and cross-2 (one handle, two PVs, categories in another order)")
	}
	// Upstream-only: type differs in raw options, the kubelet sees one label.
	if !hasFinding(r, check.PropertyUpstreamOnly, "Pod/typed-1", "Pod/typed-2") {
		t.Errorf("no upstream-only finding for typed-1/typed-2")
	}
	if hasFinding(r, check.PropertyLabel, "Pod/typed-1", "Pod/typed-2") {
		t.Errorf("typed-1/typed-2 reported as a kubelet conflict: type does not reach the file label")
	}
	// Upstream events exist for the pods it reports.
	evs, err := cs.CoreV1().Events("prod").List(ctx, metav1.ListOptions{})
	must(t, err)
	reasons := map[string]bool{}
	for _, e := range evs.Items {
		reasons[e.Reason] = true
	}
	for _, want := range []string{"SELinuxLabelConflict", "SELinuxChangePolicyConflict"} {
		if !reasons[want] {
			t.Errorf("no upstream %s event in prod (got %v)", want, reasons)
		}
	}

	// Assert 3: every patch and every cluster-wide opt-out passes validation.
	patched := 0
	for _, f := range r.Findings {
		for _, p := range f.Patches {
			dryRunPatch(t, ctx, cs, p)
			patched++
		}
	}
	if patched == 0 {
		t.Error("no patch was generated (the Deployment should get one)")
	}
	dyn, err := dynamic.NewForConfig(cl.RESTConfig())
	must(t, err)
	for _, fix := range check.ClusterFixes() {
		if strings.Contains(fix.Manifest, "kyverno.io") {
			continue // no Kyverno CRDs in a bare control plane; see the YAML check below
		}
		for _, doc := range strings.Split(fix.Manifest, "\n---\n") {
			var u unstructured.Unstructured
			must(t, yaml.Unmarshal([]byte(doc), &u.Object))
			resource := map[string]string{"MutatingAdmissionPolicy": "mutatingadmissionpolicies", "MutatingAdmissionPolicyBinding": "mutatingadmissionpolicybindings"}[u.GetKind()]
			gvr := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: resource}
			if _, err := dyn.Resource(gvr).Create(ctx, &u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
				t.Errorf("%s %s rejected by the API server: %v", u.GetKind(), u.GetName(), err)
			}
		}
	}
}

func testPod(ns, name, claim, node string, opts *corev1.SELinuxOptions, policy *corev1.PodSELinuxChangePolicy) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
		NodeName:   node,
		Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
	}}
	if opts != nil || policy != nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: opts, SELinuxChangePolicy: policy}
	}
	return p
}

type conflictSeries struct{ property, pod1, pod2, value1, value2 string }

var labelRE = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// upstreamConflicts parses the selinux_warning_controller_selinux_volume_conflict
// series out of a /metrics page.
func upstreamConflicts(metrics string) []conflictSeries {
	var out []conflictSeries
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, "selinux_warning_controller_selinux_volume_conflict{") {
			continue
		}
		l := map[string]string{}
		for _, m := range labelRE.FindAllStringSubmatch(line, -1) {
			l[m[1]] = m[2]
		}
		out = append(out, conflictSeries{l["property"], l["pod1_namespace"] + "/" + l["pod1_name"], l["pod2_namespace"] + "/" + l["pod2_name"], l["pod1_value"], l["pod2_value"]})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// waitStable scrapes the controller until its conflict series have been the
// same for three seconds, at most one minute.
func waitStable(t *testing.T, ctx context.Context, kcm *testcluster.KCM) []conflictSeries {
	t.Helper()
	var last []conflictSeries
	stableSince := time.Now()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		m, err := kcm.Metrics(ctx)
		if err != nil {
			t.Fatalf("scraping kube-controller-manager: %v", err)
		}
		cur := upstreamConflicts(m)
		if fmt.Sprint(cur) != fmt.Sprint(last) {
			last, stableSince = cur, time.Now()
		} else if len(cur) > 0 && time.Since(stableSince) > 3*time.Second {
			return cur
		}
		time.Sleep(500 * time.Millisecond)
	}
	return last
}

func hasFinding(r check.Report, property check.Property, subjects ...string) bool {
	for _, f := range r.Findings {
		if f.Property != property {
			continue
		}
		have := map[string]bool{}
		for _, s := range f.Subjects {
			have[s.Kind+"/"+s.Name] = true
		}
		all := true
		for _, s := range subjects {
			all = all && have[s]
		}
		if all {
			return true
		}
	}
	return false
}

func dryRunPatch(t *testing.T, ctx context.Context, cs kubernetes.Interface, p check.Patch) {
	t.Helper()
	opts := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}
	pt, body := types.StrategicMergePatchType, []byte(p.Patch)
	var err error
	switch p.Kind {
	case "Deployment":
		_, err = cs.AppsV1().Deployments(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	case "StatefulSet":
		_, err = cs.AppsV1().StatefulSets(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	case "DaemonSet":
		_, err = cs.AppsV1().DaemonSets(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	case "ReplicaSet":
		_, err = cs.AppsV1().ReplicaSets(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	case "CronJob":
		_, err = cs.BatchV1().CronJobs(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	case "ReplicationController":
		_, err = cs.CoreV1().ReplicationControllers(p.Namespace).Patch(ctx, p.Name, pt, body, opts)
	default:
		t.Errorf("patch for unexpected kind %s", p.Kind)
		return
	}
	if err != nil {
		t.Errorf("patch %s %s/%s rejected by the API server: %v\n%s", p.Kind, p.Namespace, p.Name, err, p.Patch)
	}
}

func create(ctx context.Context, cs kubernetes.Interface, obj any) error {
	var err error
	o := metav1.CreateOptions{}
	switch x := obj.(type) {
	case *storagev1.CSIDriver:
		_, err = cs.StorageV1().CSIDrivers().Create(ctx, x, o)
	case *corev1.PersistentVolume:
		_, err = cs.CoreV1().PersistentVolumes().Create(ctx, x, o)
	case *corev1.PersistentVolumeClaim:
		_, err = cs.CoreV1().PersistentVolumeClaims(x.Namespace).Create(ctx, x, o)
	case *corev1.Pod:
		_, err = cs.CoreV1().Pods(x.Namespace).Create(ctx, x, o)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(x.Namespace).Create(ctx, x, o)
	default:
		err = fmt.Errorf("create: unexpected %T", obj)
	}
	return err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func subjectNames(ss []check.Subject) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Kind+"/"+s.Namespace+"/"+s.Name)
	}
	return strings.Join(out, ",")
}
