//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package xattr

// System call numbers of setxattrat and getxattrat (Linux 6.13), the same
// on every architecture that uses the unified system call table.
const (
	sysSetxattrat = 463
	sysGetxattrat = 464
)
