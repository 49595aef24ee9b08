package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/controller"
)

// validate evaluates a CREATE or UPDATE of a pod or workload against the
// current users of its volumes, as the controller's next sync would.
func (h *Handler) validate(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allow(), resultSkipped
	}
	if req.SubResource != "" {
		return allow(), resultSkipped // scale, status, ephemeralcontainers...
	}
	obj, err := decode(req, req.Object)
	if err != nil {
		return deny(http.StatusBadRequest, "selmount: "+err.Error()), resultInvalid
	}
	if obj == nil {
		return allow(), resultSkipped
	}
	idx := h.cache.Index()
	if idx == nil || !h.cache.InformersSynced() {
		klog.FromContext(ctx).V(2).Info("Not synced yet: allowing unchecked", "kind", req.Kind.Kind, "namespace", req.Namespace)
		return allow(), resultUnsynced
	}
	v := h.evaluate(obj, req.Kind.Kind, idx)
	if len(v.findings) == 0 {
		return allow(), resultAllowed
	}
	warnings := v.warnings()
	if req.Operation == admissionv1.Update && v.kept != "" {
		// Deny only what the update changes: an object that conflicted
		// before may still be scaled, annotated or fixed.
		if old, err := decode(req, req.OldObject); err == nil && old != nil {
			if prev := h.evaluate(old, req.Kind.Kind, idx); prev.sameLabels(v) {
				v.kept = ""
			}
		}
	}
	if v.kept != "" && h.enforced(obj.GetNamespace()) {
		return deny(http.StatusForbidden, v.denial(h.opts.Deny), warnings...), resultDenied
	}
	return allow(warnings...), resultWarned
}

// enforced reports whether objects in namespace ns are denied, not only
// warned about.
func (h *Handler) enforced(ns string) bool {
	if h.opts.Deny {
		return true
	}
	n, err := h.cache.Listers().Namespaces.Get(ns)
	return err == nil && n.Labels[EnforceLabel] == EnforceDeny
}

// verdict is what the check says about one object.
type verdict struct {
	kind     string            // the object's kind
	self     check.User        // the subject findings name the object by
	labels   map[string]string // volume key -> the object's kubelet label
	names    map[string]string // volume key -> the volume's name as the object's namespace sees it
	keyOf    map[string]string // a finding's volume name -> volume key
	findings []check.Finding
	kept     string // non-empty: a running user the kubelet keeps conflicts (its description, redacted)
	keptVol  string // the key of kept's volume
}

