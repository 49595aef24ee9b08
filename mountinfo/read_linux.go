//go:build linux

package mountinfo

import (
	"bufio"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReadSelf parses /proc/self/mountinfo: the mount table of the calling
// process's mount namespace, as seen from its root.
func ReadSelf() ([]Mount, error) { return readFile("/proc/self/mountinfo") }

// ReadPID parses /proc/<pid>/mountinfo.
func ReadPID(pid int) ([]Mount, error) {
	return readFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
}

// readFile reads name through a plain descriptor: os.Open would register it
// with Go's poller (procfs files can be polled), two system calls more for a
// file read once, and the relabeler reads mountinfo for every tree it walks.
// The buffer takes a node's table (hundreds of mounts) in a few reads.
func readFile(name string) ([]Mount, error) {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	return Parse(bufio.NewReaderSize(fdReader(fd), 64<<10))
}

type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
