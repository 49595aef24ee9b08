package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/examples"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/manifest"
	"github.com/selmount/selmount/workload"
)

func init() { register(newExplainCmd) }

type explainOptions struct {
	files        []string
	kubeVersion  string
	featureGates string
	nodeDefaults string
	selinux      bool
	output       string
	showSkipped  bool
}

func newExplainCmd() *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain [-f FILE|DIR|-]...",
		Short: "Explain, per pod volume, what the kubelet does with SELinux labels",
		Long: `Explain reads pods, workloads, PersistentVolumeClaims, PersistentVolumes,
StorageClasses and CSIDrivers from manifests and tells, for every volume of every
pod (or workload pod template), what the kubelet of the chosen Kubernetes version
does: mount it with -o context (MountOption), let the container runtime relabel
every file (Recursive), or label nothing (None), with the label, the exact mount
options handed to CSI NodeStage/NodePublish and a checklist of every condition.

Pods that share spec.nodeName are admitted in input order, as the kubelet's volume
manager admits them: the first pod's label wins and a later pod with another label
fails with the kubelet's own error, or only bumps a warning metric.

Without -f, explain runs on the bundled examples, which show every outcome.

Objects of kinds explain does not analyse (Services, Secrets, CustomResourceDefinitions,
custom resources such as ServiceMonitors) are skipped and counted; --show-skipped
lists them. Documents are numbered from 1 in each file, and the items of a List
from 1 in their document: "deploy.yaml: document 3, item 2".

Input problems (a document that cannot be read, a field the API server would
reject, a missing claim, an invalid level) are printed once each on standard
error, and are in the "errors" list of -o json|yaml.

Exit status: 0 when every document was explained, 2 when an input or flag was
invalid (the documents that could be read are still explained).`,
		Example: `  selmount explain
  selmount explain -f deploy/ --kube-version 1.36
  helm template my-release chart/ | selmount explain -f - -o json
  selmount explain -f pod.yaml --feature-gates SELinuxMount=false --node-defaults debian`,
		Args: fileArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "manifest file, directory (recursive) or - for standard input; repeatable (default: the bundled examples)")
	f.StringVar(&o.kubeVersion, "kube-version", kubever.Latest.String(), fmt.Sprintf("Kubernetes version of the kubelet to predict (%s to %s)", kubever.Oldest, kubever.Newest))
	f.StringVar(&o.featureGates, "feature-gates", "", "feature gate overrides, as for the kubelet: SELinuxMount=false,...")
	f.StringVar(&o.nodeDefaults, "node-defaults", "fedora", "the node's default container labels: a profile (fedora, rhel, coreos, debian, ubuntu, ...) or the root directory of a node tree to read them from")
	f.BoolVar(&o.selinux, "selinux", true, "whether the node runs with SELinux enabled")
	addOutputFlag(cmd, &o.output, "o", formatText, formatJSON, formatYAML)
	f.BoolVar(&o.showSkipped, "show-skipped", false, "list the objects of kinds explain does not analyse (always counted)")
	return cmd
}

// resolveGates parses the version given by flag (for errors) and the
// --feature-gates overrides.
func resolveGates(flag, version, gates string) (kubever.Gates, error) {
	v, err := kubever.ParseVersion(version)
	if err != nil {
		return kubever.Gates{}, fmt.Errorf("%s: %w", flag, err)
	}
	overrides, err := kubever.ParseGates(gates)
	if err != nil {
		return kubever.Gates{}, fmt.Errorf("--feature-gates: %w", err)
	}
	g, err := kubever.NewGates(v, overrides)
	if err != nil {
		return kubever.Gates{}, fmt.Errorf("--feature-gates: %w", err)
	}
	return g, nil
}

func (o *explainOptions) run(cmd *cobra.Command) error {
	gates, err := resolveGates("--kube-version", o.kubeVersion, o.featureGates)
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	defaults, err := resolveDefaults(o.nodeDefaults)
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	var res manifest.Result
	if len(o.files) == 0 {
		res.Objects, res.Errors = examples.Objects()
	} else {
		res = manifest.ReadAll(o.files, cmd.InOrStdin(), nil)
	}
	objs := res.Objects
	typed := make([]any, len(objs))
	for i, ob := range objs {
		typed[i] = ob.Obj
	}
	e := decide.Explain(workload.Collect(typed), decide.Config{Gates: gates, SELinuxEnabled: o.selinux, Defaults: defaults})
	e.Errors = inputErrors(res.Errors, e.InputErrors, objs)
	e.Skipped, e.SkippedObjects = skipped(res.Skipped, o.showSkipped)
	if err := writeOutput(cmd.OutOrStdout(), o.output, e, func(w io.Writer) error { return decide.WriteText(w, e) }); err != nil {
		return err
	}
	if len(e.Errors) > 0 {
		for _, msg := range e.Errors {
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", msg)
		}
		return &ExitCodeError{Code: ExitError}
	}
	return nil
}

// inputErrors lists the input problems once each: reading errors first (a
// broken claim document explains a missing claim), then the decision's,
// each named by the document of its pod.
func inputErrors(readErrs []error, invalid []*decide.InputError, objs []manifest.Object) []string {
	var out []string
	for _, err := range readErrs {
		out = append(out, err.Error())
	}
	var sources map[string]string
	if len(invalid) > 0 {
		sources = podSources(objs) // expands the workloads again: only when needed
	}
	for _, ie := range invalid {
		if ie.Source == "" {
			ie.Source = sources[ie.Pod]
		}
		out = append(out, ie.Error())
	}
	return out
}

// skipped counts the skipped objects and lists them when asked to.
func skipped(list []manifest.Skipped, show bool) (int, []decide.SkippedObject) {
	if !show || len(list) == 0 {
		return len(list), nil
	}
	out := make([]decide.SkippedObject, len(list))
	for i, s := range list {
		out[i] = decide.SkippedObject{Source: s.Source.String(), APIVersion: s.APIVersion, Kind: s.Kind, Name: s.Name}
	}
	return len(list), out
}

// podSources maps "namespace/name" of every pod (or workload pod) to the
// document it came from.
func podSources(objs []manifest.Object) map[string]string {
	out := map[string]string{}
	for _, ob := range objs {
		pods, _, ok := workload.Expand(ob.Obj)
		if !ok {
			continue
		}
		for _, p := range pods {
			out[p.Namespace+"/"+p.Name] = ob.Source.String()
		}
	}
	return out
}
