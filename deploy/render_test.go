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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/admission/mutate"
)

const (
	namespace = "selmount-system"
	saName    = "selmount-controller"

	envRequireTools = "SELMOUNT_REQUIRE_DEPLOY_TOOLS"
	envRequireInteg = "SELMOUNT_REQUIRE_INTEGRATION"
)

// contractFlags are the flags of `selmount controller` (and so of
// `selmount webhook`) a manifest may pass, and whether each is a boolean.
var contractFlags = map[string]bool{
	"leader-elect":              true,
	"leader-elect-namespace":    false,
	"selmount-namespace":        false,
	"allocate-levels":           true,
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

// webhookFlags are the flags only `selmount webhook` has, and whether each is
// a boolean (agreed with internal/cli/webhook.go).
var webhookFlags = map[string]bool{
	"webhook-bind-address":             false,
	"cert-dir":                         false,
	"cert-secret-name":                 false,
	"webhook-service-name":             false,
	"validating-webhook-configuration": false,
	"mutating-webhook-configuration":   false,
	"cert-extra-names":                 false,
	"deny":                             true,
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
	// webhook says whether it runs `selmount webhook` with its webhook
	// configurations; certManager whether cert-manager gives the
	// certificate.
	webhook, certManager bool
	// admissionPolicy says whether it installs the MutatingAdmissionPolicy
	// (and the controller allocates levels).
	admissionPolicy bool
}

// allocates reports whether the pods allocate MCS levels: the webhook's
// default, and the controller with the admission policy.
func (r rendering) allocates() bool { return r.webhook || r.admissionPolicy }

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
		// The first is the controller alone: TestIntegrationDeploy and
		// TestIntegrationDeployImage install it.
		{name: "kustomize base", objs: renderKustomize(t, "deploy/kustomize/base"), namespace: true},
		{name: "kustomize servicemonitor", objs: renderKustomize(t, "deploy/kustomize/servicemonitor"), namespace: true, serviceMonitor: true},
		{name: "kustomize webhook", objs: renderKustomize(t, "deploy/kustomize/webhook"), namespace: true, webhook: true},
		{name: "kustomize webhook-cert-manager", objs: renderKustomize(t, "deploy/kustomize/webhook-cert-manager"), namespace: true, webhook: true, certManager: true},
		{name: "kustomize admission-policy", objs: renderKustomize(t, "deploy/kustomize/admission-policy"), namespace: true, admissionPolicy: true},
		{name: "helm defaults", objs: renderHelm(t), webhook: true},
		{name: "helm webhook.enabled=false", objs: renderHelm(t, "webhook.enabled=false")},
		{name: "helm serviceMonitor.enabled", objs: renderHelm(t, "serviceMonitor.enabled=true"), serviceMonitor: true, webhook: true},
		{name: "helm certManager.enabled", objs: renderHelm(t, "certManager.enabled=true"), webhook: true, certManager: true},
		{name: "helm admissionPolicy.enabled", objs: renderHelm(t, "webhook.enabled=false", "admissionPolicy.enabled=true"), admissionPolicy: true},
	}
}

