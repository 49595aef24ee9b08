// Package mutate fills in a pod's SELinux level and seLinuxChangePolicy from
// its namespace, so that vanilla clusters get what OpenShift's SCC admission
// gives its pods: a per-namespace MCS level, which lets the kubelet mount
// volumes with -o context instead of relabeling them file by file.
//
// Pod is a pure function for an admission webhook; Policy generates the same
// rules as a MutatingAdmissionPolicy for clusters that want no webhook in the
// request path. Neither allocates levels: the namespace must already carry
// one (see LevelAnnotations). docs/admission.md describes the rules.
package mutate

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/label"
)

// Namespace keys read by Pod and Policy.
const (
	// OptInLabel, set to OptInValue on a namespace, opts its pods in.
	OptInLabel = "selmount.io/selinux-defaults"
	OptInValue = "enabled"
	// OpenShiftLevelAnnotation is the level OpenShift allocates per
	// namespace. It wins over LevelAnnotation when both are set.
	OpenShiftLevelAnnotation = "openshift.io/sa.scc.mcs"
	// LevelAnnotation is the level selmount's allocator (or an admin) sets.
	LevelAnnotation = "selmount.io/mcs-level"
	// ChangePolicyLabel holds the namespace's default seLinuxChangePolicy:
	// exactly "Recursive" or "MountOption".
	ChangePolicyLabel = "selmount.io/selinux-change-policy"
)

// LevelAnnotations lists the namespace annotations read for the level, in
// the order they are tried.
var LevelAnnotations = []string{OpenShiftLevelAnnotation, LevelAnnotation}

// Options configures Policy; Pod reads nothing from it yet but takes it so
// that later settings reach both. The zero value is ready to use.
type Options struct {
	// Name is the name of the generated MutatingAdmissionPolicy and its
	// binding; empty means DefaultName.
	Name string
}

// OptedIn reports whether ns opted its pods in to the defaults (label
// OptInLabel=OptInValue), and so wants a level of its own.
func OptedIn(ns *corev1.Namespace) bool { return ns != nil && ns.Labels[OptInLabel] == OptInValue }

// DefaultName names the generated policy and binding.
const DefaultName = "selmount-selinux-defaults"

// Result is what Pod decided.
type Result struct {
	// Pod is the pod after mutation: a deep copy when anything changed, the
	// input pod itself otherwise.
	Pod *corev1.Pod
	// Patch is the RFC 6902 JSON patch from the input pod to Pod, as an
	// admission webhook returns it; nil when nothing changed.
	Patch []byte
	// Warnings are admission warnings for the user (short lines).
	Warnings []string
	// Unchanged says, one line per field or for the whole pod, why a field
	// was left as it was. Empty when both fields were set.
	Unchanged []string
}

// Changed reports whether Pod differs from the input.
func (r Result) Changed() bool { return r.Patch != nil }

