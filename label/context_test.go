package label_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/selmount/selmount/label"
)

// sampleLevels are valid levels in assorted spellings, used by the property
// tests below.
var sampleLevels = []string{
	"s0",
	"s1",
	"s15",
	"s0:c0",
	"s0:c1",
	"s0:c0,c1",
	"s0:c1,c0",
	"s0:c0.c2",
	"s0:c1,c2",
	"s0:c2,c1",
	"s0:c1,c2,c3",
	"s0:c1.c3",
	"s0:c1,c3",
	"s0:c0.c5,c9",
	"s0:c63",
	"s0:c64",
	"s0:c63,c64",
	"s0:c1023",
	"s0:c0.c1023",
	"s3:c5,c5",
	"s0-s0",
	"s0-s0:c0.c1023",
	"s0-s15:c0.c1023",
	"s0:c1-s0:c1",
	"s0:c1-s0:c1,c2",
	"s0:c1-s1:c1",
	"s1-s2",
	"s1:c4-s2:c1.c9",
}

var sampleContexts = []string{
	"system_u:object_r:container_file_t:s0:c1,c2",
	"system_u:object_r:container_file_t:s0:c2,c1",
	"system_u:object_r:container_file_t:s0",
	"system_u:object_r:container_file_t",
	"system_u:system_r:container_t:s0",
	"system_u:system_r:spc_t:s0",
	"unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023",
	"a:b:c",
	"a:b:c:s0:c1,c2,c3",
	"a:b:c:s0:c1.c3",
	"a:b:d",
	"a:c:b",
	"b:a:a",
}

func TestRoundTrip(t *testing.T) {
	for _, s := range sampleLevels {
		l := label.MustParseLevel(s)
		l2, err := label.ParseLevel(l.String())
		if err != nil || l2 != l {
			t.Errorf("ParseLevel(ParseLevel(%q).String() = %q) = %q, %v; want equal value", s, l.String(), l2, err)
		}
		if again := label.MustParseLevel(s); again != l {
			t.Errorf("ParseLevel(%q) twice gives different values", s)
		}
	}
	for _, s := range sampleContexts {
		c := label.MustParse(s)
		c2, err := label.Parse(c.String())
		if err != nil || c2 != c {
			t.Errorf("Parse(Parse(%q).String() = %q) = %q, %v; want equal value", s, c.String(), c2, err)
		}
		if again := label.MustParse(s); again != c {
			t.Errorf("Parse(%q) twice gives different values", s)
		}
	}
}

func TestEqualityByValue(t *testing.T) {
	tests := []struct {
		a, b  string
		equal bool
	}{
		{"a:b:c:s0:c2,c1", "a:b:c:s0:c1,c2", true},
		{"a:b:c:s0:c1,c2,c3", "a:b:c:s0:c1.c3", true},
		{"a:b:c:s0:c3,c2,c1,c2", "a:b:c:s0:c1.c3", true},
		{"a:b:c:s0:c0.c1023", "a:b:c:s0:c0.c511,c512.c1023", true},
		{"a:b:c:s0:c1-s0:c1", "a:b:c:s0:c1", true},
		{"a:b:c:s0-s0", "a:b:c:s0", true},
		{"a:b:c:s0", "a:b:c", false},
		{"a:b:c:s0", "a:b:c:s0:c0", false},
		{"a:b:c:s0:c1,c2", "a:b:c:s0:c1,c3", false},
		{"a:b:c:s0-s0:c1", "a:b:c:s0:c1", false},
		{"a:b:c:s0:c1", "a:b:c:s1:c1", false},
		{"a:b:c", "a:b:C", false},
		{"a:b:c", "a:c:b", false},
		{"u:r:t", "ur:t:t", false},
	}
	for _, tt := range tests {
		a, b := label.MustParse(tt.a), label.MustParse(tt.b)
		if got := a == b; got != tt.equal {
			t.Errorf("Parse(%q) == Parse(%q) is %v, want %v", tt.a, tt.b, got, tt.equal)
		}
		if got := a.Compare(b) == 0; got != tt.equal {
			t.Errorf("Parse(%q).Compare(Parse(%q)) = %d, equal %v", tt.a, tt.b, a.Compare(b), tt.equal)
		}
		if got := a.String() == b.String(); got != tt.equal {
			t.Errorf("String(%q) = %q, String(%q) = %q; equality %v, want %v", tt.a, a, tt.b, b, got, tt.equal)
		}
	}
}

