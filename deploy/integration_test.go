package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/selmount/selmount/admission/certs"
	"github.com/selmount/selmount/internal/testcluster"
)

// serviceMonitorCRD is a stand-in for the Prometheus Operator's CRD: enough
// for the apiserver to accept ServiceMonitor objects, without their schema.
const serviceMonitorCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// certManagerCRDs stand in for cert-manager's Issuer and Certificate CRDs,
// likewise without their schema: the dry run checks that the objects are
// well-formed and namespaced, not what cert-manager would make of them.
const certManagerCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: issuers.cert-manager.io
spec:
  group: cert-manager.io
  names: {kind: Issuer, listKind: IssuerList, plural: issuers, singular: issuer}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: certificates.cert-manager.io
spec:
  group: cert-manager.io
  names: {kind: Certificate, listKind: CertificateList, plural: certificates, singular: certificate}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

const fieldManager = "selmount-deploy-test"

// applier applies unstructured objects with server-side apply.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func (a *applier) apply(ctx context.Context, o *unstructured.Unstructured, dryRun bool) error {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: %w", gvk, o.GetName(), err)
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == "namespace" {
		ri = a.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	if _, err := ri.Apply(ctx, o.GetName(), o, opts); err != nil {
		return fmt.Errorf("%s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err)
	}
	return nil
}

// waitForKind waits until discovery serves group/version kind.
func (a *applier) waitForKind(ctx context.Context, t testing.TB, group, version, kind string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		a.mapper.Reset()
		_, err := a.mapper.RESTMapping(schemaGK(group, kind), version)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("%s/%s %s never served: %v", group, version, kind, err)
	}
}

// TestIntegrationDeploy applies every rendering of deploy/ to a real
// kube-apiserver with a server-side dry run (the apiserver validates and
// defaults each object and runs admission), then installs the kustomize base
// for real and asks the apiserver what its service account may do.
func TestIntegrationDeploy(t *testing.T) {
	rs := renderings(t) // before the cluster: skips without helm or kustomize
	c := testcluster.Start(t, testcluster.Options{})
	ctx := t.Context()
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client().Discovery()))}

	// Arrange: the ServiceMonitor kind, the selmount CRDs (once deploy/crds
	// exists) and the namespace, for real; dry-run objects of a kind the
	// apiserver does not serve yet, or in a namespace that does not exist,
	// are refused.
	for _, crd := range parse(t, []byte(serviceMonitorCRD+"---"+certManagerCRDs)) {
		if err := a.apply(ctx, crd, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range rs[0].objs {
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Namespace" {
			if err := a.apply(ctx, o, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.waitForKind(ctx, t, "monitoring.coreos.com", "v1", "ServiceMonitor")
	a.waitForKind(ctx, t, "cert-manager.io", "v1", "Issuer")
	a.waitForKind(ctx, t, "cert-manager.io", "v1", "Certificate")

	// Act and assert: every object of every rendering passes a dry run.
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			for _, o := range r.objs {
				if err := a.apply(ctx, o, true); err != nil {
					t.Errorf("dry run: %v", err)
				}
			}
		})
	}

	// Install the base for real and check its service account's rights.
	for _, o := range rs[0].objs {
		if err := a.apply(ctx, o, false); err != nil {
			t.Fatal(err)
		}
	}
	checkAccess(ctx, t, c.Client(), controllerAccess)

	// Then the webhook overlay on top: the same service account gains the
	// webhook's rights, and no more.
	var webhook rendering
	for _, r := range rs {
		if r.name == "kustomize webhook" {
			webhook = r
		}
	}
	for _, o := range webhook.objs {
		if err := a.apply(ctx, o, false); err != nil {
			t.Fatal(err)
		}
	}
	checkAccess(ctx, t, c.Client(), webhookAccess)
	checkManagedCertificate(ctx, t, c, a, webhook)
	checkTenantAccess(ctx, t, c)

	// The namespace enforces the restricted Pod Security Standard; every
	// rendering's pod must pass it (admission runs on dry runs too).
	ns, err := c.Client().CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s: labels %v, want pod-security.kubernetes.io/enforce=restricted", namespace, ns.Labels)
	}
	for _, r := range rs {
		var dep appsv1.Deployment
		find(t, r.objs, "Deployment", "selmount-controller", &dep)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "selmount-restricted-check", Namespace: namespace, Labels: dep.Spec.Template.Labels},
			Spec:       dep.Spec.Template.Spec,
		}
		_, err := c.Client().CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Errorf("%s: the controller's pod in a restricted namespace: %v", r.name, err)
		}
	}
}

