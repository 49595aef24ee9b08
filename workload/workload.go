// Package workload turns workloads into the pods they create, so that a
// Deployment scaled to zero or a CronJob that is not running is analysed
// like a running pod. Each workload yields one representative pod, owned by
// the workload (a controller OwnerReference), whatever its replicas, and a
// StatefulSet also yields the claims its volumeClaimTemplates create for
// that pod, named as the StatefulSet controller names them.
package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/decide"
)

// Expand returns the pods (and StatefulSet claims) obj stands for. ok is
// false when obj is not a pod or workload. A bare Pod is returned as is.
func Expand(obj any) (pods []*corev1.Pod, claims []*corev1.PersistentVolumeClaim, ok bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		p := o
		if p.Namespace == "" {
			p = o.DeepCopy() // the input is never modified
			defaultNamespace(&p.ObjectMeta)
		}
		return []*corev1.Pod{p}, nil, true
	case *appsv1.Deployment:
		return one("Deployment", o.ObjectMeta, o.Name, &o.Spec.Template), nil, true
	case *appsv1.ReplicaSet:
		return one("ReplicaSet", o.ObjectMeta, o.Name, &o.Spec.Template), nil, true
	case *appsv1.DaemonSet:
		return one("DaemonSet", o.ObjectMeta, o.Name, &o.Spec.Template), nil, true
	case *batchv1.Job:
		return one("Job", o.ObjectMeta, o.Name, &o.Spec.Template), nil, true
	case *batchv1.CronJob:
		return one("CronJob", o.ObjectMeta, o.Name, &o.Spec.JobTemplate.Spec.Template), nil, true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, nil, true
		}
		return one("ReplicationController", o.ObjectMeta, o.Name, o.Spec.Template), nil, true
	case *appsv1.StatefulSet:
		// The first pod, <name>-<start>, and its claims
		// <template>-<name>-<start>, as the StatefulSet controller names
		// them (start is spec.ordinals.start, 0 by default).
		ordinal := int32(0)
		if o.Spec.Ordinals != nil {
			ordinal = o.Spec.Ordinals.Start
		}
		pods := one("StatefulSet", o.ObjectMeta, fmt.Sprintf("%s-%d", o.Name, ordinal), &o.Spec.Template)
		pod := pods[0]
		for i := range o.Spec.VolumeClaimTemplates {
			t := &o.Spec.VolumeClaimTemplates[i]
			claim := fmt.Sprintf("%s-%s-%d", t.Name, o.Name, ordinal)
			c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: claim, Namespace: pod.Namespace}, Spec: *t.Spec.DeepCopy()}
			claims = append(claims, c)
			// The template's claim replaces a pod volume of the same name.
			replaced := false
			for j := range pod.Spec.Volumes {
				if pod.Spec.Volumes[j].Name == t.Name {
					pod.Spec.Volumes[j].VolumeSource = pvcSource(claim)
					replaced = true
				}
			}
			if !replaced {
				pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: t.Name, VolumeSource: pvcSource(claim)})
			}
		}
		return pods, claims, true
	}
	return nil, nil, false
}

func pvcSource(claim string) corev1.VolumeSource {
	return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}
}

func one(kind string, meta metav1.ObjectMeta, podName string, tpl *corev1.PodTemplateSpec) []*corev1.Pod {
	p := &corev1.Pod{ObjectMeta: *tpl.ObjectMeta.DeepCopy(), Spec: *tpl.Spec.DeepCopy()}
	p.Name = podName
	p.Namespace = meta.Namespace
	defaultNamespace(&p.ObjectMeta)
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: meta.Name, Controller: &yes}}
	return []*corev1.Pod{p}
}

func defaultNamespace(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = "default"
	}
}

// Collect sorts decoded objects into decide.Objects, expanding workloads into
// their pods in input order and defaulting empty namespaces to "default".
func Collect(objs []any) decide.Objects {
	var pods []*corev1.Pod
	var synthesized []*corev1.PersistentVolumeClaim
	for _, obj := range objs {
		if p, claims, ok := Expand(obj); ok {
			pods = append(pods, p...)
			synthesized = append(synthesized, claims...)
		}
	}
	out := Storage(objs, synthesized)
	out.Pods = pods
	return out
}

// Storage returns the claims, volumes, StorageClasses and CSIDrivers among
// objs (claims with an empty namespace in "default"), plus the synthesized
// claims (those StatefulSet templates create) that objs do not give
// explicitly: a claim given explicitly, possibly bound, wins. Pods are left
// to the caller.
func Storage(objs []any, synthesized []*corev1.PersistentVolumeClaim) decide.Objects {
	var out decide.Objects
	var explicit []*corev1.PersistentVolumeClaim
	for _, obj := range objs {
		switch o := obj.(type) {
		case *corev1.PersistentVolumeClaim:
			explicit = append(explicit, o)
		case *corev1.PersistentVolume:
			out.PVs = append(out.PVs, o)
		case *storagev1.CSIDriver:
			out.CSIDrivers = append(out.CSIDrivers, o)
		case *storagev1.StorageClass:
			out.StorageClasses = append(out.StorageClasses, o)
		}
	}
	out.PVCs = Claims(explicit, synthesized)
	return out
}

// Claims returns the explicit claims (those with an empty namespace copied
// into "default"), then the synthesized ones (those StatefulSet templates
// create) that are not given explicitly: a claim given explicitly, possibly
// bound, wins.
func Claims(explicit, synthesized []*corev1.PersistentVolumeClaim) []*corev1.PersistentVolumeClaim {
	out := make([]*corev1.PersistentVolumeClaim, 0, len(explicit)+len(synthesized))
	given := make(map[string]bool, len(explicit))
	for _, c := range explicit {
		if c.Namespace == "" {
			c = c.DeepCopy() // the input is never modified
			defaultNamespace(&c.ObjectMeta)
		}
		given[c.Namespace+"/"+c.Name] = true
		out = append(out, c)
	}
	for _, c := range synthesized {
		if !given[c.Namespace+"/"+c.Name] {
			out = append(out, c)
		}
	}
	return out
}
