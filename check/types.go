// Package check finds what breaks, what is slow and what is misconfigured in
// SELinux volume labeling before and after a Kubernetes upgrade: conflicts
// between the users of one volume, volumes that will be relabeled file by
// file although one change would give them a constant-time context mount,
// and CSI drivers that are not ready for context mounts. It works on objects
// from a live cluster or from manifests alike, and on workload templates as
// well as running pods, so that a Deployment scaled to zero or a CronJob that
// is not running is checked too.
//
// Conflicts are computed twice: exactly as the kubelet compares labels (node
// defaults applied, label strings compared as written), and as the upstream
// selinux-warning-controller in kube-controller-manager reports them (raw
// options, level always compared, running pods only). Each finding says
// whether upstream reports it.
//
// The package is pure: no client, no filesystem.
package check

import "github.com/selmount/selmount/decide"

// FindingType is what kind of problem a finding is.
type FindingType string

// Finding types.
const (
	TypeConflict        FindingType = "Conflict"
	TypeSlowPath        FindingType = "SlowPath"
	TypeDriverReadiness FindingType = "DriverReadiness"
)

// Property names the condition behind a finding, within its type.
type Property string

// Conflict properties, as the upstream controller names them.
const (
	PropertyLabel          Property = "SELinuxLabel"
	PropertyChangePolicy   Property = "SELinuxChangePolicy"
	PropertyMultipleLabels Property = "MultipleSELinuxLabels"
)

// Slow-path and readiness properties.
const (
	PropertyNoLevel          Property = "NoLevel"
	PropertyRecursivePolicy  Property = "RecursivePolicy"
	PropertyAccessMode       Property = "AccessMode"
	PropertyDriverSupport    Property = "DriverSupport"
	PropertyNoIsolation      Property = "NoIsolation"
	PropertyMissingCSIDriver Property = "MissingCSIDriver"
	PropertyHostPaths        Property = "NodePluginHostPaths"
	PropertySharedSuperblock Property = "SharedSuperblockOptions"
	PropertyAPIServerVersion Property = "APIServerVersion"
	PropertyUpstreamOnly     Property = "UpstreamOnly"
)

// Severity is how bad a finding is.
type Severity string

// Severities, most severe first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// When says when a conflict makes a pod fail.
type When string

// When a conflict bites.
const (
	WhenNow           When = "Now"             // pods on one node already conflict
	WhenCoScheduled   When = "WhenCoScheduled" // fails as soon as the pods share a node
	WhenTargetVersion When = "TargetVersion"   // fails only after the upgrade to the target version
	WhenWarningOnly   When = "WarningOnly"     // never fails: the kubelet only bumps a warning metric
	WhenUpstreamOnly  When = "UpstreamOnly"    // never fails: only the upstream controller reports it
)

// Source is where a check's objects came from.
type Source string

// Sources.
const (
	SourceCluster   Source = "cluster"
	SourceManifests Source = "manifests"
)

// Report is the document `selmount check -o json|yaml` prints.
type Report struct {
	APIVersion     string `json:"apiVersion"`
	Kind           string `json:"kind"`
	TargetVersion  string `json:"targetVersion"`
	CurrentVersion string `json:"currentVersion,omitempty"`
	Source         Source `json:"source"`
	// FeatureGatesWithoutEffect are the --feature-gates overrides that
	// change nothing here, with the reason (see kubever.Gates.Inert).
	FeatureGatesWithoutEffect map[string]string `json:"featureGatesWithoutEffect,omitempty"`
	Summary                   Summary           `json:"summary"`
	Findings                  []Finding         `json:"findings"`
	ClusterFixes              []ClusterFix      `json:"clusterFixes,omitempty"`
	// Warnings are problems reading a cluster that did not stop the check
	// (a forbidden resource type).
	Warnings []string `json:"warnings,omitempty"`
	// InputErrors are problems with the input, each once: documents that
	// could not be read, and pods that cannot start because of their input
	// (an invalid level), as explain reports them. What they concern is not
	// checked.
	InputErrors []string `json:"inputErrors,omitempty"`
	// InvalidPods are the decision's input problems, typed, for callers
	// that name their sources (InputErrors has their text).
	InvalidPods []*decide.InputError `json:"-"`
	// Skipped lists the input objects of kinds check does not analyse, when
	// asked for (Summary.Skipped counts them).
	Skipped []decide.SkippedObject `json:"skipped,omitempty"`
}

