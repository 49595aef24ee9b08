package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/selmount/selmount/csitest"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountopt"
)

func init() { register(newCSITestCmd) }

type csiTestOptions struct {
	endpoint, controllerEndpoint string
	volumeHandles                []string
	volumeContext, params        []string
	secrets                      string
	stagingDir, targetDir        string
	labels                       []string
	mountOptions                 []string
	fsType                       string
	shared                       bool
	pluginRoot                   string
	pluginPID                    int
	timeout                      time.Duration
	output                       string
}

func newCSITestCmd() *cobra.Command {
	o := &csiTestOptions{}
	cmd := &cobra.Command{
		Use:   "csi-test --endpoint unix:///path/csi.sock (--controller-endpoint EP | --volume-handle ID...) [flags]",
		Short: "Check that a CSI driver keeps the seLinuxMount promise, in a real SELinux kernel",
		Long: `csi-test talks CSI gRPC to a driver as the kubelet of Kubernetes 1.37 does for a
CSIDriver with seLinuxMount: true: NodeStageVolume and NodePublishVolume get
mount_flags ending in context="<label>". It then checks, through
/proc/self/mountinfo and the security.selinux attribute of files, every rule of
docs/csi-test.md: the mounts carry the label; new and existing files read back
with it and were not relabeled one by one; two volumes carry two labels at once;
a volume published twice, published read-only, and staged again with another
label; volumes of one share (--shared) get their own superblocks; no label is
added when none was asked for; the node plugin's container has
/etc/selinux/config and a writable /sys/fs/selinux (--plugin-root or
--plugin-pid); nothing is left mounted.

Run it as root on an SELinux-enabled node, in the mount namespace the driver
mounts in. On a kernel without SELinux it says so and exits 2; use
hack/selinux-vm/csi-test.sh to run a driver in an SELinux-enforcing VM.

Volumes are created with --controller-endpoint (it may be the same socket) and
deleted afterwards, or named with --volume-handle (twice for the rules on two
volumes).

Exit status: 0 when every rule passed or was skipped, 1 when a rule failed, 2 on
bad flags, an unreachable driver, or a kernel without SELinux.`,
		Example: `  selmount csi-test --endpoint unix:///csi/csi.sock --controller-endpoint unix:///csi/csi.sock
  selmount csi-test --endpoint /csi/csi.sock --volume-handle vol-1 --volume-handle vol-2 --mount-options noatime -o junit > csi-test.xml
  selmount csi-test --endpoint /csi/csi.sock --controller-endpoint /csi/csi.sock --params server=nfs.example.com,share=/exports --shared --plugin-pid 4242`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.endpoint, "endpoint", "", "the node plugin's CSI socket (unix:///path or a path)")
	f.StringVar(&o.controllerEndpoint, "controller-endpoint", "", "the controller's CSI socket, to create and delete the test volumes (may equal --endpoint)")
	f.StringArrayVar(&o.volumeHandles, "volume-handle", nil, "a pre-created volume (repeat for a second one), when there is no --controller-endpoint")
	f.StringArrayVar(&o.volumeContext, "volume-context", nil, "k=v,... passed as the volume context of pre-created volumes")
	f.StringArrayVar(&o.params, "params", nil, "k=v,... CreateVolume parameters (the StorageClass's)")
	f.StringVar(&o.secrets, "secrets", "", "a YAML file of secrets per call, in csi-sanity's format (NodeStageVolumeSecret: {k: v}, ...)")
	f.StringVar(&o.stagingDir, "staging-dir", "", "where staging paths are created (default the temporary directory)")
	f.StringVar(&o.targetDir, "target-dir", "", "where target paths are created (default the temporary directory)")
	f.StringArrayVar(&o.labels, "label", nil, "the two labels the volumes get, --label L1 --label L2 (default container_file_t with s0:c1,c2 and s0:c3,c4)")
	f.StringArrayVar(&o.mountOptions, "mount-options", nil, "the PersistentVolume's mountOptions, comma-separated and repeatable: the kubelet puts them before context=")
	f.StringVar(&o.fsType, "fs-type", "", "VolumeCapability fs_type (the PV's csi.fsType; default: the driver's)")
	f.BoolVar(&o.shared, "shared", false, "volumes of one StorageClass come from one server or share (NFS, CIFS, ...): check that each gets its own superblock")
	f.StringVar(&o.pluginRoot, "plugin-root", "", "the node plugin container's root directory, to check /etc/selinux/config and /sys/fs/selinux there")
	f.IntVar(&o.pluginPID, "plugin-pid", 0, "the node plugin's process ID: like --plugin-root /proc/PID/root")
	f.DurationVar(&o.timeout, "timeout", time.Minute, "the limit of each CSI call")
	addOutputFlag(cmd, &o.output, "o", formatText, formatJSON, formatJUnit)
	return cmd
}

