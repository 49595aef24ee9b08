//go:build !linux

package testcluster

import "syscall"

// sysProcAttr has nothing to add outside Linux: the control-plane binaries
// are only built for Linux, and Start skips when they are missing.
func sysProcAttr() *syscall.SysProcAttr { return nil }
