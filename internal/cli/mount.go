package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountopt"
)

func init() { register(newMountCmd) }

type mountOptions struct {
	fstype        string
	options       []string
	label         string
	level         string
	nodeDefaults  string
	helper        bool
	skipHostCheck bool
	keep          bool
	output        string
}

func newMountCmd() *cobra.Command {
	o := &mountOptions{}
	cmd := &cobra.Command{
		Use:   "mount [-t FSTYPE] [-o OPTS] (--label LABEL | --level LEVEL [--node-defaults NAME|DIR]) [--output FORMAT] SOURCE TARGET",
		Short: "Mount a volume with -o context=\"<label>\" and verify that the label is there",
		Long: `mount mounts SOURCE on TARGET so that every file shows one SELinux label at once,
as the kubelet does for a volume it can label with a mount option (KEP-1710): the
options of -o in order, then the option the filesystem needs to give each mount
its own superblock (nosharecache for NFS, nosharesock for CIFS), then
context="<label>" last, quoted so that the comma of a category set survives.

Before mounting it checks that SELinux is enabled, that the policy knows the
label, that the filesystem is not already mounted with another label and, with
--helper, that util-linux mount(8) would not silently drop the label (it does
without /etc/selinux/config or a writable /sys/fs/selinux). After mounting it
reads /proc/self/mountinfo and checks that the mount carries the label; a mount
without it is undone.

The label is given whole (--label), as a level applied to the node's default
file label (--level, --node-defaults), or as a context= option in -o (the form
the kubelet hands to CSI drivers). A regular file as SOURCE is attached to a
loop device.

-o is the mount options, as for mount(8); the output format is --output (text,
json or yaml), which has no short form here. An option named like an output format
(-o json) is refused, since no filesystem has it and the result would not be what
was meant.

Exit status: 0 when mounted and verified, 1 when the mount succeeded but did not
carry the label (it was undone, unless --keep-on-verify-failure), 2 when it
could not be mounted.`,
		Example: `  selmount mount -t ext4 -o noatime --level s0:c1,c2 /dev/sdb /mnt/vol
  selmount mount -t tmpfs --label system_u:object_r:container_file_t:s0:c1,c2 tmpfs /mnt/tmp
  selmount mount -t nfs --helper -o hard,'context="system_u:object_r:container_file_t:s0:c3,c4"' server:/export /mnt/nfs --output json`,
		Args: operands("SOURCE", "TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0], args[1]) },
	}
	f := cmd.Flags()
	f.StringVarP(&o.fstype, "types", "t", "", "filesystem type (ext4, xfs, tmpfs, nfs, ...)")
	f.StringArrayVarP(&o.options, "options", "o", nil, "mount options, comma-separated and repeatable; quoted values keep their commas")
	f.StringVar(&o.label, "label", "", "the label to mount with, e.g. system_u:object_r:container_file_t:s0:c1,c2")
	f.StringVar(&o.level, "level", "", "the level to apply to the node's default file label, e.g. s0:c1,c2")
	f.StringVar(&o.nodeDefaults, "node-defaults", "fedora", "with --level: a profile (fedora, rhel, coreos, debian, ubuntu, ...) or the root directory of a node tree to read the default labels from")
	f.BoolVar(&o.helper, "helper", false, "mount through util-linux mount(8) (k8s.io/mount-utils), as CSI drivers do; needed for NFS and CIFS")
	f.BoolVar(&o.skipHostCheck, "skip-host-check", false, "do not check the host before mounting (the mount is still verified)")
	f.BoolVar(&o.keep, "keep-on-verify-failure", false, "leave a mount that failed verification in place")
	addOutputFlag(cmd, &o.output, "", formatText, formatJSON, formatYAML)
	return cmd
}

// refuseFormatOptions refuses a mount option that is an output format's name:
// `selmount mount -o json` is --output json mistyped, and no filesystem has
// an option by these names.
func refuseFormatOptions(opts []string) error {
	for _, opt := range opts {
		switch opt {
		case formatText, formatJSON, formatYAML, formatTable, formatWide:
			return fmt.Errorf("-o %s: -o is the mount options, as for mount(8); for the output format use --output %s", opt, opt)
		}
	}
	return nil
}

// MountResult is the document of `selmount mount --output json|yaml`.
type MountResult struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	ctxmount.Result
	Error string `json:"error,omitempty"`
	// Reason names the failure: SELinuxDisabled, ContextDropped,
	// InvalidLabel, SuperblockContext, UnknownOption, ContextMissing,
	// ContextMismatch, NotMounted, Conflict, Unsupported or Other.
	Reason string `json:"reason,omitempty"`
}

