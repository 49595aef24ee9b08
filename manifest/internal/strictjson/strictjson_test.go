package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// targets are the types selmount decodes (manifest's kinds), plus a few
// shapes the API types do not have, to exercise every codec.
var targets = []func() any{
	func() any { return &corev1.Pod{} },
	func() any { return &corev1.PersistentVolumeClaim{} },
	func() any { return &corev1.PersistentVolume{} },
	func() any { return &corev1.ReplicationController{} },
	func() any { return &corev1.Namespace{} },
	func() any { return &corev1.Node{} },
	func() any { return &appsv1.Deployment{} },
	func() any { return &appsv1.StatefulSet{} },
	func() any { return &appsv1.DaemonSet{} },
	func() any { return &appsv1.ReplicaSet{} },
	func() any { return &batchv1.Job{} },
	func() any { return &batchv1.CronJob{} },
	func() any { return &storagev1.CSIDriver{} },
	func() any { return &storagev1.StorageClass{} },
	func() any { return &odd{} },
}

type Inner struct {
	A string `json:"a"`
	B int8   `json:"b,omitempty"`
}

type odd struct {
	Inner                           // promoted fields
	Named  map[string]*Inner        `json:"named"`
	U16    uint16                   `json:"u16"`
	F32    float32                  `json:"f32"`
	F64    *float64                 `json:"f64"`
	Bytes  []byte                   `json:"bytes"`
	Any    any                      `json:"any"`
	Nested [][]string               `json:"nested"`
	Str    string                   `json:"str,string"`
	Skip   string                   `json:"-"`
	Plain  map[string]string        `json:"plain"`
	Self   *odd                     `json:"self"`
	Labels map[corev1.Protocol]bool `json:"labels"`
	hidden string
}

// sigsDecode is what Decode must match: sigs.k8s.io/json strict decoding.
func sigsDecode(data []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(data, v, sigsjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return fmt.Errorf("strict: %v", strict)
	}
	return nil
}

// compare decodes data both ways into target i; when Decode accepts, the
// strict decoder must accept too and produce the same object.
func compare(t *testing.T, i int, data []byte) (accepted bool) {
	t.Helper()
	fast := targets[i]()
	if !Decode(data, fast) {
		return false
	}
	slow := targets[i]()
	if err := sigsDecode(data, slow); err != nil {
		t.Fatalf("Decode accepted what sigs.k8s.io/json rejects (%v) into %T:\n%s", err, slow, data)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("Decode and sigs.k8s.io/json differ on %T:\n%s\nfast: %#v\nsigs: %#v", slow, data, fast, slow)
	}
	return true
}

func targetOf(kind string) int {
	for i, f := range targets {
		if reflect.TypeOf(f()).Elem().Name() == kind {
			return i
		}
	}
	return -1
}

// exampleDocs returns every bundled example document as JSON, with the
// index of its target type.
func exampleDocs(t testing.TB) (docs [][]byte, idx []int) {
	// Read from disk: the examples package imports manifest, which
	// imports this package.
	files, err := filepath.Glob("../../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(data, []byte("\n---\n")) {
			js, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var tm struct {
				Kind string `json:"kind"`
			}
			if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil || tm.Kind == "" {
				continue
			}
			if i := targetOf(tm.Kind); i >= 0 {
				docs, idx = append(docs, js), append(idx, i)
			}
		}
	}
	return docs, idx
}

// TestExamplesTakeTheFastPath: every bundled example decodes without the
// fallback, and exactly as sigs.k8s.io/json decodes it. If the fast path
// silently refused real manifests, large inputs would be slow again.
func TestExamplesTakeTheFastPath(t *testing.T) {
	docs, idx := exampleDocs(t)
	if len(docs) < 20 {
		t.Fatalf("only %d example documents found", len(docs))
	}
	for n, js := range docs {
		if !compare(t, idx[n], js) {
			t.Errorf("fast path refused example document %d (%T):\n%s", n, targets[idx[n]](), js)
		}
	}
}

