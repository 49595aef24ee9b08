// Package deploy_test renders the kustomize base and overlay and the Helm
// chart in deploy/ and checks what they would install: the exact RBAC rules,
// the controller's flags, probes, ports and security settings, and that the
// chart and kustomize agree. The renderers are the real helm and kustomize
// binaries (hack/tools/helm.sh, hack/tools/kustomize.sh build them); without
// them the tests skip, unless SELMOUNT_REQUIRE_DEPLOY_TOOLS=1 (hack/test.d)
// or SELMOUNT_REQUIRE_INTEGRATION=1 turns the skip into a failure.
package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	namespace = "selmount-system"
	saName    = "selmount-controller"

	envRequireTools = "SELMOUNT_REQUIRE_DEPLOY_TOOLS"
	envRequireInteg = "SELMOUNT_REQUIRE_INTEGRATION"
)

// contractFlags are the flags of `selmount controller` a manifest may pass,
// and whether each is a boolean.
var contractFlags = map[string]bool{
	"leader-elect":              true,
	"leader-elect-namespace":    false,
	"metrics-bind-address":      false,
	"metrics-secure":            true,
	"metrics-cert-dir":          false,
	"health-probe-bind-address": false,
	"workers":                   false,
	"target-version":            false,
	"metrics-namespace-label":   true,
	"log-format":                false,
	"v":                         false,
}

// repoRoot is the module root: go test runs in deploy/.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	for _, env := range []string{envRequireTools, envRequireInteg} {
		if os.Getenv(env) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, env)
		}
	}
	t.Skip(msg)
}

// tool finds a helm or kustomize binary: $SELMOUNT_HELM or
// $SELMOUNT_KUSTOMIZE, then the newest build under hack/tools/bin, then
// $PATH. It skips or fails t when there is none.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p := os.Getenv("SELMOUNT_" + strings.ToUpper(name)); p != "" {
		return p
	}
	builds, _ := filepath.Glob(filepath.Join(repoRoot(t), "hack", "tools", "bin", name+"-*", name))
	if len(builds) > 0 {
		sort.Strings(builds)
		return builds[len(builds)-1]
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	skipOrFail(t, fmt.Sprintf("no %s binary: run hack/tools/%s.sh or set SELMOUNT_%s", name, name, strings.ToUpper(name)))
	return ""
}

// run runs a renderer in the repository root and returns its stdout.
func run(t testing.TB, bin string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// parse splits a multi-document YAML stream into objects; every document
// must have an apiVersion, a kind and a name.
func parse(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		if u.GetName() == "" {
			t.Fatalf("document %d (%s): no metadata.name", i, u.GetKind())
		}
		objs = append(objs, u)
	}
}

// rendering is the output of one way to install the controller.
type rendering struct {
	name string
	objs []*unstructured.Unstructured
	// serviceMonitor says whether the rendering should hold one.
	serviceMonitor bool
	// namespace says whether the rendering creates the namespace itself
	// (helm install --create-namespace does it for the chart).
	namespace bool
}

func renderKustomize(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := run(t, tool(t, "kustomize"), "build", dir)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, out)
}

func renderHelm(t testing.TB, set ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helmTemplate(t, set...)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, out)
}

func helmTemplate(t testing.TB, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", "selmount", "deploy/helm/selmount", "--namespace", namespace, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return run(t, tool(t, "helm"), args...)
}

// renderings renders every supported installation.
func renderings(t testing.TB) []rendering {
	t.Helper()
	return []rendering{
		{name: "kustomize base", objs: renderKustomize(t, "deploy/kustomize/base"), namespace: true},
		{name: "kustomize servicemonitor", objs: renderKustomize(t, "deploy/kustomize/servicemonitor"), namespace: true, serviceMonitor: true},
		{name: "helm defaults", objs: renderHelm(t)},
		{name: "helm serviceMonitor.enabled", objs: renderHelm(t, "serviceMonitor.enabled=true"), serviceMonitor: true},
	}
}

