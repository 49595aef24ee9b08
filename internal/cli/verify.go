package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/ctxmount"
)

func init() { register(newVerifyCmd) }

type verifyOptions struct {
	label        string
	level        string
	nodeDefaults string
	output       string
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify TARGET [--label LABEL | --level LEVEL [--node-defaults NAME|DIR]]",
		Short: "Show the SELinux context a mount carries, whether it matches, and whether the runtime would relabel",
		Long: `verify reads /proc/self/mountinfo and reports, for the mount at TARGET: the
context= it was mounted with (compared canonically: s0:c2,c1 equals s0:c1,c2),
whether the filesystem shows seclabel, and so whether the kubelet would ask the
container runtime to relabel every file (SELinux enabled, seclabel, no context=).

With --label or --level it also checks that the mount carries that label: the
check KEP-1710 planned after every CSI NodePublish and the kubelet never made.

Exit status: 0 when TARGET is a mount point (carrying the label, if one was
given), 1 when it is not a mount point or carries another label or none, 2 on
bad flags, when TARGET does not exist or when the mount table cannot be read.`,
		Example: `  selmount verify /var/lib/kubelet/pods/UID/volumes/kubernetes.io~csi/pvc-1/mount
  selmount verify /mnt/vol --level s0:c1,c2 -o json`,
		Args: operands("TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.label, "label", "", "the label the mount must carry")
	f.StringVar(&o.level, "level", "", "the level the mount must carry, on the node's default file label")
	f.StringVar(&o.nodeDefaults, "node-defaults", "fedora", "with --level: a profile (fedora, rhel, coreos, debian, ubuntu, ...) or the root directory of a node tree to read the default labels from")
	addOutputFlag(cmd, &o.output, "o", formatText, formatJSON, formatYAML)
	return cmd
}

// checkTarget says plainly when a path given as an argument does not exist
// or cannot be looked at, without the name of a system call: for verify,
// "not a mount point" would hide a typo; for mount, the host checks would
// come first and mount(2) would say "mount TARGET: no such file or
// directory"; for relabel, the walk would say "fstatat".
func checkTarget(target string) error {
	_, err := os.Stat(target)
	var pe *fs.PathError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", target)
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", target, pe.Err)
	}
	return err
}

// VerificationResult is the document of `selmount verify -o json|yaml`.
type VerificationResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	ctxmount.Verification
	Host   *ctxmount.Host `json:"host,omitempty"`
	Error  string         `json:"error,omitempty"`
	Reason string         `json:"reason,omitempty"`
}

func (o *verifyOptions) run(cmd *cobra.Command, target string) error {
	want, err := labelFlags(o.label, o.level, o.nodeDefaults)
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	if err := checkTarget(target); err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	v, err := ctxmount.Verify(target, want, nil)
	code := ExitOK
	switch {
	case errors.Is(err, ctxmount.ErrNotMounted), errors.Is(err, ctxmount.ErrContextMissing), errors.Is(err, ctxmount.ErrContextMismatch):
		code = ExitFindings
	case err != nil:
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	res := VerificationResult{APIVersion: apiversion.Current, Kind: "Verification", Verification: v, Reason: reasonOf(err)}
	if h, herr := ctxmount.CheckHost(); herr == nil {
		res.Host = &h
	}
	if err != nil {
		res.Error = err.Error()
	}
	if err := writeOutput(cmd.OutOrStdout(), o.output, res, func(w io.Writer) error {
		writeVerification(w, res)
		return nil
	}); err != nil {
		return err
	}
	if code != ExitOK {
		return &ExitCodeError{Code: code}
	}
	return nil
}

func writeVerification(w io.Writer, r VerificationResult) {
	v := r.Verification
	if !v.Mounted {
		fmt.Fprintf(w, "%s: not a mount point\n", v.Target)
		return
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	ctx := "none"
	if v.RawContext != "" {
		ctx = v.RawContext
	}
	fmt.Fprintf(w, "%s: %s %s (device %s, mount %d)\n", v.Target, v.FSType, v.Source, v.Dev, v.MountID)
	fmt.Fprintf(w, "  context:         %s\n", ctx)
	fmt.Fprintf(w, "  seclabel:        %s\n", yes(v.Seclabel))
	if !v.Expected.IsZero() {
		fmt.Fprintf(w, "  expected:        %s\n", v.Expected)
		fmt.Fprintf(w, "  match:           %s\n", yes(v.Match))
	}
	enabled := "no"
	if r.Host != nil && r.Host.SELinuxEnabled {
		enabled = "yes, permissive"
		if r.Host.Enforcing {
			enabled = "yes, enforcing"
		}
	}
	fmt.Fprintf(w, "  SELinux:         %s\n", enabled)
	fmt.Fprintf(w, "  runtime relabel: %s\n", yes(v.RuntimeRelabel))
	fmt.Fprintf(w, "  %s\n", v.Summary)
}