func TestMapKey(t *testing.T) {
	m := map[label.Context]int{}
	m[label.MustParse("a:b:c:s0:c2,c1")]++
	m[label.MustParse("a:b:c:s0:c1,c2")]++
	m[label.MustParse("a:b:c:s0:c1-s0:c1,c2")]++
	m[label.MustParse("a:b:c:s0:c1,c2-s0:c2,c1")]++
	if len(m) != 2 {
		t.Errorf("map has %d keys, want 2: %v", len(m), m)
	}
	if n := m[label.MustParse("a:b:c:s0:c1,c2")]; n != 3 {
		t.Errorf("count for s0:c1,c2 = %d, want 3", n)
	}

	lm := map[label.Level]string{}
	for _, s := range sampleLevels {
		lm[label.MustParseLevel(s)] = s
	}
	for _, s := range sampleLevels {
		got, ok := lm[label.MustParseLevel(s)]
		if !ok || label.MustParseLevel(got) != label.MustParseLevel(s) {
			t.Errorf("lookup of %q gave %q, %v", s, got, ok)
		}
	}
	// Every canonical string must map to exactly one key.
	canon := map[string]bool{}
	for _, s := range sampleLevels {
		canon[label.MustParseLevel(s).String()] = true
	}
	if len(lm) != len(canon) {
		t.Errorf("%d distinct levels but %d distinct canonical strings", len(lm), len(canon))
	}
}