func TestRenderings(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			checkObjects(t, r)
			checkRBAC(t, r.objs)
			dep := checkDeployment(t, r.objs)
			checkService(t, r, dep)
			checkPDB(t, r.objs, dep)
		})
	}
}

// wantKinds are the objects every rendering holds, besides the CRDs, the
// Namespace and the ServiceMonitor.
var wantKinds = []string{
	"ClusterRole/selmount-controller",
	"ClusterRole/selmount-metrics-reader",
	"ClusterRole/selmount-selinuxreport-viewer",
	"ClusterRoleBinding/selmount-controller",
	"Deployment/selmount-controller",
	"PodDisruptionBudget/selmount-controller",
	"Role/selmount-leader-election",
	"RoleBinding/selmount-leader-election",
	"Service/selmount-controller-metrics",
	"ServiceAccount/selmount-controller",
}

var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
}

func checkObjects(t *testing.T, r rendering) {
	t.Helper()
	var got []string
	for _, o := range r.objs {
		key := o.GetKind() + "/" + o.GetName()
		switch {
		case clusterScoped[o.GetKind()]:
			if o.GetNamespace() != "" {
				t.Errorf("%s: cluster-scoped but in namespace %q", key, o.GetNamespace())
			}
		case o.GetNamespace() != namespace:
			t.Errorf("%s: namespace %q, want %q", key, o.GetNamespace(), namespace)
		}
		switch o.GetKind() {
		case "CustomResourceDefinition":
			if !strings.HasSuffix(o.GetName(), ".selmount.io") {
				t.Errorf("%s: not a selmount.io CRD", key)
			}
			continue
		case "Namespace":
			if !r.namespace || o.GetName() != namespace {
				t.Errorf("unexpected %s", key)
			}
			continue
		case "ServiceMonitor":
			if !r.serviceMonitor {
				t.Errorf("unexpected %s", key)
			}
			continue
		}
		if o.GetLabels()["app.kubernetes.io/name"] != "selmount" {
			t.Errorf("%s: label app.kubernetes.io/name is %q, want selmount", key, o.GetLabels()["app.kubernetes.io/name"])
		}
		got = append(got, key)
	}
	sort.Strings(got)
	if !slices.Equal(got, wantKinds) {
		t.Errorf("objects:\n got %q\nwant %q", got, wantKinds)
	}
	if r.serviceMonitor {
		checkServiceMonitor(t, r.objs)
	}
}

