// Package refdriver is a small CSI driver that keeps the seLinuxMount
// promise with ctxmount, as docs/csi-driver-example.md describes, and a set
// of broken variants of it that each break the promise the way real drivers
// have. It is the reference that `selmount csi-test` is tested against in
// the SELinux-enforcing VM; it is not meant for production.
//
// Volumes come in two modes:
//
//   - ModeExt4: each volume is an ext4 image file (a copy of a template
//     image, or made with mkfs.ext4) under the state directory; NodeStage
//     mounts it through a loop device with the kubelet's mount_flags,
//     context= included; NodePublish bind-mounts the staging path.
//   - ModeShared: volumes of one share (the "share" parameter) stand in for
//     directories of one NFS export. Mounted correctly, each volume gets its
//     own superblock (a tmpfs per NodeStage, which is what nosharecache
//     gives NFS); its content does not survive NodeUnstage.
//
// One Server implements the Identity, Controller and Node services.
package refdriver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/mountopt"
)

// Name is the driver name GetPluginInfo reports.
const Name = "ref.csi.selmount.io"

// Mode is the kind of volume the driver serves.
type Mode string

const (
	ModeExt4   Mode = "ext4"
	ModeShared Mode = "shared"
)

// Broken selects a way of breaking the seLinuxMount promise.
type Broken string

const (
	// NotBroken keeps the promise.
	NotBroken Broken = ""
	// DropContext removes context= from mount_flags before mounting (as
	// drivers that filter "unknown" options do).
	DropContext Broken = "drop-context"
	// UtilLinuxWithoutConfig mounts through util-linux mount(8) with no
	// check, as most drivers do; without /etc/selinux/config in its mount
	// namespace, mount(8) drops context= and the mount succeeds unlabeled.
	UtilLinuxWithoutConfig Broken = "util-linux"
	// IgnoreFlags ignores VolumeCapability.Mount.mount_flags altogether.
	IgnoreFlags Broken = "ignore-flags"
	// ShareSuperblock (ModeShared) mounts one filesystem per share and
	// bind-mounts each volume's directory from it, as NFS does without
	// nosharecache: every volume of the share shows the first label.
	ShareSuperblock Broken = "share-superblock"
)

// BrokenVariants lists every broken variant.
var BrokenVariants = []Broken{DropContext, UtilLinuxWithoutConfig, IgnoreFlags, ShareSuperblock}

// Options configure a Server.
type Options struct {
	// StateDir holds the volume images and the shares; it must exist.
	StateDir string
	Mode     Mode
	Broken   Broken
	// Template is an empty ext4 image copied for each new volume
	// (ModeExt4); "" runs mkfs.ext4 instead.
	Template string
	// Mounter mounts; nil means ctxmount.SyscallMounter (mount(2)).
	Mounter ctxmount.Mounter
	// Helper is the util-linux mounter of the UtilLinuxWithoutConfig
	// variant; nil means ctxmount.NewHelperMounter().
	Helper ctxmount.Mounter
	// Version is reported by GetPluginInfo.
	Version string
}

// Server is the driver.
type Server struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	opt Options
	mu  sync.Mutex // one volume operation at a time
	// shareUsers maps, for the ShareSuperblock variant, each mounted
	// share's directory to the staging paths bound from it: the share is
	// unmounted with its last volume, as a superblock lives only while
	// mounted.
	shareUsers map[string]map[string]bool
}

