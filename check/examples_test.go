package check

import "github.com/selmount/selmount/examples"

func examplesObjects() ([]any, []error) {
	objs, errs := examples.Objects()
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o.Obj
	}
	return out, errs
}