// Summary counts what was checked and found.
type Summary struct {
	Workloads int `json:"workloads"`
	Pods      int `json:"pods"`
	Volumes   int `json:"volumes"`
	Errors    int `json:"errors"`
	Warnings  int `json:"warnings"`
	Infos     int `json:"infos"`
	// InputErrors counts Report.InputErrors; Skipped the input objects of
	// kinds check does not analyse.
	InputErrors int `json:"inputErrors"`
	Skipped     int `json:"skipped"`
}

// Finding is one problem.
type Finding struct {
	Type     FindingType `json:"type"`
	Severity Severity    `json:"severity"`
	Property Property    `json:"property,omitempty"`
	// Volume is the PersistentVolume (or claim, when not bound yet).
	Volume   string    `json:"volume,omitempty"`
	Driver   string    `json:"driver,omitempty"`
	Subjects []Subject `json:"subjects,omitempty"`
	// When says when a conflict makes a pod fail (see the When constants).
	When When `json:"when,omitempty"`
	// Kept says which side the kubelet keeps.
	Kept string `json:"kept,omitempty"`
	// KubeletConflict is true when the kubelet compares the labels as
	// different; UpstreamControllerReports when the upstream
	// selinux-warning-controller reports the pair.
	KubeletConflict           bool    `json:"kubeletConflict,omitempty"`
	UpstreamControllerReports bool    `json:"upstreamControllerReports"`
	UpstreamDifference        string  `json:"upstreamDifference,omitempty"`
	Message                   string  `json:"message"`
	Fix                       string  `json:"fix"`
	Patches                   []Patch `json:"patches,omitempty"`

	// Upstream is what the upstream controller reports on the volume,
	// computed from the groups: on the volume's Conflict finding, or on its
	// UpstreamOnly finding when the kubelet sees no conflict.
	Upstream *UpstreamReport `json:"upstream,omitempty"`
}

// UpstreamReport is the upstream selinux-warning-controller's view of one
// volume.
type UpstreamReport struct {
	// Conflicts is the number of ordered pod pairs it reports: each is one
	// series of selinux_warning_controller_selinux_volume_conflict and one
	// event on the first pod.
	Conflicts int `json:"conflicts"`
	// Sample shows the first few of them.
	Sample []UpstreamConflict `json:"sample,omitempty"`
}

// UpstreamConflict is one conflict the upstream controller reports, as its
// metric labels it.
type UpstreamConflict struct {
	Property   string `json:"property"` // SELinuxLabel or SELinuxChangePolicy
	Pod        string `json:"pod"`      // namespace/name
	Value      string `json:"value"`
	OtherPod   string `json:"otherPod"`
	OtherValue string `json:"otherValue"`
}

// Subject is a workload (or bare pod) involved in a finding.
type Subject struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Label     string   `json:"label"`
	Policy    string   `json:"policy"`
	Nodes     []string `json:"nodes,omitempty"`
	Running   int      `json:"running,omitempty"`
	// Volume names the volume as this subject reaches it: its own
	// PersistentVolume (or claim). Two PersistentVolumes can reach one
	// storage volume, so it may differ from the finding's Volume.
	Volume string `json:"volume,omitempty"`
}

// VolumeFor returns the name of the finding's volume to show to the users
// of namespace ns: the finding's Volume when every subject is in ns (or ns
// is "", the cluster's view), else the name under which ns's own subjects
// reach it, and "" when ns has none. The finding's Volume may be another
// namespace's PersistentVolume or claim, which ns must not learn.
func (f *Finding) VolumeFor(ns string) string {
	if ns == "" {
		return f.Volume
	}
	own := ""
	foreign := false
	for _, s := range f.Subjects {
		if s.Namespace != ns {
			foreign = true
		} else if own == "" {
			own = s.Volume
		}
	}
	if !foreign {
		return f.Volume
	}
	return own
}

// Patch is a ready-to-apply change to one object.
type Patch struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Type       string `json:"type"` // "strategic"
	Patch      string `json:"patch"`
	Command    string `json:"command"`
}

// ClusterFix is a cluster-wide opt-out manifest.
type ClusterFix struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Manifest string `json:"manifest"`
}
