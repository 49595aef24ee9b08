package decide

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/internal/parallel"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// decider holds what every pod's evaluation reads. It is not modified after
// construction, so pods are evaluated in parallel.
type decider struct {
	cfg      Config
	ix       *index
	gates    map[string]string // Gates.Describe of every gate, formatted once
	seriesMu sync.RWMutex
	series   map[seriesKey]string // metricSeries, formatted once
}

func (d *decider) describe(gate string) string {
	if s, ok := d.gates[gate]; ok {
		return s
	}
	return d.cfg.Gates.Describe(gate)
}

// Explain decides every used volume of every pod and admits the pods of each
// node in order, as the kubelet's volume manager would. Pods without
// spec.nodeName are each admitted alone.
func Explain(objs Objects, cfg Config) Explanation {
	d := &decider{cfg: cfg, ix: newIndex(objs), gates: map[string]string{}, series: map[seriesKey]string{}}
	for _, g := range kubever.GateNames() {
		d.gates[g] = cfg.Gates.Describe(g)
	}
	out := Explanation{
		APIVersion:                apiversion.Current,
		Kind:                      "Explanation",
		KubernetesVersion:         cfg.Gates.Version().String(),
		FeatureGates:              cfg.Gates.Map(),
		FeatureGatesWithoutEffect: cfg.Gates.Inert(),
		SELinuxEnabled:            cfg.SELinuxEnabled,
		NodeDefaults: NodeDefaults{
			Source:  cfg.Defaults.Source,
			Process: cfg.Defaults.Process.String(),
			File:    cfg.Defaults.File.String(),
		},
		Pods: make([]Pod, 0, len(objs.Pods)),
	}
	// Pods are decided independently, in parallel; admission on each node
	// then runs in input order.
	evals := make([]*podEval, len(objs.Pods))
	parallel.For(len(objs.Pods), func(i int) { evals[i] = d.evalPod(objs.Pods[i], i) })
	// Nodes are independent of each other: admit the pods of each node in
	// input order, the nodes (and each pod without a node) in parallel.
	byNode := map[string]int{}
	var nodePods [][]int // pod indices of each node, in input order
	var unscheduled []int
	for i, pod := range objs.Pods {
		name := pod.Spec.NodeName
		if name == "" {
			unscheduled = append(unscheduled, i)
			continue
		}
		g, ok := byNode[name]
		if !ok {
			g = len(nodePods)
			byNode[name] = g
			nodePods = append(nodePods, nil)
		}
		nodePods[g] = append(nodePods[g], i)
	}
	parallel.For(len(nodePods)+len(unscheduled), func(u int) {
		n := newNode()
		if u >= len(nodePods) {
			n.admit(d, evals[unscheduled[u-len(nodePods)]])
			return
		}
		for _, i := range nodePods[u] {
			n.admit(d, evals[i])
		}
	})
	for _, pe := range evals {
		for _, ie := range pe.inputErrors {
			out.InputErrors = append(out.InputErrors, ie)
			out.Errors = append(out.Errors, ie.Error())
		}
		out.Pods = append(out.Pods, pe.result)
	}
	return out
}

// podEval is one pod with its volumes decided, before admission.
type podEval struct {
	pod         *corev1.Pod
	index       int // position in the input: tells random labels apart
	result      Pod
	vols        []*volEval
	inputErrors []*InputError
}

type volEval struct {
	index          int // position in the pod's Volumes
	spec           *spec
	lr             labelResult
	eligible       bool   // VolumeSupportsSELinuxMount
	eligibleReason string // why, or why not
	supports       bool   // the plugin's SupportsSELinuxContextMount
	supportsReason string
	out            *Volume
}

func podKey(p *corev1.Pod) string {
	ns := p.Namespace
	if ns == "" {
		ns = "default"
	}
	return ns + "/" + p.Name
}

