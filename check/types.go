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

// APIVersion is the version of the Report document.
const APIVersion = "selmount.io/v1alpha1"

// Finding types.
const (
	TypeConflict        = "Conflict"
	TypeSlowPath        = "SlowPath"
	TypeDriverReadiness = "DriverReadiness"
)

// Conflict properties, as the upstream controller names them.
const (
	PropertyLabel          = "SELinuxLabel"
	PropertyChangePolicy   = "SELinuxChangePolicy"
	PropertyMultipleLabels = "MultipleSELinuxLabels"
)

// Slow-path and readiness properties.
const (
	PropertyNoLevel          = "NoLevel"
	PropertyRecursivePolicy  = "RecursivePolicy"
	PropertyAccessMode       = "AccessMode"
	PropertyDriverSupport    = "DriverSupport"
	PropertyNoIsolation      = "NoIsolation"
	PropertyMissingCSIDriver = "MissingCSIDriver"
	PropertyHostPaths        = "NodePluginHostPaths"
	PropertySharedSuperblock = "SharedSuperblockOptions"
	PropertyAPIServerVersion = "APIServerVersion"
	PropertyUpstreamOnly     = "UpstreamOnly"
)

// Severities, most severe first.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// When a conflict bites.
const (
	WhenNow             = "Now"             // pods on one node already conflict
	WhenCoScheduled     = "WhenCoScheduled" // fails as soon as the pods share a node
	WhenTargetVersion   = "TargetVersion"   // fails only after the upgrade to the target version
	WhenNeverWarning    = "WarningOnly"     // the kubelet only bumps a warning metric
	WhenUpstreamOnlyMsg = "UpstreamOnly"    // only the upstream controller reports it
)

// Report is the document `selmount check -o json|yaml` prints.
type Report struct {
	APIVersion     string       `json:"apiVersion"`
	Kind           string       `json:"kind"`
	TargetVersion  string       `json:"targetVersion"`
	CurrentVersion string       `json:"currentVersion,omitempty"`
	Source         string       `json:"source"` // "cluster" or "manifests"
	Summary        Summary      `json:"summary"`
	Findings       []Finding    `json:"findings"`
	ClusterFixes   []ClusterFix `json:"clusterFixes,omitempty"`
	// Warnings are problems with the input that did not stop the check
	// (a forbidden resource type, an unreadable document).
	Warnings []string `json:"warnings,omitempty"`
}

// Summary counts what was checked and found.
type Summary struct {
	Workloads int `json:"workloads"`
	Pods      int `json:"pods"`
	Volumes   int `json:"volumes"`
	Errors    int `json:"errors"`
	Warnings  int `json:"warnings"`
	Infos     int `json:"infos"`
}

// Finding is one problem.
type Finding struct {
	Type     string `json:"type"`
	Severity string `json:"severity"`
	Property string `json:"property,omitempty"`
	// Volume is the PersistentVolume (or claim, when not bound yet).
	Volume   string    `json:"volume,omitempty"`
	Driver   string    `json:"driver,omitempty"`
	Subjects []Subject `json:"subjects,omitempty"`
	// When says when a conflict makes a pod fail (see the When constants).
	When string `json:"when,omitempty"`
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
