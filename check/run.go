package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/internal/parallel"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/volindex"
	"github.com/selmount/selmount/workload"
)

// Input is what a check reads.
type Input struct {
	// Objects are the API objects to check.
	Objects Objects
	// Target is the version (and gates) to check against.
	Target kubever.Gates
	// Current is the cluster's version today; nil when unknown (manifests).
	Current *kubever.Gates
	// ServerVersion is the API server's gitVersion ("v1.24.17"), "" when
	// unknown.
	ServerVersion string
	// SELinuxEnabled is whether the nodes run SELinux.
	SELinuxEnabled bool
	Defaults       label.Defaults
	// Source is where the objects came from, for the report.
	Source Source
	// DaemonSetsListed is true when the input holds every DaemonSet of the
	// cluster (as DaemonSets or NodePlugins), so that a missing CSI node
	// plugin can be reported.
	DaemonSetsListed bool
}

// use is one entry's use of one shared volume.
type use struct {
	e      *entry
	key    string // the entry's key in the volume index: keys sort in input order
	target *decided
	// eligibleNow: the volume can be mounted with a context in the current
	// version (the target's answer when the current version is unknown).
	eligibleNow bool
	policy      string // "Recursive" or "MountOption" as the kubelet honours it
	ctrl        ctrlView
	seen        bool   // the upstream controller sees this use
	skip        string // why not (unseen*)
}

// Run checks the input and returns the report.
func Run(in Input) Report {
	r, _ := run(in, false)
	return r
}

// RunUsers is Run that also returns the users of every volume a pod can
// share (a volume of one user included), as the check saw them: what an
// admission webhook needs to evaluate a new object against the current
// users of its volumes without checking the whole cluster again.
func RunUsers(in Input) (Report, *Users) {
	return run(in, true)
}

func run(in Input, withUsers bool) (Report, *Users) {
	if len(in.Objects.Packed) > 0 {
		in.Objects = in.Objects.Unpacked()
	}
	c := newCollector()
	c.collect(&in.Objects)
	objs := decideObjects(&in.Objects, c)
	cfg := decide.Config{Gates: in.Target, SELinuxEnabled: in.SELinuxEnabled, Defaults: in.Defaults, Lean: true}
	target := decide.Explain(objs, cfg)
	var current *decide.Explanation
	switch {
	case in.Current != nil && sameGates(*in.Current, in.Target):
		current = &target // the same kubelet: no second pass
	case in.Current != nil:
		cc := cfg
		cc.Gates = *in.Current
		e := decide.Explain(objs, cc)
		current = &e
	}
	r := Report{APIVersion: apiversion.Current, Kind: "Report", TargetVersion: in.Target.Version().String(), Source: in.Source, Findings: []Finding{}}
	if in.Current != nil {
		r.CurrentVersion = in.Current.Version().String()
	}
	r.FeatureGatesWithoutEffect = in.Target.Inert()
	// Input problems the decision found (an invalid level): the pod cannot
	// start, as explain says; the caller names their sources.
	r.InvalidPods = target.InputErrors
	for _, ie := range target.InputErrors {
		r.InputErrors = append(r.InputErrors, ie.Error())
	}

	// Every use of a volume, with what depends on it alone, per pod in
	// parallel.
	perEntry := make([][]useResult, len(c.entries))
	parallel.For(len(c.entries), func(i int) {
		var cur *decide.Pod
		if current != nil {
			cur = &current.Pods[i]
		}
		perEntry[i] = entryUses(c.entries[i], positionKey(i), &target.Pods[i], cur, in)
	})
	// In input order: merge repeated findings, index the shared volumes.
	n := len(r.Findings)
	for _, results := range perEntry {
		for _, res := range results {
			n += len(res.findings)
		}
	}
	r.Findings = slices.Grow(r.Findings, n) // Findings are large: no doubling
	once := findingSet{}
	index := volindex.New[string]()
	var users *Users
	if withUsers {
		users = newUsers()
	}
	var uses []volindex.Use
	for i, results := range perEntry {
		uses = uses[:0]
		for _, res := range results {
			r.Findings = once.append(r.Findings, res.findings...)
			if res.key != "" {
				uses = append(uses, indexUse(res.key, res.u))
				if users != nil {
					users.add(c.entries[i], res.key, volumeName(res.u.target), res.u.target.KubeletLabel)
				}
			}
		}
		index.Set(positionKey(i), uses)
	}
	// The check's data of an entry's use of a volume (an entry has few).
	useOf := func(key string) func(string) *use {
		return func(k string) *use {
			var found *use
			for _, res := range perEntry[positionOf(k)] {
				if res.key == key {
					found = res.u // the last, as the index keeps it
				}
			}
			return found
		}
	}
	volumes := index.Shared() // a volume of one user has no conflict
	perVolume := make([][]Finding, len(volumes))
	parallel.For(len(volumes), func(k int) {
		if view, ok := index.Volume(volumes[k]); ok {
			perVolume[k] = conflictFindings(volumeUsers{view: view, use: useOf(volumes[k])}, in)
		}
	})
	for _, fs := range perVolume {
		r.Findings = append(r.Findings, fs...)
	}
	superblock := func(name string) (Finding, bool) { return sharedSuperblock(name, objs.PVs, objs.StorageClasses) }
	r.Findings = append(r.Findings, driverFindings(in, objs.CSIDrivers, driversUsed(target.Pods), superblock)...)
	sortFindings(r.Findings)

	for _, s := range c.order {
		if s.kind == "Pod" {
			continue
		}
		r.Summary.Workloads++
	}
	for _, e := range c.entries {
		if e.running {
			r.Summary.Pods++
		}
	}
	r.Summary.Volumes = index.Len()
	r.Summary.InputErrors = len(r.InputErrors)
	summarize(&r)
	return r, users
}