// reasons maps the errors callers branch on to the names JSON output uses.
var reasons = []struct {
	err  error
	name string
}{
	{ctxmount.ErrSELinuxDisabled, "SELinuxDisabled"},
	{ctxmount.ErrContextDropped, "ContextDropped"},
	{ctxmount.ErrInvalidLabel, "InvalidLabel"},
	{ctxmount.ErrSuperblockContext, "SuperblockContext"},
	{ctxmount.ErrUnknownOption, "UnknownOption"},
	{ctxmount.ErrContextMissing, "ContextMissing"},
	{ctxmount.ErrContextMismatch, "ContextMismatch"},
	{ctxmount.ErrNotMounted, "NotMounted"},
	{mountopt.ErrConflict, "Conflict"},
	{ctxmount.ErrUnsupported, "Unsupported"},
}

func reasonOf(err error) string {
	if err == nil {
		return ""
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "Other"
}

func (o *mountOptions) run(cmd *cobra.Command, source, target string) error {
	lbl, err := labelFlags(o.label, o.level, o.nodeDefaults)
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	var opts []string
	for _, s := range o.options {
		opts = append(opts, mountopt.Split(s)...)
	}
	if err := refuseFormatOptions(opts); err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	// Every SELinux option in -o is parsed here, so that a bad one is named
	// as the option the user typed.
	optLabel, err := mountopt.LabelOf(opts)
	if le := (*mountopt.LabelError)(nil); errors.As(err, &le) {
		err = &flagValueError{Flag: "-o", Value: le.Option, Err: le.Err, Verbatim: true}
	}
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	if lbl.IsZero() && optLabel.IsZero() {
		return &ExitCodeError{Code: ExitError, Err: errors.New("one of --label, --level or a context= option in -o is required")}
	}
	// SOURCE need not be a path (tmpfs, server:/export); TARGET must be.
	if err := checkTarget(target); err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	mopt := &ctxmount.Options{SkipHostCheck: o.skipHostCheck, KeepOnVerifyFailure: o.keep}
	if o.helper {
		// k8s.io/mount-utils logs failures through klog; the error we
		// return already carries mount(8)'s output.
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
		mopt.Mounter = ctxmount.NewHelperMounter()
	}
	res, err := ctxmount.Mount(cmd.Context(), ctxmount.Request{Source: source, Target: target, FSType: o.fstype, Options: opts, Label: lbl}, mopt)
	out := MountResult{APIVersion: apiversion.Current, Kind: "MountResult", Result: res, Reason: reasonOf(err)}
	if err != nil {
		out.Error = err.Error()
	}
	code := ExitOK
	switch {
	case errors.Is(err, ctxmount.ErrContextMissing) || errors.Is(err, ctxmount.ErrContextMismatch):
		code = ExitFindings
	case err != nil:
		code = ExitError
	}
	w := cmd.OutOrStdout()
	if o.output != formatText {
		if werr := writeOutput(w, o.output, out, nil); werr != nil {
			return werr
		}
		if code != ExitOK {
			return &ExitCodeError{Code: code}
		}
		return nil
	}
	if err != nil {
		return &ExitCodeError{Code: code, Err: err}
	}
	fmt.Fprintf(w, "mounted %s on %s (%s) with %s\n", res.Source, res.Target, res.Verification.FSType, res.Label.MountOption())
	fmt.Fprintf(w, "options: %s\n", mountopt.Join(res.Options))
	fmt.Fprintf(w, "verified: %s\n", res.Verification.Summary)
	return nil
}
