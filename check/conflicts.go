package check

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/volindex"
)

// ctrlView is how the upstream selinux-warning-controller sees one pod's use
// of a volume: raw options joined without node defaults, the change policy
// normalised to Recursive when the plugin has no support or the label is
// empty.
type ctrlView struct {
	label    string
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
	return cv
}

// Why the upstream controller does not see a use.
const (
	unseenTemplate = "template" // not a pod
	unseenUnbound  = "unbound"  // the claim is not bound
	unseenMultiple = "multiple" // the containers' raw options disagree
)

// upstreamSees says whether the upstream controller adds this use of a
// volume to its cache, and if not, why: it reads running pods only (pending
// ones included; finished ones are not collected at all), skips a volume
// whose claim is not bound (CreateVolumeSpec fails until the claim's phase
// is Bound), and skips a volume whose containers set different options
// (it emits MultipleSELinuxLabels instead).
func upstreamSees(e *entry, v *decide.Volume, cv ctrlView) (bool, string) {
	switch {
	case !e.running:
		return false, unseenTemplate
	case !claimBound(v.Facts.Claim):
		return false, unseenUnbound
	case !cv.ok:
		return false, unseenMultiple
	}
	return true, ""
}

// claimBound reports whether the controller would find c bound: it needs
// spec.volumeName and the phase Bound. A claim without any status is one
// from a manifest that no cluster has seen: with a volumeName, the binder
// binds it at once, so it counts as bound.
func claimBound(c *corev1.PersistentVolumeClaim) bool {
	if c == nil {
		return true // an inline volume: no claim to wait for
	}
	return c.Spec.VolumeName != "" && (c.Status.Phase == corev1.ClaimBound || c.Status.Phase == "")
}

// indexUse is u as the volume index holds it.
func indexUse(key string, u *use) volindex.Use {
	v := u.target
	iu := volindex.Use{
		Volume:         key,
		Group:          volindex.Group{Label: indexLabel(u), Policy: u.policy},
		MultipleLabels: len(v.Multiple) > 0,
		Created:        u.e.created,
	}
	if u.e.running {
		iu.Node = u.e.node
	}
	if u.seen {
		iu.Upstream = volindex.Upstream{Seen: true, Volume: v.UniqueName, Label: u.ctrl.label, Policy: u.ctrl.policy}
	}
	return iu
}

// randomMark separates a random level's label from the entry that drew it
// in the index's group label. The kubelet draws a level for each pod, so
// such a label equals no other user's: the index must see it unique.
const randomMark = "\x00random "

// indexLabel is the label the index groups u by: the kubelet's label, made
// unique when its level is drawn at random.
func indexLabel(u *use) string {
	if d := u.target; d.RandomLevel {
		return d.KubeletLabel + randomMark + u.key
	}
	return u.target.KubeletLabel
}

// displayLabel is an index group's label as reports show it, and whether
// its level is random.
func displayLabel(l string) (string, bool) {
	if i := strings.Index(l, randomMark); i >= 0 {
		return l[:i], true
	}
	return l, false
}