// evaluate runs check on obj, the current users of its volumes (read from
// the listers) and what they reference, with the last sync's settings.
func (h *Handler) evaluate(obj metav1.Object, kind string, idx *controller.Index) verdict {
	l := h.cache.Listers()
	user := userOf(obj, kind)
	v := verdict{kind: kind, self: subjectOf(obj, kind, l), labels: map[string]string{}, names: map[string]string{}, keyOf: map[string]string{}}

	// The object's own volumes: check on the object alone.
	own := newInput(l)
	own.add(obj)
	_, ownUsers := check.RunUsers(h.checkInput(idx, own.objs))
	vols := ownUsers.VolumesOf(user)
	if len(vols) == 0 {
		return v // no volume another pod can share
	}

	// With every current user of those volumes but the object's old
	// version (an update, or a pod re-created with the same name).
	in := newInput(l)
	in.add(obj)
	seen := map[check.User]bool{user: true}
	for _, vol := range vols {
		v.labels[vol.Key], v.names[vol.Key] = vol.Label, vol.Name
		// The first users of each label stand for the others: the
		// kubelet keeps the first admitted, and more users of one label
		// change no answer, only the cost.
		type bucket struct {
			label string
			mine  bool
		}
		taken, read := map[bucket]int{}, 0
		for _, u := range idx.Users.Of(vol.Key) {
			if read == h.opts.MaxUsers {
				break
			}
			if seen[u] {
				continue
			}
			b := bucket{label: labelOf(idx.Users, u, vol.Key), mine: u.Namespace == user.Namespace}
			if taken[b] == perLabel {
				continue
			}
			taken[b]++
			seen[u] = true
			if o := get(l, u); o != nil {
				in.add(o)
				read++
			}
		}
	}
	r, users := check.RunUsers(h.checkInput(idx, in.objs))
	for _, vol := range vols {
		for _, u := range users.Of(vol.Key) {
			for _, uv := range users.VolumesOf(u) {
				if uv.Key == vol.Key {
					v.keyOf[uv.Name] = vol.Key
				}
			}
		}
	}
	for _, f := range r.Findings {
		if f.Type != check.TypeConflict || !f.KubeletConflict || f.Severity == check.SeverityInfo {
			continue
		}
		if _, ok := v.keyOf[f.Volume]; !ok {
			continue
		}
		mine, others := false, false
		for _, s := range f.Subjects {
			if v.isSelf(s) {
				mine = true
			} else {
				others = true
			}
		}
		// The object's own containers disagreeing is the object's alone;
		// a conflict needs another workload (a Deployment's old pods
		// during its rollout are its own).
		if !mine || !others && f.Property != check.PropertyMultipleLabels {
			continue
		}
		v.findings = append(v.findings, f)
		if v.kept == "" && f.Severity == check.SeverityError && f.Property != check.PropertyMultipleLabels {
			v.kept, v.keptVol = v.keptUser(f), v.keyOf[f.Volume]
		}
	}
	return v
}

// perLabel is how many users of one label (in the object's namespace, and
// in others) a request reads per volume.
const perLabel = 5

// labelOf is u's label for the volume key at the last sync.
func labelOf(users *check.Users, u check.User, key string) string {
	for _, v := range users.VolumesOf(u) {
		if v.Key == key {
			return v.Label
		}
	}
	return ""
}

// checkInput is the last sync's input with objs.
func (h *Handler) checkInput(idx *controller.Index, objs check.Objects) check.Input {
	in := idx.Input
	in.Objects = objs
	in.DaemonSetsListed = false // driver readiness is the controller's
	return in
}

func (v *verdict) isSelf(s check.Subject) bool {
	return s.Kind == v.self.Kind && s.Namespace == v.self.Namespace && s.Name == v.self.Name
}

// keptUser describes the first running user of f that is not the object
// and whose label differs from the object's: the kubelet keeps it on its
// nodes. "" when there is none.
func (v *verdict) keptUser(f check.Finding) string {
	mine := v.labels[v.keyOf[f.Volume]]
	for _, s := range f.Subjects {
		if v.isSelf(s) || s.Running == 0 || s.Label == mine {
			continue
		}
		return v.describe(s)
	}
	return ""
}

// sameLabels reports whether o (the object's old version) used the same
// volumes with the same labels as v.
func (v verdict) sameLabels(o verdict) bool {
	if len(v.labels) != len(o.labels) {
		return false
	}
	for k, l := range v.labels {
		if ol, ok := o.labels[k]; !ok || ol != l {
			return false
		}
	}
	return true
}

// describe names a subject for readers of the object's namespace: by kind,
// name and label in that namespace, never outside it.
func (v *verdict) describe(s check.Subject) string {
	if s.Namespace != v.self.Namespace {
		return "a pod in another namespace"
	}
	return fmt.Sprintf("%s %s (%s)", s.Kind, s.Name, labelText(s.Label, s.Policy))
}

// containerFile is the start of the label of a volume of a pod that sets
// only a level (the usual defaults): shown as the level alone.
const containerFile = "system_u:object_r:container_file_t:"

func labelText(l, policy string) string {
	switch {
	case l == "" && policy == "Recursive":
		return `label "", Recursive`
	case l == "":
		return `label ""`
	case strings.HasPrefix(l, containerFile):
		return "level " + strings.TrimPrefix(l, containerFile)
	}
	return fmt.Sprintf("label %q", l)
}

