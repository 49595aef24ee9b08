package refdriver_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/selmount/selmount/csitest/refdriver"
	"github.com/selmount/selmount/ctxmount"
)

func capability(flags ...string) *csi.VolumeCapability {
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{MountFlags: flags}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
	}
}

// A NodeStageVolume retry with the same label succeeds; with another label
// it is refused instead of answered with the old mount.
func TestStageRetry(t *testing.T) {
	fm := ctxmount.NewFakeMounter()
	srv, err := refdriver.New(refdriver.Options{StateDir: t.TempDir(), Mode: refdriver.ModeShared, Mounter: fm, Helper: fm})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vol, err := srv.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: "a", Parameters: map[string]string{"share": "s1"}})
	if err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(t.TempDir(), "staging")
	stage := func(lbl string) error {
		_, err := srv.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: vol.GetVolume().GetVolumeId(), StagingTargetPath: staging,
			VolumeCapability: capability(`context="` + lbl + `"`), VolumeContext: vol.GetVolume().GetVolumeContext()})
		return err
	}
	l12, l34 := "system_u:object_r:container_file_t:s0:c1,c2", "system_u:object_r:container_file_t:s0:c3,c4"
	if err := stage(l12); err != nil {
		t.Fatal(err)
	}
	if err := stage(l12); err != nil {
		t.Errorf("retry with the same label: %v", err)
	}
	err = stage(l34)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "already mounted") {
		t.Errorf("retry with another label: %v", err)
	}
	if got := fm.MountPoints(); len(got) != 1 {
		t.Errorf("mounts %q", got)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, c := range []struct {
		opt  refdriver.Options
		want string
	}{
		{refdriver.Options{StateDir: t.TempDir(), Mode: "nfs"}, `mode "nfs"`},
		{refdriver.Options{StateDir: t.TempDir(), Broken: "sometimes"}, `broken variant "sometimes"`},
		{refdriver.Options{StateDir: t.TempDir(), Broken: refdriver.ShareSuperblock}, "needs mode shared"},
		{refdriver.Options{StateDir: "/nonexistent"}, "not a directory"},
	} {
		if _, err := refdriver.New(c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opt, err, c.want)
		}
	}
}