// useResult is one entry's use of one volume, with the findings that
// depend on that use alone.
type useResult struct {
	u        *use
	findings []Finding // multiple labels, slow paths
	key      string    // the volume, "" when not shared
	// A Base's use of a volume with one user is slimmed: u is nil, and
	// these are volumeName(u.target) and its KubeletLabel.
	name, label string
}

// entryUses computes the uses of the volumes of entry e, whose key in the
// volume index is key, from its decision for the target version (pe) and
// for the current one (cur, nil when unknown). It reads nothing else of the
// input but its settings, so a changed entry can be computed alone.
func entryUses(e *entry, key string, pe, cur *decide.Pod, in Input) []useResult {
	uses := make([]use, len(pe.Volumes))
	out := make([]useResult, len(pe.Volumes))
	for j := range pe.Volumes {
		v := &pe.Volumes[j]
		if !v.Facts.SELinux || v.Facts.InputError != nil {
			// As explain decided: SELinux does not apply (a Windows
			// pod, SELinux off), or the pod cannot start (an input
			// error, reported as such). No finding, no comparison.
			continue
		}
		u := &uses[j]
		*u = use{e: e, key: key, target: decidedOf(v), policy: string(v.Facts.Policy)}
		u.eligibleNow = v.Facts.Eligible
		if cur != nil && j < len(cur.Volumes) {
			u.eligibleNow = cur.Volumes[j].Facts.Eligible
		}
		if e.running {
			u.ctrl = controllerView(v)
		}
		u.seen, u.skip = upstreamSees(e, v, u.ctrl)
		res := useResult{u: u, key: volindex.VolumeKey(v.Facts.PV, v.Facts.UniqueName)}
		if len(v.Facts.Multiple) > 0 || u.skip == unseenMultiple {
			res.findings = append(res.findings, multipleFinding(u, in))
		}
		res.findings = append(res.findings, slowPathFindings(u, v, in)...)
		out[j] = res
	}
	return out
}

