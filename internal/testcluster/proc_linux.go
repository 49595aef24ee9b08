package testcluster

import "syscall"

// sysProcAttr puts a child in its own process group, so a Ctrl-C in the
// terminal does not hit it before the ordered shutdown, and makes the kernel
// kill it if the test binary dies without running its cleanups (a panic, a
// -timeout, SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
