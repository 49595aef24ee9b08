package clusterread

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func objMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}
}

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: objMeta(ns, name), Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}}
}

// cluster is a fake clientset with pods in two namespaces, a Deployment,
// DaemonSets in the checked namespace and in a driver's, and one object of
// each cluster-scoped kind, serving pods in pages of the requested limit.
func cluster(t *testing.T, pods int) (*fake.Clientset, *[]metav1.ListOptions) {
	t.Helper()
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: objMeta("", "app")},
		&corev1.Node{ObjectMeta: objMeta("", "n1"), Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.36.1"}}},
		&storagev1.CSIDriver{ObjectMeta: objMeta("", "rbd")},
		&storagev1.StorageClass{ObjectMeta: objMeta("", "fast")},
		&corev1.PersistentVolume{ObjectMeta: objMeta("", "pv1")},
		&corev1.PersistentVolumeClaim{ObjectMeta: objMeta("app", "data")},
		&appsv1.Deployment{ObjectMeta: objMeta("app", "web")},
		&appsv1.DaemonSet{ObjectMeta: objMeta("app", "agent")},
		&appsv1.DaemonSet{ObjectMeta: objMeta("kube-system", "csi-rbd-node")},
		pod("other", "elsewhere"),
	}
	var all []corev1.Pod
	for i := range pods {
		p := pod("app", fmt.Sprintf("p%03d", i))
		objs = append(objs, p)
		all = append(all, *p)
	}
	cs := fake.NewClientset(objs...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.36.3"}
	var seen []metav1.ListOptions
	// The fake ignores limit and continue: serve pods of "app" in pages.
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		if la.Namespace != "app" {
			return false, nil, nil
		}
		seen = append(seen, la.ListOptions)
		start := 0
		if la.ListOptions.Continue != "" {
			start, _ = strconv.Atoi(la.ListOptions.Continue)
		}
		end := min(start+int(la.ListOptions.Limit), len(all))
		l := &corev1.PodList{Items: slices.Clone(all[start:end])}
		for i := range l.Items {
			l.Items[i] = *l.Items[i].DeepCopy()
		}
		if end < len(all) {
			l.Continue = strconv.Itoa(end)
		}
		return true, l, nil
	})
	return cs, &seen
}

