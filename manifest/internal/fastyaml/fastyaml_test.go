package fastyaml

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// decodeJSON parses one JSON value with numbers kept as written, so that
// 1000 and 1e3 differ as they would for a typed decoder of int fields.
func decodeJSON(js []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(js))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// compare converts doc with ToJSON and with sigs.k8s.io/yaml and fails t
// when ToJSON accepts doc but disagrees, or accepts a document the
// reference rejects. It returns ToJSON's ok.
func compare(t testing.TB, doc []byte) bool {
	t.Helper()
	prefix := []byte("prefix")
	got, ok := ToJSON(prefix[:len(prefix):len(prefix)], doc)
	want, err := yaml.YAMLToJSON(doc)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("ToJSON(%q) lost dst: %q", doc, got)
	}
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("ToJSON(%q) = %q, false: dst changed", doc, got)
		}
		return false
	}
	got = got[len(prefix):]
	if err != nil {
		t.Fatalf("ToJSON(%q) = %s, true; sigs.k8s.io/yaml fails: %v", doc, got, err)
	}
	gv, gerr := decodeJSON(got)
	if gerr != nil {
		t.Fatalf("ToJSON(%q) = %s: invalid JSON: %v", doc, got, gerr)
	}
	wv, werr := decodeJSON(want)
	if werr != nil {
		t.Fatalf("sigs.k8s.io/yaml(%q) = %s: invalid JSON: %v", doc, want, werr)
	}
	if !reflect.DeepEqual(gv, wv) {
		t.Fatalf("ToJSON(%q)\n got %s\nwant %s", doc, got, want)
	}
	return true
}