func (d *decider) evalPod(pod *corev1.Pod, index int) *podEval {
	pe := &podEval{pod: pod, index: index}
	pe.result = Pod{Pod: podKey(pod), Node: pod.Spec.NodeName, Admission: Admission{Admitted: true}}
	for _, ref := range pod.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			pe.result.Owner = &Owner{Kind: ref.Kind, Name: ref.Name}
		}
	}
	pe.result.Warnings = d.podWarnings(pod)
	uses := containerContexts(pod)
	pe.result.Volumes = make([]Volume, 0, len(uses))
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		use := uses.get(vol.Name)
		if use == nil {
			continue // the kubelet skips volumes no container uses
		}
		s, err := d.ix.resolve(pod, vol)
		if err != nil {
			pe.inputErrors = append(pe.inputErrors, &InputError{Pod: podKey(pod), Owner: pe.result.Owner, Volume: vol.Name, Err: err})
			pe.result.Volumes = append(pe.result.Volumes, Volume{
				Name: vol.Name, Method: None, MountOptions: []string{}, Conditions: []Condition{},
				Reason: "cannot be decided: " + err.Error(), Problem: err.Error(),
			})
			// The pod cannot start either: the scheduler and the kubelet wait
			// for the missing object.
			adm := &pe.result.Admission
			adm.Admitted = false
			adm.Error = joinErr(adm.Error, fmt.Sprintf("volume %q: %v", vol.Name, err))
			continue
		}
		if use.device && !use.mounted {
			s.block = true
		}
		ve := &volEval{spec: s}
		ve.eligible, ve.eligibleReason = d.volumeSupportsSELinuxMount(s)
		ve.supports, ve.supportsReason = d.pluginSupport(s)
		ve.lr = d.kubeletLabel(pod, pe.index, s, use.ctxs, ve)
		var invalid *InputError
		if ve.lr.translateErr != nil {
			invalid = &InputError{
				Pod: podKey(pod), Owner: pe.result.Owner, Volume: vol.Name,
				Field: optionsPath(pod, ve.lr.translateOpts) + invalidOption(ve.lr.translateOpts),
				Err:   ve.lr.translateErr,
			}
			pe.inputErrors = append(pe.inputErrors, invalid)
		}
		v := d.volumeResult(pod, vol, s, use.ctxs, ve)
		v.Facts.InputError = invalid
		ve.index = len(pe.result.Volumes)
		pe.result.Volumes = append(pe.result.Volumes, v)
		pe.vols = append(pe.vols, ve)
	}
	// Pointers only now: appends may have moved the slice.
	for _, ve := range pe.vols {
		ve.out = &pe.result.Volumes[ve.index]
	}
	return pe
}

func (d *decider) podWarnings(pod *corev1.Pod) []string {
	var w []string
	p := changePolicy(pod)
	if p == nil {
		return nil
	}
	c := d.cfg
	switch {
	case isWindows(pod):
		w = append(w, "the API server rejects seLinuxChangePolicy on Windows pods")
	case !c.Gates.Known(kubever.SELinuxChangePolicy):
		w = append(w, fmt.Sprintf("seLinuxChangePolicy does not exist in %s: the API server drops the field", c.Gates.Version()))
	case !c.on(kubever.SELinuxChangePolicy):
		w = append(w, "seLinuxChangePolicy is dropped by the API server: "+d.describe(kubever.SELinuxChangePolicy))
	case *p == corev1.SELinuxChangePolicyMountOption && !c.on(kubever.SELinuxMount):
		w = append(w, "the API server rejects seLinuxChangePolicy: MountOption while the SELinuxMount gate is off ("+d.describe(kubever.SELinuxMount)+"); remove the field or use Recursive")
	}
	return w
}

// relabels reports whether the kubelet asks the runtime to relabel a volume
// it did not mount with a context (the plugin's Managed and SELinuxRelabel
// attributes), with the reason.
func relabels(s *spec) (bool, string) {
	switch s.kind {
	case "hostPath":
		return false, "the kubelet never relabels hostPath volumes"
	case "nfs", "cephfs", "glusterfs":
		return false, "the in-tree " + s.kind + " plugin never asks the runtime to relabel"
	case "image":
		return false, "image volumes are prepared by the container runtime"
	}
	if s.readOnly {
		return false, "the volume is mounted read-only, so the kubelet never asks the runtime to relabel it"
	}
	if s.kind == "csi" {
		return true, "the container runtime relabels every file (if the filesystem supports labels: seclabel in mountinfo)"
	}
	return true, "the container runtime relabels every file"
}

