//go:build !linux

package ctxmount

import (
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

// CheckHost returns ErrUnsupported: only Linux has SELinux mounts.
func CheckHost() (Host, error) { return Host{}, ErrUnsupported }

type realSystem struct{}

func (realSystem) host() (Host, error)                     { return Host{}, ErrUnsupported }
func (realSystem) checkLabel(label.Context) error          { return nil }
func (realSystem) mountTable() ([]mountinfo.Mount, error)  { return nil, ErrUnsupported }
func (realSystem) device(string, string) (string, bool)    { return "", false }
func (realSystem) probe(string, []string) (string, string) { return "", "" }
func (realSystem) resolve(path string) (string, error)     { return cleanAbs(path) }

// SyscallMounter mounts with mount(2) on Linux; elsewhere it returns
// ErrUnsupported.
type SyscallMounter struct{}

var _ Mounter = &SyscallMounter{}

// MountSensitive returns ErrUnsupported.
func (*SyscallMounter) MountSensitive(source, target, fstype string, options, sensitiveOptions []string) error {
	return ErrUnsupported
}

// Unmount returns ErrUnsupported.
func (*SyscallMounter) Unmount(target string) error { return ErrUnsupported }

// NewHelperMounter returns a mounter whose methods return ErrUnsupported.
func NewHelperMounter() Mounter { return &SyscallMounter{} }
