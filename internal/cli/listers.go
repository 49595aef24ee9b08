package cli

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// listerOf adapts a typed List call to a lister.
func listerOf[L interface{ GetContinue() string }, T any](name string, namespaced bool, call func(ctx context.Context, ns string, o metav1.ListOptions) (L, error), items func(L) []T) lister {
	return lister{name: name, namespaced: namespaced, list: func(ctx context.Context, ns string, o metav1.ListOptions) ([]any, string, error) {
		l, err := call(ctx, ns, o)
		if err != nil {
			return nil, "", err
		}
		its := items(l)
		out := make([]any, len(its))
		for i := range its {
			out[i] = &its[i]
		}
		return out, l.GetContinue(), nil
	}}
}

// listers are the resource types check reads, in an order that lists the
// objects others refer to first.
func listers(cs kubernetes.Interface) []lister {
	return []lister{
		listerOf("namespaces", false, func(ctx context.Context, _ string, o metav1.ListOptions) (*corev1.NamespaceList, error) {
			return cs.CoreV1().Namespaces().List(ctx, o)
		}, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items }),
		listerOf("nodes", false, func(ctx context.Context, _ string, o metav1.ListOptions) (*corev1.NodeList, error) {
			return cs.CoreV1().Nodes().List(ctx, o)
		}, func(l *corev1.NodeList) []corev1.Node { return l.Items }),
		listerOf("csidrivers", false, func(ctx context.Context, _ string, o metav1.ListOptions) (*storagev1.CSIDriverList, error) {
			return cs.StorageV1().CSIDrivers().List(ctx, o)
		}, func(l *storagev1.CSIDriverList) []storagev1.CSIDriver { return l.Items }),
		listerOf("storageclasses", false, func(ctx context.Context, _ string, o metav1.ListOptions) (*storagev1.StorageClassList, error) {
			return cs.StorageV1().StorageClasses().List(ctx, o)
		}, func(l *storagev1.StorageClassList) []storagev1.StorageClass { return l.Items }),
		listerOf("persistentvolumes", false, func(ctx context.Context, _ string, o metav1.ListOptions) (*corev1.PersistentVolumeList, error) {
			return cs.CoreV1().PersistentVolumes().List(ctx, o)
		}, func(l *corev1.PersistentVolumeList) []corev1.PersistentVolume { return l.Items }),
		listerOf("persistentvolumeclaims", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.PersistentVolumeClaimList, error) {
			return cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, o)
		}, func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items }),
		listerOf("deployments", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.DeploymentList, error) {
			return cs.AppsV1().Deployments(ns).List(ctx, o)
		}, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items }),
		listerOf("statefulsets", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.StatefulSetList, error) {
			return cs.AppsV1().StatefulSets(ns).List(ctx, o)
		}, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items }),
		daemonSetLister(cs),
		listerOf("replicasets", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.ReplicaSetList, error) {
			return cs.AppsV1().ReplicaSets(ns).List(ctx, o)
		}, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items }),
		listerOf("jobs", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*batchv1.JobList, error) {
			return cs.BatchV1().Jobs(ns).List(ctx, o)
		}, func(l *batchv1.JobList) []batchv1.Job { return l.Items }),
		listerOf("cronjobs", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*batchv1.CronJobList, error) {
			return cs.BatchV1().CronJobs(ns).List(ctx, o)
		}, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items }),
		listerOf("replicationcontrollers", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.ReplicationControllerList, error) {
			return cs.CoreV1().ReplicationControllers(ns).List(ctx, o)
		}, func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items }),
		listerOf("pods", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.PodList, error) {
			return cs.CoreV1().Pods(ns).List(ctx, o)
		}, func(l *corev1.PodList) []corev1.Pod { return l.Items }),
	}
}

func daemonSetLister(cs kubernetes.Interface) lister {
	return listerOf("daemonsets", true, func(ctx context.Context, ns string, o metav1.ListOptions) (*appsv1.DaemonSetList, error) {
		return cs.AppsV1().DaemonSets(ns).List(ctx, o)
	}, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items })
}