func TestCases(t *testing.T) {
	pod, odd := targetOf("Pod"), targetOf("odd")
	cases := []struct {
		target int
		doc    string
		accept bool
	}{
		{pod, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"x":"y"},"creationTimestamp":null},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1"}}}],"volumes":[]}}`, true},
		{pod, `{"metadata":{"creationTimestamp":"2024-01-02T03:04:05Z"}}`, true},
		{pod, `  {"spec": {"containers": [ {"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 81}]} ] } }  `, true},
		{pod, `{"spec":{"containers":null,"nodeName":null,"securityContext":null}}`, true},
		{pod, `{"metadata":{"name":"caf\u00e9"}}`, true},         // escapes: unquoted by encoding/json
		{pod, "{\"metadata\":{\"name\":\"caf\xc3\xa9\"}}", true}, // UTF-8
		{pod, "{\"metadata\":{\"name\":\"bad \xff\"}}", true},    // invalid UTF-8 becomes U+FFFD
		{pod, `{"metadata":{"labels":{"a":null}}}`, true},
		{pod, `{"spec":{"containers":[{"name":"c","livenessProbe":{"httpGet":{"port":"http"}}}]}}`, true},
		{pod, `{"spec":{"containers":[{"name":"c","livenessProbe":{"httpGet":{"port":8080}}}]}}`, true},
		{pod, `{"spec":{"activeDeadlineSeconds":-0}}`, true},
		// Refused: the strict decoder reports these (or is left to decide).
		{pod, `{"metadata":{"name":"a"},"metadata":{"name":"b"}}`, false}, // duplicate
		{pod, `{"metadata":{"labels":{"a":"1","a":"2"}}}`, false},
		{pod, `{"metadata":{"Name":"a"}}`, false}, // case-sensitive
		{pod, `{"spec":{"nodeNamez":"a"}}`, false},
		{pod, `{"spec":{"nodeName":5}}`, false},
		{pod, `{"spec":{"activeDeadlineSeconds":1.5}}`, false},
		{pod, `{"spec":{"activeDeadlineSeconds":1e3}}`, false},
		{pod, `{"spec":{"activeDeadlineSeconds":99999999999999999999}}`, false},
		{pod, `{"spec":{"priority":2147483648}}`, false}, // int32 overflow
		{pod, `{"spec":{"containers":[{"name":"c"},]}}`, false},
		{pod, `{"spec":{"containers":[{"name":"c"}]}} x`, false},
		{pod, `{"spec":{"containers":[{"name":"c"}]}`, false},
		{pod, `{"metadata":{"name":"a\x01"}}`, false},
		{pod, `{"spec":{"enableServiceLinks":tru}}`, false},
		{pod, `{"spec":{"nodeName":"a"}`, false},
		{pod, `{"spec":{"containers":[{"resources":{"limits":{"cpu":"not a quantity"}}}]}}`, false},
		{pod, `{"metadata":{"n\u0061me":"a"}}`, false}, // escaped key: left to the strict decoder
		{pod, `[]`, false},
		{pod, ``, false},
		{odd, `{"a":"x","b":-128,"u16":65535,"f32":1.5e3,"f64":null,"nested":[["a"],[],null],"plain":{"k":"v"},"self":{"a":"y"},"named":{"n":{"a":"z"},"m":null}}`, true},
		{odd, `{"labels":{"TCP":true}}`, true},
		{odd, `{"b":128}`, false},
		{odd, `{"u16":-1}`, false},
		{odd, `{"bytes":"YQ=="}`, false},
		{odd, `{"any":1}`, false},
		{odd, `{"str":"1"}`, false},
		{odd, `{"Skip":"1"}`, false},
		{odd, `{"hidden":"1"}`, false},
		{odd, `{"bytes":null,"any":null}`, false},
	}
	for _, tc := range cases {
		if got := compare(t, tc.target, []byte(tc.doc)); got != tc.accept {
			t.Errorf("Decode(%s) accepted = %v, want %v", tc.doc, got, tc.accept)
		}
	}
}

// testSkip is the kind of Skip selmount uses: metadata maps, container
// details, resources, the status but the phase.
var testSkip = NewSkip(
	"metadata.labels", "metadata.annotations", "metadata.managedFields",
	"spec.containers.env", "spec.containers.resources", "spec.containers.livenessProbe",
	"spec.template.spec.containers.env", "spec.resources", "spec.capacity",
	"status.conditions", "status.containerStatuses", "status.capacity", "status.podIP",
	"a", "named.a", "plain", "nested",
)

// compareSkip is compare for DecodeSkip with testSkip.
func compareSkip(t *testing.T, i int, data []byte) bool {
	t.Helper()
	fast := targets[i]()
	if !DecodeSkip(data, fast, testSkip) {
		return false
	}
	slow := targets[i]()
	if err := sigsDecode(data, slow); err != nil {
		t.Fatalf("DecodeSkip accepted what sigs.k8s.io/json rejects (%v) into %T:\n%s", err, slow, data)
	}
	testSkip.Clear(slow)
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("DecodeSkip and sigs.k8s.io/json (cleared) differ on %T:\n%s\nfast: %#v\nsigs: %#v", slow, data, fast, slow)
	}
	return true
}

