package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/examples"
	"github.com/selmount/selmount/fixdir"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/manifest"
)

func init() { register(newCheckCmd) }

type checkOptions struct {
	files            []string
	targetVersion    string
	currentVer       string
	featureGates     string
	nodeDefaults     string
	selinux          bool
	output           string
	failOn           string
	fixDir           string
	standardDecoders bool
	showSkipped      bool
	cluster          *clusterOptions
}

func newCheckCmd() *cobra.Command {
	o := &checkOptions{cluster: newClusterOptions()}
	cmd := &cobra.Command{
		Use:   "check [-f FILE|DIR|-]...",
		Short: "Find SELinux volume conflicts, slow relabels and unready CSI drivers, in a cluster or in manifests",
		Long: `Check finds what breaks, what is slow and what is misconfigured in SELinux volume
labeling, before and after an upgrade (Kubernetes 1.37 turns SELinuxMount on):

  Conflict         users of one volume whose labels or seLinuxChangePolicy differ as the
                   kubelet compares them, or one pod whose containers disagree; with when
                   it fails (Now, WhenCoScheduled, TargetVersion) and whether the upstream
                   selinux-warning-controller reports it
  SlowPath         volumes relabeled file by file, with the one change that gives them a
                   constant-time context mount; levels without categories (no isolation)
  DriverReadiness  CSI drivers in use: seLinuxMount, node plugin host paths, nosharecache /
                   nosharesock for NFS and CIFS, API server support

Workload templates count, not only running pods: a Deployment scaled to zero or a
CronJob that is not running is checked too, and findings are reported once, under the
owning workload.

With -f, check reads manifests (Helm or kustomize output, a GitOps tree); without -f it
reads the cluster of the current kubeconfig context (-A for all namespaces, -n for one).
--examples checks the bundled examples. Objects of kinds check does not analyse
(Services, CustomResourceDefinitions, custom resources) are skipped and counted;
--show-skipped lists them. Input problems are printed once each on standard error
and counted in the summary (inputErrors in -o json|yaml).

Exit status: 0 when nothing at or above --fail-on was found, 1 when something was,
2 for invalid input or flags, or when the cluster could not be read.`,
		Example: `  selmount check -A
  kubectl selmount check -n prod --target-version 1.37 -o wide
  helm template my-release chart/ | selmount check -f - --fail-on warning
  selmount check -f deploy/ --fix-dir fixes/`,
		Args: fileArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.files, "filename", "f", nil, "manifest file, directory (recursive) or - for standard input; repeatable (default: read the cluster)")
	f.Bool("examples", false, "check the bundled examples instead of a cluster")
	f.StringVar(&o.targetVersion, "target-version", "", "Kubernetes version to check against (default: 1.37 when the cluster is older, else the cluster's version; 1.37 for manifests)")
	f.StringVar(&o.currentVer, "current-version", "", "the version the cluster runs today (default: the oldest kubelet among the Nodes, else the API server's version; none for manifests)")
	f.StringVar(&o.featureGates, "feature-gates", "", "feature gate overrides for the target version: SELinuxMount=false,...")
	f.StringVar(&o.nodeDefaults, "node-defaults", "fedora", "the nodes' default container labels: a profile (fedora, rhel, coreos, debian, ubuntu, ...) or a node root directory")
	f.BoolVar(&o.selinux, "selinux", true, "whether the nodes run with SELinux enabled")
	addOutputFlag(cmd, &o.output, "o", formatTable, formatText, formatWide, formatJSON, formatYAML)
	f.StringVar(&o.failOn, "fail-on", "conflict", "exit 1 when a finding of this level is found: conflict (a conflict that makes a pod fail), warning (any error or warning), none")
	f.StringVar(&o.fixDir, "fix-dir", "", "write the patches and cluster-wide opt-out manifests into this directory")
	// For side-by-side benchmarks (hack/bench-check.sh) and to rule out
	// selmount's own decoders when a result looks wrong.
	f.BoolVar(&o.standardDecoders, "standard-decoders", false, "decode manifests with sigs.k8s.io/yaml and sigs.k8s.io/json only (slower, same result)")
	_ = f.MarkHidden("standard-decoders")
	f.BoolVar(&o.showSkipped, "show-skipped", false, "list the objects of kinds check does not analyse (always counted)")
	o.cluster.addFlags(cmd)
	return cmd
}

