// Package decide predicts, for every pod volume, what the kubelet of a given
// Kubernetes version does with SELinux labels: mount the volume with
// -o context (MountOption), leave the container runtime to relabel every file
// (Recursive), or label nothing (None), with the reason for every condition,
// the exact mount options handed to CSI NodeStage/NodePublish, and the
// outcome of admitting the pods of one node in order (the conflicts the
// kubelet reports and the metrics it bumps).
//
// The package is pure: it takes Kubernetes API objects and plain values and
// never talks to a cluster or reads the filesystem. Its behaviour follows the
// upstream kubelet source of each version (1.25 to 1.37; 1.38 is projected),
// including where upstream differs from its own documentation:
//
//   - label strings are compared exactly as written, as the kubelet does, so
//     "s0:c1,c2" and "s0:c2,c1" conflict although the kernel sees one label;
//   - seLinuxOptions without a level give a random label (go-selinux
//     allocates one), which the documentation forbids but the code allows;
//   - only user and level reach the file label, never role or type.
package decide

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Method is how a volume's files get the pod's label.
type Method string

const (
	// MountOption: mounted with -o context="<label>"; nothing is relabeled.
	MountOption Method = "MountOption"
	// Recursive: the container runtime relabels every file when the
	// container starts (CRI Mount.selinux_relabel).
	Recursive Method = "Recursive"
	// None: nothing is labeled (SELinux off, raw block, read-only CSI mount,
	// or a volume type the kubelet never relabels).
	None Method = "None"
)

// Explanation is the document `selmount explain -o json|yaml` prints.
type Explanation struct {
	APIVersion        string          `json:"apiVersion"`
	Kind              string          `json:"kind"`
	KubernetesVersion string          `json:"kubernetesVersion"`
	FeatureGates      map[string]bool `json:"featureGates"`
	// FeatureGatesWithoutEffect are the --feature-gates overrides that
	// change nothing here, with the reason: gates selmount does not model,
	// AllAlpha or AllBeta when no modelled gate changes value.
	FeatureGatesWithoutEffect map[string]string `json:"featureGatesWithoutEffect,omitempty"`
	SELinuxEnabled            bool              `json:"selinuxEnabled"`
	NodeDefaults              NodeDefaults      `json:"nodeDefaults"`
	Pods                      []Pod             `json:"pods"`
	// Errors are input problems that kept an object from being explained,
	// as messages. Explain fills it with the Error text of InputErrors;
	// callers that read manifests add their reading errors.
	Errors []string `json:"errors,omitempty"`
	// InputErrors are decide's input problems, typed, in pod order.
	InputErrors []*InputError `json:"-"`
	// Skipped counts the input objects of kinds that are not analysed
	// (Services, CustomResourceDefinitions, custom resources...), for
	// callers that read manifests; SkippedObjects lists them on request.
	Skipped        int             `json:"skipped,omitempty"`
	SkippedObjects []SkippedObject `json:"skippedObjects,omitempty"`
}