// access is a question for the apiserver and the answer wanted.
type access struct {
	attr authorizationv1.ResourceAttributes
	url  string
	want bool
}

// controllerAccess is what the controller alone may and may not do.
var controllerAccess = []access{
	{attr: authorizationv1.ResourceAttributes{Verb: "watch", Resource: "pods"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "list", Resource: "persistentvolumes"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "list", Group: "batch", Resource: "cronjobs", Namespace: "team-a"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "events.k8s.io", Resource: "events", Namespace: "team-a"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "patch", Group: "selmount.io", Resource: "selinuxreports", Subresource: "status", Namespace: "team-a"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "selmount.io", Resource: "clusterselinuxreports"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "selmount-controller", Namespace: namespace}, want: true},
	// What it must not do.
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "list", Resource: "configmaps"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "pods", Namespace: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "delete", Group: "apps", Resource: "deployments", Namespace: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Resource: "events", Namespace: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Name: "kube-controller-manager", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}},
	{url: "/metrics"},
	// The webhook's rights are not the controller's.
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "patch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "selmount-webhook"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "namespaces", Name: "team-a"}},
}

// webhookAccess is what `selmount webhook` with a managed certificate may and
// may not do, beyond the controller (whose answers stay the same, except
// the three above).
var webhookAccess = append(slices.Clone(controllerAccess[:len(controllerAccess)-3]), []access{
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "watch", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "configmaps", Name: "selmount-mcs", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "configmaps", Name: "selmount-mcs", Namespace: namespace}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "patch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "selmount-webhook"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "watch", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: "selmount-webhook"}, want: true},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "namespaces", Name: "team-a"}, want: true},
	// Not other Secrets, ConfigMaps or webhook configurations, nor anywhere
	// else, nor deletes.
	{attr: authorizationv1.ResourceAttributes{Verb: "list", Resource: "secrets", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Name: "other", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "delete", Resource: "secrets", Name: "selmount-webhook-cert", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "update", Resource: "configmaps", Name: "other", Namespace: namespace}},
	{attr: authorizationv1.ResourceAttributes{Verb: "patch", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Name: "other"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "create", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces", Name: "team-a"}},
	{attr: authorizationv1.ResourceAttributes{Verb: "patch", Resource: "namespaces", Name: "team-a"}},
}...)

// checkAccess asks the apiserver (SubjectAccessReview) what the
// controller's service account may do.
func checkAccess(ctx context.Context, t *testing.T, client kubernetes.Interface, tests []access) {
	t.Helper()
	user := "system:serviceaccount:" + namespace + ":" + saName
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	for _, tc := range tests {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups}}
		what := tc.url
		if tc.url != "" {
			sar.Spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: tc.url, Verb: "get"}
			what = "get " + tc.url
		} else {
			attr := tc.attr
			sar.Spec.ResourceAttributes = &attr
			what = strings.Join([]string{attr.Verb, attr.Group + "/" + attr.Resource, attr.Subresource, attr.Namespace + "/" + attr.Name}, " ")
		}
		got, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.Status.Allowed != tc.want {
			t.Errorf("%s: allowed %v, want %v (%s)", what, got.Status.Allowed, tc.want, got.Status.Reason)
		}
	}
}

func schemaGK(group, kind string) schema.GroupKind { return schema.GroupKind{Group: group, Kind: kind} }

