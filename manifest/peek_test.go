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
	av, k, ok := peekTypeMeta(js)
	if !ok {
		return
	}
	var tm struct {
		APIVersion any `json:"apiVersion"`
		Kind       any `json:"kind"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		t.Fatalf("peek answered (%q, %q) for %s, which does not decode: %v", av, k, js, err)
	}
	if tm.APIVersion != av || tm.Kind != k {
		t.Fatalf("peek (%q, %q), decode (%v, %v) for %s", av, k, tm.APIVersion, tm.Kind, js)
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
		{`{"apiVersion":"v1","kind":"List","items":[]}`, "", "", false},
		{`{"apiVersion":"v1","kind":"P\u006fd"}`, "", "", false},
		{`{"apiVersion":"v1","kind":"Pod","kind":"Service"}`, "v1", "Service", true},
		{`{"apiVersion":"v1"}`, "", "", false},
		{`{"apiVersion":1,"kind":"Pod"}`, "", "", false},
		{`{"a":"\"}","apiVersion":"v1","kind":"Pod"}`, "v1", "Pod", true},
		{`[{"kind":"Pod"}]`, "", "", false},
		{`{"apiVersion":"v1","kind":"Pod","n":-1.5e3,"b":true,"z":null}`, "v1", "Pod", true},
	}
	for _, tc := range tests {
		av, k, ok := peekTypeMeta([]byte(tc.in))
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
