package csitestmock

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/driver"
	"go.uber.org/mock/gomock"

	"github.com/selmount/selmount/csitest"
	"github.com/selmount/selmount/ctxmount"
)

// enabledHost is the real node, except that it reports SELinux enabled: the
// mock mounts nothing, so the rules run (and fail) without an SELinux
// kernel.
type enabledHost struct{ csitest.LocalSystem }

func (enabledHost) Host() (ctxmount.Host, error) {
	return ctxmount.Host{SELinuxEnabled: true, Enforcing: true, Selinuxfs: "/sys/fs/selinux", ConfigPresent: true}, nil
}

// calls records the requests the mock received.
type calls struct {
	mu      sync.Mutex
	stage   []*csi.NodeStageVolumeRequest
	publish []*csi.NodePublishVolumeRequest
	created []string
	deleted []string
}

// startMock serves csi-test's gomock driver as a driver that claims
// STAGE_UNSTAGE_VOLUME and CREATE_DELETE_VOLUME and succeeds at everything
// without mounting.
func startMock(t *testing.T) (string, *calls) {
	return startMockStaging(t, true)
}

// startMockStaging is startMock; without stage the node advertises no
// capability, so csi-test must call NodePublishVolume only.
func startMockStaging(t *testing.T, stage bool) (string, *calls) {
	t.Helper()
	ctrl := gomock.NewController(t)
	id := driver.NewMockIdentityServer(ctrl)
	cs := driver.NewMockControllerServer(ctrl)
	ns := driver.NewMockNodeServer(ctrl)
	rec := &calls{}
	id.EXPECT().GetPluginInfo(gomock.Any(), gomock.Any()).Return(&csi.GetPluginInfoResponse{Name: "mock.csi-test.k8s.io", VendorVersion: "v5"}, nil).AnyTimes()
	nodeCaps := &csi.NodeGetCapabilitiesResponse{}
	if stage {
		nodeCaps.Capabilities = []*csi.NodeServiceCapability{{
			Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}}}}
	}
	ns.EXPECT().NodeGetCapabilities(gomock.Any(), gomock.Any()).Return(nodeCaps, nil).AnyTimes()
	cs.EXPECT().ControllerGetCapabilities(gomock.Any(), gomock.Any()).Return(&csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{{
		Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME}}}}}, nil).AnyTimes()
	cs.EXPECT().CreateVolume(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, r *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.created = append(rec.created, r.GetName())
		return &csi.CreateVolumeResponse{Volume: &csi.Volume{VolumeId: "mock-" + r.GetName(), CapacityBytes: r.GetCapacityRange().GetRequiredBytes()}}, nil
	}).AnyTimes()
	cs.EXPECT().DeleteVolume(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, r *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.deleted = append(rec.deleted, r.GetVolumeId())
		return &csi.DeleteVolumeResponse{}, nil
	}).AnyTimes()
	ns.EXPECT().NodeStageVolume(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, r *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.stage = append(rec.stage, r)
		return &csi.NodeStageVolumeResponse{}, nil
	}).AnyTimes()
	ns.EXPECT().NodePublishVolume(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, r *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.publish = append(rec.publish, r)
		return &csi.NodePublishVolumeResponse{}, nil
	}).AnyTimes()
	ns.EXPECT().NodeUnpublishVolume(gomock.Any(), gomock.Any()).Return(&csi.NodeUnpublishVolumeResponse{}, nil).AnyTimes()
	ns.EXPECT().NodeUnstageVolume(gomock.Any(), gomock.Any()).Return(&csi.NodeUnstageVolumeResponse{}, nil).AnyTimes()

	d := driver.NewMockCSIDriver(&driver.MockCSIDriverServers{Identity: id, Controller: cs, Node: ns})
	dir, err := os.MkdirTemp("", "csi")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "csi.sock")
	if err := d.StartOnAddress("unix", sock); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Stop()
		os.RemoveAll(dir)
	})
	return "unix://" + sock, rec
}

