package manifest_test

import (
	"strings"
	"testing"

	"github.com/selmount/selmount/manifest"
)

// FuzzDecode feeds arbitrary bytes to DecodeAll (with a small object limit,
// so that the limit is crossed often): it must never panic, every error it
// returns must say something, and every object and skipped object must say
// where it came from, numbered from 1. Crashers found by
// `go test -fuzz=FuzzDecode ./manifest/` are kept in testdata/fuzz/FuzzDecode
// and replayed by plain `go test`.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		// A valid pod.
		pod("a"),
		// Several documents, a leading separator, a comment-only document
		// and a separator with a comment.
		"---\n" + pod("a") + "---\n# nothing\n--- # Source: b.yaml\n" + pod("b"),
		// A separator followed by content, and a document end marker.
		"--- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n...\n" + pod("b"),
		// A List and a PodList, one with a bad item.
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {kind: Pod}\n",
		"apiVersion: v1\nkind: PodList\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: a}}]\n",
		// A List nested in a List, and items that are not objects.
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Pod}]}, 5, null, [1]]\n",
		// JSON, a JSON stream and a JSON stream cut short.
		`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}`,
		`{"apiVersion": "v1", "kind": "Pod"} {"apiVersion": "v1", "kind": "PersistentVolumeClaim"}`,
		`{"apiVersion": "v1", "kind": "Pod"} {"apiVersion": `,
		// Every analysed kind with a volume-related spec.
		"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  template: {spec: {containers: [{name: db}]}}\n  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]\n",
		"apiVersion: storage.k8s.io/v1\nkind: CSIDriver\nmetadata: {name: d}\nspec: {seLinuxMount: true}\n",
		"apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOncePod], csi: {driver: d, volumeHandle: h}}\n",
		// Malformed YAML: bad indentation, an unclosed flow, tabs.
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n spec: {}\n",
		"kind: [Pod\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n",
		// Unknown kind, skipped kind, removed API version, a CRD and a
		// custom resource in a List, a workload kind of another group.
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: a.b}}, {apiVersion: b/v1, kind: A, metadata: {name: x, namespace: y}}]\n",
		"apiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: v1\nkind: Deployment\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
		"apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: d}\n",
		// Strict decoding: unknown field, duplicate field, type error.
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, volumeMountz: []}]}\n",
		`{"apiVersion": "v1", "kind": "Pod", "spec": {"nodeName": "a", "nodeName": "b"}}`,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {nodeName: 5}\n",
		// Deep nesting.
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {a: " + strings.Repeat("{a: ", 500) + "b" + strings.Repeat("}", 500) + "}}\n",
		// Huge numbers.
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, ports: [{containerPort: 1e400}]}], activeDeadlineSeconds: 99999999999999999999999999}\n",
		"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\nspec: {resources: {requests: {storage: 9999999999999999999999999999999Ei}}}\n",
		// YAML anchors and aliases, merge keys.
		"apiVersion: v1\nkind: Pod\nmetadata: &m {name: a}\nspec: {containers: [{name: *m}]}\n",
		"a: &a [*a]\n",
		"base: &b {apiVersion: v1}\n<<: *b\nkind: Pod\n",
		// An alias bomb ("billion laughs"): refused by the YAML parser.
		"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
		// Scalars and odd documents.
		"null", "~", "5", "\"string\"", "[]", "{}", "---", "...", "--- |\n  text\n",
		// Binary junk, NUL bytes, invalid UTF-8, a BOM.
		"\x00\x01\x02\xff\xfe\xfd",
		"\xef\xbb\xbfapiVersion: v1\nkind: Pod\nmetadata: {name: a}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: \"\xff\xfe\"}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res := manifest.DecodeAll("fuzz.yaml", data, &manifest.Options{MaxObjectBytes: 512})
		objs, errs := res.Objects, res.Errors
		for _, err := range errs {
			if err == nil {
				t.Fatal("nil error in the returned errors")
			}
			if err.Error() == "" {
				t.Fatalf("empty error message (%T)", err)
			}
		}
		for _, o := range objs {
			if o.Obj == nil || o.GVK.Kind == "" || o.Source.File != "fuzz.yaml" || o.Source.Doc < 1 || o.Source.Item < 0 {
				t.Fatalf("malformed object %+v", o)
			}
		}
		for _, s := range res.Skipped {
			if s.Kind == "" || s.APIVersion == "" || s.Source.File != "fuzz.yaml" || s.Source.Doc < 1 || s.Source.Item < 0 {
				t.Fatalf("malformed skipped object %+v", s)
			}
		}
	})
}