// cases are documents with whether the fast path must accept them; they
// also seed FuzzToJSON.
var cases = []struct {
	name string
	doc  string
	ok   bool
}{
	// Documents.
	{"empty", "", true},
	{"blank lines", "\n\n  \n", true},
	{"comments only", "# a\n  # b\n", true},
	{"no final newline", "a: b", true},
	{"top-level scalar", "hello world\n", true},
	{"top-level int", "42", true},
	{"top-level flow", "{a: [1, 2]}\n", true},
	{"top-level json", `{"a": {"b": [1, "x", true, null]}}`, true},
	{"indented top level", "  a: 1\n  b: 2\n", true},
	{"top level dedent", "  a: 1\nb: 2\n", false},

	// Block mappings and sequences.
	{"mapping", "apiVersion: v1\nkind: Pod\n", true},
	{"nested mapping", "metadata:\n  name: a\n  labels:\n    app: web\n", true},
	{"sequence", "- a\n- b\n", true},
	{"sequence of mappings", "containers:\n  - name: a\n    image: b\n  - name: c\n", true},
	{"sequence at key indentation", "a:\n- x\n- y\nb: 1\n", true},
	{"compact nested sequences", "- - a\n  - b\n- - c\n", true},
	{"compact mapping wide", "-   a: 1\n    b: 2\n", true},
	{"compact mapping misaligned", "-   a: 1\n  b: 2\n", false},
	{"seq in compact mapping", "- a:\n  - x\n  b: 1\n- c\n", true},
	{"empty entry then entry", "- key:\n- a\n", true},
	{"empty entries", "-\n-\n- \n", true},
	{"entry on next line", "-\n  a: 1\n-\n  - x\n", true},
	{"value on next line", "a:\n  b\nc:\n  [x]\nd:\n  'q'\n", true},
	{"empty values", "a:\nb: \nc: # comment\nd:", true},
	{"key with space before colon", "a : 1\n\"b\" : 2\n", true},
	{"deeper dedent error", "a:\n    b: 1\n  c: 2\n", false},
	{"more indented key", "a: 1\n b: 2\n", false},
	{"entry after value", "a: 1\n- b\n", false},
	{"entry indented under seq", "a:\n  - x\n  b: 1\n", false},
	{"key missing colon", "a: 1\nb\n", false},
	{"scalar then mapping", "a\nb: 1\n", false},
	{"seq then scalar", "- a\nb\n", false},
	{"dash no space", "- a\n-b\n", false},
	{"value is entry", "a: - b\n", false},
	{"value is dash", "a: -\n", false},
	{"mapping in value", "a: b: c\n", false},
	{"colon at end", "a: b:\n", false},

	// Comments.
	{"trailing comments", "a: b # c\nd: [e] # f\ng: 'h' # i\n- # j\n", false},
	{"trailing comments ok", "a: b # c\nd: [e] # f\ng: 'h' # i\nk: # j\n  l: m\n", true},
	{"hash without space", "a: b#c\nd: http://x/#frag\n", true},
	{"comment after quoted no space", "a: \"x\"#c\n", false},
	{"comment after flow no space", "a: [x]#c\n", false},
	{"comment between entries", "- a\n# c\n- b\n   # d\n- c\n", true},
	{"comment then continuation", "a: b\n# c\n  d\n", false},

	// Plain scalars.
	{"plain with spaces", "a: hello   world  \n", true},
	{"plain with indicators inside", "a: b]c}d,e[f{g\nh: x:y\ni: -j\nk: ?l\nm: :n\n", true},
	{"plain with quotes inside", "a: it's \"fine\"\n", true},
	{"plain with colon", "image: registry.example/app:1\nurl: http://x:80/p\n", true},
	{"plain unicode", "a: héllo wörld ✓ 😀\n", true},
	{"multi-line plain", "a: b\n  c\n", false},
	{"multi-line plain in seq", "- a\n  b\n", false},

	// Quoted scalars.
	{"single quoted", "a: 'it''s'\nb: ''\nc: '# x'\nd: 'a: b'\n", true},
	{"double quoted escapes", `a: "a\tb\n\\ \"q\" \x41\u00e9\U0001F600 \0 \a \b \v \f \r \e \  \' \N \_ \L \P"` + "\n", true},
	{"double quoted tab", "a: \"x\ty\"\nb: 'x\ty'\n", true},
	{"double quoted unicode", "a: \"héllo ✓\"\n", true},
	{"quoted keys", "\"a b\": 1\n'c': 2\n\"\": 3\n", true},
	{"quoted key escapes", "\"a\\tb\": 1\n", true},
	{"quoted numbers stay strings", "a: \"123\"\nb: '1.5'\nc: \"true\"\nd: 'null'\n", true},
	{"unknown escape", `a: "\/"` + "\n", false},
	{"bad hex escape", `a: "\xZZ"` + "\n", false},
	{"surrogate escape", `a: "\uD800"` + "\n", false},
	{"big escape", `a: "\U00110000"` + "\n", false},
	{"multi-line double quoted", "a: \"b\n  c\"\n", false},
	{"multi-line single quoted", "a: 'b\n  c'\n", false},
	{"escaped line break", "a: \"b\\\n  c\"\n", false},
	{"unterminated", "a: \"b\n", false},
	{"text after quoted", "a: \"b\" c\n", false},
	{"adjacent value in block", "\"a\":b\n", false},

	// Flow collections.
	{"flow mapping", "metadata: {name: a, namespace: b}\n", true},
	{"flow nested", "volumes: [{name: data, persistentVolumeClaim: {claimName: x}}]\n", true},
	{"flow sequence", "accessModes: [ReadWriteOnce]\n", true},
	{"flow empty", "a: []\nb: {}\nc: [ ]\nd: { }\n", true},
	{"flow trailing comma", "a: [x, y,]\nb: {x: 1,}\n", true},
	{"flow empty value", "a: {x: , z: }\nb: {\"z\":,}\n", true},
	{"flow json style", `a: {"b":"c","d":[1,2],"e":{"f":null}}` + "\n", true},
	{"flow adjacent after quoted", `a: {"b":c}` + "\n", true},
	{"flow plain with colon", "a: [http://x, a:b]\nb: {url: http://x:1/}\n", true},
	{"flow plain colon key", "a: {b:c}\n", false},
	{"flow key without value", "a: {b}\n", false},
	{"flow pair in sequence", "a: [b: c]\n", false},
	{"flow question mark", "a: [b?c]\n", false},
	{"flow multi-line", "a: [b,\n  c]\n", false},
	{"flow empty entry", "a: [b,,c]\n", false},
	{"flow leading comma", "a: [,]\n", false},
	{"flow unclosed", "a: [b\n", false},
	{"flow extra close", "a: [b]]\n", false},
	{"flow comment inside", "a: [b #c]\n", false},
	{"flow as key", "[a]: b\n", false},
	{"flow then text", "a: [b] c\n", false},
	{"flow dash entry", "a: [- b]\n", false},

	// YAML 1.1 scalar resolution (go-yaml v2).
	{"bools", "a: [true, True, TRUE, false, False, FALSE, yes, Yes, YES, no, No, NO, on, On, ON, off, Off, OFF, y, Y, n, N]\n", true},
	{"not bools", "a: [tRUE, yES, oN, nO, Y2, yess, t, f, T, F]\n", true},
	{"nulls", "a: [~, null, Null, NULL, nULL]\nb: ~\nc: null\n", true},
	{"ints", "a: [0, 7, -7, +7, 007, 08, 0x10, 0X10, 0o17, 0b101, -0b101, 0b-1, 1_000, -0, 00, 0x_1]\n", true},
	{"big ints", "a: [9223372036854775807, 9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809, 123456789012345678]\n", true},
	{"floats", "a: [1.5, .5, -.5, +.5, 1., 1e3, 1E3, 1e-7, 1.5e+3, 1_e3, -0.0, 0.1, 1e21, 1e20, 123456789.123456789, 1e400, .1e400]\n", true},
	{"not numbers", "a: [1Gi, 100m, 0x, 0xG, 1e, e3, 1.2.3, 0x1p3, 1-2, 2001-12-14, 2001-12-14T21:59:43Z, 2001-12-14 21:59:43.10 -5, 12:30, 1:20]\n", true},
	{"dot strings", "a: [., .., .a, .5a, .nan.]\n", true},
	{"nan", "a: .nan\n", false},
	{"inf", "a: .inf\n", false},
	{"negative inf", "a: [-.Inf]\n", false},
	{"positive inf", "a: {b: +.INF}\n", false},
	{"merge-like value", "a: <<\n", true},

	// Keys.
	{"int key", "1: x\n", false},
	{"bool key", "true: x\n", false},
	{"yes key", "yes: x\n", false},
	{"on key", "on: x\n", false},
	{"float key", "1.5: x\n", false},
	{"null key", "~: x\n", false},
	{"flow int key", "{1: x}\n", false},
	{"merge key", "<<: {a: 1}\n", false},
	{"quoted merge key", "'<<': {a: 1}\n", true},
	{"quoted non-string keys", "'1': x\n\"true\": y\n'~': z\n", true},
	{"timestamp key", "2001-12-14: x\n", true},
	{"duplicate key", "a: 1\na: 2\n", false},
	{"duplicate flow key", "{a: 1, a: 2}\n", false},
	{"duplicate quoted key", "a: 1\n\"a\": 2\n", false},
	{"duplicate escaped key", "\"\\x41\": 1\n'A': 2\n", false},
	{"same key in nested maps", "a: {a: {a: 1}}\nb:\n  a: 1\n", true},
	{"many keys", manyKeys(100, false), true},
	{"many keys duplicate", manyKeys(100, true), false},
	{"long key", strings.Repeat("k", 1100) + ": v\n", false},
	{"long flow key", "{" + strings.Repeat("k", 1100) + ": v}\n", false},
	{"long value", "k: " + strings.Repeat("v", 5000) + "\n", true},
	{"complex key", "? a\n: b\n", false},

	// Other YAML features: not handled.
	{"anchor", "a: &x 1\nb: *x\n", false},
	{"tag", "a: !!str 1\n", false},
	{"literal block", "a: |\n  x\n", false},
	{"folded block", "a: >\n  x\n", false},
	{"directive", "%YAML 1.1\n---\na: 1\n", false},
	{"document start", "---\na: 1\n", false},
	{"document end", "a: 1\n...\n", false},
	{"reserved indicator", "a: @x\n", false},
	{"backtick", "a: `x`\n", false},

	// Whitespace and characters.
	{"tab indentation", "a:\n\tb: 1\n", false},
	{"tab after colon", "a:\tb\n", false},
	{"tab in plain", "a: x\ty\n", false},
	{"tab in comment", "a: b # c\td\n# \t\n", true},
	{"crlf", "a: b\r\nc: d\r\n", false},
	{"bom", "\xef\xbb\xbfa: b\n", false},
	{"nel", "a: \xc2\x85\n", false},
	{"line separator", "a: x\u2028y\n", false},
	{"nbsp", "a: x\u00a0y\n", true},
	{"invalid utf8", "a: \xff\n", false},
	{"nul byte", "a: \x00\n", false},
	{"control char", "a: \x01\n", false},
	{"del", "a: \x7f\n", false},
	{"private use and astral", "a: \ue000\U0010FFFD\n", true},
	{"noncharacter", "a: \uffff\n", false},

	// Depth.
	{"deep flow", "a: " + strings.Repeat("[", 900) + strings.Repeat("]", 900) + "\n", true},
	{"too deep flow", "a: " + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + "\n", false},
}

