//go:build linux

package mountinfo

import (
	"bufio"
	"os"
	"strconv"
)

// ReadSelf parses /proc/self/mountinfo: the mount table of the calling
// process's mount namespace, as seen from its root.
func ReadSelf() ([]Mount, error) { return readFile("/proc/self/mountinfo") }

// ReadPID parses /proc/<pid>/mountinfo.
func ReadPID(pid int) ([]Mount, error) {
	return readFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
}

// readFile reads name in 64 KiB reads: a node's table (hundreds of mounts)
// in a few system calls, not one per 4 KiB; the relabeler reads it for
// every tree it walks.
func readFile(name string) ([]Mount, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(bufio.NewReaderSize(f, 64<<10))
}
