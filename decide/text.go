package decide

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/selmount/selmount/kubever"
)

// WriteText writes a human-readable rendering of e: per pod, its admission
// on the node, and per volume the method, the label, the mount options and
// the checklist.
func WriteText(w io.Writer, e Explanation) error {
	ew := &errWriter{w: w}
	state := "enabled"
	if !e.SELinuxEnabled {
		state = "disabled"
	}
	version := e.KubernetesVersion
	if v, err := kubever.ParseVersion(version); err == nil && kubever.Projected(v) {
		version += " (projected from what " + kubever.Latest.String() + " announces)"
	}
	ew.printf("Kubernetes %s, SELinux %s on the node, node defaults %q (file label %s)\n", version, state, e.NodeDefaults.Source, e.NodeDefaults.File)
	names := make([]string, 0, len(e.FeatureGates))
	for k := range e.FeatureGates {
		names = append(names, k)
	}
	sort.Strings(names)
	gates := make([]string, len(names))
	for i, k := range names {
		gates[i] = fmt.Sprintf("%s=%v", k, e.FeatureGates[k])
	}
	ew.printf("Feature gates: %s\n", strings.Join(gates, " "))
	inert := make([]string, 0, len(e.FeatureGatesWithoutEffect))
	for k := range e.FeatureGatesWithoutEffect {
		inert = append(inert, k)
	}
	sort.Strings(inert)
	for _, k := range inert {
		ew.printf("Feature gate %s changes nothing here: %s\n", k, e.FeatureGatesWithoutEffect[k])
	}
	if len(e.Pods) == 0 {
		ew.printf("\nNo pods or workloads found.\n")
	}
	for _, p := range e.Pods {
		ew.printf("\n")
		title := "Pod " + p.Pod
		if p.Owner != nil {
			title += " (" + p.Owner.Kind + " " + p.Owner.Name + ")"
		}
		if p.Node != "" {
			title += " on node " + p.Node
		} else {
			title += ", no node (admitted alone)"
		}
		if p.Admission.Admitted {
			title += ": admitted"
		} else {
			title += ": NOT ADMITTED"
		}
		ew.printf("%s\n", title)
		if p.Admission.Error != "" {
			ew.printf("  error:   %s\n", p.Admission.Error)
		}
		for _, m := range p.Admission.Metrics {
			ew.printf("  metric:  %s +1\n", m)
		}
		for _, warn := range p.Warnings {
			ew.printf("  warning: %s\n", warn)
		}
		if len(p.Volumes) == 0 {
			ew.printf("  (no volumes used by its containers)\n")
		}
		for _, v := range p.Volumes {
			ew.printf("  volume %s: %s\n", v.Name, v.Method)
			if v.Source != "" {
				ew.printf("    source:          %s\n", v.Source)
			}
			lbl := v.Label
			if lbl == "" {
				lbl = "(none)"
			}
			ew.printf("    label:           %s\n", lbl)
			opts := "(none)"
			if len(v.MountOptions) > 0 {
				opts = strings.Join(v.MountOptions, " ")
			}
			ew.printf("    mount options:   %s\n", opts)
			ew.printf("    runtime relabel: %s\n", yesNo(v.RuntimeRelabel))
			ew.printf("    why:             %s\n", v.Reason)
			switch {
			case v.Problem != "" && strings.HasSuffix(v.Metric, "_warnings_total"):
				ew.printf("    warning only:    %s (the kubelet bumps %s and goes on)\n", v.Problem, v.Metric)
			case v.Problem != "":
				ew.printf("    problem:         %s\n", v.Problem)
			}
			for _, warn := range v.Warnings {
				ew.printf("    warning:         %s\n", warn)
			}
			if len(v.Conditions) > 0 {
				ew.printf("    checklist:\n")
			}
			for _, c := range v.Conditions {
				mark := "✓"
				switch {
				case !c.Passed && c.Advisory:
					mark = "!"
				case !c.Passed:
					mark = "✗"
				}
				ew.printf("      %s %-33s %s\n", mark, c.Name, c.Reason)
			}
		}
	}
	if len(e.Errors) > 0 {
		ew.printf("\n%d input %s (listed on standard error); what they concern is not explained.\n", len(e.Errors), pluralWord(len(e.Errors), "error", "errors"))
	}
	if e.Skipped > 0 {
		ew.printf("\n%d %s of kinds explain does not analyse skipped", e.Skipped, pluralWord(e.Skipped, "object", "objects"))
		if len(e.SkippedObjects) == 0 {
			ew.printf(" (--show-skipped lists them).\n")
		} else {
			ew.printf(":\n")
		}
		for _, s := range e.SkippedObjects {
			ew.printf("  %s: %s %s %s\n", s.Source, s.APIVersion, s.Kind, s.Name)
		}
	}
	return ew.err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