func TestLevelCompareOrder(t *testing.T) {
	// Ascending; categories compare as ascending lists, so a list sorts
	// before every longer list that it is a prefix of.
	ordered := []string{
		"", // zero Level
		"s0",
		"s0-s0:c0",
		"s0-s1",
		"s0:c0",
		"s0:c0-s0:c0,c1",
		"s0:c0,c1",
		"s0:c0.c1023",
		"s0:c0,c2",
		"s0:c1",
		"s0:c1,c2",
		"s0:c1,c3",
		"s0:c2",
		"s0:c63",
		"s0:c63,c64",
		"s0:c64",
		"s0:c1023",
		"s1",
		"s1:c0",
		"s15",
	}
	levels := make([]label.Level, len(ordered))
	for i, s := range ordered {
		if s != "" {
			levels[i] = label.MustParseLevel(s)
		}
	}
	for i := range levels {
		for j := range levels {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := levels[i].Compare(levels[j]); got != want {
				t.Errorf("Level(%q).Compare(%q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestContextCompareOrder(t *testing.T) {
	ordered := []string{
		"",
		"a:b:c",
		"a:b:c:s0",
		"a:b:c:s0:c1",
		"a:b:c:s0:c1,c2",
		"a:b:c:s0:c2",
		"a:b:d",
		"a:c:a",
		"b:a:a",
	}
	ctxs := make([]label.Context, len(ordered))
	for i, s := range ordered {
		if s != "" {
			ctxs[i] = label.MustParse(s)
		}
	}
	for i := range ctxs {
		for j := range ctxs {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := ctxs[i].Compare(ctxs[j]); got != want {
				t.Errorf("Context(%q).Compare(%q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

// TestCompareTotalOrder checks the order axioms on every pair and triple of
// the sample values.
func TestCompareTotalOrder(t *testing.T) {
	levels := []label.Level{{}}
	for _, s := range sampleLevels {
		levels = append(levels, label.MustParseLevel(s))
	}
	checkTotalOrder(t, "Level", levels, label.Level.Compare, label.Level.String)

	ctxs := []label.Context{{}}
	for _, s := range sampleContexts {
		ctxs = append(ctxs, label.MustParse(s))
	}
	for _, s := range sampleLevels {
		ctxs = append(ctxs, label.MustParse("u:r:t:"+s))
	}
	checkTotalOrder(t, "Context", ctxs, label.Context.Compare, label.Context.String)
}

func checkTotalOrder[T comparable](t *testing.T, name string, xs []T, cmp func(a, b T) int, str func(T) string) {
	t.Helper()
	for _, a := range xs {
		for _, b := range xs {
			ab, ba := cmp(a, b), cmp(b, a)
			if ab < -1 || ab > 1 {
				t.Errorf("%s(%q).Compare(%q) = %d, not in {-1, 0, 1}", name, str(a), str(b), ab)
			}
			if ab != -ba {
				t.Errorf("%s: Compare not antisymmetric: (%q, %q) = %d, reversed %d", name, str(a), str(b), ab, ba)
			}
			if (ab == 0) != (a == b) {
				t.Errorf("%s: Compare(%q, %q) = %d but == is %v", name, str(a), str(b), ab, a == b)
			}
			for _, c := range xs {
				if ab <= 0 && cmp(b, c) <= 0 && cmp(a, c) > 0 {
					t.Errorf("%s: Compare not transitive: %q <= %q <= %q but %q > %q", name, str(a), str(b), str(c), str(a), str(c))
				}
			}
		}
	}
	sorted := slices.Clone(xs)
	slices.SortFunc(sorted, cmp)
	if !slices.IsSortedFunc(sorted, cmp) {
		t.Errorf("%s: SortFunc result is not sorted", name)
	}
}

func TestMarshalText(t *testing.T) {
	for _, s := range sampleContexts {
		c := label.MustParse(s)
		text, err := c.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%q): %v", s, err)
		}
		if string(text) != c.String() {
			t.Errorf("MarshalText(%q) = %q, want %q", s, text, c.String())
		}
		var back label.Context
		if err := back.UnmarshalText(text); err != nil || back != c {
			t.Errorf("UnmarshalText(%q) = %q, %v; want %q", text, back, err, c)
		}
	}
	for _, s := range sampleLevels {
		l := label.MustParseLevel(s)
		text, err := l.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%q): %v", s, err)
		}
		if string(text) != l.String() {
			t.Errorf("MarshalText(%q) = %q, want %q", s, text, l.String())
		}
		var back label.Level
		if err := back.UnmarshalText(text); err != nil || back != l {
			t.Errorf("UnmarshalText(%q) = %q, %v; want %q", text, back, err, l)
		}
	}
}

func TestUnmarshalTextError(t *testing.T) {
	c := label.MustParse("a:b:c:s0")
	err := c.UnmarshalText([]byte("a:b"))
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("Context.UnmarshalText(\"a:b\") = %v, want ErrSyntax", err)
	}
	if c != label.MustParse("a:b:c:s0") {
		t.Errorf("failed Context.UnmarshalText changed the value to %q", c)
	}

	l := label.MustParseLevel("s0:c1")
	err = l.UnmarshalText([]byte("s0:c1024"))
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("Level.UnmarshalText(\"s0:c1024\") = %v, want ErrSyntax", err)
	}
	if l != label.MustParseLevel("s0:c1") {
		t.Errorf("failed Level.UnmarshalText changed the value to %q", l)
	}

	// Empty text resets to the zero value.
	if err := c.UnmarshalText(nil); err != nil || !c.IsZero() || c != (label.Context{}) {
		t.Errorf("Context.UnmarshalText(nil) = %q, %v; want zero", c, err)
	}
	if err := l.UnmarshalText([]byte{}); err != nil || !l.IsZero() || l != (label.Level{}) {
		t.Errorf("Level.UnmarshalText(\"\") = %q, %v; want zero", l, err)
	}
}

func TestZero(t *testing.T) {
	var c label.Context
	var l label.Level
	if !c.IsZero() || !l.IsZero() {
		t.Fatalf("zero values: Context.IsZero %v, Level.IsZero %v", c.IsZero(), l.IsZero())
	}
	if c.String() != "" || l.String() != "" {
		t.Errorf("zero String: Context %q, Level %q", c.String(), l.String())
	}
	if l.IsRange() {
		t.Errorf("zero Level.IsRange() = true")
	}
	if b, err := c.MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero Context.MarshalText() = %q, %v", b, err)
	}
	if b, err := l.MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero Level.MarshalText() = %q, %v", b, err)
	}
	// "s0" is a level, not the absence of one.
	if label.MustParseLevel("s0").IsZero() {
		t.Errorf("ParseLevel(\"s0\").IsZero() = true")
	}
	if label.MustParseLevel("s0") == l {
		t.Errorf("ParseLevel(\"s0\") == Level{}")
	}
	if _, err := label.Parse(""); err == nil {
		t.Errorf("Parse(\"\") succeeded; the zero Context must not be parseable")
	}
	if _, err := label.ParseLevel(""); err == nil {
		t.Errorf("ParseLevel(\"\") succeeded; the zero Level must not be parseable")
	}
}

type jsonDoc struct {
	Label  label.Context          `json:"label"`
	Level  label.Level            `json:"level"`
	Labels []label.Context        `json:"labels,omitempty"`
	Levels map[string]label.Level `json:"levels"`
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   jsonDoc
		want string
	}{
		{
			name: "zero",
			in:   jsonDoc{},
			want: `{"label":"","level":"","levels":null}`,
		},
		{
			name: "canonical",
			in: jsonDoc{
				Label:  label.MustParse("system_u:object_r:container_file_t:s0:c2,c1"),
				Level:  label.MustParseLevel("s0:c3,c1,c2-s0:c1.c3"),
				Labels: []label.Context{label.MustParse("a:b:c"), {}},
				Levels: map[string]label.Level{"x": label.MustParseLevel("s0-s0:c0.c1023")},
			},
			want: `{"label":"system_u:object_r:container_file_t:s0:c1,c2","level":"s0:c1.c3","labels":["a:b:c",""],"levels":{"x":"s0-s0:c0.c1023"}}`,
		},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", tt.name, err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: Marshal = %s, want %s", tt.name, b, tt.want)
		}
		var back jsonDoc
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: Unmarshal(%s): %v", tt.name, b, err)
		}
		if back.Label != tt.in.Label || back.Level != tt.in.Level || !slices.Equal(back.Labels, tt.in.Labels) || len(back.Levels) != len(tt.in.Levels) {
			t.Errorf("%s: round trip = %+v, want %+v", tt.name, back, tt.in)
		}
		for k, v := range tt.in.Levels {
			if back.Levels[k] != v {
				t.Errorf("%s: round trip Levels[%q] = %q, want %q", tt.name, k, back.Levels[k], v)
			}
		}
	}
}