// SkippedObject is an input object of a kind that is not analysed.
type SkippedObject struct {
	Source     string `json:"source"` // "file: document 3, item 2"
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// NodeDefaults records the node defaults used for the translation.
type NodeDefaults struct {
	Source  string `json:"source"`
	Process string `json:"process"`
	File    string `json:"file"`
}

// Pod is the outcome for one pod (or one workload's pod template).
type Pod struct {
	Pod       string    `json:"pod"` // namespace/name
	Owner     *Owner    `json:"owner,omitempty"`
	Node      string    `json:"node"`
	Admission Admission `json:"admission"`
	// Warnings about the pod as a whole (API server validation, hazards).
	Warnings []string `json:"warnings,omitempty"`
	Volumes  []Volume `json:"volumes"`
}

// Owner names the workload a pod template belongs to.
type Owner struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Admission is what the kubelet's volume manager does with the pod on its
// node, after the pods before it on the same node.
type Admission struct {
	Admitted bool `json:"admitted"`
	// Error is the volume manager error that keeps the pod in
	// ContainerCreating, "" when admitted.
	Error string `json:"error"`
	// Event is the FailedMount event message the kubelet emits for Error.
	Event string `json:"event,omitempty"`
	// Metric names the kubelet metric the case bumps (an error or warning
	// metric), "" when none.
	Metric string `json:"metric"`
	// Metrics lists every series the pod bumps, with labels, in order.
	Metrics []string `json:"metrics,omitempty"`
}

// Volume is the decision for one volume of a pod.
type Volume struct {
	Name             string   `json:"name"`
	Source           string   `json:"source"` // e.g. "persistentVolumeClaim data -> PersistentVolume pv-1"
	PersistentVolume string   `json:"persistentVolume,omitempty"`
	Plugin           string   `json:"plugin"` // kubelet plugin, e.g. kubernetes.io/csi/ebs.csi.aws.com
	AccessModes      []string `json:"accessModes,omitempty"`
	Method           Method   `json:"method"`
	// Label is the file label the kubelet computes for the pod ("" when the
	// pod sets no seLinuxOptions: the runtime then picks a random one).
	Label string `json:"label"`
	// MountOptions is exactly the list handed to NodeStage and NodePublish.
	MountOptions []string `json:"mountOptions"`
	// RuntimeRelabel is the CRI Mount.selinux_relabel flag.
	RuntimeRelabel bool        `json:"runtimeRelabel"`
	Reason         string      `json:"reason"`
	Conditions     []Condition `json:"conditions"`
	// Problem is the volume manager error or warning for this volume; Metric
	// names the metric it bumps (an _errors_total metric for an error) and
	// MetricSeries gives it with its labels.
	Problem      string `json:"problem,omitempty"`
	Metric       string `json:"metric,omitempty"`
	MetricSeries string `json:"metricSeries,omitempty"`
	// Warnings are hazards that do not change the method.
	Warnings []string `json:"warnings,omitempty"`

	// Facts are the intermediate values behind the decision, for callers
	// that analyse further (package check). Not part of the document.
	Facts Facts `json:"-"`
}

// Facts are what the kubelet computed on the way to a volume's decision.
type Facts struct {
	// UniqueName is the kubelet's unique volume name: the same name means
	// the same mount on a node ("kubernetes.io/csi/<driver>^<handle>"); ""
	// for volumes that are per pod.
	UniqueName string
	// SpecName is volume.Spec.Name(): the PV name, or the pod volume name.
	SpecName string
	// CSIDriver is the CSI driver, also for migrated in-tree volumes.
	CSIDriver string
	// Kind is the volume type: "csi", "iscsi", "nfs", "emptyDir", ...
	Kind string
	// PV is the PersistentVolume (possibly synthesized), nil for inline.
	PV *corev1.PersistentVolume
	// Claim is the PersistentVolumeClaim, nil for inline volumes.
	Claim *corev1.PersistentVolumeClaim
	// PluginSupports is the plugin's SupportsSELinuxContextMount.
	PluginSupports bool
	// Eligible is VolumeSupportsSELinuxMount: conflicts are errors.
	Eligible bool
	// EligibleReason says why the volume is eligible or not (the AccessMode
	// condition's reason, kept also when Lean drops the checklist).
	EligibleReason string
	// KubeletLabel is the label the volume manager compares ("" for none,
	// Recursive pods and plugins without support). A random level is shown
	// as label.RandomLevel ("s0:<random>"). Compare labels with LabelKey,
	// not with this string: two random levels written the same differ.
	KubeletLabel string
	// RandomLevel is set when KubeletLabel's level is drawn at random (the
	// options have no level): each translation draws another one, so the
	// label equals no other label.
	RandomLevel bool
	label       klabel // KubeletLabel as the kubelet compares it
	// Multiple lists the distinct labels when containers disagree.
	Multiple []string
	// Options are the effective seLinuxOptions of each container that
	// mounts the volume (nil entries are not kept).
	Options []*corev1.SELinuxOptions
	// ChangePolicy is the pod's seLinuxChangePolicy as written.
	ChangePolicy *corev1.PodSELinuxChangePolicy
	// Policy is the seLinuxChangePolicy the kubelet honours: Recursive when
	// the pod sets it and the SELinuxChangePolicy gate is on, else
	// MountOption (nil and MountOption behave the same in the kubelet).
	Policy corev1.PodSELinuxChangePolicy
	// SELinux is false when SELinux does not apply to the volume: SELinux
	// is disabled on the node, or the pod is a Windows pod. Nothing labels
	// such a volume, and it takes part in no label comparison: callers
	// that compare the users of a volume leave it out.
	SELinux bool
	// InputError is the problem with the pod's options that keeps the
	// volume from being labeled (an invalid level), nil when none. It is
	// also in Explanation.InputErrors; the pod cannot start, so callers that
	// compare the users of a volume leave it out.
	InputError *InputError
}

// InputError is a problem with the input that keeps a pod volume from being
// decided: a claim, volume or class that is missing, or an invalid field.
// Its Error text is stable: "pod NS/NAME: volume \"VOL\": FIELD: what is
// wrong", prefixed with "SOURCE: " when Source is set.
type InputError struct {
	// Pod is the pod, "namespace/name"; Owner the workload whose template
	// it is, nil for a pod.
	Pod   string
	Owner *Owner
	// Volume is the pod volume, "" when the problem is the pod's.
	Volume string
	// Field is the path of the bad field in the pod, e.g.
	// "spec.containers[0].securityContext.seLinuxOptions.level"; "" when
	// the problem is not one field (a missing claim).
	Field string
	// Source is where the pod was read from ("deploy.yaml: document 3"),
	// for callers that know it; decide leaves it empty.
	Source string
	Err    error
}

func (e *InputError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source + ": ")
	}
	b.WriteString("pod " + e.Pod)
	if e.Volume != "" {
		b.WriteString(": volume " + strconv.Quote(e.Volume))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }

// Condition is one item of the checklist that decides MountOption.
type Condition struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Reason string `json:"reason"`
	// Advisory conditions do not decide the method; a failed one is a hazard.
	Advisory bool `json:"advisory,omitempty"`
}

// Condition names, in the order the kubelet evaluates them.
const (
	CondSELinuxEnabled = "SELinuxEnabled"
	CondFeatureGate    = "SELinuxMountReadWriteOncePodGate"
	CondPV             = "PersistentVolume"
	CondPlugin         = "PluginSupport"
	CondPodLabel       = "PodLabel"
	CondLevel          = "SELinuxLevel"
	CondChangePolicy   = "ChangePolicy"
	CondAccessMode     = "AccessMode"
)

// Kubelet metric names.
const (
	MetricContainerErrors       = "volume_manager_selinux_container_errors_total"
	MetricContainerWarnings     = "volume_manager_selinux_container_warnings_total"
	MetricPodMismatchErrors     = "volume_manager_selinux_pod_context_mismatch_errors_total"
	MetricPodMismatchWarnings   = "volume_manager_selinux_pod_context_mismatch_warnings_total"
	MetricVolumeMismatchErrors  = "volume_manager_selinux_volume_context_mismatch_errors_total"
	MetricVolumeMismatchWarning = "volume_manager_selinux_volume_context_mismatch_warnings_total"
	MetricVolumesAdmitted       = "volume_manager_selinux_volumes_admitted_total"
)
