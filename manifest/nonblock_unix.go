//go:build unix

package manifest

import "syscall"

// oNonBlock opens a FIFO without waiting for a writer.
const oNonBlock = syscall.O_NONBLOCK
