package check

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/workload"
)

// subject is a workload or a bare pod: the unit findings are reported under.
type subject struct {
	kind, namespace, name string
	obj                   any // the workload object, nil when not in the input
	running               int
	nodeSet               map[string]bool // while collecting
	nodes                 []string        // nodeSet sorted, once collected
}

func (s *subject) key() string { return s.kind + "/" + s.namespace + "/" + s.name }

// entry is one pod (running) or one workload's pod template (not running).
type entry struct {
	subj *subject
	// pod is the pod or template, decided from; a Base drops a running
	// pod's once decided (it keeps the pod packed), so what is read later
	// is kept apart: its namespace, name and node.
	pod                   *corev1.Pod
	namespace, name, node string
	running               bool // a live Pod object (not a template); may be pending
	created               time.Time
}

// newEntry returns the entry of pod (running) or a template.
func newEntry(s *subject, pod *corev1.Pod, running bool) *entry {
	e := &entry{subj: s, pod: pod, namespace: pod.Namespace, name: pod.Name, node: pod.Spec.NodeName, running: running}
	if running {
		e.created = pod.CreationTimestamp.Time
	}
	return e
}

// collector sorts input objects into subjects and entries.
type collector struct {
	subjects map[string]*subject
	order    []*subject
	entries  []*entry
	// owners of ReplicaSets and Jobs, to report pods under the top-level
	// workload: "ReplicaSet/ns/name" -> Deployment subject key parts.
	rsOwner  map[string][2]string
	jobOwner map[string][2]string
	claims   []*corev1.PersistentVolumeClaim
}

func newCollector() *collector {
	return &collector{subjects: map[string]*subject{}, rsOwner: map[string][2]string{}, jobOwner: map[string][2]string{}}
}

func (c *collector) subject(kind, ns, name string, obj any) *subject {
	k := kind + "/" + ns + "/" + name
	s := c.subjects[k]
	if s == nil {
		s = &subject{kind: kind, namespace: ns, name: name, nodeSet: map[string]bool{}}
		c.subjects[k] = s
		c.order = append(c.order, s)
	}
	if obj != nil {
		s.obj = obj
	}
	return s
}

func controllerOf(refs []metav1.OwnerReference) (string, string, bool) {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return r.Kind, r.Name, true
		}
	}
	return "", "", false
}

func ns(n string) string {
	if n == "" {
		return "default"
	}
	return n
}

// collect builds subjects and entries. Workload templates come first so that
// a subject's object is known before its running pods are attached.
func (c *collector) collect(objs *Objects) {
	// Owner chains first.
	for _, w := range objs.ReplicaSets {
		if k, n, ok := controllerOf(w.OwnerReferences); ok {
			c.rsOwner[ns(w.Namespace)+"/"+w.Name] = [2]string{k, n}
		}
	}
	for _, w := range objs.Jobs {
		if k, n, ok := controllerOf(w.OwnerReferences); ok {
			c.jobOwner[ns(w.Namespace)+"/"+w.Name] = [2]string{k, n}
		}
	}
	// OpenShift: SCC admission (restricted-v2, MustRunAs) gives a pod without
	// pod-level seLinuxOptions the level of its namespace. Running pods
	// already carry it; templates get it here.
	mcs := map[string]string{}
	for _, n := range objs.Namespaces {
		if n.Annotations[openshiftMCS] != "" {
			mcs[n.Name] = n.Annotations[openshiftMCS]
		}
	}
	objs.templates(func(o any) {
		tpl, claims, ok := workload.Expand(o)
		if !ok || len(tpl) == 0 {
			return
		}
		if lvl := mcs[tpl[0].Namespace]; lvl != "" {
			applySCCLevel(tpl[0], lvl)
		}
		ref := tpl[0].OwnerReferences[0]
		s := c.subject(ref.Kind, tpl[0].Namespace, ref.Name, o)
		c.entries = append(c.entries, newEntry(s, tpl[0], false))
		c.claims = append(c.claims, claims...)
	})
	for _, p := range objs.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue // finished pods hold no volume
		}
		ps, _, _ := workload.Expand(p) // the namespace defaulted, as for templates
		pod := ps[0]
		kind, name := "Pod", pod.Name
		var obj any = p
		if k, n, ok := controllerOf(pod.OwnerReferences); ok {
			kind, name, obj = k, n, nil
			switch k {
			case "ReplicaSet":
				if top, ok := c.rsOwner[pod.Namespace+"/"+n]; ok {
					kind, name = top[0], top[1]
				}
			case "Job":
				if top, ok := c.jobOwner[pod.Namespace+"/"+n]; ok {
					kind, name = top[0], top[1]
				}
			}
		}
		s := c.subject(kind, pod.Namespace, name, obj)
		s.running++
		if pod.Spec.NodeName != "" {
			s.nodeSet[pod.Spec.NodeName] = true
		}
		c.entries = append(c.entries, newEntry(s, pod, true))
	}
	for _, s := range c.order {
		s.sortNodes()
	}
}

// sortNodes fills s.nodes once collecting is done: every finding of the
// subject shows the list.
func (s *subject) sortNodes() {
	s.nodes = make([]string, 0, len(s.nodeSet))
	for n := range s.nodeSet {
		s.nodes = append(s.nodes, n)
	}
	sort.Strings(s.nodes)
}

// openshiftMCS is the namespace annotation holding the MCS level OpenShift
// allocated to the namespace.
const openshiftMCS = "openshift.io/sa.scc.mcs"

// applySCCLevel sets the pod-level seLinuxOptions an OpenShift MustRunAs SCC
// would: only when the pod sets none and runs unprivileged (privileged pods
// are admitted by the privileged SCC, which sets nothing).
func applySCCLevel(p *corev1.Pod, level string) {
	if p.Spec.SecurityContext != nil && p.Spec.SecurityContext.SELinuxOptions != nil {
		return
	}
	if p.Spec.HostNetwork || p.Spec.HostPID || p.Spec.HostIPC {
		return
	}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			return
		}
	}
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	p.Spec.SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Level: level}
}
