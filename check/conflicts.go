package check

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/label"
)

// ctrlView is how the upstream selinux-warning-controller sees one pod's use
// of a volume: raw options joined without node defaults, the change policy
// normalised to Recursive when the plugin has no support or the label is
// empty.
type ctrlView struct {
	label    string
	parts    [4]string
	policy   string
	multiple bool
	ok       bool
}

func controllerView(v *decide.Volume) ctrlView {
	var labels []string
	for _, o := range v.Facts.Options {
		l := o.User + ":" + o.Role + ":" + o.Type + ":" + o.Level
		if l == ":::" {
			l = ""
		}
		if !slices.Contains(labels, l) { // a few containers: no map
			labels = append(labels, l)
		}
	}
	if len(labels) > 1 {
		return ctrlView{multiple: true}
	}
	cv := ctrlView{ok: true, policy: string(corev1.SELinuxChangePolicyMountOption)}
	if len(labels) == 1 {
		cv.label = labels[0]
	}
	if p := v.Facts.ChangePolicy; p != nil {
		cv.policy = string(*p)
	}
	if cv.policy == string(corev1.SELinuxChangePolicyRecursive) || !v.Facts.PluginSupports {
		cv.label = ""
	}
	if !v.Facts.PluginSupports || cv.label == "" {
		cv.policy = string(corev1.SELinuxChangePolicyRecursive)
	}
	if cv.label != "" {
		copy(cv.parts[:], strings.SplitN(cv.label, ":", 4))
	}
	return cv
}

// ctrlConflicts is the controller's comparison (since kubernetes#133425):
// a different policy, or user/role/type that are both set and differ, or
// any difference in level.
func ctrlConflicts(a, b ctrlView) bool {
	if a.policy != b.policy {
		return true
	}
	for i := 0; i < 3; i++ {
		if a.parts[i] != "" && b.parts[i] != "" && a.parts[i] != b.parts[i] {
			return true
		}
	}
	return a.parts[3] != b.parts[3]
}

type group struct {
	key           decide.LabelKey // the label as the kubelet compares it
	label, policy string
	uses          []*use
	subj          []Subject // subjects(), once computed
}

// subjects returns the group's subjects, each once, in the order of their
// first use. Computed once: messages and fixes ask for them repeatedly. The
// result is clipped, so appending to it never writes into the group's copy.
func (g *group) subjects() []Subject {
	if g.subj == nil {
		seen := map[*subject]bool{} // the collector makes one per workload
		for _, u := range g.uses {
			if !seen[u.e.subj] {
				seen[u.e.subj] = true
				g.subj = append(g.subj, subjectOf(u))
			}
		}
	}
	return slices.Clip(g.subj)
}

func (g *group) liveViews() []ctrlView {
	var out []ctrlView
	for _, u := range g.uses {
		if u.e.running && u.ctrl.ok {
			dup := false
			for _, v := range out {
				if v.label == u.ctrl.label && v.policy == u.ctrl.policy {
					dup = true
				}
			}
			if !dup {
				out = append(out, u.ctrl)
			}
		}
	}
	return out
}

func (g *group) hasLive() bool {
	for _, u := range g.uses {
		if u.e.running {
			return true
		}
	}
	return false
}

// conflictFindings compares the users of one volume.
func conflictFindings(uses []*use, in Input) []Finding {
	type groupKey struct {
		label  decide.LabelKey
		policy string
	}
	var groups []*group
	idx := map[groupKey]*group{}
	for _, u := range uses {
		if len(u.target.Facts.Multiple) > 0 {
			continue // reported as MultipleSELinuxLabels
		}
		k := groupKey{u.target.Facts.LabelKey(), u.policy}
		g := idx[k]
		if g == nil {
			g = &group{key: k.label, label: u.target.Facts.KubeletLabel, policy: u.policy}
			idx[k] = g
			groups = append(groups, g)
		}
		g.uses = append(g.uses, u)
	}
	var out []Finding
	for i := 0; i < len(groups); i++ {
		for j := i + 1; j < len(groups); j++ {
			a, b := groups[i], groups[j]
			if a.key == b.key {
				if f, ok := upstreamOnly(a, b, uses[0]); ok {
					out = append(out, f)
				}
				continue
			}
			out = append(out, pairFinding(a, b, in))
		}
		// Controller-only differences inside one kubelet group.
		if f, ok := upstreamOnly(groups[i], groups[i], uses[0]); ok {
			out = append(out, f)
		}
	}
	return out
}