// patchOp is one RFC 6902 operation. The patch only ever adds fields that
// are absent (Pod changes nil or empty fields only), so "add" is the one
// operation needed; no diffing library is in go.mod, and a diff of two
// marshalled pods would be slower and no clearer than the three paths below.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Pod returns pod with the namespace's defaults applied. It never modifies
// its arguments. ns must be the pod's namespace; a nil ns or pod changes
// nothing.
func Pod(ns *corev1.Namespace, pod *corev1.Pod, opts Options) Result {
	r := Result{Pod: pod}
	if ns == nil || pod == nil {
		r.Unchanged = []string{"no namespace or pod given"}
		return r
	}
	if !OptedIn(ns) {
		r.Unchanged = []string{fmt.Sprintf("namespace %s is not opted in (label %s=%s)", ns.Name, OptInLabel, OptInValue)}
		return r
	}
	if why := skipPod(pod); why != "" {
		r.Unchanged = []string{why}
		return r
	}

	sc := pod.Spec.SecurityContext
	var level string
	if sc != nil && sc.SELinuxOptions != nil && sc.SELinuxOptions.Level != "" {
		r.Unchanged = append(r.Unchanged, "pod sets its own seLinuxOptions.level")
	} else {
		l, key, warn := namespaceLevel(ns)
		switch {
		case warn != "":
			r.Warnings = append(r.Warnings, warn)
			r.Unchanged = append(r.Unchanged, warn)
		case key == "":
			r.Unchanged = append(r.Unchanged, fmt.Sprintf("namespace %s has no level (annotation %s or %s)", ns.Name, OpenShiftLevelAnnotation, LevelAnnotation))
		default:
			level = l
		}
	}
	var policy corev1.PodSELinuxChangePolicy
	if sc != nil && sc.SELinuxChangePolicy != nil {
		r.Unchanged = append(r.Unchanged, "pod sets its own seLinuxChangePolicy")
	} else if v, ok := ns.Labels[ChangePolicyLabel]; !ok {
		r.Unchanged = append(r.Unchanged, fmt.Sprintf("namespace %s has no label %s", ns.Name, ChangePolicyLabel))
	} else if v == string(corev1.SELinuxChangePolicyRecursive) || v == string(corev1.SELinuxChangePolicyMountOption) {
		policy = corev1.PodSELinuxChangePolicy(v)
	} else {
		w := fmt.Sprintf("namespace label %s=%q is not Recursive or MountOption; seLinuxChangePolicy left unset", ChangePolicyLabel, v)
		r.Warnings = append(r.Warnings, w)
		r.Unchanged = append(r.Unchanged, w)
	}
	if level == "" && policy == "" {
		return r
	}

	out := pod.DeepCopy()
	var ops []patchOp
	if out.Spec.SecurityContext == nil {
		out.Spec.SecurityContext = &corev1.PodSecurityContext{}
		ops = append(ops, patchOp{"add", "/spec/securityContext", map[string]any{}})
	}
	osc := out.Spec.SecurityContext
	if level != "" {
		if osc.SELinuxOptions == nil {
			osc.SELinuxOptions = &corev1.SELinuxOptions{}
			ops = append(ops, patchOp{"add", "/spec/securityContext/seLinuxOptions", map[string]any{}})
		}
		osc.SELinuxOptions.Level = level
		ops = append(ops, patchOp{"add", "/spec/securityContext/seLinuxOptions/level", level})
	}
	if policy != "" {
		osc.SELinuxChangePolicy = &policy
		ops = append(ops, patchOp{"add", "/spec/securityContext/seLinuxChangePolicy", string(policy)})
	}
	patch, err := json.Marshal(ops)
	if err != nil { // strings and empty maps always marshal
		panic(fmt.Sprintf("mutate: marshal patch: %v", err))
	}
	r.Pod, r.Patch = out, patch
	return r
}

// namespaceLevel returns the namespace's level and the annotation it came
// from, or a warning when the first annotation present is not a valid level.
// An invalid OpenShift level does not fall back to selmount's: the two would
// disagree about which level the namespace's files carry.
func namespaceLevel(ns *corev1.Namespace) (level, key, warning string) {
	for _, k := range LevelAnnotations {
		v, ok := ns.Annotations[k]
		if !ok {
			continue
		}
		if _, err := label.ParseLevel(v); err != nil || !policyLevelRE.MatchString(v) {
			return "", k, fmt.Sprintf("namespace annotation %s=%q is not an MCS level like s0:c1,c2; seLinuxOptions.level left unset", k, v)
		}
		return v, k, ""
	}
	return "", "", ""
}

// skipPod says why the pod is left alone as a whole, or "".
func skipPod(pod *corev1.Pod) string {
	if pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows {
		return "Windows pod: SELinux does not apply"
	}
	var why string
	each := func(kind, name string, sc *corev1.SecurityContext) {
		if why != "" || sc == nil {
			return
		}
		if sc.Privileged != nil && *sc.Privileged {
			why = fmt.Sprintf("%s %s is privileged: it runs unconfined (spc_t), no level applies", kind, name)
		} else if sc.SELinuxOptions != nil && sc.SELinuxOptions.Level != "" {
			why = fmt.Sprintf("%s %s sets its own seLinuxOptions.level", kind, name)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		each("init container", c.Name, c.SecurityContext)
	}
	for _, c := range pod.Spec.Containers {
		each("container", c.Name, c.SecurityContext)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		each("ephemeral container", c.Name, c.SecurityContext)
	}
	return why
}