// find returns the one object of kind named name, converted to out.
func find(t testing.TB, objs []*unstructured.Unstructured, kind, name string, out any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, out, true); err != nil {
				t.Fatalf("%s/%s: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("no %s/%s", kind, name)
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// grants flattens RBAC rules to one line per permission, sorted, so that
// two rule lists compare equal whenever they grant the same.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, verb := range r.Verbs {
			for _, url := range r.NonResourceURLs {
				out = append(out, "url "+url+" "+verb)
			}
			for _, group := range r.APIGroups {
				for _, res := range r.Resources {
					if len(r.ResourceNames) == 0 {
						out = append(out, group+"/"+res+" "+verb)
					}
					for _, n := range r.ResourceNames {
						out = append(out, group+"/"+res+"/"+n+" "+verb)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// expand builds the sorted grant list for groups × resources × verbs.
func expand(groupResources map[string][]string, verbs ...string) []string {
	var out []string
	for g, rs := range groupResources {
		for _, r := range rs {
			for _, v := range verbs {
				out = append(out, g+"/"+r+" "+v)
			}
		}
	}
	return out
}

func sorted(parts ...[]string) []string {
	out := slices.Concat(parts...)
	sort.Strings(out)
	return out
}

// The contract: exactly what the controller needs.
var (
	wantControllerGrants = sorted(
		expand(map[string][]string{
			"":               {"pods", "persistentvolumeclaims", "persistentvolumes", "namespaces", "nodes", "replicationcontrollers"},
			"storage.k8s.io": {"storageclasses", "csidrivers"},
			"apps":           {"deployments", "statefulsets", "daemonsets", "replicasets"},
			"batch":          {"jobs", "cronjobs"},
		}, "get", "list", "watch"),
		expand(map[string][]string{"events.k8s.io": {"events"}}, "create", "patch"),
		expand(map[string][]string{"selmount.io": {"clusterselinuxreports", "selinuxreports"}},
			"get", "list", "watch", "create", "patch", "update", "delete"),
		expand(map[string][]string{"selmount.io": {"clusterselinuxreports/status", "selinuxreports/status"}},
			"get", "patch", "update"),
		expand(map[string][]string{
			"authentication.k8s.io": {"tokenreviews"},
			"authorization.k8s.io":  {"subjectaccessreviews"},
		}, "create"),
	)
	wantLeaderGrants = []string{
		"coordination.k8s.io/leases create",
		"coordination.k8s.io/leases/selmount-controller get",
		"coordination.k8s.io/leases/selmount-controller update",
	}
	wantMetricsReaderGrants = []string{"url /metrics get"}
	wantViewerGrants        = sorted(expand(map[string][]string{"selmount.io": {"selinuxreports"}}, "get", "list", "watch"))
)

func checkRBAC(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range slices.Concat(ofKind(objs, "ClusterRole"), ofKind(objs, "Role")) {
		var role rbacv1.ClusterRole // Role has the same rules field
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			t.Fatalf("%s/%s: %v", o.GetKind(), o.GetName(), err)
		}
		if role.AggregationRule != nil {
			t.Errorf("%s/%s: has an aggregationRule: it would collect other roles' rules", o.GetKind(), o.GetName())
		}
		for _, g := range grants(role.Rules) {
			if strings.Contains(g, "*") || strings.Contains(g, "secrets") {
				t.Errorf("%s/%s grants %q", o.GetKind(), o.GetName(), g)
			}
		}
	}
	checkRole := func(kind, name string, want []string) {
		t.Helper()
		var role rbacv1.Role
		find(t, objs, kind, name, &role)
		if got := grants(role.Rules); !slices.Equal(got, want) {
			t.Errorf("%s/%s grants\n%s\nwant\n%s", kind, name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	checkRole("ClusterRole", "selmount-controller", wantControllerGrants)
	checkRole("Role", "selmount-leader-election", wantLeaderGrants)
	checkRole("ClusterRole", "selmount-metrics-reader", wantMetricsReaderGrants)
	checkRole("ClusterRole", "selmount-selinuxreport-viewer", wantViewerGrants)

	var viewer rbacv1.ClusterRole
	find(t, objs, "ClusterRole", "selmount-selinuxreport-viewer", &viewer)
	for _, agg := range []string{"view", "edit", "admin"} {
		if l := "rbac.authorization.k8s.io/aggregate-to-" + agg; viewer.Labels[l] != "true" {
			t.Errorf("ClusterRole/selmount-selinuxreport-viewer: label %s is %q, want \"true\"", l, viewer.Labels[l])
		}
	}

	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: saName, Namespace: namespace}}
	var crb rbacv1.ClusterRoleBinding
	find(t, objs, "ClusterRoleBinding", "selmount-controller", &crb)
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "selmount-controller"}) {
		t.Errorf("ClusterRoleBinding/selmount-controller: roleRef %+v", crb.RoleRef)
	}
	if !slices.Equal(crb.Subjects, wantSubjects) {
		t.Errorf("ClusterRoleBinding/selmount-controller: subjects %+v, want %+v", crb.Subjects, wantSubjects)
	}
	var rb rbacv1.RoleBinding
	find(t, objs, "RoleBinding", "selmount-leader-election", &rb)
	if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "selmount-leader-election"}) {
		t.Errorf("RoleBinding/selmount-leader-election: roleRef %+v", rb.RoleRef)
	}
	if !slices.Equal(rb.Subjects, wantSubjects) {
		t.Errorf("RoleBinding/selmount-leader-election: subjects %+v, want %+v", rb.Subjects, wantSubjects)
	}
}

// parseArgs checks args against the contract and returns the flags' values
// ("true" for a bare boolean flag).
func parseArgs(args []string) (map[string]string, error) {
	if len(args) == 0 || args[0] != "controller" {
		return nil, fmt.Errorf("args %q: want the controller subcommand first", args)
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool, ok := contractFlags[name]
		switch {
		case !strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("arg %q: not a flag", a)
		case !ok:
			return nil, fmt.Errorf("arg %q: not a flag of selmount controller", a)
		case !hasValue && !isBool:
			return nil, fmt.Errorf("arg %q: needs =value (a separate value argument is not used here)", a)
		case isBool && hasValue && value != "true" && value != "false":
			return nil, fmt.Errorf("arg %q: boolean flag with value %q", a, value)
		}
		if _, dup := flags[name]; dup {
			return nil, fmt.Errorf("arg %q: flag given twice", a)
		}
		if !hasValue {
			value = "true"
		}
		flags[name] = value
	}
	return flags, nil
}

// port returns the port of a bind address such as ":8081".
func port(t testing.TB, flag, addr string) int32 {
	t.Helper()
	_, p, ok := strings.Cut(addr, ":")
	n, err := strconv.ParseInt(p, 10, 32)
	if !ok || err != nil {
		t.Fatalf("--%s=%s: not HOST:PORT", flag, addr)
	}
	return int32(n)
}

// containerPort resolves a probe's or Service's target port in c.
func containerPort(c corev1.Container, p intstr.IntOrString) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func checkDeployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	find(t, objs, "Deployment", "selmount-controller", dep)
	spec := dep.Spec.Template.Spec
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	if spec.ServiceAccountName != saName {
		t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, saName)
	}
	if spec.AutomountServiceAccountToken != nil && !*spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken false: the controller runs with its service account's token")
	}
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		t.Fatalf("%d containers, %d init containers; want one container", len(spec.Containers), len(spec.InitContainers))
	}
	c := spec.Containers[0]
	if c.Image == "" || len(c.Command) != 0 {
		t.Errorf("image %q, command %q: want an image and its entrypoint", c.Image, c.Command)
	}
	flags, err := parseArgs(c.Args)
	if err != nil {
		t.Fatalf("container %s: %v", c.Name, err)
	}
	if flags["leader-elect"] != "true" {
		t.Errorf("args %q: no --leader-elect with two replicas", c.Args)
	}
	if ns := flags["leader-elect-namespace"]; ns == "" {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
				e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
		}) {
			t.Error("no --leader-elect-namespace and no POD_NAMESPACE from metadata.namespace")
		}
	}

	probePort := int32(8081)
	if a, ok := flags["health-probe-bind-address"]; ok {
		probePort = port(t, "health-probe-bind-address", a)
	}
	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := map[string]string{"liveness": "/healthz", "readiness": "/readyz"}[name]
		switch {
		case probe == nil || probe.HTTPGet == nil:
			t.Errorf("%s probe: want an httpGet on %s", name, want)
		case probe.HTTPGet.Path != want:
			t.Errorf("%s probe: path %q, want %q", name, probe.HTTPGet.Path, want)
		case containerPort(c, probe.HTTPGet.Port) != probePort:
			t.Errorf("%s probe: port %s is not the probe port %d", name, probe.HTTPGet.Port.String(), probePort)
		}
	}

	wantRes := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	for _, q := range []struct {
		what      string
		got, want corev1.ResourceList
	}{{"requests", c.Resources.Requests, wantRes.Requests}, {"limits", c.Resources.Limits, wantRes.Limits}} {
		if len(q.got) != len(q.want) {
			t.Errorf("resources.%s %v, want %v", q.what, q.got, q.want)
		}
		for k, v := range q.want {
			if g := q.got[k]; g.Cmp(v) != 0 {
				t.Errorf("resources.%s.%s %s, want %s", q.what, k, g.String(), v.String())
			}
		}
	}

	psc, sc := spec.SecurityContext, c.SecurityContext
	switch {
	case psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot:
		t.Error("pod securityContext: want runAsNonRoot")
	case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("pod securityContext: want seccompProfile RuntimeDefault")
	case psc.RunAsUser == nil || *psc.RunAsUser == 0:
		t.Error("pod securityContext: want a non-zero runAsUser")
	}
	switch {
	case sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container securityContext: want readOnlyRootFilesystem")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container securityContext: want allowPrivilegeEscalation false")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Error("container securityContext: want capabilities drop [ALL] and nothing added")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("container securityContext: privileged")
	case sc.RunAsUser != nil && *sc.RunAsUser == 0, sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
		t.Error("container securityContext: runs as root")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Error("pod uses a host namespace")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s: hostPath", v.Name)
		}
	}
	sel := dep.Spec.Selector.MatchLabels
	for k, v := range sel {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod template's labels %v", k, v, dep.Spec.Template.Labels)
		}
	}
	return dep
}