func (d *decider) volumeResult(pod *corev1.Pod, vol *corev1.Volume, s *spec, ctxs []*corev1.SELinuxOptions, ve *volEval) Volume {
	c := d.cfg
	lr := ve.lr
	v := Volume{Name: vol.Name, Source: s.source, Plugin: s.pluginName(), MountOptions: []string{}}
	v.Facts = Facts{
		UniqueName: s.uniqueKey, SpecName: s.name, CSIDriver: s.csiDriver, Kind: s.kind,
		PV: s.pv, Claim: s.pvc, PluginSupports: lr.pluginSupports, Eligible: ve.eligible, EligibleReason: ve.eligibleReason,
		KubeletLabel: lr.mountLabel.raw, RandomLevel: lr.mountLabel.random, label: lr.mountLabel,
		Multiple: lr.multiple, Options: ctxs, ChangePolicy: changePolicy(pod),
		SELinux: c.SELinuxEnabled && !isWindows(pod), Policy: d.honouredPolicy(pod),
	}
	if s.pv != nil {
		if s.pvNote == "" {
			v.PersistentVolume = s.pv.Name
		}
		for _, m := range s.pv.Spec.AccessModes {
			v.AccessModes = append(v.AccessModes, string(m))
		}
		v.MountOptions = append(v.MountOptions, s.pv.Spec.MountOptions...)
	}
	// The label the containers translate to, for display, also where the
	// kubelet itself does not translate (gate off, plugin without support).
	if len(lr.labels) == 0 && lr.translateErr == nil {
		for _, o := range ctxs {
			if fl, err := c.Defaults.FileLabel(toOptions(o)); err == nil {
				lr.labels = append(lr.labels, fl)
			}
		}
	}
	v.Label = lr.fileLabel.raw
	if v.Label == "" && len(lr.labels) > 0 && len(lr.multiple) == 0 && lr.err == "" {
		v.Label = lr.labels[0].Raw
	}

	// The checklist, every condition evaluated.
	selinuxOn := c.SELinuxEnabled && !isWindows(pod)
	conds := make([]Condition, 0, 8) // every condition below at most once
	add := func(name string, ok bool, reason string) {
		conds = append(conds, Condition{Name: name, Passed: ok, Reason: reason})
	}
	switch {
	case isWindows(pod):
		add(CondSELinuxEnabled, false, "Windows pod: SELinux does not apply")
	case c.SELinuxEnabled:
		add(CondSELinuxEnabled, true, "the node runs with SELinux enabled")
	default:
		add(CondSELinuxEnabled, false, "SELinux is disabled on the node: no volume is labeled")
	}
	gateOn := c.on(kubever.SELinuxMountReadWriteOncePod)
	add(CondFeatureGate, gateOn, d.describe(kubever.SELinuxMountReadWriteOncePod))
	switch {
	case s.pv == nil:
		add(CondPV, false, "inline "+s.kind+" volume: only PersistentVolumes are mounted with -o context")
	case s.pvNote != "":
		add(CondPV, true, s.pvNote)
	default:
		add(CondPV, true, "PersistentVolume "+s.pv.Name)
	}
	supports := ve.supports
	add(CondPlugin, supports, ve.supportsReason)
	labelOK, labelReason := podLabelCondition(lr, ctxs)
	add(CondPodLabel, labelOK, labelReason)
	if hz := randomHazard(lr); hz != "" {
		conds = append(conds, Condition{Name: CondLevel, Passed: false, Reason: hz, Advisory: true})
		v.Warnings = append(v.Warnings, hz)
	} else if labelOK {
		conds = append(conds, Condition{Name: CondLevel, Passed: true, Reason: "seLinuxOptions sets a level", Advisory: true})
	}
	policyOK, policyReason := d.policyCondition(pod)
	add(CondChangePolicy, policyOK, policyReason)
	add(CondAccessMode, ve.eligible, ve.eligibleReason)
	v.Conditions = conds

	// The method.
	mountLabel := lr.mountLabel
	switch {
	case !selinuxOn:
		v.Method, v.Reason = None, firstFailed(conds, CondSELinuxEnabled)
		v.Label = "" // the kubelet computes no label without SELinux
	case lr.translateErr != nil:
		v.Method, v.Reason = None, "invalid seLinuxOptions: the volume cannot be mounted or relabeled with this label"
	case s.block:
		v.Method, v.Reason = None, "raw block volume: there is no filesystem to label"
	case gateOn && ve.eligible && supports && !mountLabel.none() && lr.err == "":
		v.Method = MountOption
		v.Reason = "mounted with -o context: every file carries the label at once, nothing is relabeled"
		v.MountOptions = append(v.MountOptions, label.MountOption(mountLabel.raw))
	default:
		ok, why := relabels(s)
		if ok {
			v.Method, v.RuntimeRelabel = Recursive, true
			v.Reason = "not mounted with -o context (" + firstFailedReason(conds) + "): " + why
		} else {
			v.Method, v.Reason = None, why
		}
	}
	if v.Method == Recursive && v.Label == "" && len(ctxs) == 0 {
		v.Warnings = append(v.Warnings, "no seLinuxOptions: the runtime relabels with the random label it gives the container")
	}
	if c.Lean && (v.Method == MountOption || s.pv == nil) {
		v.Conditions, v.Reason, v.Source, v.Warnings = nil, "", "", nil
	}
	return v
}

