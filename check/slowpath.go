package check

import (
	"fmt"
	"strings"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/label"
)

// slowPathFindings reports a PersistentVolume that will be relabeled file by
// file, with the change that would give it a constant-time context mount,
// and levels that give no isolation or no access at all.
func slowPathFindings(u *use, full *decide.Volume, in Input) []Finding {
	v := u.target
	var subj []Subject // built for the first finding: most uses have none
	subjects := func() []Subject {
		if subj == nil {
			subj = []Subject{subjectOf(u)}
		}
		return subj
	}
	var out []Finding
	for _, o := range full.Facts.Options {
		if o == nil || o.Level == "" {
			continue
		}
		if lv, err := label.ParseLevel(o.Level); err == nil && lv.Low().Categories.IsEmpty() && lv.High().Categories.IsEmpty() {
			out = append(out, Finding{
				Type: TypeSlowPath, Severity: SeverityWarning, Property: PropertyNoIsolation, Volume: volumeName(v), Driver: v.CSIDriver, Subjects: subjects(),
				Message: fmt.Sprintf("%s sets seLinuxOptions.level %q without categories: every such pod shares one label, so SELinux no longer separates them (a pattern some linters push), and they all share one context mount.", subjectsText(subjects()), o.Level),
				Fix:     "Give each workload (or namespace) its own category pair, e.g. level: s0:c123,c456, as OpenShift allocates per namespace.",
			})
			break
		}
	}
	if v.Method == decide.MountOption && v.RandomLevel {
		out = append(out, Finding{
			Type: TypeSlowPath, Severity: SeverityError, Property: PropertyNoLevel, Volume: volumeName(v), Driver: v.CSIDriver, Subjects: subjects(),
			Message: fmt.Sprintf("Volume %s: %s sets seLinuxOptions without a level. The kubelet mounts the volume with a random level that the container will not get, so the container cannot use its files.", volumeName(v), subjectsText(subjects())),
			Fix:     "Set seLinuxOptions.level (a category pair unique to the workload, e.g. s0:c123,c456).",
		})
	}
	if v.Method != decide.Recursive || full.Facts.PV == nil || len(v.Multiple) > 0 {
		return out
	}
	var failing []decide.Condition
	for _, c := range full.Conditions {
		if !c.Passed && !c.Advisory {
			failing = append(failing, c)
		}
	}
	if len(failing) == 0 {
		return out
	}
	f := Finding{Type: TypeSlowPath, Severity: SeverityWarning, Volume: volumeName(v), Driver: v.CSIDriver, Subjects: subjects()}
	lead := fmt.Sprintf("Volume %s of %s is relabeled file by file by the container runtime at every start", volumeName(v), subjectsText(f.Subjects))
	if len(failing) > 1 {
		names := make([]string, len(failing))
		for i, c := range failing {
			names[i] = c.Name + " (" + c.Reason + ")"
		}
		f.Property = Property(failing[0].Name)
		f.Message = lead + "; a context mount needs more than one change: " + strings.Join(names, "; ") + "."
		f.Fix = "Fix each failing condition; see `selmount explain` for the checklist."
		return append(out, f)
	}
	c := failing[0]
	f.Message = lead + ": " + c.Reason + "."
	switch c.Name {
	case decide.CondPodLabel:
		f.Property = PropertyNoLevel
		f.Fix = "Set seLinuxOptions.level on the pod (a category pair unique to the workload, e.g. s0:c123,c456): the volume is then mounted with -o context in constant time."
	case decide.CondChangePolicy:
		f.Property = PropertyRecursivePolicy
		f.Fix = "Remove seLinuxChangePolicy: Recursive, once every other user of the volume has the same label (see the conflicts of this volume)."
		if p, ok := patchFor(u.e.subj, change{removePolicy: true}); ok {
			f.Patches = []Patch{p}
		}
	case decide.CondAccessMode:
		f.Property = PropertyAccessMode
		f.Fix = fmt.Sprintf("Use the access mode ReadWriteOncePod (the volume then serves one pod at a time), or run a kubelet with SELinuxMount on (the default from 1.37; target is %s).", in.Target.Version())
	case decide.CondPlugin:
		f.Property = PropertyDriverSupport
		switch {
		case v.CSIDriver != "":
			f.Fix = fmt.Sprintf("Set spec.seLinuxMount: true on CSIDriver %s, once its node plugin is ready for it (see the DriverReadiness findings) and every volume of the driver can be mounted with its own context.", v.CSIDriver)
		default:
			f.Fix = fmt.Sprintf("The in-tree %s plugin never mounts with a context: move the data to a CSI driver that announces seLinuxMount.", v.Kind)
		}
	default:
		f.Property = Property(c.Name)
		f.Fix = "See `selmount explain` for the checklist."
	}
	return append(out, f)
}