func upstreamOnly(a, b *group, first *use) (Finding, bool) {
	va, vb := a.liveViews(), b.liveViews()
	for _, x := range va {
		for _, y := range vb {
			if ctrlConflicts(x, y) {
				subj := a.subjects()
				if a != b {
					subj = append(subj, b.subjects()...)
				}
				return Finding{
					Type: TypeConflict, Severity: SeverityInfo, Property: PropertyUpstreamOnly,
					Volume: volumeName(first.target), Driver: first.target.Facts.CSIDriver, Subjects: subj,
					When:                      WhenUpstreamOnly,
					UpstreamControllerReports: true,
					UpstreamDifference:        fmt.Sprintf("the upstream controller compares raw seLinuxOptions (%q vs %q): it reports a conflict the kubelet does not have, because only user and level reach the file label and node defaults fill empty fields", x.label, y.label),
					Message:                   fmt.Sprintf("Volume %s: the upstream selinux-warning-controller reports a conflict between %s, but the kubelet computes the same label for all of them: nothing fails.", volumeName(first.target), subjectsText(subj)),
					Fix:                       "None needed. To silence the upstream events, write the same seLinuxOptions in every workload that shares the volume.",
				}, true
			}
		}
	}
	return Finding{}, false
}

func pairFinding(a, b *group, in Input) Finding {
	// Order the sides: the side with a label first, then the larger one.
	if a.label == "" && b.label != "" || (a.label != "" && b.label != "" && len(b.uses) > len(a.uses)) {
		a, b = b, a
	}
	v := a.uses[0].target
	f := Finding{Type: TypeConflict, Volume: volumeName(v), Driver: v.Facts.CSIDriver, KubeletConflict: true}
	f.Subjects = append(a.subjects(), b.subjects()...)
	la, lb := a.label, b.label
	recursive := string(corev1.SELinuxChangePolicyRecursive)
	switch {
	case a.policy != b.policy && (a.policy == recursive || b.policy == recursive):
		f.Property = PropertyChangePolicy
	default:
		f.Property = PropertyLabel
	}

	eligibleTarget, eligibleNow := false, false
	var notEligible string
	for _, u := range append(append([]*use{}, a.uses...), b.uses...) {
		if u.target.Facts.Eligible {
			eligibleTarget = true
		} else if notEligible == "" {
			notEligible = u.target.Facts.EligibleReason
		}
		if u.current == nil && u.target.Facts.Eligible || u.current != nil && u.current.Facts.Eligible {
			eligibleNow = true
		}
	}
	node, kept := sharedNode(a, b)
	switch {
	case !eligibleTarget:
		f.Severity, f.When = SeverityWarning, WhenWarningOnly
	case node != "" && eligibleNow:
		f.Severity, f.When = SeverityError, WhenNow
	case !eligibleNow:
		f.Severity, f.When = SeverityError, WhenTargetVersion
	default:
		f.Severity, f.When = SeverityError, WhenCoScheduled
	}

	var msg strings.Builder
	fmt.Fprintf(&msg, "Volume %s: ", f.Volume)
	switch {
	case f.Property == PropertyChangePolicy:
		rec, mo := a, b
		if a.policy != recursive {
			rec, mo = b, a
		}
		fmt.Fprintf(&msg, "%s %s out with seLinuxChangePolicy: Recursive (label \"\"), while %s %s it with label %q.", subjectsText(rec.subjects()), verb(rec, "opts", "opt"), subjectsText(mo.subjects()), verb(mo, "mounts", "mount"), mo.label)
	case lb == "":
		fmt.Fprintf(&msg, "%s %s label %q, while %s no seLinuxOptions (privileged or unlabeled pods have the empty label).", subjectsText(a.subjects()), verb(a, "uses", "use"), la, subjectsText(b.subjects())+" "+verb(b, "sets", "set"))
	default:
		fmt.Fprintf(&msg, "%s %s label %q, while %s %s %q.", subjectsText(a.subjects()), verb(a, "uses", "use"), la, subjectsText(b.subjects()), verb(b, "uses", "use"), lb)
	}
	msg.WriteString(" The kubelet mounts a volume with one label per node")
	canonicalOnly := label.SameContext(la, lb)
	if canonicalOnly {
		msg.WriteString("; these two labels differ only in how their categories are written, which the kernel ignores but the kubelet, comparing strings, does not")
	}
	msg.WriteString(". ")
	switch f.When {
	case WhenNow:
		fmt.Fprintf(&msg, "They already share node %s: the pod admitted second waits in ContainerCreating with FailedMount \"conflicting SELinux labels\".", node)
	case WhenCoScheduled:
		msg.WriteString("A pod of either side fails to start (FailedMount) on a node where the other side already runs.")
	case WhenTargetVersion:
		fmt.Fprintf(&msg, "Today the kubelet (%s) only bumps a warning metric; with %s the pod admitted second on a node fails to start.", curVersion(in), in.Target.Version())
		if node != "" {
			fmt.Fprintf(&msg, " They already share node %s.", node)
		}
	case WhenWarningOnly:
		fmt.Fprintf(&msg, "With %s the volume is not mounted with -o context (%s), so the kubelet only bumps %s.", in.Target.Version(), notEligible, decide.MetricVolumeMismatchWarning)
	}
	f.Message = msg.String()
	if node != "" {
		f.Kept = fmt.Sprintf("on node %s the kubelet keeps %s (admitted first); the other side waits until it is gone", node, kept)
	} else {
		f.Kept = "the side whose pod is admitted first on a node keeps the volume there; pods of the other side wait until it is gone"
	}

	// Upstream comparison.
	for _, x := range a.liveViews() {
		for _, y := range b.liveViews() {
			if ctrlConflicts(x, y) {
				f.UpstreamControllerReports = true
			}
		}
	}
	if !f.UpstreamControllerReports {
		switch {
		case !a.hasLive() || !b.hasLive():
			f.UpstreamDifference = "the upstream controller sees running pods only, and " + notRunning(a, b) + " has no pod"
		default:
			f.UpstreamDifference = "the upstream controller compares raw seLinuxOptions without node defaults: fields left empty are incomparable, so it misses this conflict"
		}
	} else if canonicalOnly {
		f.UpstreamDifference = "both compare label strings as written; selmount also says the kernel sees one label"
	}
	f.Fix, f.Patches = conflictFix(a, b, f.Property, canonicalOnly, in)
	return f
}