// group is a set of users of one volume that the report treats alike: one
// label and policy, or, for users without a level, every user whose label
// has a random level (each has its own label to the kubelet).
type group struct {
	label, policy string // label as displayed
	random        bool   // labels with a random level: each pod its own
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

// volumeUsers is one volume's snapshot with the check's data per user.
type volumeUsers struct {
	view volindex.View[string]
	use  func(entry string) *use
}

// groups returns the report's groups of the volume in the order of their
// first user (the input order).
func (vu volumeUsers) groups() []*group {
	var out []*group
	idx := map[[2]string]*group{}
	for _, gu := range vu.view.Groups {
		display, random := displayLabel(gu.Group.Label)
		k := [2]string{display, gu.Group.Policy}
		g := idx[k]
		if g == nil {
			g = &group{label: display, policy: gu.Group.Policy, random: random}
			idx[k] = g
			out = append(out, g)
		}
		for _, user := range gu.Users {
			g.uses = append(g.uses, vu.use(user))
		}
	}
	for _, g := range out {
		slices.SortFunc(g.uses, func(a, b *use) int { return strings.Compare(a.key, b.key) })
	}
	slices.SortFunc(out, func(a, b *group) int { return strings.Compare(a.uses[0].key, b.uses[0].key) })
	return out
}

// maxSample is how many of the upstream controller's reports a finding
// shows.
const maxSample = 10

// conflictFindings reports one volume: one Conflict finding when its users
// carry more than one label, listing every group, and one UpstreamOnly
// finding naming the users that only the upstream controller finds in
// conflict. The volume's upstream view (counts and a sample) goes on the
// first of them.
func conflictFindings(vu volumeUsers, in Input) []Finding {
	counts := vu.view.UpstreamCounts()
	if counts.Reports() == 0 && !vu.view.Conflict() {
		return nil
	}
	first := vu.use(vu.view.Users()[0]).target
	up := &UpstreamReport{Conflicts: counts.Reports()}
	for c := range vu.view.UpstreamConflicts() {
		if len(up.Sample) == maxSample {
			break
		}
		a, b := vu.use(c.User).e, vu.use(c.Other).e
		up.Sample = append(up.Sample, UpstreamConflict{Property: c.Property, Pod: a.namespace + "/" + a.name, Value: c.UserValue, OtherPod: b.namespace + "/" + b.name, OtherValue: c.OtherValue})
	}
	agree := vu.view.Agreement()
	var out []Finding
	if vu.view.Conflict() {
		f := volumeFinding(vu, vu.groups(), agree, in)
		f.Upstream = up
		out = append(out, f)
	}
	if len(agree.UpstreamOnly) > 0 {
		f := upstreamOnly(vu, agree.UpstreamOnly, first)
		if len(out) == 0 {
			f.Upstream = up
		}
		out = append(out, f)
	}
	return out
}

// upstreamOnly reports the users that the upstream controller finds in
// conflict with a user of the same kubelet label: only they are named.
func upstreamOnly(vu volumeUsers, users []string, first *decided) Finding {
	g := &group{}
	var raw []string
	for _, k := range users {
		u := vu.use(k)
		g.uses = append(g.uses, u)
		if !slices.Contains(raw, u.ctrl.label) && len(raw) < 3 {
			raw = append(raw, u.ctrl.label)
		}
	}
	subj := g.subjects()
	quoted := make([]string, len(raw))
	for i, r := range raw {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return Finding{
		Type: TypeConflict, Severity: SeverityInfo, Property: PropertyUpstreamOnly,
		Volume: volumeName(first), Driver: first.CSIDriver, Subjects: subj,
		When:                      WhenUpstreamOnly,
		UpstreamControllerReports: true,
		UpstreamDifference:        fmt.Sprintf("the upstream controller compares raw seLinuxOptions (%s): it reports a conflict the kubelet does not have, because only user and level reach the file label and node defaults fill empty fields", strings.Join(quoted, " vs ")),
		Message:                   fmt.Sprintf("Volume %s: the upstream selinux-warning-controller reports conflicts between %s, but the kubelet computes the same label for each of them and the users it is compared with: nothing fails.", volumeName(first), subjectsText(subj)),
		Fix:                       "None needed. To silence the upstream events, write the same seLinuxOptions in every workload that shares the volume.",
	}
}

// reference picks the group the others are measured against and the fix
// aligns them to: a labeled group with a level of its own, then any
// labeled one; among those the one where the most workloads run (running
// pods whose own workload's template is in another group are being
// replaced and do not count), then the most users, the first on ties.
func reference(groups []*group) int {
	templateIn := map[*subject]*group{}
	for _, g := range groups {
		for _, u := range g.uses {
			if !u.e.running {
				templateIn[u.e.subj] = g
			}
		}
	}
	rank := func(g *group) [3]int {
		r := [3]int{0, 0, len(g.uses)}
		if g.label != "" {
			r[0] = 1
			if !g.random {
				r[0] = 2
			}
		}
		live := map[*subject]bool{}
		for _, u := range g.uses {
			if t := templateIn[u.e.subj]; u.e.running && (t == nil || t == g) {
				live[u.e.subj] = true
			}
		}
		r[1] = len(live)
		return r
	}
	best, br := 0, rank(groups[0])
	for i, g := range groups[1:] {
		if r := rank(g); slices.Compare(r[:], br[:]) > 0 {
			best, br = i+1, r
		}
	}
	return best
}

func volumeFinding(vu volumeUsers, groups []*group, agree volindex.Agreement[string], in Input) Finding {
	ri := reference(groups)
	ref := groups[ri]
	others := slices.Concat(groups[:ri], groups[ri+1:])
	ordered := append([]*group{ref}, others...)
	v := ref.uses[0].target
	f := Finding{Type: TypeConflict, Volume: volumeName(v), Driver: v.CSIDriver, KubeletConflict: true}
	for _, g := range ordered {
		f.Subjects = append(f.Subjects, g.subjects()...)
	}

	// A policy conflict: one label, and every user without it opted out.
	recursive := string(corev1.SELinuxChangePolicyRecursive)
	f.Property = PropertyChangePolicy
	labels := map[string]bool{}
	for _, g := range groups {
		switch {
		case g.label == "" && g.policy != recursive:
			f.Property = PropertyLabel
		case g.label != "":
			labels[g.label] = true
			if g.random {
				f.Property = PropertyLabel
			}
		}
	}
	if len(labels) != 1 {
		f.Property = PropertyLabel
	}

	eligibleTarget, eligibleNow := false, false
	var notEligible string
	for _, g := range groups {
		for _, u := range g.uses {
			if u.target.Eligible {
				eligibleTarget = true
			} else if notEligible == "" {
				notEligible = u.target.EligibleReason
			}
			if u.eligibleNow {
				eligibleNow = true
			}
		}
	}
	var shared []volindex.Node[string] // nodes where users of two labels run
	for _, n := range vu.view.Nodes() {
		for _, g := range n.Groups[1:] {
			if g.Label != n.Groups[0].Label {
				shared = append(shared, n)
				break
			}
		}
	}
	switch {
	case !eligibleTarget:
		f.Severity, f.When = SeverityWarning, WhenWarningOnly
	case len(shared) > 0 && eligibleNow:
		f.Severity, f.When = SeverityError, WhenNow
	case !eligibleNow:
		f.Severity, f.When = SeverityError, WhenTargetVersion
	default:
		f.Severity, f.When = SeverityError, WhenCoScheduled
	}

	var msg strings.Builder
	fmt.Fprintf(&msg, "Volume %s: ", f.Volume)
	switch {
	case len(ordered) == 1:
		fmt.Fprintf(&msg, "%s.", clause(ref))
	case len(ordered) == 2:
		fmt.Fprintf(&msg, "%s, while %s.", clause(ordered[0]), clause(ordered[1]))
	default:
		const shown = 5
		fmt.Fprintf(&msg, "%d label groups share it: ", len(ordered))
		for i, g := range ordered[:min(shown, len(ordered))] {
			if i > 0 {
				msg.WriteString("; ")
			}
			msg.WriteString(clause(g))
		}
		if rest := len(ordered) - shown; rest > 0 {
			fmt.Fprintf(&msg, "; and %s", plural(rest, "more group", "more groups"))
		}
		msg.WriteString(".")
	}
	msg.WriteString(" The kubelet mounts a volume with one label per node")
	canonicalOnly := len(others) > 0 && !ref.random && ref.label != ""
	for _, g := range others {
		canonicalOnly = canonicalOnly && !g.random && g.label != "" && label.SameContext(ref.label, g.label)
	}
	if canonicalOnly {
		msg.WriteString("; these labels differ only in how their categories are written, which the kernel ignores but the kubelet, comparing strings, does not")
	}
	msg.WriteString(". ")
	nodes := ""
	if len(shared) > 0 {
		nodes = "node " + shared[0].Name
		if len(shared) > 1 {
			nodes += " and " + plural(len(shared)-1, "more node", "more nodes")
		}
	}
	switch f.When {
	case WhenNow:
		fmt.Fprintf(&msg, "They already share %s: the pod admitted second waits in ContainerCreating with FailedMount \"conflicting SELinux labels\".", nodes)
	case WhenCoScheduled:
		msg.WriteString("A pod fails to start (FailedMount) on a node where a pod with another label already runs.")
	case WhenTargetVersion:
		fmt.Fprintf(&msg, "Today the kubelet (%s) only bumps a warning metric; with %s the pod admitted second on a node fails to start.", curVersion(in), in.Target.Version())
		if nodes != "" {
			fmt.Fprintf(&msg, " They already share %s.", nodes)
		}
	case WhenWarningOnly:
		fmt.Fprintf(&msg, "With %s the volume is not mounted with -o context (%s), so the kubelet only bumps %s.", in.Target.Version(), notEligible, decide.MetricVolumeMismatchWarning)
	}
	f.Message = msg.String()
	f.Kept = kept(vu, shared)

	f.UpstreamControllerReports = agree.Reported
	f.UpstreamDifference = upstreamDifference(vu, groups, agree)
	if f.UpstreamControllerReports && f.UpstreamDifference == "" && canonicalOnly {
		f.UpstreamDifference = "both compare label strings as written; selmount also says the kernel sees one label"
	}
	f.Fix, f.Patches = conflictFix(ref, others, f.Property, canonicalOnly, in)
	return f
}

// clause describes one group in a message.
func clause(g *group) string {
	s := subjectsText(g.subjects())
	switch {
	case g.random:
		return fmt.Sprintf("%s %s seLinuxOptions without a level (the kubelet draws a random level for each pod, so no two of them share a label)", s, verb(g, "sets", "set"))
	case g.label == "" && g.policy == string(corev1.SELinuxChangePolicyRecursive):
		return fmt.Sprintf("%s %s out with seLinuxChangePolicy: Recursive (label \"\")", s, verb(g, "opts", "opt"))
	case g.label == "":
		return fmt.Sprintf("%s %s no seLinuxOptions (privileged or unlabeled pods have the empty label)", s, verb(g, "sets", "set"))
	}
	return fmt.Sprintf("%s %s label %q", s, verb(g, "uses", "use"), g.label)
}

// kept says which side the kubelet keeps: on each node where users of two
// labels run, the one admitted first.
func kept(vu volumeUsers, shared []volindex.Node[string]) string {
	if len(shared) == 0 {
		return "the side whose pod is admitted first on a node keeps the volume there; pods with another label wait until it is gone"
	}
	const shown = 3
	var parts []string
	for _, n := range shared[:min(shown, len(shared))] {
		s := vu.use(n.First).e.subj
		parts = append(parts, fmt.Sprintf("on node %s the kubelet keeps %s %s/%s (admitted first)", n.Name, s.kind, s.namespace, s.name))
	}
	out := strings.Join(parts, "; ")
	if rest := len(shared) - shown; rest > 0 {
		out += fmt.Sprintf("; on %s the pod admitted first", plural(rest, "more node", "more nodes"))
	}
	return out + "; pods with another label wait there until it is gone"
}

// upstreamDifference says why the upstream controller misses conflicts the
// kubelet has on this volume, each reason with the users it concerns; ""
// when it reports every one.
func upstreamDifference(vu volumeUsers, groups []*group, agree volindex.Agreement[string]) string {
	unseen := map[string][]*use{}
	for _, g := range groups {
		// A template whose workload has a running pod with the same label
		// is seen through that pod.
		running := map[*subject]bool{}
		for _, u := range g.uses {
			if u.seen {
				running[u.e.subj] = true
			}
		}
		for _, u := range g.uses {
			if !u.seen && !(u.skip == unseenTemplate && running[u.e.subj]) {
				unseen[u.skip] = append(unseen[u.skip], u)
			}
		}
	}
	names := func(uses []*use) string { return subjectsText((&group{uses: uses}).subjects()) }
	byKey := func(keys []string) []*use {
		out := make([]*use, len(keys))
		for i, k := range keys {
			out[i] = vu.use(k)
		}
		return out
	}
	var reasons []string
	if us := unseen[unseenTemplate]; len(us) > 0 {
		reasons = append(reasons, "the upstream controller sees running pods only, and "+names(us)+" has no pod")
	}
	if us := unseen[unseenUnbound]; len(us) > 0 {
		var claims []string
		for _, u := range us {
			c := u.target.Claim
			phase := string(c.Status.Phase)
			if c.Spec.VolumeName == "" {
				phase = "not bound"
			}
			if s := fmt.Sprintf("%s/%s (%s)", c.Namespace, c.Name, phase); !slices.Contains(claims, s) {
				claims = append(claims, s)
			}
		}
		reasons = append(reasons, fmt.Sprintf("the upstream controller skips pods whose claims are not bound (claim %s): %s", namesText(claims), names(us)))
	}
	if us := unseen[unseenMultiple]; len(us) > 0 {
		reasons = append(reasons, "the upstream controller skips this volume for a pod whose containers set different seLinuxOptions (it emits MultipleSELinuxLabels instead): "+names(us))
	}
	if us := agree.Missed[volindex.RandomLevel]; len(us) > 0 {
		reasons = append(reasons, "pods without a level get a random level each from the kubelet, so their labels differ, but the upstream controller compares their empty levels as equal: "+names(byKey(us)))
	}
	if us := agree.Missed[volindex.EmptyFields]; len(us) > 0 {
		reasons = append(reasons, "the upstream controller compares raw seLinuxOptions without node defaults: fields left empty are incomparable, so it misses the conflicts of "+names(byKey(us)))
	}
	if us := agree.Missed[volindex.OtherVolume]; len(us) > 0 {
		reasons = append(reasons, "the upstream controller compares the users of one PersistentVolume (volume handle) only, and "+names(byKey(us))+" reach this volume through different ones")
	}
	return strings.Join(reasons, "; ")
}

func curVersion(in Input) string {
	if in.Current == nil {
		return "of the current version"
	}
	return in.Current.Version().String()
}

func multipleFinding(u *use, in Input) Finding {
	v := u.target
	f := Finding{Type: TypeConflict, Property: PropertyMultipleLabels, Volume: volumeName(v), Driver: v.CSIDriver, Subjects: []Subject{subjectOf(u)}}
	f.KubeletConflict = len(v.Multiple) > 0
	f.UpstreamControllerReports = u.skip == unseenMultiple
	switch {
	case !f.KubeletConflict:
		f.Severity, f.When = SeverityInfo, WhenUpstreamOnly
		f.Message = fmt.Sprintf("Volume %s: the containers of %s set different seLinuxOptions, which the upstream controller reports, but they translate to one file label: nothing fails.", f.Volume, subjectsText(f.Subjects))
		f.Fix = "None needed; write the same seLinuxOptions in every container to silence the upstream event."
		return f
	case v.Eligible:
		f.Severity, f.When = SeverityError, WhenNow
	default:
		f.Severity, f.When = SeverityWarning, WhenWarningOnly
	}
	switch {
	case f.UpstreamControllerReports:
	case u.skip == unseenTemplate:
		f.UpstreamDifference = "the upstream controller sees running pods only"
	case u.skip == unseenUnbound:
		f.UpstreamDifference = "the upstream controller skips pods whose claims are not bound"
	default:
		f.UpstreamDifference = "the upstream controller compares raw seLinuxOptions, which are the same in every container (the kubelet draws a random level for each container without one)"
	}
	f.Message = fmt.Sprintf("Volume %s: the containers of %s that mount it translate to different labels (%s); the kubelet refuses such a pod when the volume qualifies for a context mount.", f.Volume, subjectsText(f.Subjects), strings.Join(v.Multiple, ", "))
	f.Fix = "Give every container that mounts the volume the same seLinuxOptions (set them once at pod level and remove the container-level ones)."
	return f
}

func verb(g *group, one, many string) string {
	if len(g.subjects()) == 1 {
		return one
	}
	return many
}
