//go:build !linux

package mountinfo

// ReadSelf returns ErrUnsupported: only Linux has mountinfo.
func ReadSelf() ([]Mount, error) { return nil, ErrUnsupported }

// ReadPID returns ErrUnsupported: only Linux has mountinfo.
func ReadPID(pid int) ([]Mount, error) { return nil, ErrUnsupported }
