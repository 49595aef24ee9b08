// Package examples embeds the example manifests that `selmount explain` runs
// on when no -f is given. Each file shows one outcome; see README.md.
package examples

import (
	"embed"
	"io/fs"
	"path"
	"sort"

	"github.com/selmount/selmount/manifest"
)

//go:embed *.yaml
var files embed.FS

// Objects decodes every example, in file name order.
func Objects() ([]manifest.Object, []error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, []error{err}
	}
	sort.Strings(names)
	var objs []manifest.Object
	var errs []error
	for _, n := range names {
		data, err := files.ReadFile(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o, e := manifest.Decode(path.Join("examples", n), data)
		objs, errs = append(objs, o...), append(errs, e...)
	}
	return objs, errs
}