// TestIntegrationDeployHelmInstall installs the chart for real with helm
// (CRDs, templates, NOTES) and removes it again.
func TestIntegrationDeployHelmInstall(t *testing.T) {
	helm := tool(t, "helm")
	for _, env := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		t.Setenv(env, t.TempDir()) // nothing written to $HOME
	}
	c := testcluster.Start(t, testcluster.Options{})
	ctx := t.Context()
	kc := "--kubeconfig=" + c.Kubeconfig()

	out, err := run(t, helm, "install", "selmount", "deploy/helm/selmount", "-n", namespace, "--create-namespace",
		"--set", "serviceMonitor.enabled=false", kc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STATUS: deployed", "kubectl get clusterselinuxreports", "helm uninstall selmount -n " + namespace} {
		if !strings.Contains(string(out), want) {
			t.Errorf("helm install output lacks %q:\n%s", want, out)
		}
	}
	dep, err := c.Client().AppsV1().Deployments(namespace).Get(ctx, "selmount-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "localhost/selmount:dev" {
		t.Errorf("image %q, want localhost/selmount:dev", got)
	}
	if _, err := c.Client().RbacV1().ClusterRoles().Get(ctx, "selmount-selinuxreport-viewer", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}

	// The webhook (on by default): a caBundle written after the install, as
	// selmount's certificate manager does, survives a plain helm upgrade
	// that changes the configurations.
	bundle := []byte("-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n")
	vwc, err := c.Client().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := map[string]any{"webhooks": []map[string]any{}}
	for _, w := range vwc.Webhooks {
		patch["webhooks"] = append(patch["webhooks"].([]map[string]any), map[string]any{"name": w.Name, "clientConfig": map[string]any{"caBundle": bundle}})
	}
	data, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client().AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx, "selmount-webhook", types.StrategicMergePatchType, data, metav1.PatchOptions{FieldManager: "selmount"}); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, helm, "upgrade", "selmount", "deploy/helm/selmount", "-n", namespace, "--set", "webhook.timeoutSeconds=5", kc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	vwc, err = c.Client().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range vwc.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, bundle) {
			t.Errorf("after helm upgrade: webhook %s lost its caBundle", w.Name)
		}
		if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5 {
			t.Errorf("after helm upgrade: webhook %s timeoutSeconds %v, want the upgraded 5", w.Name, w.TimeoutSeconds)
		}
	}

	if out, err := run(t, helm, "uninstall", "selmount", "-n", namespace, "--wait", kc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := c.Client().AppsV1().Deployments(namespace).Get(ctx, "selmount-controller", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall: Deployment: %v, want NotFound", err)
	}
	if _, err := c.Client().RbacV1().ClusterRoles().Get(ctx, "selmount-controller", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall: ClusterRole: %v, want NotFound", err)
	}
	if _, err := c.Client().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after helm uninstall: ValidatingWebhookConfiguration: %v, want NotFound", err)
	}
}