// New returns a driver; it checks the options.
func New(opt Options) (*Server, error) {
	if opt.Mode == "" {
		opt.Mode = ModeExt4
	}
	if opt.Mode != ModeExt4 && opt.Mode != ModeShared {
		return nil, fmt.Errorf("mode %q: want %s or %s", opt.Mode, ModeExt4, ModeShared)
	}
	if opt.Broken != NotBroken && !slices.Contains(BrokenVariants, opt.Broken) {
		return nil, fmt.Errorf("broken variant %q: want one of %s", opt.Broken, joinBroken())
	}
	if opt.Broken == ShareSuperblock && opt.Mode != ModeShared {
		return nil, fmt.Errorf("broken variant %s needs mode %s", ShareSuperblock, ModeShared)
	}
	if st, err := os.Stat(opt.StateDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("state directory %q: not a directory", opt.StateDir)
	}
	if opt.Mounter == nil {
		opt.Mounter = &ctxmount.SyscallMounter{}
	}
	if opt.Helper == nil {
		opt.Helper = ctxmount.NewHelperMounter()
	}
	if opt.Version == "" {
		opt.Version = "0.1.0"
	}
	for _, d := range []string{"volumes", "shares"} {
		if err := os.MkdirAll(filepath.Join(opt.StateDir, d), 0o750); err != nil {
			return nil, err
		}
	}
	return &Server{opt: opt}, nil
}

func joinBroken() string {
	var s []string
	for _, b := range BrokenVariants {
		s = append(s, string(b))
	}
	return strings.Join(s, ", ")
}

// GetPluginInfo implements csi.IdentityServer.
func (s *Server) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: Name, VendorVersion: s.opt.Version}, nil
}

// GetPluginCapabilities implements csi.IdentityServer.
func (s *Server) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}},
	}}}, nil
}

// Probe implements csi.IdentityServer.
func (s *Server) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// ControllerGetCapabilities implements csi.ControllerServer.
func (s *Server) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{{
		Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME}},
	}}}, nil
}

// volume IDs are "ext4-<hex>" or "shared-<share>-<hex>".
func (s *Server) imagePath(id string) string {
	return filepath.Join(s.opt.StateDir, "volumes", id+".img")
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// CreateVolume implements csi.ControllerServer. The parameter "share"
// (ModeShared) names the share the volume belongs to; default "default".
func (s *Server) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "CreateVolume: no name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	size := req.GetCapacityRange().GetRequiredBytes()
	if size <= 0 {
		size = 16 << 20
	}
	if s.opt.Mode == ModeShared {
		share := req.GetParameters()["share"]
		if share == "" {
			share = "default"
		}
		if !validID(share) {
			return nil, status.Errorf(codes.InvalidArgument, "parameter share=%q: want lower-case letters, digits and dashes", share)
		}
		id := "shared-" + share + "-" + hex.EncodeToString(b)
		return &csi.CreateVolumeResponse{Volume: &csi.Volume{VolumeId: id, CapacityBytes: size,
			VolumeContext: map[string]string{"share": share}}}, nil
	}
	id := "ext4-" + hex.EncodeToString(b)
	if err := s.makeImage(ctx, s.imagePath(id), size); err != nil {
		return nil, status.Errorf(codes.Internal, "creating the image of %s: %v", req.GetName(), err)
	}
	return &csi.CreateVolumeResponse{Volume: &csi.Volume{VolumeId: id, CapacityBytes: size}}, nil
}

