//go:build linux

package mountinfo

import (
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

func readFile(name string) ([]Mount, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}