func TestSkip(t *testing.T) {
	docs, idx := exampleDocs(t)
	for n, js := range docs {
		if !compareSkip(t, idx[n], js) {
			t.Errorf("fast path refused example document %d with a skip:\n%s", n, js)
		}
	}
	pod, odd := targetOf("Pod"), targetOf("odd")
	cases := []struct {
		target int
		doc    string
		accept bool
	}{
		{pod, `{"metadata":{"name":"a","labels":{"x":"y","x":"z"},"annotations":{"caf\u00e9":"1"}},"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"}],"resources":{"limits":{"cpu":"1"}}}]}}`, true},
		{pod, `{"metadata":{"labels":null,"managedFields":[{"manager":"kubectl","fieldsV1":{"f:metadata":{}}}]}}`, true},
		{pod, `{"status":{"phase":"Running","podIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-01-02T03:04:05Z"}]}}`, true},
		{pod, `{"metadata":{"labels":"x"}}`, false},                                                 // type error inside a skipped field
		{pod, `{"metadata":{"labels":{"a":1}}}`, false},                                             // also in a map value
		{pod, `{"spec":{"containers":[{"name":"c","env":[{"nam":"A"}]}]}}`, false},                  // unknown field inside
		{pod, `{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"x y"}}}]}}`, false}, // bad quantity
		{pod, `{"status":{"conditions":[{"lastTransitionTime":"yesterday"}]}}`, false},
		{pod, `{"metadata":{"labels":{"a":"b"}}`, false},
		{odd, `{"a":"x","a":"y","named":{"n":{"a":"z","b":1}},"plain":{"k":"v"},"nested":[["a"],null]}`, true},
		{odd, `{"nested":[["a"],[1]]}`, false},
	}
	for _, tc := range cases {
		if got := compareSkip(t, tc.target, []byte(tc.doc)); got != tc.accept {
			t.Errorf("DecodeSkip(%s) accepted = %v, want %v", tc.doc, got, tc.accept)
		}
	}
}

// FuzzDecodeSkip is FuzzDecode for DecodeSkip.
func FuzzDecodeSkip(f *testing.F) {
	docs, idx := exampleDocs(f)
	for n, js := range docs {
		f.Add(uint8(idx[n]), js)
	}
	f.Add(uint8(targetOf("Pod")), []byte(`{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"env":[{"name":"A"}],"resources":{"limits":{"cpu":"1"}}}]},"status":{"phase":"Running","podIP":"1"}}`))
	f.Fuzz(func(t *testing.T, target uint8, data []byte) {
		compareSkip(t, int(target)%len(targets), data)
	})
}

// FuzzDecode checks Decode against sigs.k8s.io/json on arbitrary input for
// every target type: whatever Decode accepts must be accepted by the strict
// decoder and decode to the same object.
func FuzzDecode(f *testing.F) {
	docs, idx := exampleDocs(f)
	for n, js := range docs {
		f.Add(uint8(idx[n]), js)
	}
	f.Add(uint8(targetOf("odd")), []byte(`{"a":"x","b":-1,"f32":2,"nested":[["a"]],"plain":{"k":"v"},"named":{"n":{"a":"z"}}}`))
	f.Fuzz(func(t *testing.T, target uint8, data []byte) {
		compare(t, int(target)%len(targets), data)
	})
}

func BenchmarkDecode(b *testing.B) {
	docs, idx := exampleDocs(b)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	run := func(b *testing.B, decode func([]byte, any) bool) {
		b.SetBytes(int64(size))
		for b.Loop() {
			for n, js := range docs {
				if !decode(js, targets[idx[n]]()) {
					b.Fatal("refused")
				}
			}
		}
	}
	b.Run("strictjson", func(b *testing.B) { run(b, Decode) })
	b.Run("sigs.k8s.io-json", func(b *testing.B) {
		run(b, func(js []byte, v any) bool { return sigsDecode(js, v) == nil })
	})
}

// FuzzValid: Valid agrees with json.Valid (fuzz inputs stay far below
// the nesting limit where they may differ).
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,-2.5e3,true,false,null,"\u00e9\n"]}`, ` 1 `, `"x`, `{"a" 1}`, `[1,]`, `01`, `-`, `1.`, `1e`, "\"\x01\"", `{"a":"\q"}`, `[1] [2]`, ``, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := Valid(data), json.Valid(data); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", data, got, want)
		}
	})
}

func TestValidDepth(t *testing.T) {
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	if !Valid(deep(maxDepth)) || Valid(deep(maxDepth+1)) {
		t.Errorf("Valid does not stop at depth %d", maxDepth)
	}
	if json.Valid(deep(10001)) {
		t.Errorf("json.Valid accepts depth 10001: maxDepth needs no margin below it")
	}
}
