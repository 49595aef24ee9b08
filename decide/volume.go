package decide

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// Config is everything about the node and version a decision needs.
type Config struct {
	Gates          kubever.Gates
	SELinuxEnabled bool
	Defaults       label.Defaults
	// Lean drops the checklist, reason and source of volumes that are
	// mounted with -o context or have no PersistentVolume (Facts stay), to
	// keep the results of a whole cluster small. For callers like package
	// check that report only on the other volumes.
	Lean bool
}

func (c *Config) on(gate string) bool { return c.Gates.Enabled(gate) }

func (c *Config) minor() int { return c.Gates.Version().Minor() }

// volumeUse is how the containers of a pod use one volume.
type volumeUse struct {
	name    string
	mounted bool                     // some container mounts it
	device  bool                     // some container uses it as a raw device
	ctxs    []*corev1.SELinuxOptions // the effective options of each mounting container, nil ones left out
}

// volumeUses are the volumes a pod's containers use. A slice searched
// linearly: pods have a few volumes, and three maps per pod were a large
// part of the allocations on 100,000-pod inputs.
type volumeUses []volumeUse

func (u volumeUses) get(name string) *volumeUse {
	for i := range u {
		if u[i].name == name {
			return &u[i]
		}
	}
	return nil
}

func (u *volumeUses) add(name string) *volumeUse {
	if v := u.get(name); v != nil {
		return v
	}
	*u = append(*u, volumeUse{name: name})
	return &(*u)[len(*u)-1]
}

