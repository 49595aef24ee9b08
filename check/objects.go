package check

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// Objects are the API objects a check reads, by kind. Order matters, as in
// the input: it decides which of two pods created at the same time
// (manifests carry no timestamps) the kubelet admits first, which user of a
// volume a fix aligns the others with, and the order of equal findings.
// Workloads given to Add are taken in the order they were added (a GitOps
// tree's document order); workloads appended to the fields directly, in the
// order of the fields below (the order in which clusterread lists them).
//
// The objects are read, never modified; Slim them first to save memory.
type Objects struct {
	Pods                   []*corev1.Pod
	Deployments            []*appsv1.Deployment
	StatefulSets           []*appsv1.StatefulSet
	DaemonSets             []*appsv1.DaemonSet
	ReplicaSets            []*appsv1.ReplicaSet
	Jobs                   []*batchv1.Job
	CronJobs               []*batchv1.CronJob
	ReplicationControllers []*corev1.ReplicationController
	PVCs                   []*corev1.PersistentVolumeClaim
	PVs                    []*corev1.PersistentVolume
	StorageClasses         []*storagev1.StorageClass
	CSIDrivers             []*storagev1.CSIDriver
	// Namespaces give OpenShift's openshift.io/sa.scc.mcs levels to the
	// workload templates in them.
	Namespaces []*corev1.Namespace
	// Nodes give the kubelet versions (see ClusterVersion).
	Nodes []*corev1.Node
	// NodePlugins are DaemonSets outside the checked namespaces, read only
	// to find the node plugins of CSI drivers (DaemonSets are checked as
	// workloads and searched for node plugins too).
	NodePlugins []*appsv1.DaemonSet
	// Packed are pods, claims and volumes kept packed (see Packed), as a
	// long-running caller's cache keeps them, read as if they were in
	// Pods, PVCs and PVs (after those). Run decodes them; RunBase keeps
	// them packed.
	Packed []*Packed

	// added holds the kind of every workload given to Add, in order.
	added []workloadKind
}

// workloadKind numbers the workload fields of Objects, in field order.
type workloadKind uint8

const (
	kindDeployment workloadKind = iota
	kindStatefulSet
	kindDaemonSet
	kindReplicaSet
	kindJob
	kindCronJob
	kindReplicationController
	numWorkloadKinds
)

// Add files obj, a pointer to a typed API object as manifest.Decode returns
// it (or a *Packed), under its kind, and reports whether check reads that kind. A
// DaemonSet is added as a workload, not as a node plugin.
func (o *Objects) Add(obj any) bool {
	switch v := obj.(type) {
	case *corev1.Pod:
		o.Pods = append(o.Pods, v)
	case *appsv1.Deployment:
		o.Deployments = append(o.Deployments, v)
		o.added = append(o.added, kindDeployment)
	case *appsv1.StatefulSet:
		o.StatefulSets = append(o.StatefulSets, v)
		o.added = append(o.added, kindStatefulSet)
	case *appsv1.DaemonSet:
		o.DaemonSets = append(o.DaemonSets, v)
		o.added = append(o.added, kindDaemonSet)
	case *appsv1.ReplicaSet:
		o.ReplicaSets = append(o.ReplicaSets, v)
		o.added = append(o.added, kindReplicaSet)
	case *batchv1.Job:
		o.Jobs = append(o.Jobs, v)
		o.added = append(o.added, kindJob)
	case *batchv1.CronJob:
		o.CronJobs = append(o.CronJobs, v)
		o.added = append(o.added, kindCronJob)
	case *corev1.ReplicationController:
		o.ReplicationControllers = append(o.ReplicationControllers, v)
		o.added = append(o.added, kindReplicationController)
	case *corev1.PersistentVolumeClaim:
		o.PVCs = append(o.PVCs, v)
	case *corev1.PersistentVolume:
		o.PVs = append(o.PVs, v)
	case *storagev1.StorageClass:
		o.StorageClasses = append(o.StorageClasses, v)
	case *storagev1.CSIDriver:
		o.CSIDrivers = append(o.CSIDrivers, v)
	case *corev1.Namespace:
		o.Namespaces = append(o.Namespaces, v)
	case *corev1.Node:
		o.Nodes = append(o.Nodes, v)
	case *Packed:
		o.Packed = append(o.Packed, v)
	default:
		return false
	}
	return true
}

// Len returns the number of objects.
func (o *Objects) Len() int {
	return len(o.Pods) + len(o.Deployments) + len(o.StatefulSets) + len(o.DaemonSets) + len(o.ReplicaSets) +
		len(o.Jobs) + len(o.CronJobs) + len(o.ReplicationControllers) + len(o.PVCs) + len(o.PVs) +
		len(o.StorageClasses) + len(o.CSIDrivers) + len(o.Namespaces) + len(o.Nodes) + len(o.NodePlugins) + len(o.Packed)
}

// Unpacked returns the objects with Packed decoded into Pods, PVCs and
// PVs, after those (Sort orders them); o is not modified. An object that
// cannot be decoded (never one Pack encoded) is left out. Run decodes
// Packed itself, in the order given.
func (o *Objects) Unpacked() Objects {
	out := *o
	out.Pods, out.PVCs, out.PVs, out.Packed = slices.Clip(o.Pods), slices.Clip(o.PVCs), slices.Clip(o.PVs), nil
	for _, p := range o.Packed {
		if obj, err := p.Unpack(); err == nil {
			out.Add(obj)
		}
	}
	return out
}

// templates calls f with every workload, in the order they were added when
// every workload was given to Add, else in the order of the fields, except
// ReplicaSets and Jobs that a controller owns: the owner's template (a
// Deployment's, a CronJob's) stands for them.
func (o *Objects) templates(f func(obj any)) {
	counts := [numWorkloadKinds]int{len(o.Deployments), len(o.StatefulSets), len(o.DaemonSets),
		len(o.ReplicaSets), len(o.Jobs), len(o.CronJobs), len(o.ReplicationControllers)}
	var added [numWorkloadKinds]int
	for _, k := range o.added {
		added[k]++
	}
	order := o.added
	if added != counts {
		// Filled (also) without Add: the order of the fields.
		order = make([]workloadKind, 0, counts[0]+counts[1]+counts[2]+counts[3]+counts[4]+counts[5]+counts[6])
		for k, n := range counts {
			for range n {
				order = append(order, workloadKind(k))
			}
		}
	}
	var next [numWorkloadKinds]int
	for _, k := range order {
		i := next[k]
		next[k]++
		switch k {
		case kindDeployment:
			f(o.Deployments[i])
		case kindStatefulSet:
			f(o.StatefulSets[i])
		case kindDaemonSet:
			f(o.DaemonSets[i])
		case kindReplicaSet:
			if _, _, owned := controllerOf(o.ReplicaSets[i].OwnerReferences); !owned {
				f(o.ReplicaSets[i])
			}
		case kindJob:
			if _, _, owned := controllerOf(o.Jobs[i].OwnerReferences); !owned {
				f(o.Jobs[i])
			}
		case kindCronJob:
			f(o.CronJobs[i])
		case kindReplicationController:
			f(o.ReplicationControllers[i])
		}
	}
}
