// Package ctxmount mounts a volume with -o context="<label>" and checks that
// the mount really carries the label, as KEP-1710 intended and the kubelet
// never did.
//
// A context mount labels every file of a filesystem at once: the kernel
// shows the label for every inode of the superblock without writing
// anything, so the time does not grow with the number of files. It has
// conditions, and each of them fails in a way users have found hard to see:
//
//   - SELinux must be enabled on the host. On a host without it the kernel
//     rejects context= as an unknown parameter.
//   - util-linux mount(8), the helper that k8s.io/mount-utils runs, silently
//     drops every SELinux option unless /etc/selinux/config exists and a
//     writable selinuxfs is mounted at /sys/fs/selinux: the mount succeeds
//     without a label. This is the usual state inside a CSI node plugin
//     container that lacks the two hostPath volumes.
//   - context= applies only on the first mount of a superblock. A second
//     mount of the same device with another (or no) label fails with EINVAL,
//     and bind mounts inherit the label of their source.
//   - The kernel rejects a label its policy does not define with EINVAL, the
//     same error as for an unknown option.
//
// Mount checks the first two before mounting, tells the EINVAL cases apart
// afterwards (by looking for another mount of the superblock, by asking the
// policy whether the label is valid, and by replaying the options through
// fsopen/fsconfig, which names the option the filesystem refuses), and
// verifies every mount in /proc/self/mountinfo. Errors are *MountError values
// that match one of the Err* sentinels with errors.Is.
//
// Two mounters come with the package: SyscallMounter calls mount(2) itself
// (and attaches a loop device for a regular file), and NewHelperMounter
// returns k8s.io/mount-utils' mounter, which runs mount(8) and so supports
// every filesystem helper (mount.nfs, mount.cifs, ...). FakeMounter simulates
// the kernel's rules in memory for other packages' unit tests. Any
// k8s.io/mount-utils Interface can be passed as a Mounter, so a CSI driver
// keeps the mounter it has.
//
// The package never prints. Linux only: on other systems every function
// returns ErrUnsupported, except FakeMounter and the pure VerifyMounts.
package ctxmount