func TestJSONError(t *testing.T) {
	var doc jsonDoc
	err := json.Unmarshal([]byte(`{"label":"a:b:c:s0:c1024"}`), &doc)
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("Unmarshal invalid label: %v, want ErrSyntax", err)
	}
	var pe *label.ParseError
	if !errors.As(err, &pe) || pe.Part != "category" {
		t.Errorf("Unmarshal invalid label: errors.As gave %+v", pe)
	}
	err = json.Unmarshal([]byte(`{"level":"s1-s0"}`), &doc)
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("Unmarshal invalid level: %v, want ErrSyntax", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		user, role, typ, level string
		want                   string // canonical context or full error
		ok                     bool
	}{
		{"system_u", "object_r", "container_file_t", "s0:c2,c1", "system_u:object_r:container_file_t:s0:c1,c2", true},
		{"system_u", "object_r", "container_file_t", "", "system_u:object_r:container_file_t", true},
		{"", "object_r", "t", "s0", `label.New(":object_r:t:s0"): user: empty`, false},
		{"u", "", "t", "", `label.New("u::t"): role: empty`, false},
		{"u", "r", "", "", `label.New("u:r:"): type: empty`, false},
		{"u", "r", "t:s0", "", `label.New("u:r:t:s0"): type: bad character ':'`, false},
		{"u u", "r", "t", "", `label.New("u u:r:t"): user: bad character ' '`, false},
	}
	for _, tt := range tests {
		var lv label.Level
		if tt.level != "" {
			lv = label.MustParseLevel(tt.level)
		}
		c, err := label.New(tt.user, tt.role, tt.typ, lv)
		if !tt.ok {
			if err == nil || err.Error() != tt.want {
				t.Errorf("New(%q, %q, %q, %q) = %q, %v; want error %s", tt.user, tt.role, tt.typ, tt.level, c, err, tt.want)
			}
			if !errors.Is(err, label.ErrSyntax) {
				t.Errorf("New(%q, %q, %q, %q): errors.Is(ErrSyntax) = false", tt.user, tt.role, tt.typ, tt.level)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q, %q, %q, %q) = error %v", tt.user, tt.role, tt.typ, tt.level, err)
			continue
		}
		if c.String() != tt.want || c != label.MustParse(tt.want) {
			t.Errorf("New(%q, %q, %q, %q) = %q, want %q", tt.user, tt.role, tt.typ, tt.level, c, tt.want)
		}
	}
}

