package manifest

import (
	"encoding/json"
	"testing"
)

// The fast peek must agree with the full decode whenever it answers.
func checkPeek(t *testing.T, js []byte) {
	if !json.Valid(js) {
		return
	}
	av, k, items, ok := peekTypeMeta(js)
	if !ok {
		return
	}
	var tm struct {
		APIVersion any             `json:"apiVersion"`
		Kind       any             `json:"kind"`
		Items      json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		t.Fatalf("peek answered (%q, %q) for %s, which does not decode: %v", av, k, js, err)
	}
	if tm.APIVersion != av || tm.Kind != k || string(tm.Items) != string(items) {
		t.Fatalf("peek (%q, %q, %s), decode (%v, %v, %s) for %s", av, k, items, tm.APIVersion, tm.Kind, tm.Items, js)
	}
	if items == nil {
		return
	}
	elems, ok := splitArray(items)
	var want []json.RawMessage
	if err := json.Unmarshal(items, &want); err != nil {
		if ok {
			t.Fatalf("splitArray(%s) accepted what does not decode as an array: %v", items, err)
		}
		return
	}
	if !ok || len(elems) != len(want) {
		t.Fatalf("splitArray(%s) = %d elements, %v; decode %d", items, len(elems), ok, len(want))
	}
	for i := range want {
		if string(elems[i]) != string(want[i]) {
			t.Fatalf("splitArray(%s)[%d] = %s, decode %s", items, i, elems[i], want[i])
		}
	}
}

func TestPeekTypeMeta(t *testing.T) {
	tests := []struct {
		in       string
		av, kind string
		ok       bool
	}{
		{`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}`, "v1", "Pod", true},
		{` { "kind" : "Pod" , "spec":{"x":[1,{"a":"}"}]}, "apiVersion":"v1" } `, "v1", "Pod", true},
		{`{"apiVersion":"v1","kind":"List","items":[]}`, "v1", "List", true},
		{`{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"}, {"a":[1,2]} ,"x",3]}`, "v1", "List", true},
		{`{"apiVersion":"v1","kind":"P\u006fd"}`, "", "", false},
		{`{"apiVersion":"v1","kind":"Pod","kind":"Service"}`, "v1", "Service", true},
		{`{"apiVersion":"v1"}`, "", "", false},
		{`{"apiVersion":1,"kind":"Pod"}`, "", "", false},
		{`{"a":"\"}","apiVersion":"v1","kind":"Pod"}`, "v1", "Pod", true},
		{`[{"kind":"Pod"}]`, "", "", false},
		{`{"apiVersion":"v1","kind":"Pod","n":-1.5e3,"b":true,"z":null}`, "v1", "Pod", true},
	}
	for _, tc := range tests {
		av, k, _, ok := peekTypeMeta([]byte(tc.in))
		if av != tc.av || k != tc.kind || ok != tc.ok {
			t.Errorf("peekTypeMeta(%s) = %q, %q, %v; want %q, %q, %v", tc.in, av, k, ok, tc.av, tc.kind, tc.ok)
		}
		checkPeek(t, []byte(tc.in))
	}
}

func FuzzPeekTypeMeta(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod"}`))                                    // the common case
	f.Add([]byte(`{"kind":"Pod","x":{"y":["}",{"apiVersion":"x"}]},"apiVersion":"v1"}`)) // nested keys of the same name
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","kind":"X"}`))                         // duplicate keys: the last wins
	f.Add([]byte(`{"a":"\\\"","apiVersion":"v1","kind":"Pod"}`))                         // escaped quotes before the keys
	f.Fuzz(func(t *testing.T, js []byte) { checkPeek(t, js) })
}