func TestCSITestOfTheMockDriver(t *testing.T) {
	ep, rec := startMock(t)
	staging, target := t.TempDir(), t.TempDir()
	rep, err := csitest.Run(context.Background(), csitest.Config{Endpoint: ep, ControllerEndpoint: ep,
		StagingDir: staging, TargetDir: target, MountOptions: []string{"noatime"}, System: enabledHost{}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	csitest.WriteText(&b, rep)
	t.Log("\n" + b.String())

	// What holds and what does not: the mock claims success and mounts
	// nothing, so the first rule that looks for a mount fails, the rules
	// built on the context mount are skipped, and nothing is left mounted.
	want := map[string]csitest.Status{"SEL-001": csitest.Pass, "SEL-002": csitest.Fail, "SEL-003": csitest.Skip,
		"SEL-004": csitest.Skip, "SEL-005": csitest.Skip, "SEL-006": csitest.Skip, "SEL-007": csitest.Skip,
		"SEL-008": csitest.Skip, "SEL-009": csitest.Skip, "SEL-010": csitest.Skip, "SEL-011": csitest.Fail,
		"SEL-012": csitest.Skip, "SEL-013": csitest.Pass}
	for _, res := range rep.Results {
		if res.Status != want[res.ID] {
			t.Errorf("%s: %s %q, want %s", res.ID, res.Status, res.Reason, want[res.ID])
		}
	}
	for id, text := range map[string]string{
		"SEL-002": "is not a mount point after the call succeeded",
		"SEL-011": "is not a mount point after the call succeeded",
		"SEL-003": "needs the context mount of SEL-002",
	} {
		if res, _ := rep.Result(id); !strings.HasPrefix(res.Reason, id+" ") || !strings.Contains(res.Reason, text) {
			t.Errorf("%s: reason %q, want %q", id, res.Reason, text)
		}
	}
	if rep.Driver.Name != "mock.csi-test.k8s.io" || !rep.Failed() {
		t.Errorf("driver %+v, failed %t", rep.Driver, rep.Failed())
	}

	// The driver was called as the kubelet calls it: the same flags in
	// NodeStage and NodePublish, the PV's options first, context= quoted
	// and last; none at all for the first, unlabeled mount.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.stage) != 2 || len(rec.publish) != 2 {
		t.Fatalf("%d NodeStage, %d NodePublish calls", len(rec.stage), len(rec.publish))
	}
	flags := func(c *csi.VolumeCapability) []string { return c.GetMount().GetMountFlags() }
	if got := flags(rec.stage[0].GetVolumeCapability()); !slices.Equal(got, []string{"noatime"}) {
		t.Errorf("unlabeled NodeStage flags %q", got)
	}
	ctx := `context="system_u:object_r:container_file_t:s0:c1,c2"`
	for _, got := range [][]string{flags(rec.stage[1].GetVolumeCapability()), flags(rec.publish[1].GetVolumeCapability())} {
		if !slices.Equal(got, []string{"noatime", ctx}) {
			t.Errorf("labeled flags %q, want [noatime %s]", got, ctx)
		}
	}
	if rec.publish[1].GetStagingTargetPath() != rec.stage[1].GetStagingTargetPath() || rec.publish[1].GetStagingTargetPath() == "" {
		t.Errorf("NodePublish staging path %q, NodeStage %q", rec.publish[1].GetStagingTargetPath(), rec.stage[1].GetStagingTargetPath())
	}
	if len(rec.created) != 2 || len(rec.deleted) != 2 {
		t.Errorf("created %q, deleted %q", rec.created, rec.deleted)
	}
	// csi-test removed what it created.
	for _, d := range []string{staging, target} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s not cleaned: %v", d, ents)
		}
	}
}

// A driver without STAGE_UNSTAGE_VOLUME gets NodePublishVolume only, with
// context= in its flags and no staging path, as the kubelet calls it.
func TestCSITestOfTheMockDriverWithoutStaging(t *testing.T) {
	ep, rec := startMockStaging(t, false)
	rep, err := csitest.Run(context.Background(), csitest.Config{Endpoint: ep, ControllerEndpoint: ep,
		StagingDir: t.TempDir(), TargetDir: t.TempDir(), System: enabledHost{}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := rep.Result("SEL-001")
	if res.Status != csitest.Pass || !strings.Contains(strings.Join(res.Details, "\n"), "no STAGE_UNSTAGE_VOLUME") {
		t.Errorf("SEL-001: %s %q %q", res.Status, res.Reason, res.Details)
	}
	if res, _ := rep.Result("SEL-002"); res.Status != csitest.Fail || !strings.Contains(res.Reason, "target ") {
		t.Errorf("SEL-002: %s %q (want the target named: nothing is staged)", res.Status, res.Reason)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.stage) != 0 || len(rec.publish) != 2 {
		t.Fatalf("%d NodeStage, %d NodePublish calls", len(rec.stage), len(rec.publish))
	}
	p := rec.publish[1]
	if p.GetStagingTargetPath() != "" || !slices.Equal(p.GetVolumeCapability().GetMount().GetMountFlags(), []string{`context="system_u:object_r:container_file_t:s0:c1,c2"`}) {
		t.Errorf("NodePublish staging %q flags %q", p.GetStagingTargetPath(), p.GetVolumeCapability().GetMount().GetMountFlags())
	}
}
