//go:build linux

package ctxmount

import mountutils "k8s.io/mount-utils"

// NewHelperMounter returns k8s.io/mount-utils' mounter, which runs
// util-linux mount(8) (through systemd-run when systemd is there) and so
// supports every filesystem helper, NFS and CIFS included. mount(8) drops
// context= when /etc/selinux/config or a writable selinuxfs is missing;
// Mount checks both before mounting and verifies afterwards.
//
// k8s.io/mount-utils logs failed mounts through k8s.io/klog; programs that
// must stay silent configure klog.
func NewHelperMounter() Mounter { return mountutils.New("") }
