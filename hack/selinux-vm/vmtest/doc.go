// Package vmtest holds selmount's tests that need a real SELinux kernel:
// context mounts, the kernel's refusals, the relabeler under enforcing mode.
// See hack/selinux-vm/README.md.
package vmtest