func TestToJSON(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ok := compare(t, []byte(tc.doc)); ok != tc.ok {
				js, err := yaml.YAMLToJSON([]byte(tc.doc))
				t.Errorf("ToJSON(%q): ok = %v, want %v (sigs.k8s.io/yaml: %s, %v)", tc.doc, ok, tc.ok, js, err)
			}
		})
	}
}

func manyKeys(n int, dup bool) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "key%d: %d\n", i, i)
	}
	if dup {
		b.WriteString("key42: again\n")
	}
	return b.String()
}

// TestGeneratedStream checks that the fast path accepts, and agrees with
// sigs.k8s.io/yaml on, every document of the benchmarks' stream (the
// documents hack/genmanifests writes for 2,000 pods).
func TestGeneratedStream(t *testing.T) {
	docs := splitStream(genStream(2000))
	if len(docs) != 5601 {
		t.Fatalf("%d documents, want 5601", len(docs))
	}
	for i, doc := range docs {
		if !compare(t, doc) {
			t.Fatalf("document %d not accepted by the fast path:\n%s", i, doc)
		}
	}
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	docs := splitStream(genStream(20))
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		for _, doc := range docs {
			var ok bool
			if buf, ok = ToJSON(buf[:0], doc); !ok {
				t.Fatal("not accepted")
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations converting %d documents, want 0", allocs, len(docs))
	}
}