func (s *Server) makeImage(ctx context.Context, path string, size int64) error {
	if s.opt.Template != "" {
		return copyFile(s.opt.Template, path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	if out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", path).CombinedOutput(); err != nil {
		os.Remove(path)
		return fmt.Errorf("mkfs.ext4: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// DeleteVolume implements csi.ControllerServer.
func (s *Server) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if !validID(id) {
		return nil, status.Errorf(codes.InvalidArgument, "volume ID %q is not one of this driver's", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(id, "ext4-") {
		if err := os.Remove(s.imagePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// NodeGetCapabilities implements csi.NodeServer.
func (s *Server) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{{
		Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}},
	}}}, nil
}

// NodeGetInfo implements csi.NodeServer.
func (s *Server) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return &csi.NodeGetInfoResponse{NodeId: host}, nil
}

// flags returns the mount flags the variant passes on.
func (s *Server) flags(m *csi.VolumeCapability_MountVolume) []string {
	switch s.opt.Broken {
	case IgnoreFlags:
		return nil
	case DropContext:
		var out []string
		for _, f := range m.GetMountFlags() {
			if k, _, _ := mountopt.KeyValue(f); !mountopt.IsSELinuxKey(k) {
				out = append(out, f)
			}
		}
		return out
	}
	return slices.Clone(m.GetMountFlags())
}

func (s *Server) mountOpts() *ctxmount.Options { return &ctxmount.Options{Mounter: s.opt.Mounter} }

// mount mounts through ctxmount (verified), or, for the util-linux variant,
// straight through mount(8) as a driver without ctxmount does.
func (s *Server) mount(ctx context.Context, req ctxmount.Request) error {
	if s.opt.Broken == UtilLinuxWithoutConfig {
		if err := s.opt.Helper.MountSensitive(req.Source, req.Target, req.FSType, req.Options, nil); err != nil {
			return status.Errorf(codes.Internal, "mount %s on %s: %v", req.Source, req.Target, err)
		}
		return nil
	}
	if _, err := ctxmount.Mount(ctx, req, s.mountOpts()); err != nil {
		return status.Error(code(err), err.Error())
	}
	return nil
}

// code maps ctxmount's errors to CSI status codes.
func code(err error) codes.Code {
	switch {
	case errors.Is(err, ctxmount.ErrInvalidLabel), errors.Is(err, mountopt.ErrConflict), errors.Is(err, ctxmount.ErrUnknownOption):
		return codes.InvalidArgument
	case errors.Is(err, ctxmount.ErrSELinuxDisabled), errors.Is(err, ctxmount.ErrContextDropped), errors.Is(err, ctxmount.ErrSuperblockContext):
		return codes.FailedPrecondition
	}
	return codes.Internal
}

func (s *Server) isMounted(path string) bool {
	mounts, err := ctxmount.MountTable(s.mountOpts())
	if err != nil {
		return false
	}
	_, ok := mountinfo.Lookup(mounts, filepath.Clean(path))
	return ok
}

// verifyRetry checks that an existing mount at path carries the label in
// flags (if any), so that a retry with another label is refused instead of
// answered with the old mount.
func (s *Server) verifyRetry(path string, flags []string) error {
	want, err := mountopt.LabelOf(flags)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if want.IsZero() {
		return nil
	}
	if _, err := ctxmount.Verify(path, want, s.mountOpts()); err != nil {
		return status.Errorf(codes.FailedPrecondition, "%s is already mounted: %v", path, err)
	}
	return nil
}

// NodeStageVolume implements csi.NodeServer.
func (s *Server) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	id, staging := req.GetVolumeId(), req.GetStagingTargetPath()
	if !validID(id) || staging == "" {
		return nil, status.Errorf(codes.InvalidArgument, "NodeStageVolume: volume ID %q and staging path %q are required", id, staging)
	}
	m := req.GetVolumeCapability().GetMount()
	if m == nil {
		return nil, status.Error(codes.InvalidArgument, "NodeStageVolume: only mount volumes are supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isMounted(staging) {
		// A retry: fine if the mount carries what this call asks for.
		return &csi.NodeStageVolumeResponse{}, s.verifyRetry(staging, s.flags(m))
	}
	if err := os.MkdirAll(staging, 0o750); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	flags := s.flags(m)
	switch {
	case strings.HasPrefix(id, "ext4-"):
		fstype := m.GetFsType()
		if fstype == "" {
			fstype = "ext4"
		}
		img := s.imagePath(id)
		if _, err := os.Stat(img); err != nil {
			return nil, status.Errorf(codes.NotFound, "volume %s: %v", id, err)
		}
		return &csi.NodeStageVolumeResponse{}, s.mount(ctx, ctxmount.Request{Source: img, Target: staging, FSType: fstype, Options: flags})
	case strings.HasPrefix(id, "shared-"):
		if s.opt.Broken == ShareSuperblock {
			return &csi.NodeStageVolumeResponse{}, s.stageFromShare(ctx, id, req.GetVolumeContext()["share"], staging, flags)
		}
		// A superblock of its own, as NFS gives with nosharecache.
		return &csi.NodeStageVolumeResponse{}, s.mount(ctx, ctxmount.Request{Source: "share-" + req.GetVolumeContext()["share"], Target: staging, FSType: "tmpfs", Options: flags})
	}
	return nil, status.Errorf(codes.NotFound, "volume %s is not one of this driver's", id)
}

// stageFromShare is the broken shared mode: the share is mounted once (with
// the flags of the first volume staged) and volumes are its directories.
func (s *Server) stageFromShare(ctx context.Context, id, share, staging string, flags []string) error {
	if !validID(share) {
		return status.Errorf(codes.InvalidArgument, "volume context share=%q is not valid", share)
	}
	dir := filepath.Join(s.opt.StateDir, "shares", share)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if !s.isMounted(dir) {
		if err := s.mount(ctx, ctxmount.Request{Source: "share-" + share, Target: dir, FSType: "tmpfs", Options: flags}); err != nil {
			return err
		}
	}
	sub := filepath.Join(dir, id)
	if err := os.MkdirAll(sub, 0o750); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	if err := s.opt.Mounter.MountSensitive(sub, staging, "", []string{"bind"}, nil); err != nil {
		return status.Errorf(codes.Internal, "bind %s on %s: %v", sub, staging, err)
	}
	if s.shareUsers == nil {
		s.shareUsers = map[string]map[string]bool{}
	}
	if s.shareUsers[dir] == nil {
		s.shareUsers[dir] = map[string]bool{}
	}
	s.shareUsers[dir][filepath.Clean(staging)] = true
	return nil
}

// NodeUnstageVolume implements csi.NodeServer.
func (s *Server) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	staging := req.GetStagingTargetPath()
	if staging == "" {
		return nil, status.Error(codes.InvalidArgument, "NodeUnstageVolume: no staging path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unmountAll(staging); err != nil {
		return nil, err
	}
	for dir, users := range s.shareUsers {
		if !users[filepath.Clean(staging)] {
			continue
		}
		delete(users, filepath.Clean(staging))
		if len(users) == 0 {
			delete(s.shareUsers, dir)
			if err := s.unmountAll(dir); err != nil {
				return nil, err
			}
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

// unmountAll unmounts every mount stacked at path.
func (s *Server) unmountAll(path string) error {
	for i := 0; i < 16 && s.isMounted(path); i++ {
		if err := ctxmount.Unmount(path, s.mountOpts()); err != nil {
			return status.Errorf(codes.Internal, "unmount %s: %v", path, err)
		}
	}
	if s.isMounted(path) {
		return status.Errorf(codes.Internal, "%s is still mounted after 16 unmounts", path)
	}
	return nil
}

// NodePublishVolume implements csi.NodeServer: a bind mount of the staging
// path, which shows the staging mount's label.
func (s *Server) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	staging, target := req.GetStagingTargetPath(), req.GetTargetPath()
	if staging == "" || target == "" {
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume: staging and target paths are required")
	}
	m := req.GetVolumeCapability().GetMount()
	if m == nil {
		return nil, status.Error(codes.InvalidArgument, "NodePublishVolume: only mount volumes are supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isMounted(target) {
		return &csi.NodePublishVolumeResponse{}, s.verifyRetry(target, s.flags(m))
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	opts := append([]string{"bind"}, s.flags(m)...)
	if req.GetReadonly() {
		opts = append(opts, "ro")
	}
	if s.opt.Broken == UtilLinuxWithoutConfig {
		// A driver without ctxmount binds with its own options.
		opts = []string{"bind"}
		if req.GetReadonly() {
			opts = append(opts, "ro")
		}
	}
	if err := s.mount(ctx, ctxmount.Request{Source: staging, Target: target, Options: opts}); err != nil {
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume implements csi.NodeServer.
func (s *Server) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	target := req.GetTargetPath()
	if target == "" {
		return nil, status.Error(codes.InvalidArgument, "NodeUnpublishVolume: no target path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unmountAll(target); err != nil {
		return nil, err
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}
