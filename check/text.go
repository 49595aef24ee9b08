package check

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the report as tables grouped by severity, each followed
// by the message and fix of every finding. wide adds the driver, the
// upstream controller's view and ready-to-run patch commands.
func WriteTable(w io.Writer, r Report, wide bool) error {
	var b strings.Builder
	cur := ""
	if r.CurrentVersion != "" {
		cur = ", cluster " + r.CurrentVersion
	}
	fmt.Fprintf(&b, "selmount check (%s): target Kubernetes %s%s; %s, %s, %s\n", r.Source, r.TargetVersion, cur,
		plural(r.Summary.Workloads, "workload", "workloads"), plural(r.Summary.Pods, "pod", "pods"), plural(r.Summary.Volumes, "shared volume", "shared volumes"))
	inert := make([]string, 0, len(r.FeatureGatesWithoutEffect))
	for k := range r.FeatureGatesWithoutEffect {
		inert = append(inert, k)
	}
	sort.Strings(inert)
	for _, k := range inert {
		fmt.Fprintf(&b, "note: feature gate %s changes nothing here: %s\n", k, r.FeatureGatesWithoutEffect[k])
	}
	for _, msg := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", msg)
	}
	if len(r.Findings) == 0 {
		b.WriteString("\nNo findings.\n")
		writeInputNotes(&b, r)
		_, err := io.WriteString(w, b.String())
		return err
	}
	n := 0
	for _, sev := range []Severity{SeverityError, SeverityWarning, SeverityInfo} {
		var fs []Finding
		for _, f := range r.Findings {
			if f.Severity == sev {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s (%d)\n", strings.ToUpper(string(sev))+"S", len(fs))
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		if wide {
			fmt.Fprintln(tw, "#\tTYPE\tPROPERTY\tVOLUME\tDRIVER\tWHEN\tUPSTREAM\tSUBJECTS")
		} else {
			fmt.Fprintln(tw, "#\tTYPE\tPROPERTY\tVOLUME\tWHEN\tSUBJECTS")
		}
		first := n
		for _, f := range fs {
			n++
			vol := orDash(f.Volume)
			if vol == "-" && f.Driver != "" && !wide {
				vol = "driver " + f.Driver
			}
			if wide {
				up := "-"
				if f.Type == TypeConflict {
					up = "no"
					if f.UpstreamControllerReports {
						up = "yes"
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, f.Type, orDash(f.Property), vol, orDash(f.Driver), orDash(f.When), up, orDash(subjectsList(f.Subjects, 20)))
			} else {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", n, f.Type, orDash(f.Property), vol, orDash(f.When), orDash(subjectsList(f.Subjects, 3)))
			}
		}
		tw.Flush()
		b.WriteString("\n")
		for i, f := range fs {
			fmt.Fprintf(&b, "[%d] %s\n", first+i+1, f.Message)
			if f.Kept != "" && f.Severity == SeverityError {
				fmt.Fprintf(&b, "    kept: %s\n", f.Kept)
			}
			if wide && f.UpstreamDifference != "" {
				fmt.Fprintf(&b, "    upstream: %s\n", f.UpstreamDifference)
			}
			if up := f.Upstream; wide && up != nil && up.Conflicts > 0 {
				c := up.Sample[0]
				fmt.Fprintf(&b, "    upstream reports %s (one event and metric series each), e.g. %s %s %q vs %s %q\n",
					plural(up.Conflicts, "ordered pod pair", "ordered pod pairs"), c.Property, c.Pod, c.Value, c.OtherPod, c.OtherValue)
			}
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
			if wide {
				for _, p := range f.Patches {
					fmt.Fprintf(&b, "    $ %s\n", p.Command)
				}
			}
		}
	}
	if len(r.ClusterFixes) > 0 {
		b.WriteString("\nCluster-wide opt-out (default every new pod to seLinuxChangePolicy: Recursive): see --fix-dir or -o yaml for ")
		names := make([]string, len(r.ClusterFixes))
		for i, c := range r.ClusterFixes {
			names[i] = c.Name
		}
		b.WriteString(strings.Join(names, " and ") + ".\n")
	}
	fmt.Fprintf(&b, "\n%s, %s, %s\n", plural(r.Summary.Errors, "error", "errors"), plural(r.Summary.Warnings, "warning", "warnings"), plural(r.Summary.Infos, "info", "infos"))
	writeInputNotes(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeInputNotes counts the input errors (the caller prints them, once,
// on standard error) and the skipped objects, and lists the skipped objects
// when the report carries them.
func writeInputNotes(b *strings.Builder, r Report) {
	if n := r.Summary.InputErrors; n > 0 {
		fmt.Fprintf(b, "%s (listed on standard error): what they concern is not checked.\n", plural(n, "input error", "input errors"))
	}
	if n := r.Summary.Skipped; n > 0 {
		fmt.Fprintf(b, "%s of kinds check does not analyse skipped", plural(n, "object", "objects"))
		if len(r.Skipped) == 0 {
			b.WriteString(" (--show-skipped lists them).\n")
			return
		}
		b.WriteString(":\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(b, "  %s: %s %s %s\n", s.Source, s.APIVersion, s.Kind, s.Name)
		}
	}
}

func orDash[S ~string](s S) string {
	if s == "" {
		return "-"
	}
	return string(s)
}
