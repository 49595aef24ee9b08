//go:build !linux

package relabel

import (
	"context"

	"github.com/selmount/selmount/label"
)

// Relabel returns ErrUnsupported: relabeling needs Linux system calls.
func Relabel(ctx context.Context, root string, to label.Context, opt *Options) (Stats, error) {
	return Stats{}, ErrUnsupported
}