// maxWarning is the length a warning is cut to: the API server truncates
// longer ones, and a short line is what kubectl users read.
const maxWarning = 240

// maxFindings is how many findings a response reports.
const maxFindings = 3

// warnings returns the response's warnings: per finding, what conflicts,
// which side the kubelet keeps, and the fix; nothing of another namespace
// but a count.
func (v *verdict) warnings() []string {
	var out []string
	for i, f := range v.findings {
		if i == maxFindings {
			out = append(out, fmt.Sprintf("selmount: and %d more volumes with conflicts", len(v.findings)-maxFindings))
			break
		}
		out = append(out, v.finding(f)...)
	}
	return out
}

func (v *verdict) finding(f check.Finding) []string {
	key := v.keyOf[f.Volume]
	vol := v.names[key]
	this := "this " + v.kind
	if v.self.Kind != v.kind {
		this += " (of " + v.self.Kind + " " + v.self.Name + ")"
	}
	if f.Property == check.PropertyMultipleLabels {
		return []string{cut(fmt.Sprintf("selmount: volume %s: %s has containers whose seLinuxOptions give the volume different labels; the kubelet cannot mount it with one label", vol, this)),
			cut("selmount: fix: set seLinuxOptions once at the pod level (spec.securityContext), not per container")}
	}
	var others []string
	foreign := 0
	for _, s := range f.Subjects {
		switch {
		case v.isSelf(s), s.Label == v.labels[key]:
			// Users with the object's own label are not what it
			// conflicts with.
		case s.Namespace != v.self.Namespace:
			foreign++
		case len(others) < 3:
			others = append(others, v.describe(s))
		}
	}
	switch foreign {
	case 0:
	case 1:
		others = append(others, "a pod in another namespace")
	default:
		others = append(others, "pods in other namespaces")
	}
	lines := []string{cut(fmt.Sprintf("selmount: volume %s: %s (%s) and %s use different SELinux labels",
		vol, this, labelText(v.labels[key], ""), joinAnd(others)))}
	var kept string
	switch f.When {
	case check.WhenWarningOnly:
		kept = "nothing fails: the volume is not mounted with -o context, the kubelet only counts a warning"
	case check.WhenTargetVersion:
		kept = "after the upgrade to the target version, the pod admitted second on a node fails to start (FailedMount)"
	default:
		kept = "the kubelet keeps the volume for the pod admitted first on a node; pods with another label wait in ContainerCreating (FailedMount)"
	}
	if k := v.keptUser(f); k != "" {
		kept += "; already running: " + k
	}
	lines = append(lines, cut("selmount: kept: "+kept))
	fix := "selmount: fix: use one seLinuxOptions.level for every user of the volume"
	if foreign > 0 {
		fix += " (agree on it with the other namespace's owner)"
	}
	fix += ", or set spec.securityContext.seLinuxChangePolicy: Recursive in this pod template (relabels file by file)"
	return append(lines, cut(fix))
}

// denial is the message of a rejection.
func (v *verdict) denial(clusterWide bool) string {
	why := fmt.Sprintf("namespace label %s=%s", EnforceLabel, EnforceDeny)
	if clusterWide {
		why = "the webhook runs with --deny"
	}
	return fmt.Sprintf("selmount (%s): volume %s is used by %s, which the kubelet keeps on its nodes; this %s uses another SELinux label and would not start there (FailedMount). "+
		"Fix: use the same seLinuxOptions.level as the volume's other users, or set spec.securityContext.seLinuxChangePolicy: Recursive in this pod template (relabels file by file).",
		why, v.names[v.keptVol], v.kept, v.kind)
}

func cut(s string) string {
	if len(s) <= maxWarning {
		return s
	}
	return strings.ToValidUTF8(s[:maxWarning-3], "") + "..."
}

// joinAnd joins "x", "x and y", "x, y and z".
func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