func names[T metav1.Object](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

func TestReadPagesAndSlims(t *testing.T) {
	cs, seen := cluster(t, 7)
	var progress []string
	res, err := Read(context.Background(), cs, Options{Namespace: "app", PageSize: 3, Progress: func(r string, n int) {
		if r == "pods" {
			progress = append(progress, strconv.Itoa(n))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(*seen) != 3 || (*seen)[0].Limit != 3 || (*seen)[0].Continue != "" || (*seen)[2].Continue != "6" {
		t.Errorf("list calls %+v, want 3 pages of 3 following continue", *seen)
	}
	if got := strings.Join(progress, ","); got != "3,6,7" {
		t.Errorf("progress %s, want 3,6,7", got)
	}
	o := &res.Objects
	if len(o.Pods) != 7 || o.Pods[0].Name != "p000" || o.Pods[6].Name != "p006" {
		t.Errorf("pods %v", names(o.Pods))
	}
	for _, p := range o.Pods {
		if p.Labels != nil || p.ManagedFields != nil || p.Spec.Containers[0].Env != nil || p.Status.PodIP != "" || p.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod %s not slimmed as check.Slim does: %+v", p.Name, p)
		}
	}
	for what, got := range map[string][]string{
		"namespaces": names(o.Namespaces), "nodes": names(o.Nodes), "csidrivers": names(o.CSIDrivers),
		"storageclasses": names(o.StorageClasses), "pvs": names(o.PVs), "pvcs": names(o.PVCs),
		"deployments": names(o.Deployments), "daemonsets": names(o.DaemonSets),
	} {
		if len(got) != 1 {
			t.Errorf("%s: %v, want one", what, got)
		}
	}
	if got := names(o.NodePlugins); !slices.Contains(got, "kube-system/csi-rbd-node") {
		t.Errorf("node plugins %v: the driver's DaemonSet is missing", got)
	}
	if o.Deployments[0].Labels != nil {
		t.Error("deployment not slimmed")
	}
	if res.ServerVersion != "v1.36.3" || !res.AllDaemonSets || len(res.Warnings) != 0 || len(res.Forbidden) != 0 {
		t.Errorf("result %+v", res)
	}
}

func TestReadAllNamespaces(t *testing.T) {
	cs, _ := cluster(t, 2)
	res, err := Read(context.Background(), cs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Objects.Pods); !slices.Contains(got, "other/elsewhere") {
		t.Errorf("pods %v: other namespaces are missing", got)
	}
	if len(res.Objects.DaemonSets) != 2 || len(res.Objects.NodePlugins) != 0 || !res.AllDaemonSets {
		t.Errorf("daemonsets %v, node plugins %v", names(res.Objects.DaemonSets), names(res.Objects.NodePlugins))
	}
}

func forbid(cs *fake.Clientset, resource string, namespace func(string) bool) {
	cs.PrependReactor("list", resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !namespace(a.GetNamespace()) {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", errors.New("RBAC: no"))
	})
}

func everywhere(string) bool { return true }

// TestForbiddenIsAWarning: a type the client may not list is left out with a
// warning, and the rest is read, as kubectl does.
func TestForbiddenIsAWarning(t *testing.T) {
	cs, _ := cluster(t, 2)
	forbid(cs, "persistentvolumes", everywhere)
	forbid(cs, "daemonsets", func(ns string) bool { return ns == "" }) // only in the own namespace
	res, err := Read(context.Background(), cs, Options{Namespace: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects.PVs) != 0 || len(res.Objects.Pods) != 2 || len(res.Objects.PVCs) != 1 || len(res.Objects.DaemonSets) != 1 {
		t.Errorf("objects: %d PVs, %d pods, %d PVCs, %d DaemonSets", len(res.Objects.PVs), len(res.Objects.Pods), len(res.Objects.PVCs), len(res.Objects.DaemonSets))
	}
	if want := []string{"persistentvolumes", "daemonsets in all namespaces"}; !slices.Equal(res.Forbidden, want) {
		t.Errorf("forbidden %v, want %v", res.Forbidden, want)
	}
	want := []string{
		"cannot list persistentvolumes: forbidden by RBAC; they are left out of the check",
		"cannot list DaemonSets in all namespaces: CSI node plugins are not checked",
	}
	if !slices.Equal(res.Warnings, want) {
		t.Errorf("warnings %q, want %q", res.Warnings, want)
	}
	if res.AllDaemonSets {
		t.Error("AllDaemonSets with DaemonSets forbidden cluster-wide")
	}
}

func TestReadErrors(t *testing.T) {
	cs, _ := cluster(t, 1)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is down"))
	})
	if _, err := Read(context.Background(), cs, Options{}); err == nil || !strings.Contains(err.Error(), "listing pods: ") || !strings.Contains(err.Error(), "etcd is down") {
		t.Errorf("Read: %v, want the failing list named", err)
	}

	cs, _ = cluster(t, 1)
	cs.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	if _, err := Read(context.Background(), cs, Options{}); err == nil || err.Error() != "cannot reach the API server: connection refused" {
		t.Errorf("Read: %v", err)
	}

	cs, _ = cluster(t, 1)
	cs.PrependReactor("list", "daemonsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() != "" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewServiceUnavailable("try later")
	})
	if _, err := Read(context.Background(), cs, Options{Namespace: "app"}); err == nil || !strings.Contains(err.Error(), "listing daemonsets: ") {
		t.Errorf("Read: %v, want the node plugin list's error", err)
	}
}

// TestReadKeepsTheCause: errors wrap the client's, so errors.Is works.
func TestReadKeepsTheCause(t *testing.T) {
	cs, _ := cluster(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		cancel()
		return true, nil, ctx.Err()
	})
	if _, err := Read(ctx, cs, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Read: %v, want context.Canceled", err)
	}
}