func podLabelCondition(lr labelResult, ctxs []*corev1.SELinuxOptions) (bool, string) {
	switch {
	case len(lr.multiple) > 0:
		return false, "containers that mount the volume translate to different labels: " + strings.Join(lr.multiple, ", ")
	case lr.translateErr != nil:
		return false, "invalid seLinuxOptions: " + lr.translateErr.Error()
	case len(ctxs) == 0:
		return false, "no container that mounts the volume has seLinuxOptions (pod or container level), so the label is empty"
	case lr.fileLabel.none() && len(lr.labels) > 0 && lr.labels[0].Raw != "":
		// Computed for display only (the kubelet did not translate).
		return true, "the options translate to " + lr.labels[0].Raw + describeIgnored(lr)
	case lr.fileLabel.none() && lr.emptyOptions:
		return false, "seLinuxOptions is set but empty ({}): it translates to no label"
	case lr.fileLabel.none():
		return false, "no label was computed"
	}
	return true, "the options translate to " + lr.fileLabel.raw + describeIgnored(lr)
}

func describeIgnored(lr labelResult) string {
	if len(lr.ignoredFields) == 0 {
		return ""
	}
	return " (only user and level reach the file label, not " + strings.Join(uniq(lr.ignoredFields), " or ") + ")"
}

func randomHazard(lr labelResult) string {
	for _, l := range lr.labels {
		if h := l.Hazard(); h != "" {
			return h
		}
	}
	return ""
}

// honouredPolicy is the seLinuxChangePolicy the kubelet acts on: it
// honours only Recursive, and only with the SELinuxChangePolicy gate on.
func (d *decider) honouredPolicy(pod *corev1.Pod) corev1.PodSELinuxChangePolicy {
	if p := changePolicy(pod); p != nil && *p == corev1.SELinuxChangePolicyRecursive && d.cfg.on(kubever.SELinuxChangePolicy) {
		return corev1.SELinuxChangePolicyRecursive
	}
	return corev1.SELinuxChangePolicyMountOption
}

func (d *decider) policyCondition(pod *corev1.Pod) (bool, string) {
	c := d.cfg
	p := changePolicy(pod)
	switch {
	case c.minor() < 32 || !c.Gates.Known(kubever.SELinuxChangePolicy):
		if p != nil {
			return true, fmt.Sprintf("seLinuxChangePolicy does not exist in %s: ignored", c.Gates.Version())
		}
		return true, fmt.Sprintf("seLinuxChangePolicy does not exist in %s", c.Gates.Version())
	case !c.on(kubever.SELinuxChangePolicy):
		if p != nil {
			return true, "seLinuxChangePolicy: " + string(*p) + " is ignored: " + d.describe(kubever.SELinuxChangePolicy)
		}
		return true, "not set; " + d.describe(kubever.SELinuxChangePolicy)
	case p == nil:
		return true, "seLinuxChangePolicy is not set (MountOption)"
	case *p == corev1.SELinuxChangePolicyRecursive:
		return false, "the pod opts out with seLinuxChangePolicy: Recursive"
	}
	return true, "seLinuxChangePolicy: " + string(*p)
}