func TestNewLevel(t *testing.T) {
	sec := func(s string) label.SecLevel {
		t.Helper()
		return label.MustParseLevel(s).Low()
	}
	tests := []struct {
		low, high label.SecLevel
		want      string // canonical level or full error
		ok        bool
	}{
		{sec("s0"), sec("s0:c0.c1023"), "s0-s0:c0.c1023", true},
		{sec("s0:c1"), sec("s0:c1"), "s0:c1", true},
		{sec("s0"), sec("s15"), "s0-s15", true},
		{sec("s0:c1,c2"), sec("s0:c1"), `label.NewLevel("s0:c1,c2-s0:c1"): level: high level does not dominate low level`, false},
		{sec("s1"), sec("s0"), `label.NewLevel("s1-s0"): level: high level does not dominate low level`, false},
		{label.SecLevel{}, label.SecLevel{Sensitivity: 16}, `label.NewLevel("s0-s16"): sensitivity: s16 out of range (s0..s15)`, false},
		{label.SecLevel{Sensitivity: 200}, label.SecLevel{Sensitivity: 200}, `label.NewLevel("s200-s200"): sensitivity: s200 out of range (s0..s15)`, false},
	}
	for _, tt := range tests {
		l, err := label.NewLevel(tt.low, tt.high)
		if !tt.ok {
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewLevel(%q, %q) = %q, %v; want error %s", tt.low, tt.high, l, err, tt.want)
			}
			if !errors.Is(err, label.ErrSyntax) {
				t.Errorf("NewLevel(%q, %q): errors.Is(ErrSyntax) = false", tt.low, tt.high)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewLevel(%q, %q) = error %v", tt.low, tt.high, err)
			continue
		}
		if l.String() != tt.want || l != label.MustParseLevel(tt.want) {
			t.Errorf("NewLevel(%q, %q) = %q, want %q", tt.low, tt.high, l, tt.want)
		}
	}
	if got, want := label.SingleLevel(sec("s0:c2,c1")), label.MustParseLevel("s0:c1,c2"); got != want {
		t.Errorf("SingleLevel(s0:c1,c2) = %q, want %q", got, want)
	}
}

