package csitest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/label"
)

// Config says how to reach the driver and what to ask of it. The zero value
// of every field but Endpoint has a default.
type Config struct {
	// Endpoint is the node plugin's CSI socket: unix:///path/csi.sock, or a
	// plain path.
	Endpoint string
	// ControllerEndpoint, when set, is used to create (and delete) the
	// volumes; it may equal Endpoint.
	ControllerEndpoint string
	// VolumeHandles are pre-created volumes, used when ControllerEndpoint is
	// empty; the rules on two volumes need two.
	VolumeHandles []string
	// VolumeContext is passed with every pre-created volume.
	VolumeContext map[string]string
	// Params are the CreateVolume parameters (the StorageClass's).
	Params map[string]string
	// Secrets are the secrets of each call.
	Secrets Secrets
	// StagingDir and TargetDir are where Run creates its staging and target
	// paths, each in a fresh subdirectory; default os.TempDir().
	StagingDir, TargetDir string
	// Labels are the two labels the volumes get; default DefaultLabels.
	Labels []label.Context
	// MountOptions are the PersistentVolume's mountOptions: the kubelet puts
	// them before context=.
	MountOptions []string
	// FSType is VolumeCapability.Mount.fs_type (the PV's csi.fsType).
	FSType string
	// Shared declares that volumes created with the same parameters come
	// from one server or share (NFS, CIFS, ...): rule SEL-010 applies.
	Shared bool
	// PluginRoot is the node plugin's root directory (a container's rootfs
	// or /proc/PID/root) for rule SEL-012; "" skips the rule.
	PluginRoot string
	// Capacity is the size of created volumes in bytes; default 16 MiB.
	Capacity int64
	// Timeout bounds each gRPC call; default one minute.
	Timeout time.Duration
	// System observes the node; default LocalSystem.
	System System
}

// DefaultLabels are the labels volumes get unless Config.Labels says
// otherwise: container_file_t with two category pairs, as the container
// runtimes of Fedora and RHEL allocate them.
var DefaultLabels = []label.Context{
	label.MustParse("system_u:object_r:container_file_t:s0:c1,c2"),
	label.MustParse("system_u:object_r:container_file_t:s0:c3,c4"),
}

// Secrets are the secrets passed with each call, in the format of
// csi-sanity's --csi.secrets file.
type Secrets struct {
	CreateVolumeSecret      map[string]string `json:"CreateVolumeSecret,omitempty"`
	DeleteVolumeSecret      map[string]string `json:"DeleteVolumeSecret,omitempty"`
	NodeStageVolumeSecret   map[string]string `json:"NodeStageVolumeSecret,omitempty"`
	NodePublishVolumeSecret map[string]string `json:"NodePublishVolumeSecret,omitempty"`
}

// LoadSecrets reads a YAML or JSON secrets file in csi-sanity's format
// (a map per call), so that a driver's csi-sanity file works as it is.
// Keys csi-sanity knows but csi-test does not call (snapshots, controller
// publish, ...) are accepted and unused; any other key is refused, so that a
// typo does not silently send no secret.
func LoadSecrets(path string) (Secrets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secrets{}, err
	}
	var all map[string]map[string]string
	if err := yaml.UnmarshalStrict(b, &all); err != nil {
		return Secrets{}, fmt.Errorf("secrets file %s: %w", path, err)
	}
	var s Secrets
	for k, v := range all {
		switch k {
		case "CreateVolumeSecret":
			s.CreateVolumeSecret = v
		case "DeleteVolumeSecret":
			s.DeleteVolumeSecret = v
		case "NodeStageVolumeSecret":
			s.NodeStageVolumeSecret = v
		case "NodePublishVolumeSecret":
			s.NodePublishVolumeSecret = v
		case "ControllerPublishVolumeSecret", "ControllerUnpublishVolumeSecret", "ControllerValidateVolumeCapabilitiesSecret",
			"CreateSnapshotSecret", "DeleteSnapshotSecret", "ControllerExpandVolumeSecret", "ControllerModifyVolumeSecret",
			"ListSnapshotsSecret", "GetSnapshotSecret":
		default:
			return Secrets{}, fmt.Errorf("secrets file %s: unknown key %q (want csi-sanity's keys: CreateVolumeSecret, NodeStageVolumeSecret, ...)", path, k)
		}
	}
	return s, nil
}

// ParseKeyValues parses "k=v,k2=v2" (repeatable flags are joined with
// commas first). A value may not contain a comma; an empty string gives an
// empty map.
func ParseKeyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", kv)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%q: key %s given twice", kv, k)
		}
		out[k] = v
	}
	return out, nil
}

func (c *Config) defaults() error {
	if c.Endpoint == "" {
		return errors.New("no endpoint: give the node plugin's CSI socket (unix:///path/csi.sock)")
	}
	if len(c.Labels) == 0 {
		c.Labels = DefaultLabels
	}
	if len(c.Labels) != 2 {
		return fmt.Errorf("want two labels, got %d", len(c.Labels))
	}
	if c.Labels[0].IsZero() || c.Labels[1].IsZero() || c.Labels[0].Compare(c.Labels[1]) == 0 {
		return fmt.Errorf("want two different labels, got %q and %q", c.Labels[0], c.Labels[1])
	}
	if c.ControllerEndpoint == "" && len(c.VolumeHandles) == 0 {
		return errors.New("no volume to test: give --controller-endpoint (to create volumes) or --volume-handle (pre-created volumes)")
	}
	if len(c.VolumeHandles) > 2 {
		return fmt.Errorf("at most two volume handles, got %d", len(c.VolumeHandles))
	}
	for _, o := range c.MountOptions {
		if strings.HasPrefix(strings.TrimSpace(o), "context=") {
			return fmt.Errorf("mount option %q: the labels come from --label, not from the mount options", o)
		}
	}
	if c.StagingDir == "" {
		c.StagingDir = os.TempDir()
	}
	if c.TargetDir == "" {
		c.TargetDir = os.TempDir()
	}
	if c.Capacity <= 0 {
		c.Capacity = 16 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	if c.System == nil {
		c.System = LocalSystem{}
	}
	return nil
}