func firstFailed(conds []Condition, name string) string {
	for _, c := range conds {
		if c.Name == name {
			return c.Reason
		}
	}
	return ""
}

func firstFailedReason(conds []Condition) string {
	for _, c := range conds {
		if !c.Passed && !c.Advisory {
			return c.Name + ": " + c.Reason
		}
	}
	return "the kubelet keeps the first pod's label"
}

// node is one node's desired state of world: one label per volume.
type node struct {
	volumes map[string]*dswVolume
}

type dswVolume struct {
	original  klabel // the label the first pod brought
	effective klabel // what is really mounted
}

func newNode() *node { return &node{volumes: map[string]*dswVolume{}} }

// admit adds a pod's volumes as the kubelet's AddPodToVolume does.
func (n *node) admit(d *decider, pe *podEval) {
	old := d.cfg.minor() <= 26
	var errs, failed []string
	adm := &pe.result.Admission
	for _, ve := range pe.vols {
		s, lr, out := ve.spec, ve.lr, ve.out
		if lr.err != "" {
			out.Problem, out.Metric, out.MetricSeries = lr.err, metricName(lr.metric), lr.metric
			adm.Metrics = append(adm.Metrics, lr.metric)
			if lr.errIsError {
				errs, failed = append(errs, lr.err), append(failed, out.Name)
				continue
			}
		}
		key := s.uniqueKey
		if key == "" {
			key = "pod:" + podKey(pe.pod) + "/" + s.vol.Name
		}
		existing := n.volumes[key]
		if existing == nil {
			stored := lr.mountLabel
			effective := lr.mountLabel
			if !ve.eligible {
				effective = klabel{}
				if old {
					stored = klabel{}
				}
			}
			if !stored.none() || (!old && !lr.mountLabel.none()) {
				m := d.metricSeries(MetricVolumesAdmitted, s)
				adm.Metrics = append(adm.Metrics, m)
			}
			n.volumes[key] = &dswVolume{original: stored, effective: effective}
			continue
		}
		if !lr.pluginSupports {
			continue
		}
		if lr.mountLabel == existing.original {
			if old && !lr.mountLabel.none() {
				adm.Metrics = append(adm.Metrics, d.metricSeries(MetricVolumesAdmitted, s))
			}
			if ve.out.Method == MountOption && !existing.effective.none() {
				ve.out.Reason += "; the volume is already mounted with this label on the node and is reused"
			}
			continue
		}
		msg := fmt.Sprintf("conflicting SELinux labels of volume %s: %q and %q", s.name, existing.original.raw, lr.mountLabel.raw)
		if !existing.original.random && !lr.mountLabel.random && label.SameContext(existing.original.raw, lr.mountLabel.raw) {
			out.Warnings = append(out.Warnings, "the only difference is how the categories are written: the kubelet compares label strings as written, the kernel sees one label; write every level the same way")
		}
		metric := d.metricSeries(pick(ve.eligible, MetricVolumeMismatchErrors, MetricVolumeMismatchWarning), s)
		adm.Metrics = append(adm.Metrics, metric)
		out.Problem, out.Metric, out.MetricSeries = msg, metricName(metric), metric
		if ve.eligible {
			errs, failed = append(errs, msg), append(failed, out.Name)
			if out.Method == MountOption {
				out.Reason = "would be mounted with -o context, but the node already mounts the volume with another label: the pod waits"
			}
		}
	}
	if len(adm.Metrics) > 0 {
		for _, m := range adm.Metrics {
			if !strings.HasPrefix(m, MetricVolumesAdmitted) {
				adm.Metric = metricName(m)
				break
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(failed)
		adm.Admitted = false
		adm.Error = joinErr(adm.Error, strings.Join(errs, "; "))
		adm.Event = fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=%v, unattached volumes=[], failed to process volumes=%v: %s", failed, failed, adm.Error)
		// The error metric is the one that blocks the pod.
		for _, ve := range pe.vols {
			if strings.HasSuffix(ve.out.Metric, "_errors_total") {
				adm.Metric = ve.out.Metric
				break
			}
		}
	}
}

func metricName(series string) string {
	if i := strings.IndexByte(series, '{'); i >= 0 {
		return series[:i]
	}
	return series
}

// sameCanonical reports whether two label strings parse to the same context.
func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
