package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var standardDiscard = map[string][]string{
	"Pod":              {"metadata.labels", "spec.containers.env", "status.conditions"},
	"PersistentVolume": {"spec.capacity"},
}

// compareStandard reads data with the fast paths and with Options.Standard:
// the objects and the errors must be the same.
func compareStandard(t *testing.T, data []byte) {
	t.Helper()
	read := func(standard bool) ([]Object, string) {
		r := newReader(&Options{Discard: standardDiscard, Standard: standard})
		res := decode("in.yaml", data, r)
		objs, errs := res.Objects, res.Errors
		// As a set: sigs.k8s.io/yaml sorts the keys of a document, the fast
		// path keeps their order, so strict errors come in another order.
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		return objs, strings.Join(msgs, "\n")
	}
	fastObjs, fastErrs := read(false)
	stdObjs, stdErrs := read(true)
	if fastErrs != stdErrs {
		t.Fatalf("errors differ on %q:\n fast:     %s\n standard: %s", data, fastErrs, stdErrs)
	}
	if !reflect.DeepEqual(fastObjs, stdObjs) {
		t.Fatalf("objects differ on %q:\n fast:     %+v\n standard: %+v", data, fastObjs, stdObjs)
	}
}

func exampleFiles(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestStandardMatchesFast(t *testing.T) {
	for _, b := range exampleFiles(t) {
		compareStandard(t, b)
	}
	for _, s := range []string{
		`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"x":"y"}}},{"kind":"Pod"}]}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}} {"apiVersion":"v1","kind":"PersistentVolume","spec":{"capacity":{"storage":"1Gi"}}}`,
		`{"apiVersion":"v1","kind":"Pod","spec":{"nodeName":5}}`,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, env: [{name: A}], volumeMountz: []}]}\n",
		"{apiVersion: v1, kind: Pod, metadata: {name: flow}}\n",
		strings.Repeat("[", 9500) + strings.Repeat("]", 9500),
	} {
		compareStandard(t, []byte(s))
	}
}

// FuzzStandard: whatever the input, the fast paths and the standard
// decoders give the same objects and errors.
func FuzzStandard(f *testing.F) {
	for _, b := range exampleFiles(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		compareStandard(t, data)
	})
}
