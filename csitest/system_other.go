//go:build !linux

package csitest

import (
	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/mountinfo"
)

// LocalSystem observes the calling process's mount namespace; on this
// operating system every method returns ctxmount.ErrUnsupported.
type LocalSystem struct{}

var _ System = LocalSystem{}

func (LocalSystem) Host() (ctxmount.Host, error)             { return ctxmount.Host{}, ctxmount.ErrUnsupported }
func (LocalSystem) Mounts() ([]mountinfo.Mount, error)       { return nil, ctxmount.ErrUnsupported }
func (LocalSystem) MkdirAll(path string) error               { return ctxmount.ErrUnsupported }
func (LocalSystem) RemoveAll(path string) error              { return ctxmount.ErrUnsupported }
func (LocalSystem) WriteFile(path string, data []byte) error { return ctxmount.ErrUnsupported }
func (LocalSystem) Stat(path string) (FileInfo, error)       { return FileInfo{}, ctxmount.ErrUnsupported }
func (LocalSystem) PluginEnv(root string) (PluginEnv, error) {
	return PluginEnv{}, ctxmount.ErrUnsupported
}