// checkTenantAccess: with the upstream clusterrole-aggregation controller
// running, a user bound to the built-in view role in one namespace may read
// that namespace's SELinuxReports, and neither another namespace's nor the
// cluster-wide report.
func checkTenantAccess(ctx context.Context, t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	c.StartControllerManager(t, []string{"clusterrole-aggregation-controller"}, "")
	client := c.Client()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		view, err := client.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, g := range grants(view.Rules) {
			if g == "selmount.io/selinuxreports list" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the view ClusterRole never aggregated selmount-selinuxreport-viewer: %v", err)
	}
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-view", Namespace: "team-a"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "tenant"}},
	}
	if _, err := client.RbacV1().RoleBindings("team-a").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attr authorizationv1.ResourceAttributes
		want bool
	}{
		{authorizationv1.ResourceAttributes{Verb: "list", Group: "selmount.io", Resource: "selinuxreports", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "watch", Group: "selmount.io", Resource: "selinuxreports", Namespace: "team-a"}, true},
		{authorizationv1.ResourceAttributes{Verb: "list", Group: "selmount.io", Resource: "selinuxreports", Namespace: "team-b"}, false},
		{authorizationv1.ResourceAttributes{Verb: "list", Group: "selmount.io", Resource: "selinuxreports"}, false},
		{authorizationv1.ResourceAttributes{Verb: "update", Group: "selmount.io", Resource: "selinuxreports", Namespace: "team-a"}, false},
		{authorizationv1.ResourceAttributes{Verb: "get", Group: "selmount.io", Resource: "clusterselinuxreports"}, false},
	}
	// The API server's authorizer sees the new RoleBinding (and the
	// aggregated role) through its informers, a moment after the writes:
	// the answers are asked again until they all hold, for a few seconds.
	var wrong []string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		wrong = nil
		for _, tc := range tests {
			attr := tc.attr
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "tenant", Groups: []string{"system:authenticated"}, ResourceAttributes: &attr}}
			got, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			if got.Status.Allowed != tc.want {
				wrong = append(wrong, fmt.Sprintf("tenant %s %s in %q: allowed %v, want %v", attr.Verb, attr.Resource, attr.Namespace, got.Status.Allowed, tc.want))
			}
		}
		return len(wrong) == 0, nil
	})
	if err != nil && len(wrong) == 0 {
		t.Fatal(err) // the review itself failed
	}
	for _, w := range wrong {
		t.Error(w)
	}
}

// checkManagedCertificate runs the certificate manager the way the
// installed webhook Deployment configures it (its flags), as its service
// account with the installed RBAC: the caBundle lands in both installed
// configurations, and a server-side re-apply of the manifests keeps it.
func checkManagedCertificate(ctx context.Context, t *testing.T, c *testcluster.Cluster, a *applier, r rendering) {
	t.Helper()
	var dep appsv1.Deployment
	find(t, r.objs, "Deployment", "selmount-controller", &dep)
	flags, err := parseArgs(dep.Spec.Template.Spec.Containers[0].Args)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + saName}
	m, err := certs.NewManager(kubernetes.NewForConfigOrDie(cfg), certs.ManagerOptions{
		Namespace:          namespace,
		SecretName:         flags["cert-secret-name"],
		ServiceName:        flags["webhook-service-name"],
		ValidatingWebhooks: []string{flags["validating-webhook-configuration"]},
		MutatingWebhooks:   []string{flags["mutating-webhook-configuration"]},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	stopped := false
	stopManager := func() {
		if !stopped {
			stopped = true
			stop()
			if err := <-done; err != nil {
				t.Errorf("certificate manager: %v", err)
			}
		}
	}
	defer stopManager()

	admin := c.Client()
	bundlesSet := func() error {
		want := m.CABundle()
		if len(want) == 0 {
			return errors.New("no CA bundle yet")
		}
		v, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		mw, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "selmount-webhook", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var got [][]byte
		for _, w := range v.Webhooks {
			got = append(got, w.ClientConfig.CABundle)
		}
		for _, w := range mw.Webhooks {
			got = append(got, w.ClientConfig.CABundle)
		}
		for i, b := range got {
			if !bytes.Equal(b, want) {
				return fmt.Errorf("webhook %d of %d: caBundle is not the managed CA", i+1, len(got))
			}
		}
		return nil
	}
	testcluster.Eventually(t, "caBundle in the installed configurations", 30*time.Second, bundlesSet)
	secret, err := admin.CoreV1().Secrets(namespace).Get(ctx, flags["cert-secret-name"], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secret.Type != corev1.SecretTypeTLS || len(secret.Data["ca.crt"]) == 0 {
		t.Errorf("Secret %s: type %q, keys %d", secret.Name, secret.Type, len(secret.Data))
	}

	// Stop the manager, re-apply every object of the overlay: the caBundle
	// the manifests do not set stays.
	stopManager()
	for _, o := range r.objs {
		if err := a.apply(ctx, o, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := bundlesSet(); err != nil {
		t.Errorf("after a server-side re-apply of the manifests: %v", err)
	}
}
