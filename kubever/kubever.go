// Package kubever models the Kubernetes versions selmount predicts (1.25 to
// 1.38) and the feature gates that decide SELinux volume labeling in each of
// them, with the defaults, stages and locks of upstream's versioned feature
// gate specs (pkg/features/kube_features.go).
//
// Gates resolves a version's defaults plus user overrides as a kubelet does
// (AllAlpha and AllBeta included) and refuses what a kubelet would refuse: a
// modelled gate the version does not know, a value that is not a boolean,
// and a change to a gate locked to its default. Gates selmount does not
// model are accepted and listed as changing nothing (Gates.Inert).
package kubever

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Version is a Kubernetes minor version (1.x). The zero Version is invalid.
type Version struct{ minor int }

// Oldest and Newest bound the versions selmount models.
var (
	Oldest = Version{25}
	Newest = Version{38}
)

// Latest is the newest released version whose behaviour selmount models from
// upstream source; Newest may extend past it with documented projections.
var Latest = Version{37}

// Projected reports whether selmount's model of v is a projection (newer
// than Latest) rather than read from a released source.
func Projected(v Version) bool { return v.minor > Latest.minor }

// V returns version 1.minor without validation; for tests and constants.
func V(minor int) Version { return Version{minor} }

// ParseVersion accepts "1.37", "v1.37", "1.37.2" and "v1.37.2-eks-1", and
// refuses versions outside Oldest..Newest.
func ParseVersion(s string) (Version, error) {
	minor, err := ParseMinor(s)
	if err != nil {
		return Version{}, err
	}
	if minor < Oldest.minor || minor > Newest.minor {
		return Version{}, fmt.Errorf("%w %q: selmount models %s to %s (SELinux mount support starts in 1.25)", ErrUnsupportedVersion, s, Oldest, Newest)
	}
	return Version{minor}, nil
}

// ErrUnsupportedVersion is wrapped by ParseVersion's error for a valid
// version outside the modelled range.
var ErrUnsupportedVersion = errors.New("unsupported Kubernetes version")

// ParseMinor returns the minor number of a Kubernetes 1.x version as
// ParseVersion reads it (a "v" prefix, a patch and a "-..." or "+..."
// suffix allowed), whether or not selmount models it: for server and
// kubelet versions, which may be older or newer.
func ParseMinor(s string) (int, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(t, "-+"); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("invalid Kubernetes version %q: want MAJOR.MINOR, e.g. 1.37", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return 0, fmt.Errorf("invalid Kubernetes version %q: %q is not a number", s, p)
		}
		nums[i] = n
	}
	if nums[0] != 1 {
		return 0, fmt.Errorf("invalid Kubernetes version %q: only 1.x exists", s)
	}
	return nums[1], nil
}

// Minor returns the minor version number.
func (v Version) Minor() int { return v.minor }

// String returns "1.<minor>".
func (v Version) String() string { return "1." + strconv.Itoa(v.minor) }

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v.minor == 0 }

// AtLeast reports whether v is 1.minor or newer.
func (v Version) AtLeast(minor int) bool { return v.minor >= minor }

// Compare returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	switch {
	case v.minor < o.minor:
		return -1
	case v.minor > o.minor:
		return 1
	}
	return 0
}