func curVersion(in Input) string {
	if in.Current == nil {
		return "of the current version"
	}
	return in.Current.Version().String()
}

func notRunning(a, b *group) string {
	var names []string
	for _, g := range []*group{a, b} {
		if !g.hasLive() {
			for _, s := range g.subjects() {
				names = append(names, s.String())
			}
		}
	}
	return strings.Join(names, ", ")
}

// sharedNode returns a node where live pods of both groups run, and the
// subject of the pod that came first there.
func sharedNode(a, b *group) (string, string) {
	nodesA := map[string]bool{}
	for _, u := range a.uses {
		if u.e.running && u.e.pod.Spec.NodeName != "" {
			nodesA[u.e.pod.Spec.NodeName] = true
		}
	}
	var shared []string
	for _, u := range b.uses {
		if n := u.e.pod.Spec.NodeName; u.e.running && n != "" && nodesA[n] {
			shared = append(shared, n)
		}
	}
	if len(shared) == 0 {
		return "", ""
	}
	sort.Strings(shared)
	node := shared[0]
	var first *use
	for _, u := range append(append([]*use{}, a.uses...), b.uses...) {
		if u.e.running && u.e.pod.Spec.NodeName == node && (first == nil || u.e.before(first.e)) {
			first = u
		}
	}
	return node, first.e.subj.kind + " " + first.e.subj.namespace + "/" + first.e.subj.name
}

func multipleFinding(u *use, in Input) Finding {
	v := u.target
	f := Finding{Type: TypeConflict, Property: PropertyMultipleLabels, Volume: volumeName(v), Driver: v.Facts.CSIDriver, Subjects: []Subject{subjectOf(u)}}
	f.KubeletConflict = len(v.Facts.Multiple) > 0
	f.UpstreamControllerReports = u.e.running && u.ctrl.multiple
	switch {
	case !f.KubeletConflict:
		f.Severity, f.When = SeverityInfo, WhenUpstreamOnly
		f.Message = fmt.Sprintf("Volume %s: the containers of %s set different seLinuxOptions, which the upstream controller reports, but they translate to one file label: nothing fails.", f.Volume, subjectsText(f.Subjects))
		f.Fix = "None needed; write the same seLinuxOptions in every container to silence the upstream event."
		return f
	case v.Facts.Eligible:
		f.Severity, f.When = SeverityError, WhenNow
	default:
		f.Severity, f.When = SeverityWarning, WhenWarningOnly
	}
	if !f.UpstreamControllerReports && !u.e.running {
		f.UpstreamDifference = "the upstream controller sees running pods only"
	}
	f.Message = fmt.Sprintf("Volume %s: the containers of %s that mount it translate to different labels (%s); the kubelet refuses such a pod when the volume qualifies for a context mount.", f.Volume, subjectsText(f.Subjects), strings.Join(v.Facts.Multiple, ", "))
	f.Fix = "Give every container that mounts the volume the same seLinuxOptions (set them once at pod level and remove the container-level ones)."
	return f
}

func verb(g *group, one, many string) string {
	if len(g.subjects()) == 1 {
		return one
	}
	return many
}