func TestRenderings(t *testing.T) {
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			checkObjects(t, r)
			checkRBAC(t, r)
			dep := checkDeployment(t, r)
			checkService(t, r, dep)
			checkPDB(t, r.objs, dep)
			if r.webhook {
				checkWebhook(t, r, dep)
			}
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

// webhookKinds are the objects the webhook adds; selfManagedKinds those it
// adds when it manages its certificate; levelsKinds those of the level
// allocator; admissionPolicyKinds those of the admission policy;
// certManagerKinds those cert-manager mode adds.
var (
	webhookKinds = []string{
		"MutatingWebhookConfiguration/selmount-webhook",
		"Service/selmount-webhook",
		"ValidatingWebhookConfiguration/selmount-webhook",
	}
	selfManagedKinds = []string{
		"ClusterRole/selmount-webhook",
		"ClusterRoleBinding/selmount-webhook",
		"Role/selmount-webhook",
		"RoleBinding/selmount-webhook",
	}
	levelsKinds = []string{
		"ClusterRole/selmount-levels",
		"ClusterRoleBinding/selmount-levels",
		"Role/selmount-levels",
		"RoleBinding/selmount-levels",
	}
	admissionPolicyKinds = []string{
		"MutatingAdmissionPolicy/selmount-selinux-defaults",
		"MutatingAdmissionPolicyBinding/selmount-selinux-defaults",
	}
	certManagerKinds = []string{
		"Certificate/selmount-webhook",
		"Issuer/selmount-webhook-selfsigned",
	}
)

func (r rendering) wantKinds() []string {
	want := slices.Clone(wantKinds)
	if r.webhook {
		want = append(want, webhookKinds...)
		if !r.certManager {
			want = append(want, selfManagedKinds...)
		}
	}
	if r.allocates() {
		want = append(want, levelsKinds...)
	}
	if r.admissionPolicy {
		want = append(want, admissionPolicyKinds...)
	}
	if r.certManager {
		want = append(want, certManagerKinds...)
	}
	sort.Strings(want)
	return want
}

var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "CustomResourceDefinition": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"MutatingAdmissionPolicy": true, "MutatingAdmissionPolicyBinding": true,
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
	if want := r.wantKinds(); !slices.Equal(got, want) {
		t.Errorf("objects:\n got %q\nwant %q", got, want)
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

// The webhook's additions when it manages its certificate (not with
// cert-manager): the certificate Secret and the caBundle of its own
// configurations. The level allocator's (the webhook's by default, the
// controller's with the admission policy): namespace updates and the ledger
// ConfigMap.
var (
	wantWebhookClusterGrants = []string{
		"admissionregistration.k8s.io/mutatingwebhookconfigurations/selmount-webhook get",
		"admissionregistration.k8s.io/mutatingwebhookconfigurations/selmount-webhook list",
		"admissionregistration.k8s.io/mutatingwebhookconfigurations/selmount-webhook patch",
		"admissionregistration.k8s.io/mutatingwebhookconfigurations/selmount-webhook watch",
		"admissionregistration.k8s.io/validatingwebhookconfigurations/selmount-webhook get",
		"admissionregistration.k8s.io/validatingwebhookconfigurations/selmount-webhook list",
		"admissionregistration.k8s.io/validatingwebhookconfigurations/selmount-webhook patch",
		"admissionregistration.k8s.io/validatingwebhookconfigurations/selmount-webhook watch",
	}
	wantWebhookGrants = []string{
		"/secrets create",
		"/secrets/selmount-webhook-cert get",
		"/secrets/selmount-webhook-cert list",
		"/secrets/selmount-webhook-cert update",
		"/secrets/selmount-webhook-cert watch",
	}
	wantLevelsClusterGrants = []string{"/namespaces update"}
	wantLevelsGrants        = []string{
		"/configmaps create",
		"/configmaps/selmount-mcs get",
		"/configmaps/selmount-mcs update",
	}
)

func checkRBAC(t *testing.T, r rendering) {
	t.Helper()
	objs := r.objs
	for _, o := range slices.Concat(ofKind(objs, "ClusterRole"), ofKind(objs, "Role")) {
		var role rbacv1.ClusterRole // Role has the same rules field
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role); err != nil {
			t.Fatalf("%s/%s: %v", o.GetKind(), o.GetName(), err)
		}
		if role.AggregationRule != nil {
			t.Errorf("%s/%s: has an aggregationRule: it would collect other roles' rules", o.GetKind(), o.GetName())
		}
		for _, g := range grants(role.Rules) {
			// Secrets only in the webhook's Role and ConfigMaps only in the
			// allocator's, in selmount's own namespace.
			own := o.GetKind() == "Role" && o.GetNamespace() == namespace
			secretsOK := own && o.GetName() == "selmount-webhook"
			configMapsOK := own && o.GetName() == "selmount-levels"
			if strings.Contains(g, "*") || (!secretsOK && strings.Contains(g, "secrets")) || (!configMapsOK && strings.Contains(g, "configmaps")) {
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
	if r.webhook && !r.certManager {
		checkRole("ClusterRole", "selmount-webhook", wantWebhookClusterGrants)
		checkRole("Role", "selmount-webhook", wantWebhookGrants)
	}
	if r.allocates() {
		checkRole("ClusterRole", "selmount-levels", wantLevelsClusterGrants)
		checkRole("Role", "selmount-levels", wantLevelsGrants)
	}

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
	bindings := []string{"selmount-leader-election"}
	var clusterBindings []string
	if r.webhook && !r.certManager {
		clusterBindings = append(clusterBindings, "selmount-webhook")
	}
	if r.allocates() {
		clusterBindings = append(clusterBindings, "selmount-levels")
	}
	for _, name := range clusterBindings {
		bindings = append(bindings, name)
		var crb rbacv1.ClusterRoleBinding
		find(t, objs, "ClusterRoleBinding", name, &crb)
		if crb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name}) {
			t.Errorf("ClusterRoleBinding/%s: roleRef %+v", name, crb.RoleRef)
		}
		if !slices.Equal(crb.Subjects, wantSubjects) {
			t.Errorf("ClusterRoleBinding/%s: subjects %+v, want %+v", name, crb.Subjects, wantSubjects)
		}
	}
	for _, name := range bindings {
		var rb rbacv1.RoleBinding
		find(t, objs, "RoleBinding", name, &rb)
		if rb.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}) {
			t.Errorf("RoleBinding/%s: roleRef %+v", name, rb.RoleRef)
		}
		if !slices.Equal(rb.Subjects, wantSubjects) {
			t.Errorf("RoleBinding/%s: subjects %+v, want %+v", name, rb.Subjects, wantSubjects)
		}
	}
}

