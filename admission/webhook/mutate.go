package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/mcsalloc"
)

// allocationTimeout bounds the allocator's API calls within a request (the
// mutating webhook's timeoutSeconds should leave room for them).
const allocationTimeout = 3 * time.Second

// mutate applies the namespace's SELinux defaults to a pod on CREATE (see
// mutate.Pod), allocating the namespace's level first when it is opted in
// and has none.
func (h *Handler) mutate(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	if req.Operation != admissionv1.Create || req.SubResource != "" || req.Kind.Group != "" || req.Kind.Version != "v1" || req.Kind.Kind != "Pod" {
		return allow(), resultSkipped
	}
	var pod corev1.Pod
	if len(req.Object.Raw) == 0 {
		return deny(http.StatusBadRequest, fmt.Sprintf("selmount: the request for Pod %s/%s carries no object", req.Namespace, req.Name)), resultInvalid
	}
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return deny(http.StatusBadRequest, fmt.Sprintf("selmount: decoding Pod %s/%s: %v", req.Namespace, req.Name, err)), resultInvalid
	}
	if !h.cache.InformersSynced() {
		klog.FromContext(ctx).V(2).Info("Not synced yet: not mutating", "namespace", req.Namespace)
		return allow(), resultUnsynced
	}
	ns, err := h.cache.Listers().Namespaces.Get(req.Namespace)
	if err != nil || ns.Labels[mutate.OptInLabel] != mutate.OptInValue {
		return allow(), resultSkipped
	}
	if _, has, err := mcsalloc.LevelOf(ns); err == nil && !has && h.opts.Allocator != nil && !dryRun(req) && wantsLevel(&pod) {
		// The namespace's first pod: the one API call in the request path.
		actx, cancel := context.WithTimeout(ctx, allocationTimeout)
		level, err := h.opts.Allocator.Ensure(actx, ns.Name)
		cancel()
		if err != nil {
			h.metrics.allocations.WithLabelValues("error").Inc()
			klog.FromContext(ctx).Error(err, "Cannot allocate a level; the pod is admitted without one", "namespace", ns.Name)
		} else {
			h.metrics.allocations.WithLabelValues("allocated").Inc()
			ns = ns.DeepCopy()
			if ns.Annotations == nil {
				ns.Annotations = map[string]string{}
			}
			ns.Annotations[mutate.LevelAnnotation] = level.String()
		}
	}
	res := mutate.Pod(ns, &pod, mutate.Options{})
	if !res.Changed() {
		return allow(res.Warnings...), resultAllowed
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp := allow(res.Warnings...)
	resp.Patch, resp.PatchType = res.Patch, &pt
	return resp, resultMutated
}

func dryRun(req *admissionv1.AdmissionRequest) bool { return req.DryRun != nil && *req.DryRun }

// wantsLevel reports whether the pod would take the namespace's level: it
// sets none at the pod level (mutate.Pod decides the rest: privileged and
// own-level containers).
func wantsLevel(p *corev1.Pod) bool {
	sc := p.Spec.SecurityContext
	return sc == nil || sc.SELinuxOptions == nil || sc.SELinuxOptions.Level == ""
}
