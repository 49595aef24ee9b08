package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/examples"
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
	switch o.failOn {
	case "conflict", "warning", "none":
	default:
		return fail(fmt.Errorf("--fail-on %q: want conflict, warning or none", o.failOn))
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
		in.Objects = make([]any, len(objs))
		for i, ob := range objs {
			in.Objects[i] = ob.Obj
		}
		for _, e := range errs {
			readErrs = append(readErrs, e.Error())
		}
		if len(in.Objects) == 0 && len(errs) > 0 {
			// Nothing could be read: no report that says "No findings".
			return fail(errors.Join(errs...))
		}
		in.Source = "manifests"
	default:
		cres, err := o.cluster.load(cmd)
		if err != nil {
			return fail(err)
		}
		for _, obj := range cres.objects {
			if c, ok := obj.(nodePluginCandidate); ok {
				if ds, ok := c.obj.(*appsv1.DaemonSet); ok {
					in.NodePlugins = append(in.NodePlugins, ds)
				}
				continue
			}
			in.Objects = append(in.Objects, obj)
		}
		in.ServerVersion, in.DaemonSetsListed = cres.serverVersion, cres.daemonSetsListed
		clusterWarnings = cres.warnings
		in.Source = "cluster"
	}

	// The kubelets decide what fails today: the oldest one, when the nodes
	// could be read, else the API server's version.
	reference := in.ServerVersion
	if kv := oldestKubelet(in.Objects); kv != "" {
		reference = kv
	}
	target, current, err := o.versions(reference)
	if err != nil {
		return fail(err)
	}
	in.Target, in.Current = target, current
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

	if o.fixDir != "" {
		if err := writeFixes(o.fixDir, r); err != nil {
			return fail(err)
		}
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
	for _, msg := range r.InputErrors {
		fmt.Fprintln(cmd.ErrOrStderr(), "error:", msg)
	}
	if len(r.InputErrors) > 0 && in.Source == "manifests" {
		return &ExitCodeError{Code: ExitError}
	}
	if failed(r, o.failOn) {
		return &ExitCodeError{Code: ExitFindings}
	}
	return nil
}

// versions resolves the target and current versions.
func (o *checkOptions) versions(server string) (kubever.Gates, *kubever.Gates, error) {
	var current *kubever.Gates
	curStr := o.currentVer
	if curStr == "" && server != "" {
		curStr = server
	}
	var cur kubever.Version
	if curStr != "" {
		v, err := kubever.ParseVersion(curStr)
		if err != nil {
			if o.currentVer != "" {
				return kubever.Gates{}, nil, fmt.Errorf("--current-version: %w", err)
			}
			// A server outside the modelled range: older ones are treated
			// as the oldest modelled kubelet; the target still applies.
			v = kubever.Oldest
			if minor, perr := kubever.ParseMinor(curStr); errors.Is(err, kubever.ErrUnsupportedVersion) && perr == nil && minor > kubever.Newest.Minor() {
				v = kubever.Newest
			}
		}
		g, err := kubever.NewGates(v, nil)
		if err != nil {
			return kubever.Gates{}, nil, err
		}
		cur, current = v, &g
	}
	tv := o.targetVersion
	if tv == "" {
		tv = "1.37"
		if !cur.IsZero() && cur.Compare(kubever.V(37)) > 0 {
			tv = cur.String()
		}
	}
	target, err := resolveGates("--target-version", tv, o.featureGates)
	if err != nil {
		return kubever.Gates{}, nil, err
	}
	return target, current, nil
}

// failed applies --fail-on.
func failed(r check.Report, failOn string) bool {
	for _, f := range r.Findings {
		switch failOn {
		case "conflict":
			if f.Type == check.TypeConflict && f.Severity == check.SeverityError {
				return true
			}
		case "warning":
			if f.Severity == check.SeverityError || f.Severity == check.SeverityWarning {
				return true
			}
		}
	}
	return false
}

// writeFixes writes every patch, a script that applies them, and the
// cluster-wide opt-out manifests into dir.
func writeFixes(dir string, r check.Report) error {
	if err := os.MkdirAll(filepath.Join(dir, "patches"), 0o755); err != nil {
		return fmt.Errorf("--fix-dir: %w", err)
	}
	var script strings.Builder
	script.WriteString("#!/bin/sh\n# Generated by selmount check: apply the proposed patches, one per line.\n# Review them first; add --dry-run=server to try them.\nset -e\n")
	seen := map[string]bool{}
	for i, f := range r.Findings {
		for j, p := range f.Patches {
			name := fmt.Sprintf("%s.%s.%s.%d-%d.yaml", p.Namespace, strings.ToLower(p.Kind), p.Name, i+1, j+1)
			if seen[p.Command] {
				continue
			}
			seen[p.Command] = true
			body, err := yaml.JSONToYAML([]byte(p.Patch))
			if err != nil {
				return err
			}
			header := fmt.Sprintf("# %s %s/%s (%s/%s): %s\n# kubectl -n %s patch %s %s --type=strategic --patch-file %s\n",
				p.Kind, p.Namespace, p.Name, f.Type, f.Property, f.Message, p.Namespace, strings.ToLower(p.Kind), p.Name, filepath.Join("patches", name))
			if err := os.WriteFile(filepath.Join(dir, "patches", name), append([]byte(header), body...), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(&script, "kubectl -n %s patch %s %s --type=strategic --patch-file \"$(dirname \"$0\")/patches/%s\"\n", p.Namespace, strings.ToLower(p.Kind), p.Name, name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "apply-patches.sh"), []byte(script.String()), 0o755); err != nil {
		return err
	}
	for _, c := range check.ClusterFixes() {
		if err := os.WriteFile(filepath.Join(dir, c.File), []byte(c.Manifest), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// oldestKubelet returns the oldest kubeletVersion among the Nodes in objs.
func oldestKubelet(objs []any) string {
	best, bestMinor := "", 1<<30
	for _, obj := range objs {
		n, ok := obj.(*corev1.Node)
		if !ok {
			continue
		}
		v := n.Status.NodeInfo.KubeletVersion
		// Also kubelets older than the modelled range: they are the
		// oldest, and versions() maps them to the oldest modelled one.
		if minor, err := kubever.ParseMinor(v); err == nil && minor < bestMinor {
			best, bestMinor = v, minor
		}
	}
	return best
}