func TestCategories(t *testing.T) {
	var c label.Categories
	if !c.IsEmpty() || c.Len() != 0 || len(c.List()) != 0 {
		t.Fatalf("zero Categories: IsEmpty %v Len %d List %v", c.IsEmpty(), c.Len(), c.List())
	}
	for _, cat := range []int{1023, 0, 64, 63, 5, 5} {
		c = c.With(cat)
	}
	if got, want := c.List(), []int{0, 5, 63, 64, 1023}; !slices.Equal(got, want) {
		t.Errorf("List() = %v, want %v", got, want)
	}
	if c.Len() != 5 || c.IsEmpty() {
		t.Errorf("Len() = %d, IsEmpty() = %v", c.Len(), c.IsEmpty())
	}
	for _, tt := range []struct {
		cat  int
		want bool
	}{{0, true}, {1, false}, {63, true}, {64, true}, {65, false}, {1023, true}, {-1, false}, {1024, false}, {1 << 20, false}} {
		if got := c.Has(tt.cat); got != tt.want {
			t.Errorf("Has(%d) = %v, want %v", tt.cat, got, tt.want)
		}
	}
	sub := label.Categories{}.With(5).With(1023)
	if !c.Contains(sub) || sub.Contains(c) || !c.Contains(c) || !c.Contains(label.Categories{}) {
		t.Errorf("Contains is wrong for %v and %v", c.List(), sub.List())
	}
	// With returns a copy.
	d := c.With(7)
	if c.Has(7) || !d.Has(7) {
		t.Errorf("With modified its receiver")
	}
	for _, bad := range []int{-1, 1024} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("With(%d) did not panic", bad)
				}
			}()
			c.With(bad)
		}()
	}
}

