//go:build linux && (mips || mipsle || mips64 || mips64le)

package xattr

// MIPS numbers its system calls from an ABI-specific base. The *xattrat calls
// are not wired up there: Probe always falls back.
const (
	sysSetxattrat = -1
	sysGetxattrat = -1
)
