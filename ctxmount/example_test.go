package ctxmount_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountopt"
)

// A CSI node plugin mounts what the kubelet asks for in NodeStageVolume and
// NodePublishVolume. The kubelet puts context="<label>" last in mount_flags
// when it wants a context mount; ctxmount.Mount takes the label from there,
// adds what the filesystem needs, mounts through the driver's own mounter and
// verifies the result. The example runs on the FakeMounter; a driver passes
// its k8s.io/mount-utils mounter instead.
func Example_csiDriver() {
	ctx := context.Background()
	mounter := ctxmount.NewFakeMounter() // a driver: mount.New("")
	opt := &ctxmount.Options{Mounter: mounter}

	// req.GetVolumeCapability().GetMount().GetMountFlags() and GetFsType():
	flags := []string{"noatime", `context="system_u:object_r:container_file_t:s0:c1,c2"`}
	fsType := "ext4"

	// NodeStageVolume: mount the device on the staging path.
	staging := "/var/lib/kubelet/plugins/kubernetes.io/csi/example.csi.io/abc/globalmount"
	res, err := ctxmount.Mount(ctx, ctxmount.Request{Source: "/dev/nvme1n1", Target: staging, FSType: fsType, Options: flags}, opt)
	if err != nil {
		fmt.Println("NodeStage:", err) // return status.Error(grpcCode(err), err.Error())
		return
	}
	fmt.Println("stage options:", mountopt.Join(res.Options))
	fmt.Println("stage:", res.Verification.Summary)

	// NodePublishVolume: bind the staging path into the pod. The same flags
	// come again; the bind mount shows the staging mount's label, which
	// Mount verifies.
	target := "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~csi/pvc-1/mount"
	res, err = ctxmount.Mount(ctx, ctxmount.Request{Source: staging, Target: target, Options: append([]string{"bind"}, flags...)}, opt)
	if err != nil {
		fmt.Println("NodePublish:", err)
		return
	}
	fmt.Println("publish options:", mountopt.Join(res.Options))
	fmt.Println("publish: runtime relabel:", res.Verification.RuntimeRelabel)

	// Another volume of the same device with another label is refused with
	// a reason the driver can return to the kubelet.
	flags2 := []string{`context="system_u:object_r:container_file_t:s0:c8,c9"`}
	_, err = ctxmount.Mount(ctx, ctxmount.Request{Source: "/dev/nvme1n1", Target: "/other", FSType: fsType, Options: flags2}, opt)
	fmt.Println("superblock conflict:", errors.Is(err, ctxmount.ErrSuperblockContext))

	// Output:
	// stage options: noatime,context="system_u:object_r:container_file_t:s0:c1,c2"
	// stage: mounted with context=system_u:object_r:container_file_t:s0:c1,c2 as expected: every file shows the label, nothing to relabel
	// publish options: bind,noatime
	// publish: runtime relabel: false
	// superblock conflict: true
}

// grpcCode shows how a driver can map ctxmount's errors to CSI status codes.
func grpcCode(err error) string {
	switch {
	case errors.Is(err, ctxmount.ErrInvalidLabel), errors.Is(err, mountopt.ErrConflict), errors.Is(err, ctxmount.ErrUnknownOption):
		return "InvalidArgument"
	case errors.Is(err, ctxmount.ErrSELinuxDisabled), errors.Is(err, ctxmount.ErrContextDropped), errors.Is(err, ctxmount.ErrSuperblockContext):
		return "FailedPrecondition"
	default:
		return "Internal"
	}
}

func Example_errorCodes() {
	f := ctxmount.NewFakeMounter()
	f.Helper, f.Host.ConfigPresent = true, false // a node plugin without the /etc/selinux/config hostPath
	_, err := ctxmount.Mount(context.Background(), ctxmount.Request{Source: "/dev/sdb", Target: "/mnt", FSType: "ext4",
		Options: []string{`context="system_u:object_r:container_file_t:s0:c1,c2"`}}, &ctxmount.Options{Mounter: f})
	fmt.Println(grpcCode(err))
	fmt.Println(err)
	// Output:
	// FailedPrecondition
	// mount /dev/sdb on /mnt (type ext4, options context="system_u:object_r:container_file_t:s0:c1,c2"): util-linux mount would silently drop the context= option: /etc/selinux/config does not exist in this mount namespace; util-linux mount(8) drops context= without it (mount it from the host, e.g. a hostPath volume /etc/selinux/config)
}