func checkService(t *testing.T, r rendering, dep *appsv1.Deployment) {
	t.Helper()
	var svc corev1.Service
	find(t, r.objs, "Service", "selmount-controller-metrics", &svc)
	c := dep.Spec.Template.Spec.Containers[0]
	flags, _ := parseArgs(c.Args)
	metricsPort := int32(8443)
	if a, ok := flags["metrics-bind-address"]; ok {
		metricsPort = port(t, "metrics-bind-address", a)
	}
	if !selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service ports %+v: want one", svc.Spec.Ports)
	}
	sp := svc.Spec.Ports[0]
	if sp.Port != 8443 || containerPort(c, sp.TargetPort) != metricsPort || sp.Name != "https" {
		t.Errorf("Service port %+v: want https 8443 to the metrics port %d", sp, metricsPort)
	}
}

func checkServiceMonitor(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	sms := ofKind(objs, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(sms))
	}
	sm := sms[0]
	if sm.GetAPIVersion() != "monitoring.coreos.com/v1" {
		t.Errorf("ServiceMonitor apiVersion %q", sm.GetAPIVersion())
	}
	var svc corev1.Service
	find(t, objs, "Service", "selmount-controller-metrics", &svc)
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if len(sel) == 0 || !selects(sel, svc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sel, svc.Labels)
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor endpoints %v: want one", eps)
	}
	ep, _ := eps[0].(map[string]any)
	want := map[string]any{
		"port": "https", "path": "/metrics", "scheme": "https",
		"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
	}
	for k, v := range want {
		if ep[k] != v {
			t.Errorf("ServiceMonitor endpoint %s = %v, want %v", k, ep[k], v)
		}
	}
	tls, _ := ep["tlsConfig"].(map[string]any)
	if tls["insecureSkipVerify"] != true && tls["ca"] == nil {
		t.Errorf("ServiceMonitor tlsConfig %v: want insecureSkipVerify or a CA", tls)
	}
}