// parseArgs checks args against the contract and returns the flags' values
// ("true" for a bare boolean flag).
func parseArgs(args []string) (map[string]string, error) {
	if len(args) == 0 || (args[0] != "controller" && args[0] != "webhook") {
		return nil, fmt.Errorf("args %q: want the controller or webhook subcommand first", args)
	}
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool, ok := contractFlags[name]
		if wb, isWebhook := webhookFlags[name]; isWebhook && args[0] == "webhook" {
			isBool, ok = wb, true
		}
		switch {
		case !strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("arg %q: not a flag", a)
		case !ok:
			return nil, fmt.Errorf("arg %q: not a flag of selmount %s", a, args[0])
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

func checkDeployment(t *testing.T, r rendering) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	find(t, r.objs, "Deployment", "selmount-controller", dep)
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
	if want := map[bool]string{false: "controller", true: "webhook"}[r.webhook]; c.Args[0] != want {
		t.Errorf("args %q: want the %s subcommand", c.Args, want)
	}
	// The allocator runs where its RBAC is: by default in the webhook, in
	// the controller only with the admission policy.
	if alloc := flags["allocate-levels"]; r.admissionPolicy && alloc != "true" || !r.allocates() && alloc == "true" || r.webhook && alloc == "false" {
		t.Errorf("args %q: --allocate-levels %q, want it on exactly where the level RBAC is", c.Args, alloc)
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

	// Sized from the controller benchmark (docs/benchmarks.md): the request
	// fits 10,000 pods, the limit 50,000.
	wantRes := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("320Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1536Mi")},
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
	for _, pair := range []struct {
		dir string
		set []string
	}{
		{"deploy/kustomize/base", []string{"webhook.enabled=false"}},
		{"deploy/kustomize/servicemonitor", []string{"webhook.enabled=false", "serviceMonitor.enabled=true"}},
		{"deploy/kustomize/webhook", nil},
		{"deploy/kustomize/webhook-cert-manager", []string{"certManager.enabled=true"}},
		{"deploy/kustomize/admission-policy", []string{"webhook.enabled=false", "admissionPolicy.enabled=true"}},
	} {
		t.Run(pair.dir, func(t *testing.T) {
			k := renderKustomize(t, pair.dir)
			h := renderHelm(t, pair.set...)
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
			// The other objects' contents, labels aside.
			for _, kind := range []string{"ServiceMonitor", "Service", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Certificate", "Issuer", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"} {
				hs, ks := ofKind(h, kind), ofKind(k, kind)
				if len(hs) != len(ks) {
					t.Errorf("%s: helm %d, kustomize %d", kind, len(hs), len(ks))
					continue
				}
				sortByName(hs)
				sortByName(ks)
				for i := range hs {
					hj, kj := contents(hs[i]), contents(ks[i])
					if !bytes.Equal(hj, kj) {
						t.Errorf("%s %s differs:\nhelm:\n%s\nkustomize:\n%s", kind, hs[i].GetName(), hj, kj)
					}
				}
			}
		})
	}
}

func sortByName(objs []*unstructured.Unstructured) {
	slices.SortFunc(objs, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
}

// contents is an object as YAML without its labels (the chart adds Helm's).
func contents(o *unstructured.Unstructured) []byte {
	c := o.DeepCopy()
	c.SetLabels(nil)
	j, _ := yaml.Marshal(c.Object)
	return j
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
		wantArgs []string // in this order
		wantErr  string
	}{
		{name: "defaults", wantArgs: slices.Concat([]string{"webhook", "--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json"}, managedCertArgs)},
		{name: "controller only", set: []string{"webhook.enabled=false"}, wantArgs: []string{"controller", "--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json"}},
		{name: "no leader election", set: []string{"webhook.enabled=false", "leaderElection.enabled=false", "replicas=1"},
			wantArgs: []string{"controller", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json"}},
		{name: "everything", set: []string{"webhook.enabled=false", "metrics.secure=false", "metrics.certSecretName=certs", "metrics.namespaceLabel=true", "workers=4", "targetVersion=1.37", "logFormat=text", "verbosity=3", "probes.port=9000", "metrics.port=9443"},
			wantArgs: []string{"controller", "--leader-elect", "--metrics-bind-address=:9443", "--metrics-secure=false", "--metrics-cert-dir=/etc/selmount/metrics-certs", "--metrics-namespace-label", "--health-probe-bind-address=:9000", "--workers=4", "--target-version=1.37", "--log-format=text", "-v=3"}},
		{name: "webhook everything", set: []string{"webhook.port=10443", "webhook.deny=true", "webhook.allocateLevels=false", "webhook.timeoutSeconds=5"},
			wantArgs: []string{"webhook", "--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json", "--webhook-bind-address=:10443",
				"--cert-secret-name=selmount-webhook-cert", "--webhook-service-name=selmount-webhook", "--validating-webhook-configuration=selmount-webhook", "--mutating-webhook-configuration=selmount-webhook",
				"--deny", "--allocate-levels=false"}},
		{name: "admission policy", set: []string{"webhook.enabled=false", "admissionPolicy.enabled=true"},
			wantArgs: []string{"controller", "--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json", "--allocate-levels"}},
		{name: "admission policy and webhook", set: []string{"admissionPolicy.enabled=true"}, wantErr: `admissionPolicy.enabled=true needs webhook.enabled=false`},
		{name: "cert-manager", set: []string{"certManager.enabled=true"},
			wantArgs: []string{"webhook", "--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081", "--log-format=json", "--webhook-bind-address=:9443", "--cert-dir=/etc/selmount/webhook-certs"}},
		// values.schema.json refuses these before any template runs.
		{name: "bad log format", set: []string{"logFormat=xml"}, wantErr: `at '/logFormat': value must be one of 'text', 'json'`},
		{name: "misspelt value", set: []string{"metrics.scure=false"}, wantErr: `at '/metrics': additional properties 'scure' not allowed`},
		{name: "wrong type", set: []string{"replicas=two"}, wantErr: `at '/replicas': got string, want integer`},
		{name: "bad timeout", set: []string{"webhook.timeoutSeconds=60"}, wantErr: `at '/webhook/timeoutSeconds': maximum: got 60, want 30`},
		{name: "issuerRef without name", set: []string{"certManager.enabled=true", "certManager.issuerRef.kind=ClusterIssuer"}, wantErr: `certManager.issuerRef: needs a name`},
		{name: "port clash", set: []string{"webhook.port=8443"}, wantErr: `webhook.port 8443: already the metrics or probe port`},
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
			if want := tc.wantArgs; !slices.Equal(c.Args, want) {
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

// managedCertArgs are the default webhook flags: the certificate managed by
// selmount.
var managedCertArgs = []string{"--webhook-bind-address=:9443", "--cert-secret-name=selmount-webhook-cert",
	"--webhook-service-name=selmount-webhook", "--validating-webhook-configuration=selmount-webhook", "--mutating-webhook-configuration=selmount-webhook"}

// TestChartIssuerRef: with an issuerRef the chart makes no Issuer and the
// Certificate uses the one given.
func TestChartIssuerRef(t *testing.T) {
	objs := renderHelm(t, "certManager.enabled=true", "certManager.issuerRef.name=corp-ca", "certManager.issuerRef.kind=ClusterIssuer")
	if is := ofKind(objs, "Issuer"); len(is) != 0 {
		t.Errorf("%d Issuers, want none with an issuerRef", len(is))
	}
	certs := ofKind(objs, "Certificate")
	if len(certs) != 1 {
		t.Fatalf("%d Certificates, want 1", len(certs))
	}
	ref, _, _ := unstructured.NestedStringMap(certs[0].Object, "spec", "issuerRef")
	if want := map[string]string{"name": "corp-ca", "kind": "ClusterIssuer"}; !maps.Equal(ref, want) {
		t.Errorf("issuerRef %v, want %v", ref, want)
	}
}

func TestHelmLint(t *testing.T) {
	for _, set := range [][]string{nil, {"serviceMonitor.enabled=true"}, {"webhook.enabled=false"}, {"certManager.enabled=true"}, {"webhook.enabled=false", "admissionPolicy.enabled=true"}} {
		args := []string{"lint", "--strict", "deploy/helm/selmount"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := run(t, tool(t, "helm"), args...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestAdmissionPolicyCopies: the chart's files/admission-policy.yaml and the
// kustomize component's copy are what `selmount admission-policy` prints
// (hack/sync-admission-policy.sh writes them), and the rendered policy is
// mutate.PolicyObjects' (the one the real-apiserver test applies).
func TestAdmissionPolicyCopies(t *testing.T) {
	root := repoRoot(t)
	want := mutate.Policy(mutate.Options{})
	for _, p := range []string{"deploy/helm/selmount/files/admission-policy.yaml", "deploy/kustomize/components/admission-policy/admission-policy.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		// The generated file starts with a comment line.
		if _, rest, ok := bytes.Cut(b, []byte("\n")); !ok || !bytes.HasPrefix(b, []byte("# Generated by hack/sync-admission-policy.sh")) || !bytes.Equal(rest, want) {
			t.Errorf("%s is not the output of `selmount admission-policy`: run hack/sync-admission-policy.sh", p)
		}
	}
	policy, binding := mutate.PolicyObjects(mutate.Options{})
	objs := renderHelm(t, "webhook.enabled=false", "admissionPolicy.enabled=true")
	for _, want := range []runtime.Object{policy, binding} {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
		if err != nil {
			t.Fatal(err)
		}
		w := &unstructured.Unstructured{Object: u}
		var got *unstructured.Unstructured
		for _, o := range ofKind(objs, w.GetKind()) {
			if o.GetName() == w.GetName() {
				got = o
			}
		}
		if got == nil {
			t.Errorf("the chart renders no %s/%s", w.GetKind(), w.GetName())
			continue
		}
		w.SetAPIVersion("admissionregistration.k8s.io/v1")
		w.SetKind(got.GetKind())
		if g, wj := contents(got), contents(w); !bytes.Equal(g, wj) {
			t.Errorf("%s differs:\nchart:\n%s\nmutate.PolicyObjects:\n%s", w.GetKind(), g, wj)
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
		{args: []string{"check"}, wantErr: "want the controller or webhook subcommand first"},
		{args: []string{"controller", "--leader-elect-lease=x"}, wantErr: "not a flag of selmount controller"},
		{args: []string{"controller", "--cert-dir=/x"}, wantErr: "not a flag of selmount controller"},
		{args: []string{"webhook", "--cert-dir=/x", "--deny", "--leader-elect"}},
		{args: []string{"webhook", "--deny=maybe"}, wantErr: "boolean flag with value"},
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

// checkWebhook checks what the webhook adds: its flags, port, Service,
// certificate wiring and the two webhook configurations.
func checkWebhook(t *testing.T, r rendering, dep *appsv1.Deployment) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	flags, _ := parseArgs(c.Args)
	webhookPort := int32(9443)
	if a, ok := flags["webhook-bind-address"]; ok {
		webhookPort = port(t, "webhook-bind-address", a)
	}
	if got := containerPort(c, intstr.FromString("webhook")); got != webhookPort {
		t.Errorf("container port \"webhook\" is %d, want the --webhook-bind-address port %d", got, webhookPort)
	}

	// The certificate: managed by selmount, or from cert-manager's Secret.
	const certDir = "/etc/selmount/webhook-certs"
	managed := map[string]string{
		"cert-secret-name":                 "selmount-webhook-cert",
		"webhook-service-name":             "selmount-webhook",
		"validating-webhook-configuration": "selmount-webhook",
		"mutating-webhook-configuration":   "selmount-webhook",
	}
	if r.certManager {
		if flags["cert-dir"] != certDir {
			t.Errorf("args %q: want --cert-dir=%s", c.Args, certDir)
		}
		for f := range managed {
			if _, ok := flags[f]; ok {
				t.Errorf("args %q: --%s with cert-manager", c.Args, f)
			}
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == "webhook-certs" && m.MountPath == certDir && m.ReadOnly
		}) {
			t.Errorf("no read-only mount of webhook-certs at %s", certDir)
		}
		if !slices.ContainsFunc(dep.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
			return v.Name == "webhook-certs" && v.Secret != nil && v.Secret.SecretName == "selmount-webhook-cert"
		}) {
			t.Error("no volume webhook-certs from the Secret selmount-webhook-cert")
		}
		checkCertificate(t, r.objs)
	} else {
		if _, ok := flags["cert-dir"]; ok {
			t.Errorf("args %q: --cert-dir without cert-manager", c.Args)
		}
		for f, v := range managed {
			if flags[f] != v {
				t.Errorf("args %q: want --%s=%s", c.Args, f, v)
			}
		}
	}

	var svc corev1.Service
	find(t, r.objs, "Service", "selmount-webhook", &svc)
	if !selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("Service selmount-webhook selector %v does not select the pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || containerPort(c, svc.Spec.Ports[0].TargetPort) != webhookPort {
		t.Errorf("Service selmount-webhook ports %+v: want 443 to the webhook port %d", svc.Spec.Ports, webhookPort)
	}
	if svc.Labels["app.kubernetes.io/component"] != "webhook" {
		t.Errorf("Service selmount-webhook labels %v: want component webhook (a ServiceMonitor selects component controller)", svc.Labels)
	}

	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	find(t, r.objs, "ValidatingWebhookConfiguration", "selmount-webhook", &vwc)
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	find(t, r.objs, "MutatingWebhookConfiguration", "selmount-webhook", &mwc)
	for _, m := range []metav1.ObjectMeta{vwc.ObjectMeta, mwc.ObjectMeta} {
		got, want := m.Annotations["cert-manager.io/inject-ca-from"], ""
		if r.certManager {
			want = namespace + "/selmount-webhook"
		}
		if got != want {
			t.Errorf("%s: cert-manager.io/inject-ca-from %q, want %q", m.Name, got, want)
		}
	}

	// Validating: Pods and the six workload kinds, CREATE and UPDATE.
	var covered []string
	for _, w := range vwc.Webhooks {
		checkClientConfig(t, w.Name, w.ClientConfig, "/validate")
		checkCommon(t, w.Name, w.FailurePolicy, w.TimeoutSeconds, w.AdmissionReviewVersions)
		if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects %v, want None", w.Name, w.SideEffects)
		}
		var required map[string]string
		if w.Name == "pods-deny.validate.selmount.io" {
			required = map[string]string{"selmount.io/enforce": "deny"}
		}
		checkExcludes(t, w.Name, w.NamespaceSelector, required)
		conds := w.MatchConditions
		if w.Name == "pods.validate.selmount.io" && len(conds) == 2 {
			// Controller-owned pods skipped, where only warnings are due.
			if conds[1].Name != "not-controller-owned" || !strings.Contains(conds[1].Expression, "ownerReferences") {
				t.Errorf("%s: second matchCondition %+v: want not-controller-owned", w.Name, conds[1])
			}
			conds = conds[:1]
		}
		if len(conds) != 1 || !strings.Contains(conds[0].Expression, "persistentVolumeClaim") ||
			!strings.Contains(conds[0].Expression, "ephemeral") {
			t.Errorf("%s: matchConditions %+v: want one that skips objects without claims or ephemeral volumes", w.Name, w.MatchConditions)
		}
		for _, rule := range w.Rules {
			if !slices.Equal(rule.Operations, []admissionregistrationv1.OperationType{"CREATE", "UPDATE"}) {
				t.Errorf("%s: operations %v, want CREATE, UPDATE", w.Name, rule.Operations)
			}
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					covered = append(covered, g+"/"+res)
				}
			}
		}
	}
	// Every namespace's pods go to exactly one pods webhook, and only the
	// one of deny namespaces sees controller-owned pods.
	for _, nsLabels := range []labels.Set{{"kubernetes.io/metadata.name": "team-a"},
		{"kubernetes.io/metadata.name": "team-a", "selmount.io/enforce": "deny"}} {
		var selecting []string
		for _, w := range vwc.Webhooks {
			sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
			if err == nil && strings.HasPrefix(w.Name, "pods") && sel.Matches(nsLabels) {
				selecting = append(selecting, w.Name)
				if nsLabels["selmount.io/enforce"] == "deny" && len(w.MatchConditions) != 1 {
					t.Errorf("%s selects deny namespaces but skips some pods: %+v", w.Name, w.MatchConditions)
				}
			}
		}
		if len(selecting) != 1 {
			t.Errorf("namespace %v: pods webhooks %q select it, want exactly one", nsLabels, selecting)
		}
	}
	sort.Strings(covered)
	covered = slices.Compact(covered)
	wantCovered := []string{"/pods", "apps/daemonsets", "apps/deployments", "apps/replicasets", "apps/statefulsets", "batch/cronjobs", "batch/jobs"}
	if !slices.Equal(covered, wantCovered) {
		t.Errorf("validating webhooks cover %q, want %q", covered, wantCovered)
	}
	if !slices.ContainsFunc(vwc.Webhooks, func(w admissionregistrationv1.ValidatingWebhook) bool {
		return slices.ContainsFunc(w.Rules, func(r admissionregistrationv1.RuleWithOperations) bool {
			return slices.Contains(r.Resources, "statefulsets")
		}) &&
			strings.Contains(w.MatchConditions[0].Expression, "volumeClaimTemplates")
	}) {
		t.Error("the StatefulSet webhook's matchCondition ignores volumeClaimTemplates")
	}

	// Mutating: Pods on CREATE, only in opted-in namespaces.
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d mutating webhooks, want 1", len(mwc.Webhooks))
	}
	w := mwc.Webhooks[0]
	checkClientConfig(t, w.Name, w.ClientConfig, "/mutate")
	checkCommon(t, w.Name, w.FailurePolicy, w.TimeoutSeconds, w.AdmissionReviewVersions)
	if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun {
		t.Errorf("%s: sideEffects %v, want NoneOnDryRun", w.Name, w.SideEffects)
	}
	if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("%s: reinvocationPolicy %v, want Never", w.Name, w.ReinvocationPolicy)
	}
	if len(w.Rules) != 1 || !slices.Equal(w.Rules[0].Operations, []admissionregistrationv1.OperationType{"CREATE"}) ||
		!slices.Equal(w.Rules[0].Resources, []string{"pods"}) || !slices.Equal(w.Rules[0].APIGroups, []string{""}) {
		t.Errorf("%s: rules %+v, want pods CREATE", w.Name, w.Rules)
	}
	checkExcludes(t, w.Name, w.NamespaceSelector, map[string]string{"selmount.io/selinux-defaults": "enabled"})
	sel, err := metav1.LabelSelectorAsSelector(w.NamespaceSelector)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Matches(labels.Set{"kubernetes.io/metadata.name": "team-a"}) {
		t.Errorf("%s: namespaceSelector %s selects a namespace that did not opt in", w.Name, sel)
	}
}

func checkClientConfig(t *testing.T, name string, cc admissionregistrationv1.WebhookClientConfig, path string) {
	t.Helper()
	want := admissionregistrationv1.ServiceReference{Namespace: namespace, Name: "selmount-webhook", Path: &path, Port: ptr[int32](443)}
	if cc.URL != nil || cc.Service == nil || !reflect.DeepEqual(*cc.Service, want) {
		t.Errorf("%s: clientConfig %+v, want the Service selmount-webhook:443%s", name, cc, path)
	}
	if len(cc.CABundle) != 0 {
		t.Errorf("%s: a caBundle in the manifest (selmount or cert-manager writes it)", name)
	}
}

func checkCommon(t *testing.T, name string, fp *admissionregistrationv1.FailurePolicyType, timeout *int32, versions []string) {
	t.Helper()
	if fp == nil || *fp != admissionregistrationv1.Ignore {
		t.Errorf("%s: failurePolicy %v, want Ignore (fail open)", name, fp)
	}
	if timeout == nil || *timeout != 3 {
		t.Errorf("%s: timeoutSeconds %v, want 3", name, timeout)
	}
	if !slices.Equal(versions, []string{"v1"}) {
		t.Errorf("%s: admissionReviewVersions %v, want [v1]", name, versions)
	}
}

// checkExcludes: the selector never selects kube-system or selmount's own
// namespace, and selects another namespace carrying required.
func checkExcludes(t *testing.T, name string, ls *metav1.LabelSelector, required map[string]string) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || ls == nil {
		t.Errorf("%s: namespaceSelector %v: %v", name, ls, err)
		return
	}
	for _, ns := range []string{"kube-system", namespace} {
		l := labels.Set{"kubernetes.io/metadata.name": ns}
		maps.Copy(l, required)
		if sel.Matches(l) {
			t.Errorf("%s: namespaceSelector %s selects %s", name, sel, ns)
		}
	}
	l := labels.Set{"kubernetes.io/metadata.name": "team-a"}
	maps.Copy(l, required)
	if !sel.Matches(l) {
		t.Errorf("%s: namespaceSelector %s does not select namespace team-a with labels %v", name, sel, required)
	}
}

// checkCertificate: the Certificate names the webhook Service, writes the
// Secret the pods mount and is issued by an Issuer of the rendering.
func checkCertificate(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var cert *unstructured.Unstructured
	for _, o := range ofKind(objs, "Certificate") {
		cert = o
	}
	if cert == nil || cert.GetAPIVersion() != "cert-manager.io/v1" || cert.GetName() != "selmount-webhook" {
		t.Fatalf("no cert-manager.io/v1 Certificate selmount-webhook")
	}
	secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	if secret != "selmount-webhook-cert" {
		t.Errorf("Certificate secretName %q, want selmount-webhook-cert", secret)
	}
	names, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(names, "selmount-webhook."+namespace+".svc") {
		t.Errorf("Certificate dnsNames %q lack selmount-webhook.%s.svc (the name the API server calls)", names, namespace)
	}
	issuer, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	if issuer["kind"] != "Issuer" || !slices.ContainsFunc(ofKind(objs, "Issuer"), func(o *unstructured.Unstructured) bool { return o.GetName() == issuer["name"] }) {
		t.Errorf("Certificate issuerRef %v: not an Issuer of the rendering", issuer)
	}
}
