package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kinds are the kinds selmount decodes, by group/version/kind.
var kinds = map[schema.GroupVersionKind]func() any{
	corev1.SchemeGroupVersion.WithKind("Pod"):                   func() any { return &corev1.Pod{} },
	corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): func() any { return &corev1.PersistentVolumeClaim{} },
	corev1.SchemeGroupVersion.WithKind("PersistentVolume"):      func() any { return &corev1.PersistentVolume{} },
	corev1.SchemeGroupVersion.WithKind("ReplicationController"): func() any { return &corev1.ReplicationController{} },
	corev1.SchemeGroupVersion.WithKind("Namespace"):             func() any { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("Node"):                  func() any { return &corev1.Node{} },
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            func() any { return &appsv1.Deployment{} },
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):           func() any { return &appsv1.StatefulSet{} },
	appsv1.SchemeGroupVersion.WithKind("DaemonSet"):             func() any { return &appsv1.DaemonSet{} },
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):            func() any { return &appsv1.ReplicaSet{} },
	batchv1.SchemeGroupVersion.WithKind("Job"):                  func() any { return &batchv1.Job{} },
	batchv1.SchemeGroupVersion.WithKind("CronJob"):              func() any { return &batchv1.CronJob{} },
	storagev1.SchemeGroupVersion.WithKind("CSIDriver"):          func() any { return &storagev1.CSIDriver{} },
	storagev1.SchemeGroupVersion.WithKind("StorageClass"):       func() any { return &storagev1.StorageClass{} },
}