func (o *csiTestOptions) config() (csitest.Config, error) {
	cfg := csitest.Config{Endpoint: o.endpoint, ControllerEndpoint: o.controllerEndpoint, VolumeHandles: o.volumeHandles,
		StagingDir: o.stagingDir, TargetDir: o.targetDir, FSType: o.fsType, Shared: o.shared, Timeout: o.timeout,
		PluginRoot: o.pluginRoot}
	if o.endpoint == "" {
		return cfg, errors.New("--endpoint is required")
	}
	if o.controllerEndpoint != "" && len(o.volumeHandles) > 0 {
		return cfg, errors.New("--controller-endpoint and --volume-handle exclude each other")
	}
	if o.pluginPID != 0 {
		if o.pluginRoot != "" {
			return cfg, errors.New("--plugin-root and --plugin-pid exclude each other")
		}
		if o.pluginPID < 0 {
			return cfg, fmt.Errorf("--plugin-pid %d: want a process ID", o.pluginPID)
		}
		cfg.PluginRoot = csitest.PluginRoot(o.pluginPID)
	}
	var err error
	if cfg.VolumeContext, err = csitest.ParseKeyValues(strings.Join(o.volumeContext, ",")); err != nil {
		return cfg, fmt.Errorf("--volume-context: %w", err)
	}
	if cfg.Params, err = csitest.ParseKeyValues(strings.Join(o.params, ",")); err != nil {
		return cfg, fmt.Errorf("--params: %w", err)
	}
	if o.secrets != "" {
		if cfg.Secrets, err = csitest.LoadSecrets(o.secrets); err != nil {
			return cfg, fmt.Errorf("--secrets: %w", err)
		}
	}
	for _, s := range o.mountOptions {
		cfg.MountOptions = append(cfg.MountOptions, mountopt.Split(s)...)
	}
	if len(o.labels) > 0 {
		if len(o.labels) != 2 {
			return cfg, fmt.Errorf("--label: want two labels (--label L1 --label L2), got %d", len(o.labels))
		}
		for _, s := range o.labels {
			l, err := label.Parse(s)
			if err != nil {
				return cfg, fmt.Errorf("--label: %w", err)
			}
			cfg.Labels = append(cfg.Labels, l)
		}
	}
	return cfg, nil
}

func (o *csiTestOptions) run(cmd *cobra.Command) error {
	cfg, err := o.config()
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	rep, err := csitest.Run(cmd.Context(), cfg)
	if werr := csitest.Write(cmd.OutOrStdout(), rep, o.output); werr != nil {
		return &ExitCodeError{Code: ExitError, Err: werr}
	}
	switch {
	case err != nil:
		return &ExitCodeError{Code: ExitError, Err: err}
	case rep.Failed():
		_, f, _ := rep.Counts()
		return &ExitCodeError{Code: ExitFindings, Err: fmt.Errorf("%d of %d rules failed", f, len(rep.Results))}
	}
	return nil
}
