package ctxmount

import (
	"fmt"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

// Verification is what a mount point carries, compared with the label it
// should carry.
type Verification struct {
	Target  string `json:"target"`
	Mounted bool   `json:"mounted"`
	MountID int    `json:"mountID,omitempty"`
	Source  string `json:"source,omitempty"`
	FSType  string `json:"fsType,omitempty"`
	Dev     string `json:"dev,omitempty"` // major:minor of the filesystem
	// RawContext is the context= value as the kernel shows it, without
	// quotes; "" when the mount has none.
	RawContext string `json:"rawContext,omitempty"`
	// Context is RawContext parsed; zero when there is none or it does not
	// parse.
	Context label.Context `json:"context,omitzero"`
	// Seclabel reports the seclabel option: the filesystem stores a label
	// per file and is not mounted with context=.
	Seclabel bool `json:"seclabel"`
	// Expected is the label the mount should carry; zero for "anything".
	Expected label.Context `json:"expected,omitzero"`
	// Match is true when the target is mounted and Expected is zero, or the
	// mount carries Expected (compared canonically).
	Match bool `json:"match"`
	// SELinuxEnabled is whether SELinux is enabled on the host.
	SELinuxEnabled bool `json:"selinuxEnabled"`
	// RuntimeRelabel is what the kubelet would tell the container runtime
	// (CRI selinux_relabel) for a volume on this mount: relabel every file
	// when SELinux is enabled and the filesystem shows seclabel. A context
	// mount never shows seclabel: nothing to relabel, and a relabel would
	// fail with ENOTSUP.
	RuntimeRelabel bool `json:"runtimeRelabel"`
	// Summary says the above in one sentence.
	Summary string `json:"summary"`
}

// VerifyMounts checks the mount at target in a parsed mount table. target
// must be clean and absolute, with symbolic links resolved, as the kernel
// prints mount points. want is the label the mount must carry; with the zero
// label VerifyMounts only reports.
//
// The error is a *MountError matching ErrNotMounted, ErrContextMissing or
// ErrContextMismatch; the Verification is filled in either way.
func VerifyMounts(mounts []mountinfo.Mount, target string, want label.Context, selinuxEnabled bool) (Verification, error) {
	v := Verification{Target: target, Expected: want, SELinuxEnabled: selinuxEnabled}
	fail := func(kind error, detail string) (Verification, error) {
		v.Summary = detail
		return v, &MountError{Op: "verify", Target: target, Source: v.Source, FSType: v.FSType, Kind: kind, Detail: detail}
	}
	m, ok := mountinfo.Lookup(mounts, target)
	if !ok {
		return fail(ErrNotMounted, target+" is not a mount point")
	}
	v.Mounted = true
	v.MountID, v.Source, v.FSType, v.Dev = m.ID, m.Source, m.FSType, m.Dev()
	v.Seclabel = m.Seclabel()
	raw, has := m.SELinuxContext()
	if has {
		v.RawContext = raw
		v.Context, _ = label.Parse(raw)
	}
	v.RuntimeRelabel = selinuxEnabled && v.Seclabel && !has
	switch {
	case has && !want.IsZero() && v.Context == want:
		v.Match = true
		v.Summary = fmt.Sprintf("mounted with context=%s as expected: every file shows the label, nothing to relabel", raw)
	case has && !want.IsZero():
		return fail(ErrContextMismatch, fmt.Sprintf("mounted with context=%s, want %s", raw, want))
	case !want.IsZero():
		detail := fmt.Sprintf("mounted without context=, want %s", want)
		if v.RuntimeRelabel {
			detail += "; the container runtime would relabel every file"
		}
		return fail(ErrContextMissing, detail)
	case has:
		v.Match = true
		v.Summary = fmt.Sprintf("mounted with context=%s: every file shows the label, nothing to relabel", raw)
	case v.RuntimeRelabel:
		v.Match = true
		v.Summary = "mounted without context=; the filesystem stores labels per file (seclabel): the container runtime would relabel every file"
	case !selinuxEnabled:
		v.Match = true
		v.Summary = "mounted without context=; SELinux is not enabled, so nothing is labeled or relabeled"
	default:
		v.Match = true
		v.Summary = "mounted without context= and without seclabel: the filesystem cannot store labels and nothing is relabeled"
	}
	return v, nil
}
