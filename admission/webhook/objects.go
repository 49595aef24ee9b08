package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/workload"
)

// newObject returns an empty object of the request's kind, or nil when the
// webhook does not read that kind (or version).
func newObject(gvk metav1.GroupVersionKind) metav1.Object {
	switch gvk.Group + "/" + gvk.Version + "/" + gvk.Kind {
	case "/v1/Pod":
		return &corev1.Pod{}
	case "/v1/ReplicationController":
		return &corev1.ReplicationController{}
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}
	case "apps/v1/ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "batch/v1/Job":
		return &batchv1.Job{}
	case "batch/v1/CronJob":
		return &batchv1.CronJob{}
	}
	return nil
}

// decode decodes raw as the request's kind, with the request's namespace
// and a name (a pod created with generateName has none yet). It returns
// nil, nil for kinds the webhook does not read.
func decode(req *admissionv1.AdmissionRequest, raw runtime.RawExtension) (metav1.Object, error) {
	obj := newObject(req.Kind)
	if obj == nil {
		return nil, nil
	}
	if len(raw.Raw) == 0 {
		return nil, fmt.Errorf("the request for %s %s/%s carries no object", req.Kind.Kind, req.Namespace, req.Name)
	}
	if err := json.Unmarshal(raw.Raw, obj); err != nil {
		return nil, fmt.Errorf("decoding %s %s/%s: %w", req.Kind.Kind, req.Namespace, req.Name, err)
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(req.Namespace)
	}
	if obj.GetName() == "" {
		obj.SetName(req.Name)
	}
	if obj.GetName() == "" {
		// Not a name any stored object has: "(new)" is not a DNS label.
		obj.SetName(obj.GetGenerateName() + "(new)")
	}
	if p, ok := obj.(*corev1.Pod); ok && p.CreationTimestamp.IsZero() {
		// Admitted after every pod that exists: the kubelet keeps those.
		p.CreationTimestamp = metav1.NewTime(time.Now())
	}
	check.Slim(obj)
	return obj, nil
}

// userOf is obj as check.Users names it.
func userOf(obj metav1.Object, kind string) check.User {
	return check.User{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// subjectOf is the workload (or bare pod) check reports obj under: a pod
// under its controller, a ReplicaSet's or Job's pods under the
// Deployment or CronJob that owns it.
func subjectOf(obj metav1.Object, kind string, l controller.Listers) check.User {
	s := userOf(obj, kind)
	ref := metav1.GetControllerOf(obj)
	if ref == nil {
		return s
	}
	if kind == "Pod" {
		s.Kind, s.Name = ref.Kind, ref.Name
		var owner metav1.Object
		switch ref.Kind {
		case "ReplicaSet":
			if rs, err := l.ReplicaSets.ReplicaSets(s.Namespace).Get(ref.Name); err == nil {
				owner = rs
			}
		case "Job":
			if j, err := l.Jobs.Jobs(s.Namespace).Get(ref.Name); err == nil {
				owner = j
			}
		}
		if owner != nil {
			if top := metav1.GetControllerOf(owner); top != nil {
				s.Kind, s.Name = top.Kind, top.Name
			}
		}
		return s
	}
	if kind == "ReplicaSet" || kind == "Job" {
		s.Kind, s.Name = ref.Kind, ref.Name
	}
	return s
}

// input collects a small check input: objects and what they reference,
// each once, from the listers.
type input struct {
	l       controller.Listers
	objs    check.Objects
	pvcs    map[string]bool
	pvs     map[string]bool
	nss     map[string]bool
	owners  map[string]bool
	storage bool
}

func newInput(l controller.Listers) *input {
	return &input{l: l, pvcs: map[string]bool{}, pvs: map[string]bool{}, nss: map[string]bool{}, owners: map[string]bool{}}
}

// add files obj and reads what it references: its claims and their
// volumes, its namespace, and a pod's owning ReplicaSet or Job (so that
// the pod is reported under its top-level workload, as the controller
// does). The objects from the listers are read, never modified.
func (in *input) add(obj any) {
	if !in.objs.Add(obj) {
		return
	}
	if !in.storage {
		// Cluster-scoped and few: all of them.
		in.storage = true
		if scs, err := in.l.StorageClasses.List(labels.Everything()); err == nil {
			in.objs.StorageClasses = scs
		}
		if ds, err := in.l.CSIDrivers.List(labels.Everything()); err == nil {
			in.objs.CSIDrivers = ds
		}
	}
	if p, ok := obj.(*corev1.Pod); ok {
		if ref := metav1.GetControllerOf(p); ref != nil && !in.owners[ref.Kind+"/"+p.Namespace+"/"+ref.Name] {
			in.owners[ref.Kind+"/"+p.Namespace+"/"+ref.Name] = true
			switch ref.Kind {
			case "ReplicaSet":
				if rs, err := in.l.ReplicaSets.ReplicaSets(p.Namespace).Get(ref.Name); err == nil && metav1.GetControllerOf(rs) != nil {
					in.objs.ReplicaSets = append(in.objs.ReplicaSets, rs) // owned: no template of its own
				}
			case "Job":
				if j, err := in.l.Jobs.Jobs(p.Namespace).Get(ref.Name); err == nil && metav1.GetControllerOf(j) != nil {
					in.objs.Jobs = append(in.objs.Jobs, j)
				}
			}
		}
	}
	pods, _, _ := workload.Expand(obj)
	for _, p := range pods {
		if !in.nss[p.Namespace] {
			in.nss[p.Namespace] = true
			if n, err := in.l.Namespaces.Get(p.Namespace); err == nil {
				in.objs.Namespaces = append(in.objs.Namespaces, n)
			}
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			key := p.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
			if in.pvcs[key] {
				continue
			}
			in.pvcs[key] = true
			c, err := in.l.PVCs.PersistentVolumeClaims(p.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
			if err != nil {
				continue // not created yet: check reports the claim as unbound
			}
			in.objs.PVCs = append(in.objs.PVCs, c)
			if name := c.Spec.VolumeName; name != "" && !in.pvs[name] {
				in.pvs[name] = true
				if pv, err := in.l.PVs.Get(name); err == nil {
					in.objs.PVs = append(in.objs.PVs, pv)
				}
			}
		}
	}
}

// get reads user u from the listers; nil when it is gone.
func get(l controller.Listers, u check.User) any {
	var obj any
	var err error
	switch u.Kind {
	case "Pod":
		obj, err = l.Pods.Pods(u.Namespace).Get(u.Name)
	case "Deployment":
		obj, err = l.Deployments.Deployments(u.Namespace).Get(u.Name)
	case "StatefulSet":
		obj, err = l.StatefulSets.StatefulSets(u.Namespace).Get(u.Name)
	case "DaemonSet":
		obj, err = l.DaemonSets.DaemonSets(u.Namespace).Get(u.Name)
	case "ReplicaSet":
		obj, err = l.ReplicaSets.ReplicaSets(u.Namespace).Get(u.Name)
	case "Job":
		obj, err = l.Jobs.Jobs(u.Namespace).Get(u.Name)
	case "CronJob":
		obj, err = l.CronJobs.CronJobs(u.Namespace).Get(u.Name)
	case "ReplicationController":
		obj, err = l.RCs.ReplicationControllers(u.Namespace).Get(u.Name)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return obj
}
