package clusterread

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/check"
)

// lister lists one page of one resource type into the slice it was made
// for, and returns how many items the page held and the continue token.
type lister struct {
	resource   string
	namespaced bool
	list       func(ctx context.Context, ns string, o metav1.ListOptions) (n int, cont string, err error)
}

// page adapts a typed List call to a lister's list function: every item of
// a page is slimmed (check.Slim) and a pointer to it appended to *dst. The
// pointers keep the page's items array alive, slimmed: one allocation per
// page, not one per object.
func page[L interface{ GetContinue() string }, T any](dst *[]*T, call func(ctx context.Context, ns string, o metav1.ListOptions) (L, error), items func(L) []T) func(context.Context, string, metav1.ListOptions) (int, string, error) {
	return func(ctx context.Context, ns string, o metav1.ListOptions) (int, string, error) {
		l, err := call(ctx, ns, o)
		if err != nil {
			return 0, "", err
		}
		its := items(l)
		for i := range its {
			check.Slim(&its[i])
			*dst = append(*dst, &its[i])
		}
		return len(its), l.GetContinue(), nil
	}
}

// listers are the resource types Read lists into o, in an order that lists
// the objects others refer to first.
func listers(cs kubernetes.Interface, o *check.Objects) []lister {
	core, apps, batch, storage := cs.CoreV1(), cs.AppsV1(), cs.BatchV1(), cs.StorageV1()
	return []lister{
		{"namespaces", false, page(&o.Namespaces, func(ctx context.Context, _ string, lo metav1.ListOptions) (*corev1.NamespaceList, error) {
			return core.Namespaces().List(ctx, lo)
		}, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })},
		{"nodes", false, page(&o.Nodes, func(ctx context.Context, _ string, lo metav1.ListOptions) (*corev1.NodeList, error) {
			return core.Nodes().List(ctx, lo)
		}, func(l *corev1.NodeList) []corev1.Node { return l.Items })},
		{"csidrivers", false, page(&o.CSIDrivers, func(ctx context.Context, _ string, lo metav1.ListOptions) (*storagev1.CSIDriverList, error) {
			return storage.CSIDrivers().List(ctx, lo)
		}, func(l *storagev1.CSIDriverList) []storagev1.CSIDriver { return l.Items })},
		{"storageclasses", false, page(&o.StorageClasses, func(ctx context.Context, _ string, lo metav1.ListOptions) (*storagev1.StorageClassList, error) {
			return storage.StorageClasses().List(ctx, lo)
		}, func(l *storagev1.StorageClassList) []storagev1.StorageClass { return l.Items })},
		{"persistentvolumes", false, page(&o.PVs, func(ctx context.Context, _ string, lo metav1.ListOptions) (*corev1.PersistentVolumeList, error) {
			return core.PersistentVolumes().List(ctx, lo)
		}, func(l *corev1.PersistentVolumeList) []corev1.PersistentVolume { return l.Items })},
		{"persistentvolumeclaims", true, page(&o.PVCs, func(ctx context.Context, ns string, lo metav1.ListOptions) (*corev1.PersistentVolumeClaimList, error) {
			return core.PersistentVolumeClaims(ns).List(ctx, lo)
		}, func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items })},
		{"deployments", true, page(&o.Deployments, func(ctx context.Context, ns string, lo metav1.ListOptions) (*appsv1.DeploymentList, error) {
			return apps.Deployments(ns).List(ctx, lo)
		}, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items })},
		{"statefulsets", true, page(&o.StatefulSets, func(ctx context.Context, ns string, lo metav1.ListOptions) (*appsv1.StatefulSetList, error) {
			return apps.StatefulSets(ns).List(ctx, lo)
		}, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })},
		daemonSets(cs, &o.DaemonSets),
		{"replicasets", true, page(&o.ReplicaSets, func(ctx context.Context, ns string, lo metav1.ListOptions) (*appsv1.ReplicaSetList, error) {
			return apps.ReplicaSets(ns).List(ctx, lo)
		}, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items })},
		{"jobs", true, page(&o.Jobs, func(ctx context.Context, ns string, lo metav1.ListOptions) (*batchv1.JobList, error) {
			return batch.Jobs(ns).List(ctx, lo)
		}, func(l *batchv1.JobList) []batchv1.Job { return l.Items })},
		{"cronjobs", true, page(&o.CronJobs, func(ctx context.Context, ns string, lo metav1.ListOptions) (*batchv1.CronJobList, error) {
			return batch.CronJobs(ns).List(ctx, lo)
		}, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items })},
		{"replicationcontrollers", true, page(&o.ReplicationControllers, func(ctx context.Context, ns string, lo metav1.ListOptions) (*corev1.ReplicationControllerList, error) {
			return core.ReplicationControllers(ns).List(ctx, lo)
		}, func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items })},
		{"pods", true, page(&o.Pods, func(ctx context.Context, ns string, lo metav1.ListOptions) (*corev1.PodList, error) {
			return core.Pods(ns).List(ctx, lo)
		}, func(l *corev1.PodList) []corev1.Pod { return l.Items })},
	}
}

// daemonSets lists DaemonSets into dst.
func daemonSets(cs kubernetes.Interface, dst *[]*appsv1.DaemonSet) lister {
	return lister{"daemonsets", true, page(dst, func(ctx context.Context, ns string, lo metav1.ListOptions) (*appsv1.DaemonSetList, error) {
		return cs.AppsV1().DaemonSets(ns).List(ctx, lo)
	}, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items })}
}