func TestDominates(t *testing.T) {
	tests := []struct {
		a, b string
		want bool // a dominates b
	}{
		{"s0", "s0", true},
		{"s1", "s0", true},
		{"s0", "s1", false},
		{"s0:c1,c2", "s0:c1", true},
		{"s0:c1", "s0:c1,c2", false},
		{"s1:c1", "s0:c1,c2", false},
		{"s0:c0.c1023", "s0:c5,c900", true},
		{"s0:c5", "s0:c6", false},
	}
	for _, tt := range tests {
		a, b := label.MustParseLevel(tt.a).Low(), label.MustParseLevel(tt.b).Low()
		if got := a.Dominates(b); got != tt.want {
			t.Errorf("%s.Dominates(%s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWith(t *testing.T) {
	c := label.MustParse("system_u:system_r:container_t:s0:c1,c2")
	tests := []struct {
		got  label.Context
		want string
	}{
		{c.WithUser("foo_u"), "foo_u:system_r:container_t:s0:c1,c2"},
		{c.WithRole("object_r"), "system_u:object_r:container_t:s0:c1,c2"},
		{c.WithType("spc_t"), "system_u:system_r:spc_t:s0:c1,c2"},
		{c.WithLevel(label.MustParseLevel("s0:c3")), "system_u:system_r:container_t:s0:c3"},
		{c.WithLevel(label.Level{}), "system_u:system_r:container_t"},
	}
	for _, tt := range tests {
		if tt.got != label.MustParse(tt.want) {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if c.String() != "system_u:system_r:container_t:s0:c1,c2" {
		t.Errorf("With* modified the receiver: %q", c)
	}
	if b := c.AppendTo([]byte("label=")); string(b) != "label=system_u:system_r:container_t:s0:c1,c2" {
		t.Errorf("AppendTo = %q", b)
	}
}

func TestMountOption(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"system_u:object_r:container_file_t:s0:c1,c2", `context="system_u:object_r:container_file_t:s0:c1,c2"`},
		{"system_u:object_r:container_file_t:s0:c2,c1", `context="system_u:object_r:container_file_t:s0:c1,c2"`},
		{"system_u:object_r:container_file_t:s0:c1,c2,c3", `context="system_u:object_r:container_file_t:s0:c1.c3"`},
		{"system_u:object_r:container_file_t:s0", `context="system_u:object_r:container_file_t:s0"`},
		{"system_u:object_r:container_file_t", `context="system_u:object_r:container_file_t"`},
	}
	for _, tt := range tests {
		if got := label.MustParse(tt.in).MountOption(); got != tt.want {
			t.Errorf("Parse(%q).MountOption() = %s, want %s", tt.in, got, tt.want)
		}
	}

	// The function form keeps the label exactly as written.
	rawTests := []struct {
		raw  string
		want string
	}{
		{"system_u:object_r:container_file_t:s0:c2,c1", `context="system_u:object_r:container_file_t:s0:c2,c1"`},
		{"", `context=""`},
		{`a"b`, `context="a\"b"`},
	}
	for _, tt := range rawTests {
		if got := label.MountOption(tt.raw); got != tt.want {
			t.Errorf("MountOption(%q) = %s, want %s", tt.raw, got, tt.want)
		}
	}
}

func TestSharedPrivate(t *testing.T) {
	shared := []struct {
		in, want string
	}{
		{"system_u:object_r:container_file_t:s0:c1,c2", "system_u:object_r:container_file_t:s0"},
		{"system_u:object_r:container_file_t:s0", "system_u:object_r:container_file_t:s0"},
		{"system_u:object_r:container_file_t", "system_u:object_r:container_file_t"},
		{"system_u:object_r:container_file_t:s0-s0:c0.c1023", "system_u:object_r:container_file_t:s0"},
		{"u:r:t:s1:c1-s2:c1,c2", "u:r:t:s1-s2"},
	}
	for _, tt := range shared {
		c := label.MustParse(tt.in)
		if got := c.Shared(); got != label.MustParse(tt.want) {
			t.Errorf("Parse(%q).Shared() = %q, want %q", tt.in, got, tt.want)
		}
		if c != label.MustParse(tt.in) {
			t.Errorf("Shared modified its receiver")
		}
	}

	private := []struct {
		in, level, want string
	}{
		{"system_u:object_r:container_file_t:s0", "s0:c4,c3", "system_u:object_r:container_file_t:s0:c3,c4"},
		{"system_u:object_r:container_file_t:s0:c1,c2", "s0:c3,c4", "system_u:object_r:container_file_t:s0:c3,c4"},
		{"system_u:object_r:container_file_t", "s0:c3,c4", "system_u:object_r:container_file_t:s0:c3,c4"},
		{"system_u:object_r:container_file_t:s0:c1,c2", "", "system_u:object_r:container_file_t"},
	}
	for _, tt := range private {
		var lv label.Level
		if tt.level != "" {
			lv = label.MustParseLevel(tt.level)
		}
		if got := label.MustParse(tt.in).Private(lv); got != label.MustParse(tt.want) {
			t.Errorf("Parse(%q).Private(%q) = %q, want %q", tt.in, tt.level, got, tt.want)
		}
	}
}

func TestJSONMapKey(t *testing.T) {
	in := map[label.Context]int{
		label.MustParse("a:b:c:s0:c2,c1"): 1,
		label.MustParse("a:b:c"):          2,
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a:b:c":2,"a:b:c:s0:c1,c2":1}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back map[label.Context]int
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(in) {
		t.Fatalf("round trip = %v, want %v", back, in)
	}
	for k, v := range in {
		if back[k] != v {
			t.Errorf("round trip [%q] = %d, want %d", k, back[k], v)
		}
	}
}

func TestSameContext(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"system_u:object_r:container_file_t:s0:c2,c1", "system_u:object_r:container_file_t:s0:c1,c2", true},
		{"system_u:object_r:container_file_t:s0:c1", "system_u:object_r:container_file_t:s0:c2", false},
		{"", "", false},
		{"bad", "bad", false},
	} {
		if got := label.SameContext(tc.a, tc.b); got != tc.want {
			t.Errorf("SameContext(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