func (o *checkOptions) run(cmd *cobra.Command) error {
	fail := func(err error) error { return &ExitCodeError{Code: ExitError, Err: err} }
	failOn, err := check.ParseFailOn(o.failOn)
	if err != nil {
		return fail(fmt.Errorf("--fail-on %w", err))
	}
	defaults, err := resolveDefaults(o.nodeDefaults)
	if err != nil {
		return fail(err)
	}
	in := check.Input{SELinuxEnabled: o.selinux, Defaults: defaults}
	var readErrs, clusterWarnings []string
	var res manifest.Result
	useExamples, _ := cmd.Flags().GetBool("examples")
	switch {
	case useExamples || len(o.files) > 0:
		if useExamples {
			res.Objects, res.Errors = examples.Objects()
			for _, ob := range res.Objects {
				check.Slim(ob.Obj) // decoded for this run only
			}
		} else {
			res = manifest.ReadAll(o.files, cmd.InOrStdin(), &manifest.Options{Transform: check.Slim, Discard: check.Unread, Standard: o.standardDecoders})
		}
		objs, errs := res.Objects, res.Errors
		for _, ob := range objs {
			in.Objects.Add(ob.Obj) // kinds check does not read are left out
		}
		for _, e := range errs {
			readErrs = append(readErrs, e.Error())
		}
		if in.Objects.Len() == 0 && len(errs) > 0 {
			// Nothing could be read: no report that says "No findings".
			return fail(errors.Join(errs...))
		}
		in.Source = check.SourceManifests
	default:
		cres, err := o.cluster.read(cmd)
		if err != nil {
			return fail(err)
		}
		in.Objects, in.ServerVersion, in.DaemonSetsListed = cres.Objects, cres.ServerVersion, cres.AllDaemonSets
		clusterWarnings = cres.Warnings
		in.Source = check.SourceCluster
	}
	if in.Target, in.Current, err = o.versions(in.ServerVersion, in.Objects.Nodes); err != nil {
		return fail(err)
	}
	r := check.Run(in)
	r.Warnings = append(clusterWarnings, r.Warnings...)
	// Each input problem once: on standard error and in the report.
	r.InputErrors = inputErrors(nil, r.InvalidPods, res.Objects)
	r.InputErrors = append(readErrs, r.InputErrors...)
	r.Summary.InputErrors = len(r.InputErrors)
	var skippedList []decide.SkippedObject
	r.Summary.Skipped, skippedList = skipped(res.Skipped, o.showSkipped)
	r.Skipped = skippedList
	res = manifest.Result{} // only the report is needed from here

	var fixErr error
	if o.fixDir != "" {
		// A patch refused for its object's name leaves the rest written:
		// the report is still printed, then the refusal fails the run.
		fixErr = fixdir.Write(o.fixDir, r)
	}
	out := cmd.OutOrStdout()
	switch o.output {
	case "json":
		if err := writeReport(out, r, jsonReport); err != nil {
			return err
		}
	case "yaml":
		if err := writeReport(out, r, yamlReport); err != nil {
			return err
		}
	default:
		if err := check.WriteTable(out, r, o.output == "wide"); err != nil {
			return err
		}
	}
	if fixErr != nil {
		return fail(fmt.Errorf("--fix-dir: %w", fixErr))
	}
	for _, msg := range r.InputErrors {
		fmt.Fprintln(cmd.ErrOrStderr(), "error:", msg)
	}
	if len(r.InputErrors) > 0 && in.Source == check.SourceManifests {
		return &ExitCodeError{Code: ExitError}
	}
	if r.Fails(failOn) {
		return &ExitCodeError{Code: ExitFindings}
	}
	return nil
}

// versions resolves --target-version, --current-version and
// --feature-gates; unset versions follow check.ClusterVersion and
// check.DefaultTarget.
func (o *checkOptions) versions(server string, nodes []*corev1.Node) (kubever.Gates, *kubever.Gates, error) {
	var current *kubever.Gates
	cur, known := check.ClusterVersion(server, nodes)
	if o.currentVer != "" {
		v, err := kubever.ParseVersion(o.currentVer)
		if err != nil {
			return kubever.Gates{}, nil, fmt.Errorf("--current-version: %w", err)
		}
		cur, known = v, true
	}
	if known {
		g, err := kubever.NewGates(cur, nil)
		if err != nil {
			return kubever.Gates{}, nil, err
		}
		current = &g
	}
	tv := o.targetVersion
	if tv == "" {
		tv = check.DefaultTarget(cur).String()
	}
	target, err := resolveGates("--target-version", tv, o.featureGates)
	if err != nil {
		return kubever.Gates{}, nil, err
	}
	return target, current, nil
}