// containerContexts returns, per volume name, the effective seLinuxOptions of
// every container (init, regular, ephemeral) that mounts it, in container
// order, and whether it is used as a mount or as a raw device. A
// container's options replace the pod's as a whole; containers whose
// effective options are nil add nothing (kubelet GetPodVolumeNames).
func containerContexts(pod *corev1.Pod) volumeUses {
	var uses volumeUses
	var podOpts *corev1.SELinuxOptions
	if pod.Spec.SecurityContext != nil {
		podOpts = pod.Spec.SecurityContext.SELinuxOptions
	}
	visit := func(sc *corev1.SecurityContext, vms []corev1.VolumeMount, vds []corev1.VolumeDevice) {
		opts := podOpts
		if sc != nil && sc.SELinuxOptions != nil {
			opts = sc.SELinuxOptions
		}
		for _, m := range vms {
			u := uses.add(m.Name)
			u.mounted = true
			if opts != nil {
				u.ctxs = append(u.ctxs, opts)
			}
		}
		for _, d := range vds {
			uses.add(d.Name).device = true
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		visit(c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		visit(c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i]
		visit(c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	return uses
}

func toOptions(o *corev1.SELinuxOptions) *label.Options {
	if o == nil {
		return nil
	}
	return &label.Options{User: o.User, Role: o.Role, Type: o.Type, Level: o.Level}
}

// changePolicy returns the pod's seLinuxChangePolicy as written.
func changePolicy(pod *corev1.Pod) *corev1.PodSELinuxChangePolicy {
	if pod.Spec.SecurityContext == nil {
		return nil
	}
	return pod.Spec.SecurityContext.SELinuxChangePolicy
}

// pluginSupport is the volume plugin's SupportsSELinuxContextMount.
func (d *decider) pluginSupport(s *spec) (bool, string) {
	switch s.kind {
	case "csi":
		if !d.cfg.on(kubever.SELinuxMountReadWriteOncePod) {
			return false, "the CSI plugin reports no support while " + kubever.SELinuxMountReadWriteOncePod + " is off"
		}
		via := ""
		if s.migratedFrom != "" {
			via = " (migrated from in-tree " + s.migratedFrom + ")"
		}
		drv := d.ix.drivers[s.csiDriver]
		switch {
		case drv == nil:
			return false, fmt.Sprintf("CSIDriver %s%s not found: the kubelet treats a missing CSIDriver object as no support", s.csiDriver, via)
		case drv.Spec.SELinuxMount == nil:
			return false, fmt.Sprintf("CSIDriver %s%s does not set seLinuxMount (unset means false)", s.csiDriver, via)
		case !*drv.Spec.SELinuxMount:
			return false, fmt.Sprintf("CSIDriver %s%s has seLinuxMount: false", s.csiDriver, via)
		}
		return true, fmt.Sprintf("CSIDriver %s%s has seLinuxMount: true", s.csiDriver, via)
	case "iscsi", "fc":
		return true, "the in-tree " + s.kind + " plugin supports context mounts"
	case "rbd":
		if d.cfg.minor() >= 31 {
			return false, "the in-tree rbd plugin was removed in 1.31"
		}
		return true, "the in-tree rbd plugin supports context mounts"
	}
	return false, "the " + s.kind + " volume plugin does not support context mounts"
}

// volumeSupportsSELinuxMount is the kubelet's VolumeSupportsSELinuxMount for
// the modelled version, with its reason.
func (d *decider) volumeSupportsSELinuxMount(s *spec) (bool, string) {
	c := d.cfg
	if !c.on(kubever.SELinuxMountReadWriteOncePod) {
		return false, d.describe(kubever.SELinuxMountReadWriteOncePod)
	}
	if s.pv == nil {
		return false, "inline volumes have no access mode and are never mounted with -o context"
	}
	modes := s.pv.Spec.AccessModes
	single := len(modes) == 1
	rwop := single && modes[0] == corev1.ReadWriteOncePod
	m := c.minor()
	if m <= 28 && !c.on(kubever.ReadWriteOncePod) {
		return false, "the " + kubever.ReadWriteOncePod + " gate is off in " + c.Gates.Version().String() + ": the kubelet does not mount with -o context at all"
	}
	if c.on(kubever.SELinuxMount) {
		if m >= 30 && m <= 31 && !single {
			return false, fmt.Sprintf("SELinuxMount is on, but the %s kubelet requires a single access mode before it looks at the gate (fixed in 1.32): access modes %s never qualify", c.Gates.Version(), modeList(modes))
		}
		return true, "SELinuxMount is on: every PersistentVolume qualifies, whatever its access modes (" + modeList(modes) + ")"
	}
	if rwop {
		return true, "access modes are exactly [ReadWriteOncePod]"
	}
	gate := "SELinuxMount gate does not exist in " + c.Gates.Version().String()
	if c.Gates.Known(kubever.SELinuxMount) {
		gate = d.describe(kubever.SELinuxMount)
	}
	return false, fmt.Sprintf("access modes %s are not exactly [ReadWriteOncePod] and %s", modeList(modes), gate)
}

func modeList(modes []corev1.PersistentVolumeAccessMode) string {
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = string(m)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// accessModeLabel is the kubelet's getVolumeAccessMode metric label.
func accessModeLabel(s *spec) string {
	if s.pv == nil {
		return "inline"
	}
	has := func(m corev1.PersistentVolumeAccessMode) bool {
		for _, x := range s.pv.Spec.AccessModes {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case has(corev1.ReadWriteMany):
		return "RWX"
	case has(corev1.ReadOnlyMany):
		return "ROX"
	case has(corev1.ReadWriteOnce):
		return "RWO"
	case has(corev1.ReadWriteOncePod):
		return "RWOP"
	}
	return ""
}

// metricSeries formats a metric with the labels the modelled version's
// kubelet gives it: none before 1.29, volume_plugin on the volume metrics in
// 1.29, and access_mode everywhere from 1.30.
func (d *decider) metricSeries(name string, s *spec) string {
	volumeMetric := name == MetricVolumeMismatchErrors || name == MetricVolumeMismatchWarning || name == MetricVolumesAdmitted
	var key seriesKey
	key.name = name
	if volumeMetric && d.cfg.minor() >= 29 {
		key.plugin = s.pluginName()
	}
	if d.cfg.minor() >= 30 {
		key.accessMode = accessModeLabel(s)
	}
	// A few distinct series for a whole cluster: one string each.
	d.seriesMu.RLock()
	series, ok := d.series[key]
	d.seriesMu.RUnlock()
	if ok {
		return series
	}
	var labels []string
	if key.plugin != "" {
		labels = append(labels, fmt.Sprintf("volume_plugin=%q", key.plugin))
	}
	if key.accessMode != "" {
		labels = append(labels, fmt.Sprintf("access_mode=%q", key.accessMode))
	}
	series = name
	if len(labels) > 0 {
		series = name + "{" + strings.Join(labels, ",") + "}"
	}
	d.seriesMu.Lock()
	d.series[key] = series
	d.seriesMu.Unlock()
	return series
}

type seriesKey struct{ name, plugin, accessMode string }

// labelResult is what the kubelet's getSELinuxLabel returns for one pod
// volume, plus what selmount shows about it.
type labelResult struct {
	mountLabel     klabel // the label handed to the DSW (zero = none)
	fileLabel      klabel // the translated label, before policy and plugin support
	pluginSupports bool   // as returned to the DSW (forced false on a multi-label warning)
	labels         []label.FileLabel
	multiple       []string // distinct labels when containers disagree
	emptyOptions   bool     // some container has non-nil but all-empty options
	ignoredFields  []string // role/type set but not propagated
	err            string   // error or warning text
	errIsError     bool
	metric         string                 // error/warning metric series
	translateErr   error                  // selmount validation error
	translateOpts  *corev1.SELinuxOptions // the options translateErr is about
}

// kubeletLabel reproduces getSELinuxLabel (and GetMountSELinuxLabel from 1.32)
// of the modelled kubelet.
func (d *decider) kubeletLabel(pod *corev1.Pod, podIndex int, s *spec, ctxs []*corev1.SELinuxOptions, ve *volEval) labelResult {
	eligible := ve.eligible
	var r labelResult
	c := d.cfg
	if !c.on(kubever.SELinuxMountReadWriteOncePod) || !c.SELinuxEnabled || isWindows(pod) {
		return r
	}
	supports := ve.supports
	r.pluginSupports = supports

	// Translate every container's options (also for display when the
	// kubelet itself would not).
	type tl struct {
		raw  klabel
		opts *corev1.SELinuxOptions
		err  error
	}
	var all []tl
	for n, o := range ctxs {
		fl, err := c.Defaults.FileLabel(toOptions(o))
		if err == nil {
			r.labels = append(r.labels, fl)
		}
		if o != nil && (corev1.SELinuxOptions{}) == *o {
			r.emptyOptions = true
		}
		if o != nil && o.Role != "" {
			r.ignoredFields = append(r.ignoredFields, fmt.Sprintf("role %q", o.Role))
		}
		if o != nil && o.Type != "" {
			r.ignoredFields = append(r.ignoredFields, fmt.Sprintf("type %q", o.Type))
		}
		raw := klabel{raw: fl.Raw}
		if fl.RandomLevel {
			// Each translation draws another random level: distinct per
			// container, as in the kubelet.
			raw.random, raw.pod, raw.n = true, podIndex, n
		}
		all = append(all, tl{raw: raw, opts: o, err: err})
	}
	translateErr := func(t tl) {
		r.translateErr, r.translateOpts = t.err, t.opts
		format := "failed to construct SELinux label from context %q: %s"
		r.err = fmt.Sprintf(format, t.opts, t.err)
		r.errIsError = eligible
		r.metric = d.metricSeries(pick(eligible, MetricContainerErrors, MetricContainerWarnings), s)
	}

	if c.minor() < 32 {
		// 1.25–1.31: the loop lived in getSELinuxLabel and ran only for
		// plugins with support; an empty label is replaced by the next one.
		if !supports {
			return r
		}
		var cur klabel
		for _, t := range all {
			if t.err != nil {
				translateErr(t)
				if eligible {
					return r
				}
				t.raw = klabel{}
			}
			if cur.none() {
				cur = t.raw
				continue
			}
			if cur != t.raw {
				r.multiple = []string{cur.raw, t.raw.raw}
				r.err = fmt.Sprintf("volume %s is used with two different SELinux contexts in the same pod: %q, %q", s.name, cur.raw, t.raw.raw)
				r.errIsError = eligible
				r.metric = d.metricSeries(pick(eligible, MetricPodMismatchErrors, MetricPodMismatchWarnings), s)
				if eligible {
					return r
				}
			}
		}
		r.fileLabel, r.mountLabel = cur, cur
		return r
	}

	// 1.32+: GetMountSELinuxLabel.
	var distinct []klabel
	for _, t := range all {
		if t.err != nil {
			translateErr(t)
			if eligible {
				return r
			}
			return labelResult{pluginSupports: supports, labels: r.labels, err: r.err, metric: r.metric, translateErr: r.translateErr, translateOpts: r.translateOpts}
		}
		if !slices.Contains(distinct, t.raw) { // a few containers: no map
			distinct = append(distinct, t.raw)
		}
	}
	if len(distinct) > 1 {
		shown := make([]string, len(distinct))
		for i, l := range distinct {
			shown[i] = l.raw
		}
		r.multiple = shown
		// Upstream joins sets.UnsortedList(): the order varies between runs.
		r.err = "multiple SELinux labels found: " + strings.Join(shown, ",")
		r.errIsError = eligible
		r.metric = d.metricSeries(pick(eligible, MetricPodMismatchErrors, MetricPodMismatchWarnings), s)
		r.pluginSupports = false
		return r
	}
	if len(distinct) == 0 {
		return r
	}
	r.fileLabel, r.mountLabel = distinct[0], distinct[0]
	if c.on(kubever.SELinuxChangePolicy) {
		if p := changePolicy(pod); p != nil && *p == corev1.SELinuxChangePolicyRecursive {
			r.mountLabel = klabel{}
		}
	}
	if !supports {
		r.mountLabel = klabel{}
	}
	return r
}

// klabel is a label as the kubelet compares it. A label with a random level
// is drawn anew for each translation (pod and container), so it equals no
// other label, even one written the same: pod and n tell the draws apart.
type klabel struct {
	raw    string // as written, the level shown as label.RandomLevel when random
	random bool
	pod, n int
}

func (l klabel) none() bool { return l.raw == "" }

// LabelKey identifies a label as the kubelet compares them: comparable, so
// usable with == and as a map key. Two volumes have the same LabelKey
// exactly when the kubelet sees the same label; labels with a random level
// never match another.
type LabelKey struct{ l klabel }

// LabelKey returns the key of KubeletLabel.
func (f *Facts) LabelKey() LabelKey { return LabelKey{f.label} }

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

func isWindows(pod *corev1.Pod) bool {
	return pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows
}

// invalidOption names the field of o that label.FileLabel refused, as a
// path suffix: the level when it does not parse, else the user.
func invalidOption(o *corev1.SELinuxOptions) string {
	if o != nil && o.Level != "" {
		if _, err := label.ParseLevel(o.Level); err != nil {
			return ".level"
		}
	}
	return ".user"
}

// optionsPath returns the field path of o in pod ("spec.containers[1].
// securityContext.seLinuxOptions"), for errors that point at the input.
func optionsPath(pod *corev1.Pod, o *corev1.SELinuxOptions) string {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SELinuxOptions == o {
		return "spec.securityContext.seLinuxOptions"
	}
	find := func(list string, n int, at func(i int) *corev1.SecurityContext) string {
		for i := range n {
			if sc := at(i); sc != nil && sc.SELinuxOptions == o {
				return fmt.Sprintf("spec.%s[%d].securityContext.seLinuxOptions", list, i)
			}
		}
		return ""
	}
	s := pod.Spec
	if p := find("initContainers", len(s.InitContainers), func(i int) *corev1.SecurityContext { return s.InitContainers[i].SecurityContext }); p != "" {
		return p
	}
	if p := find("containers", len(s.Containers), func(i int) *corev1.SecurityContext { return s.Containers[i].SecurityContext }); p != "" {
		return p
	}
	if p := find("ephemeralContainers", len(s.EphemeralContainers), func(i int) *corev1.SecurityContext { return s.EphemeralContainers[i].SecurityContext }); p != "" {
		return p
	}
	return "seLinuxOptions"
}