// MarshalText implements encoding.TextMarshaler.
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return nil, nil
	}
	return []byte(v.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	p, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Versions returns every modelled version, oldest first.
func Versions() []Version {
	var out []Version
	for m := Oldest.minor; m <= Newest.minor; m++ {
		out = append(out, Version{m})
	}
	return out
}

// Gate names.
const (
	SELinuxMountReadWriteOncePod = "SELinuxMountReadWriteOncePod"
	SELinuxMount                 = "SELinuxMount"
	SELinuxChangePolicy          = "SELinuxChangePolicy"
	ReadWriteOncePod             = "ReadWriteOncePod"
)

// Stage is a feature's maturity.
type Stage string

const (
	Alpha Stage = "ALPHA"
	Beta  Stage = "BETA"
	GA    Stage = "GA"
)

// GateSpec is a gate's state in one version.
type GateSpec struct {
	Name    string
	Default bool
	Stage   Stage
	Locked  bool // LockToDefault: the gate cannot be set to the other value
	// Projected marks a spec that upstream has announced but selmount could
	// not read from a released source (1.38).
	Projected bool
}

type step struct {
	from      int
	def       bool
	stage     Stage
	locked    bool
	projected bool
}

// history holds each gate's versioned spec, as in upstream
// pkg/features/kube_features.go; a gate is unknown before its first step and
// from its removal version on.
var history = map[string]struct {
	steps   []step
	removed int // first version without the gate; 0 if still present
}{
	SELinuxMountReadWriteOncePod: {steps: []step{
		{from: 25, def: false, stage: Alpha},
		{from: 27, def: false, stage: Beta}, // on-by-default reverted, kubernetes#117745
		{from: 28, def: true, stage: Beta},
		{from: 36, def: true, stage: GA, locked: true},
	}},
	SELinuxMount: {steps: []step{
		{from: 30, def: false, stage: Alpha},
		{from: 33, def: false, stage: Beta},
		// 1.37: GA and on, but not yet locked ("Lock in 1.38" in v1.37.2's source).
		{from: 37, def: true, stage: GA},
		{from: 38, def: true, stage: GA, locked: true, projected: true},
	}},
	SELinuxChangePolicy: {steps: []step{
		{from: 32, def: false, stage: Alpha},
		{from: 33, def: true, stage: Beta},
		{from: 36, def: true, stage: GA, locked: true},
	}},
	ReadWriteOncePod: {steps: []step{
		{from: 22, def: false, stage: Alpha},
		{from: 27, def: true, stage: Beta},
		{from: 29, def: true, stage: GA, locked: true},
	}, removed: 31},
}

// GateNames returns the modelled gate names, sorted.
func GateNames() []string {
	out := make([]string, 0, len(history))
	for k := range history {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spec returns gate name's spec in version v; ok is false when v does not
// know the gate (before it was added or after it was removed).
func Spec(v Version, name string) (GateSpec, bool) {
	h, found := history[name]
	if !found {
		return GateSpec{}, false
	}
	if h.removed != 0 && v.minor >= h.removed {
		return GateSpec{}, false
	}
	var cur *step
	for i := range h.steps {
		if h.steps[i].from <= v.minor {
			cur = &h.steps[i]
		}
	}
	if cur == nil {
		return GateSpec{}, false
	}
	return GateSpec{Name: name, Default: cur.def, Stage: cur.stage, Locked: cur.locked, Projected: cur.projected}, true
}

// Gates is the resolved state of the modelled gates in one version.
type Gates struct {
	version  Version
	enabled  map[string]bool
	override map[string]bool
	via      map[string]string // gates set by AllAlpha or AllBeta: which
	inert    map[string]string // overrides that change nothing here, with why
}

// The kubelet's special gates (component-base featuregate): AllAlpha=V sets
// every alpha gate that is not set explicitly to V, AllBeta=V every beta
// gate.
const (
	AllAlpha = "AllAlpha"
	AllBeta  = "AllBeta"
)

// NewGates resolves v's defaults with overrides applied, as the kubelet's
// --feature-gates does (component-base featuregate):
//
//   - AllAlpha and AllBeta set every alpha (beta) gate that is not set
//     explicitly; an explicit value always wins;
//   - a modelled gate the version does not have (SELinuxMount before 1.30),
//     and a change to a locked gate, are errors, as in the kubelet;
//   - a gate selmount does not model (CPUManager, say) is accepted and
//     changes nothing here: selmount cannot know every gate of every
//     version, so it cannot refuse the names the kubelet would. It refuses
//     what cannot be a gate (a name that is not UpperCamelCase) and near
//     misses of the modelled names (selinuxmount, SELinuxMout).
//
// Inert lists the overrides that change nothing here.
func NewGates(v Version, overrides map[string]bool) (Gates, error) {
	g := Gates{version: v, enabled: map[string]bool{}, override: map[string]bool{}, via: map[string]string{}, inert: map[string]string{}}
	for name := range history {
		if s, ok := Spec(v, name); ok {
			g.enabled[name] = s.Default
		}
	}
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		val := overrides[name]
		if name == AllAlpha || name == AllBeta {
			continue // below, once the explicit gates are known
		}
		s, ok := Spec(v, name)
		if !ok {
			if _, modelled := history[name]; modelled {
				return Gates{}, fmt.Errorf("unrecognized feature gate: %s (Kubernetes %s has no such gate)", name, v)
			}
			if err := plausibleGate(name); err != nil {
				return Gates{}, err
			}
			g.inert[name] = "not a gate of SELinux volume labeling: selmount does not model it (the kubelet refuses it if Kubernetes " + v.String() + " has no such gate)"
			continue
		}
		if s.Locked && val != s.Default {
			return Gates{}, fmt.Errorf("cannot set feature gate %s to %v, feature is locked to %v (%s in Kubernetes %s)", name, val, s.Default, s.Stage, v)
		}
		g.enabled[name] = val
		g.override[name] = val
	}
	for _, special := range []struct {
		name  string
		stage Stage
	}{{AllAlpha, Alpha}, {AllBeta, Beta}} {
		val, set := overrides[special.name]
		if !set {
			continue
		}
		var changed []string
		for _, name := range GateNames() {
			s, ok := Spec(v, name)
			if !ok || s.Stage != special.stage {
				continue
			}
			if _, explicit := g.override[name]; explicit {
				continue
			}
			g.enabled[name] = val
			g.via[name] = fmt.Sprintf("%s=%v", special.name, val)
			if val != s.Default {
				changed = append(changed, name)
			}
		}
		if len(changed) == 0 {
			g.inert[special.name] = fmt.Sprintf("no %s gate of SELinux volume labeling in %s changes value (those set explicitly keep their value)", strings.ToLower(string(special.stage)), v)
		}
	}
	return g, nil
}

// plausibleGate refuses names that cannot be a Kubernetes feature gate, and
// near misses of the modelled gates, which are typos rather than gates
// selmount does not model.
func plausibleGate(name string) error {
	for _, m := range GateNames() {
		if strings.EqualFold(name, m) || editDistance(name, m) <= 2 {
			return fmt.Errorf("unrecognized feature gate: %s (did you mean %s?)", name, m)
		}
	}
	for i, r := range name {
		upper := r >= 'A' && r <= 'Z'
		if !upper && (i == 0 || !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')) {
			return fmt.Errorf("unrecognized feature gate: %s (gate names are UpperCamelCase, e.g. %s)", name, SELinuxMount)
		}
	}
	return nil
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Inert returns the overrides that change nothing here, by name, with the
// reason: gates selmount does not model, and AllAlpha or AllBeta when no
// modelled gate of that stage changes value.
func (g Gates) Inert() map[string]string {
	if len(g.inert) == 0 {
		return nil
	}
	out := make(map[string]string, len(g.inert))
	for k, v := range g.inert {
		out[k] = v
	}
	return out
}

// ParseGates parses a --feature-gates value ("A=true,B=false") as the
// kubelet does.
func ParseGates(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("missing bool value for feature gate %q (want NAME=true|false)", kv)
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q: want true or false", kv)
		}
		out[k] = b
	}
	return out, nil
}

// Version returns the version the gates were resolved for.
func (g Gates) Version() Version { return g.version }

// Enabled reports whether gate name is on. A gate the version does not know
// is off, except ReadWriteOncePod after its removal, whose feature is GA and
// always on.
func (g Gates) Enabled(name string) bool {
	if v, ok := g.enabled[name]; ok {
		return v
	}
	if name == ReadWriteOncePod && g.version.minor >= history[ReadWriteOncePod].removed {
		return true
	}
	return false
}

// Known reports whether the version has gate name.
func (g Gates) Known(name string) bool { _, ok := g.enabled[name]; return ok }

// Overridden reports whether the user set gate name explicitly.
func (g Gates) Overridden(name string) bool { _, ok := g.override[name]; return ok }

// Map returns the state of every gate the version knows.
func (g Gates) Map() map[string]bool {
	out := make(map[string]bool, len(g.enabled))
	for k, v := range g.enabled {
		out[k] = v
	}
	return out
}

// Describe returns a short phrase for a gate's state, e.g.
// "SELinuxMount is on (GA default in 1.37)" or
// "SELinuxMount is off (set with --feature-gates)".
func (g Gates) Describe(name string) string {
	s, ok := Spec(g.version, name)
	state := "off"
	if g.Enabled(name) {
		state = "on"
	}
	switch {
	case !ok && name == ReadWriteOncePod && g.Enabled(name):
		return fmt.Sprintf("%s is GA and always on in %s", name, g.version)
	case !ok:
		return fmt.Sprintf("%s does not exist in %s", name, g.version)
	case g.Overridden(name):
		return fmt.Sprintf("%s is %s (set with --feature-gates; %s default is %v)", name, state, g.version, s.Default)
	case g.via[name] != "":
		return fmt.Sprintf("%s is %s (set with --feature-gates %s; %s default is %v)", name, state, g.via[name], g.version, s.Default)
	default:
		return fmt.Sprintf("%s is %s (%s default in %s)", name, state, s.Stage, g.version)
	}
}