func checkPDB(t *testing.T, objs []*unstructured.Unstructured, dep *appsv1.Deployment) {
	t.Helper()
	var pdb policyv1.PodDisruptionBudget
	find(t, objs, "PodDisruptionBudget", "selmount-controller", &pdb)
	if pdb.Spec.Selector == nil || !selects(pdb.Spec.Selector.MatchLabels, dep.Spec.Template.Labels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
	}
	if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget: want maxUnavailable 1 only, got %+v", pdb.Spec)
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestChartMatchesKustomize: both installations grant the same RBAC to the
// same subjects and run the controller with the same arguments, image
// aside.
func TestChartMatchesKustomize(t *testing.T) {
	for _, pair := range [][2]string{{"deploy/kustomize/base", ""}, {"deploy/kustomize/servicemonitor", "serviceMonitor.enabled=true"}} {
		t.Run(pair[0], func(t *testing.T) {
			k := renderKustomize(t, pair[0])
			var set []string
			if pair[1] != "" {
				set = append(set, pair[1])
			}
			h := renderHelm(t, set...)
			if got, want := rbacSummary(t, h), rbacSummary(t, k); !slices.Equal(got, want) {
				t.Errorf("RBAC differs:\nhelm:\n%s\nkustomize:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var hd, kd appsv1.Deployment
			find(t, h, "Deployment", "selmount-controller", &hd)
			find(t, k, "Deployment", "selmount-controller", &kd)
			hc, kc := hd.Spec.Template.Spec.Containers[0], kd.Spec.Template.Spec.Containers[0]
			if !slices.Equal(hc.Args, kc.Args) {
				t.Errorf("args: helm %q, kustomize %q", hc.Args, kc.Args)
			}
			// Everything else in the pod spec but the image.
			hc.Image, kc.Image = "", ""
			hd.Spec.Template.Spec.Containers[0], kd.Spec.Template.Spec.Containers[0] = hc, kc
			hj, _ := yaml.Marshal(hd.Spec.Template.Spec)
			kj, _ := yaml.Marshal(kd.Spec.Template.Spec)
			if !bytes.Equal(hj, kj) {
				t.Errorf("pod specs differ:\nhelm:\n%s\nkustomize:\n%s", hj, kj)
			}
			hs, ks := ofKind(h, "ServiceMonitor"), ofKind(k, "ServiceMonitor")
			if len(hs) != len(ks) {
				t.Fatalf("ServiceMonitors: helm %d, kustomize %d", len(hs), len(ks))
			}
			for i := range hs {
				hspec, _, _ := unstructured.NestedMap(hs[i].Object, "spec")
				kspec, _, _ := unstructured.NestedMap(ks[i].Object, "spec")
				hj, _ := yaml.Marshal(hspec)
				kj, _ := yaml.Marshal(kspec)
				if !bytes.Equal(hj, kj) {
					t.Errorf("ServiceMonitor specs differ:\nhelm:\n%s\nkustomize:\n%s", hj, kj)
				}
			}
		})
	}
}

// rbacSummary lists every role's grants and every binding, one line each.
func rbacSummary(t testing.TB, objs []*unstructured.Unstructured) []string {
	t.Helper()
	var out []string
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			var role rbacv1.ClusterRole
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
				t.Fatal(err)
			}
			id := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
			for _, g := range grants(role.Rules) {
				out = append(out, id+": "+g)
			}
			for k, v := range o.GetLabels() {
				if strings.HasPrefix(k, "rbac.authorization.k8s.io/") {
					out = append(out, id+": label "+k+"="+v)
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
				t.Fatal(err)
			}
			for _, s := range b.Subjects {
				out = append(out, fmt.Sprintf("%s %s/%s: %s %s/%s -> %s %s", o.GetKind(), o.GetNamespace(), o.GetName(),
					s.Kind, s.Namespace, s.Name, b.RoleRef.Kind, b.RoleRef.Name))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestChartValues: the values the chart documents reach the Deployment,
// and invalid ones are refused.
func TestChartValues(t *testing.T) {
	tests := []struct {
		name     string
		set      []string
		wantArgs []string // in this order, after "controller"
		wantErr  string
	}{
		{name: "defaults", wantArgs: []string{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json"}},
		{name: "no leader election", set: []string{"leaderElection.enabled=false", "replicas=1"},
			wantArgs: []string{"--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json"}},
		{name: "everything", set: []string{"metrics.secure=false", "metrics.certSecretName=certs", "metrics.namespaceLabel=true", "workers=4", "targetVersion=1.37", "logFormat=text", "verbosity=3", "probes.port=9000", "metrics.port=9443"},
			wantArgs: []string{"--leader-elect", "--metrics-bind-address=:9443", "--metrics-secure=false", "--metrics-cert-dir=/etc/selmount/metrics-certs", "--metrics-namespace-label", "--health-probe-bind-address=:9000", "--workers=4", "--target-version=1.37", "--log-format=text", "-v=3"}},
		// values.schema.json refuses these before any template runs.
		{name: "bad log format", set: []string{"logFormat=xml"}, wantErr: `at '/logFormat': value must be one of 'text', 'json'`},
		{name: "misspelt value", set: []string{"metrics.scure=false"}, wantErr: `at '/metrics': additional properties 'scure' not allowed`},
		{name: "wrong type", set: []string{"replicas=two"}, wantErr: `at '/replicas': got string, want integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := helmTemplate(t, tc.set...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			objs := parse(t, out)
			var dep appsv1.Deployment
			find(t, objs, "Deployment", "selmount-controller", &dep)
			c := dep.Spec.Template.Spec.Containers[0]
			if want := append([]string{"controller"}, tc.wantArgs...); !slices.Equal(c.Args, want) {
				t.Errorf("args %q\nwant %q", c.Args, want)
			}
			if _, err := parseArgs(c.Args); err != nil {
				t.Error(err)
			}
			for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
				flags, _ := parseArgs(c.Args)
				if got, want := containerPort(c, p.HTTPGet.Port), port(t, "health-probe-bind-address", flags["health-probe-bind-address"]); got != want {
					t.Errorf("probe port %d, want %d", got, want)
				}
			}
		})
	}
}

func TestHelmLint(t *testing.T) {
	for _, set := range [][]string{nil, {"serviceMonitor.enabled=true"}} {
		args := []string{"lint", "--strict", "deploy/helm/selmount"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := run(t, tool(t, "helm"), args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestCRDCopies: the chart's crds/ and deploy/kustomize/crds hold exactly
// deploy/crds/*.yaml (hack/sync-chart-crds.sh copies them).
func TestCRDCopies(t *testing.T) {
	root := repoRoot(t)
	src, err := filepath.Glob(filepath.Join(root, "deploy", "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(src) == 0 {
		t.Fatal("no CRDs in deploy/crds")
	}
	var names []string
	for _, f := range src {
		if b := filepath.Base(f); b != "kustomization.yaml" { // not a CRD
			names = append(names, b)
		}
	}
	for _, dir := range []string{"deploy/helm/selmount/crds", "deploy/kustomize/crds"} {
		copies, _ := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		var got []string
		for _, f := range copies {
			if b := filepath.Base(f); b != "kustomization.yaml" {
				got = append(got, b)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s holds %q, deploy/crds holds %q: run hack/sync-chart-crds.sh", dir, got, names)
			continue
		}
		for _, n := range names {
			a, errA := os.ReadFile(filepath.Join(root, "deploy", "crds", n))
			b, errB := os.ReadFile(filepath.Join(root, dir, n))
			if err := errors.Join(errA, errB); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s/%s differs from deploy/crds/%s: run hack/sync-chart-crds.sh", dir, n, n)
			}
		}
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "kustomize", "crds", "kustomization.yaml"))
	if err == nil {
		err = yaml.Unmarshal(data, &k)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(k.Resources, names) {
		t.Errorf("deploy/kustomize/crds/kustomization.yaml lists %q, want %q: run hack/sync-chart-crds.sh", k.Resources, names)
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"controller", "--leader-elect", "--workers=3", "-v=2"}},
		{args: []string{"check"}, wantErr: "want the controller subcommand first"},
		{args: []string{"controller", "--leader-elect-lease=x"}, wantErr: "not a flag of selmount controller"},
		{args: []string{"controller", "--workers"}, wantErr: "needs =value"},
		{args: []string{"controller", "--leader-elect=yes"}, wantErr: "boolean flag with value"},
		{args: []string{"controller", "--workers=1", "--workers=2"}, wantErr: "flag given twice"},
		{args: []string{"controller", "json"}, wantErr: "not a flag"},
	}
	for _, tc := range tests {
		_, err := parseArgs(tc.args)
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("parseArgs(%q) = %v, want error %q", tc.args, err, tc.wantErr)
		}
	}
}