// positionKey is the volume index's key of the entry at position i: keys
// compare as the positions do.
func positionKey(i int) string {
	return string([]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
}

// positionOf inverts positionKey.
func positionOf(k string) int {
	return int(k[0])<<24 | int(k[1])<<16 | int(k[2])<<8 | int(k[3])
}

// summarize counts the findings by severity and adds the cluster fixes
// when there is a conflict.
func summarize(r *Report) {
	hasConflict := false
	for _, f := range r.Findings {
		switch f.Severity {
		case SeverityError:
			r.Summary.Errors++
		case SeverityWarning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
		// The opt-out helps with conflicts between pods, not with one pod
		// whose containers disagree (an error whatever the policy).
		if f.Type == TypeConflict && f.KubeletConflict && f.Property != PropertyMultipleLabels {
			hasConflict = true
		}
	}
	if hasConflict {
		r.ClusterFixes = ClusterFixes()
	}
}

// decideObjects assembles decide.Objects with the entries' pods in order.
func decideObjects(in *Objects, c *collector) decide.Objects {
	o := decide.Objects{
		PVCs:           workload.Claims(in.PVCs, c.claims),
		PVs:            in.PVs,
		StorageClasses: in.StorageClasses,
		CSIDrivers:     in.CSIDrivers,
		Pods:           make([]*corev1.Pod, 0, len(c.entries)),
	}
	for _, e := range c.entries {
		o.Pods = append(o.Pods, e.pod)
	}
	return o
}

// decided is what the check reads of a volume's decision once its use is
// made: a copy of the few facts it reads, so that a Base keeps it without
// the pod's whole decision (a decide.Volume is five times its size) or the
// decoded objects that one points to (see keep).
type decided struct {
	PersistentVolume     string
	Method               decide.Method
	UniqueName, SpecName string
	CSIDriver, Kind      string
	KubeletLabel         string
	EligibleReason       string
	// Level is the first level written in the seLinuxOptions of the
	// containers that mount the volume, "" when none is.
	Level string
	// Claim is the claim, nil for inline volumes; a Base drops it once the
	// claim is bound (see keep).
	Claim                 *corev1.PersistentVolumeClaim
	Multiple              []string
	Eligible, RandomLevel bool
}

func decidedOf(v *decide.Volume) *decided {
	f := &v.Facts
	d := &decided{
		PersistentVolume: v.PersistentVolume, Method: v.Method,
		UniqueName: f.UniqueName, SpecName: f.SpecName, CSIDriver: f.CSIDriver, Kind: f.Kind,
		KubeletLabel: f.KubeletLabel, EligibleReason: f.EligibleReason,
		Claim: f.Claim, Multiple: f.Multiple, Eligible: f.Eligible, RandomLevel: f.RandomLevel,
	}
	for _, o := range f.Options {
		if o != nil && o.Level != "" {
			d.Level = o.Level
			break
		}
	}
	return d
}

func volumeName(v *decided) string {
	if v.PersistentVolume != "" {
		return v.PersistentVolume
	}
	if c := v.Claim; c != nil {
		return "claim " + c.Namespace + "/" + c.Name
	}
	return v.SpecName
}

// findingSet remembers findings by type, property, volume and subjects, so
// that the same finding for several pods of one workload is reported once.
// A map, not a search of the list: a cluster whose 100,000 pods set no
// level has 100,000 findings.
type findingSet map[findingKey]bool

// findingKey identifies a finding; more than one subject are joined into
// rest.
type findingKey struct {
	typ                   FindingType
	property              Property
	volume                string
	kind, namespace, name string
	rest                  string
}

func (seen findingSet) append(list []Finding, fs ...Finding) []Finding {
	for _, f := range fs {
		if f.Type == "" {
			continue
		}
		k := findingKey{typ: f.Type, property: f.Property, volume: f.Volume}
		if len(f.Subjects) > 0 {
			s := f.Subjects[0]
			k.kind, k.namespace, k.name = s.Kind, s.Namespace, s.Name
		}
		if len(f.Subjects) > 1 {
			var b strings.Builder
			for _, s := range f.Subjects[1:] {
				b.WriteString(s.Kind + "\x00" + s.Namespace + "\x00" + s.Name + "\x00")
			}
			k.rest = b.String()
		}
		if !seen[k] {
			seen[k] = true
			list = append(list, f)
		}
	}
	return list
}

func subjectOf(u *use) Subject {
	s := u.e.subj
	return Subject{Kind: s.kind, Namespace: s.namespace, Name: s.name, Label: u.target.KubeletLabel, Policy: u.policy, Nodes: s.nodes, Running: s.running,
		Volume: volumeName(u.target)}
}

func (s Subject) String() string {
	return s.Kind + " " + s.Namespace + "/" + s.Name
}

var severityRank = map[Severity]int{SeverityError: 0, SeverityWarning: 1, SeverityInfo: 2}
var typeRank = map[FindingType]int{TypeConflict: 0, TypeDriverReadiness: 1, TypeSlowPath: 2}

// sortFindings orders findings by severity, type and volume, stably. It
// sorts small keys and moves each Finding once: Findings are large, and
// 100,000 of them were slow to compare and swap in place.
func sortFindings(fs []Finding) {
	type key struct {
		severity, typ int
		volume        string
		i             int
	}
	keys := make([]key, len(fs))
	for i := range fs {
		keys[i] = key{severityRank[fs[i].Severity], typeRank[fs[i].Type], fs[i].Volume, i}
	}
	slices.SortStableFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.severity, b.severity), cmp.Compare(a.typ, b.typ), strings.Compare(a.volume, b.volume))
	})
	sorted := make([]Finding, len(fs))
	for n, k := range keys {
		sorted[n] = fs[k.i]
	}
	copy(fs, sorted)
}

// subjectsText names the subjects in prose: the first few, then how many
// more (a volume shared by thousands of pods would otherwise give a message
// of thousands of names; the subjects list of the finding has them all).
func subjectsText(ss []Subject) string { return subjectsList(ss, 5) }

// subjectsList names at most max subjects, then "and N more".
func subjectsList(ss []Subject, max int) string {
	names := make([]string, min(len(ss), max+1))
	for i := range names {
		names[i] = ss[i].String()
	}
	return namesList(names, len(ss), max)
}

// namesText is subjectsText for names already formatted.
func namesText(names []string) string { return namesList(names, len(names), 5) }

// namesList joins the first names of total ones, at most max, then says
// how many more there are.
func namesList(names []string, total, max int) string {
	n := min(len(names), max)
	if total == max+1 {
		n = total // "and 1 more" is no shorter than the name
	}
	out := strings.Join(names[:n], ", ")
	if rest := total - n; rest > 0 {
		out += fmt.Sprintf(" and %d more", rest)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func sameGates(a, b kubever.Gates) bool {
	if a.Version() != b.Version() {
		return false
	}
	am, bm := a.Map(), b.Map()
	if len(am) != len(bm) {
		return false
	}
	for k, v := range am {
		if bm[k] != v {
			return false
		}
	}
	return true
}
