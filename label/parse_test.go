package label_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/selmount/selmount/label"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form
	}{
		// Single levels.
		{"s0", "s0"},
		{"s15", "s15"},
		{"s0:c0", "s0:c0"},
		{"s0:c1023", "s0:c1023"},
		{"s0:c1,c2", "s0:c1,c2"},
		{"s0:c2,c1", "s0:c1,c2"},
		{"s0:c1,c3", "s0:c1,c3"},
		{"s0:c1,c2,c3", "s0:c1.c3"},
		{"s0:c3,c1,c2", "s0:c1.c3"},
		{"s0:c0.c1", "s0:c0,c1"},
		{"s0:c0.c2", "s0:c0.c2"},
		{"s0:c0.c5,c9", "s0:c0.c5,c9"},
		{"s0:c9,c0.c5", "s0:c0.c5,c9"},
		{"s0:c0.c5,c6", "s0:c0.c6"},
		{"s0:c0.c2,c4,c5", "s0:c0.c2,c4,c5"},
		{"s0:c0.c2,c4.c6", "s0:c0.c2,c4.c6"},
		{"s0:c1,c2,c4,c5,c6,c8", "s0:c1,c2,c4.c6,c8"},
		{"s0:c0.c1023", "s0:c0.c1023"},
		{"s0:c1022,c1023", "s0:c1022,c1023"},
		{"s0:c63,c64", "s0:c63,c64"},
		{"s0:c62,c63,c64,c65", "s0:c62.c65"},
		{"s0:c0.c63,c64.c127", "s0:c0.c127"},
		{"s3:c5,c5", "s3:c5"},
		{"s0:c1.c3,c2", "s0:c1.c3"},
		{"s0:c1.c3,c2.c4", "s0:c1.c4"},

		// Ranges.
		{"s0-s0:c0.c1023", "s0-s0:c0.c1023"},
		{"s0-s15:c0.c1023", "s0-s15:c0.c1023"},
		{"s0:c1-s0:c1", "s0:c1"},
		{"s0:c2,c1-s0:c1,c2", "s0:c1,c2"},
		{"s0-s0", "s0"},
		{"s1-s2", "s1-s2"},
		{"s0:c1-s0:c1,c2", "s0:c1-s0:c1,c2"},
		{"s0:c1-s1:c3,c2,c1", "s0:c1-s1:c1.c3"},
	}
	for _, tt := range tests {
		l, err := label.ParseLevel(tt.in)
		if err != nil {
			t.Errorf("ParseLevel(%q) = error %v", tt.in, err)
			continue
		}
		if got := l.String(); got != tt.want {
			t.Errorf("ParseLevel(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if l.IsZero() {
			t.Errorf("ParseLevel(%q).IsZero() = true", tt.in)
		}
		if want := label.MustParseLevel(tt.want); l != want {
			t.Errorf("ParseLevel(%q) != ParseLevel(%q)", tt.in, tt.want)
		}
	}
}

func TestParseLevelParts(t *testing.T) {
	tests := []struct {
		in        string
		isRange   bool
		low, high string
		lowCats   []int
	}{
		{"s0", false, "s0", "s0", []int{}},
		{"s0:c2,c1", false, "s0:c1,c2", "s0:c1,c2", []int{1, 2}},
		{"s0-s0:c0.c1023", true, "s0", "s0:c0.c1023", []int{}},
		{"s0:c1-s0:c1", false, "s0:c1", "s0:c1", []int{1}},
		{"s1:c0.c2,c7-s2:c0.c9", true, "s1:c0.c2,c7", "s2:c0.c9", []int{0, 1, 2, 7}},
	}
	for _, tt := range tests {
		l := label.MustParseLevel(tt.in)
		if got := l.IsRange(); got != tt.isRange {
			t.Errorf("ParseLevel(%q).IsRange() = %v, want %v", tt.in, got, tt.isRange)
		}
		if got := l.Low().String(); got != tt.low {
			t.Errorf("ParseLevel(%q).Low() = %q, want %q", tt.in, got, tt.low)
		}
		if got := l.High().String(); got != tt.high {
			t.Errorf("ParseLevel(%q).High() = %q, want %q", tt.in, got, tt.high)
		}
		if got := l.Low().Categories.List(); !slices.Equal(got, tt.lowCats) {
			t.Errorf("ParseLevel(%q).Low().Categories.List() = %v, want %v", tt.in, got, tt.lowCats)
		}
		if got, want := l.Low().Categories.Len(), len(tt.lowCats); got != want {
			t.Errorf("ParseLevel(%q).Low().Categories.Len() = %d, want %d", tt.in, got, want)
		}
		if !l.High().Dominates(l.Low()) {
			t.Errorf("ParseLevel(%q): high does not dominate low", tt.in)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in              string
		want            string // canonical form
		user, role, typ string
		level           string // canonical level, "" for none
		levelIsZero     bool
	}{
		{in: "system_u:object_r:container_file_t:s0:c1,c2", want: "system_u:object_r:container_file_t:s0:c1,c2",
			user: "system_u", role: "object_r", typ: "container_file_t", level: "s0:c1,c2"},
		{in: "system_u:object_r:container_file_t:s0:c2,c1", want: "system_u:object_r:container_file_t:s0:c1,c2",
			user: "system_u", role: "object_r", typ: "container_file_t", level: "s0:c1,c2"},
		{in: "system_u:system_r:container_t:s0", want: "system_u:system_r:container_t:s0",
			user: "system_u", role: "system_r", typ: "container_t", level: "s0"},
		{in: "system_u:system_r:container_t", want: "system_u:system_r:container_t",
			user: "system_u", role: "system_r", typ: "container_t", levelIsZero: true},
		{in: "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023", want: "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023",
			user: "unconfined_u", role: "unconfined_r", typ: "unconfined_t", level: "s0-s0:c0.c1023"},
		{in: "a:b:c:s0:c1,c2,c3", want: "a:b:c:s0:c1.c3",
			user: "a", role: "b", typ: "c", level: "s0:c1.c3"},
		{in: "u:r:t:s0:c5-s0:c5", want: "u:r:t:s0:c5",
			user: "u", role: "r", typ: "t", level: "s0:c5"},
		{in: "User-1.x:Role_2:Type.3-x:s1", want: "User-1.x:Role_2:Type.3-x:s1",
			user: "User-1.x", role: "Role_2", typ: "Type.3-x", level: "s1"},
	}
	for _, tt := range tests {
		c, err := label.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) = error %v", tt.in, err)
			continue
		}
		if got := c.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if c.User() != tt.user || c.Role() != tt.role || c.Type() != tt.typ {
			t.Errorf("Parse(%q) = user %q role %q type %q, want %q %q %q", tt.in, c.User(), c.Role(), c.Type(), tt.user, tt.role, tt.typ)
		}
		if got := c.Level().IsZero(); got != tt.levelIsZero {
			t.Errorf("Parse(%q).Level().IsZero() = %v, want %v", tt.in, got, tt.levelIsZero)
		}
		if got := c.Level().String(); got != tt.level {
			t.Errorf("Parse(%q).Level() = %q, want %q", tt.in, got, tt.level)
		}
		if c.IsZero() {
			t.Errorf("Parse(%q).IsZero() = true", tt.in)
		}
	}
}

func TestParseLevelError(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `label.ParseLevel(""): level: empty (at offset 0)`},
		{"x0", `label.ParseLevel("x0"): sensitivity: must start with 's', found 'x' (at offset 0)`},
		{" s0", `label.ParseLevel(" s0"): sensitivity: must start with 's', found ' ' (at offset 0)`},
		{"S0", `label.ParseLevel("S0"): sensitivity: must start with 's', found 'S' (at offset 0)`},
		{"s", `label.ParseLevel("s"): sensitivity: missing number (at offset 1)`},
		{"s16", `label.ParseLevel("s16"): sensitivity: s16 out of range (s0..s15) (at offset 1)`},
		{"s255", `label.ParseLevel("s255"): sensitivity: s255 out of range (s0..s15) (at offset 1)`},
		{"s99999999999999999999999", `label.ParseLevel("s99999999999999999999999"): sensitivity: s99999999999999999999999 out of range (s0..s15) (at offset 1)`},
		{"s01", `label.ParseLevel("s01"): sensitivity: leading zero in "01" (at offset 1)`},
		{"s00", `label.ParseLevel("s00"): sensitivity: leading zero in "00" (at offset 1)`},
		{"s0x", `label.ParseLevel("s0x"): sensitivity: bad character 'x' (at offset 2)`},
		{"s-1", `label.ParseLevel("s-1"): sensitivity: missing number (at offset 1)`},
		{"s+1", `label.ParseLevel("s+1"): sensitivity: bad character '+' (at offset 1)`},
		{"s0:", `label.ParseLevel("s0:"): category: empty category list after ':' (at offset 3)`},
		{"s0:c", `label.ParseLevel("s0:c"): category: missing number (at offset 4)`},
		{"s0:1", `label.ParseLevel("s0:1"): category: must start with 'c', found '1' (at offset 3)`},
		{"s0:c1024", `label.ParseLevel("s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 4)`},
		{"s0:c99999x", `label.ParseLevel("s0:c99999x"): category: bad character 'x' (at offset 9)`},
		{"s0:c01", `label.ParseLevel("s0:c01"): category: leading zero in "01" (at offset 4)`},
		{"s0:c1,c01", `label.ParseLevel("s0:c1,c01"): category: leading zero in "01" (at offset 7)`},
		{"s0:c1x", `label.ParseLevel("s0:c1x"): category: bad character 'x' (at offset 5)`},
		{"s0:c1:c2", `label.ParseLevel("s0:c1:c2"): category: bad character ':' (at offset 5)`},
		{"s0:c1 ,c2", `label.ParseLevel("s0:c1 ,c2"): category: bad character ' ' (at offset 5)`},
		{"s0:c5.c3", `label.ParseLevel("s0:c5.c3"): category: run "c5.c3" does not ascend (at offset 3)`},
		{"s0:c3.c3", `label.ParseLevel("s0:c3.c3"): category: run "c3.c3" does not ascend (at offset 3)`},
		{"s0:c1,c3.c3", `label.ParseLevel("s0:c1,c3.c3"): category: run "c3.c3" does not ascend (at offset 6)`},
		{"s0:c1.c2.c3", `label.ParseLevel("s0:c1.c2.c3"): category: more than one '.' in category run (at offset 8)`},
		{"s0:c1.", `label.ParseLevel("s0:c1."): category: empty (at offset 6)`},
		{"s0:.c1", `label.ParseLevel("s0:.c1"): category: empty (at offset 3)`},
		{"s0:c1.c1024", `label.ParseLevel("s0:c1.c1024"): category: c1024 out of range (c0..c1023) (at offset 7)`},
		{"s0:c1,,c2", `label.ParseLevel("s0:c1,,c2"): category: empty category in list (at offset 6)`},
		{"s0:,c1", `label.ParseLevel("s0:,c1"): category: empty category in list (at offset 3)`},
		{"s0:c1,", `label.ParseLevel("s0:c1,"): category: empty category in list (at offset 6)`},
		{"s0:c1,c2-s0:c1", `label.ParseLevel("s0:c1,c2-s0:c1"): level: high level "s0:c1" does not dominate low level "s0:c1,c2" (at offset 9)`},
		{"s1-s0", `label.ParseLevel("s1-s0"): level: high level "s0" does not dominate low level "s1" (at offset 3)`},
		{"s0:c1-s1:c2", `label.ParseLevel("s0:c1-s1:c2"): level: high level "s1:c2" does not dominate low level "s0:c1" (at offset 6)`},
		{"s0-s0-s0", `label.ParseLevel("s0-s0-s0"): level: more than one '-' in range (at offset 5)`},
		{"-s0", `label.ParseLevel("-s0"): sensitivity: empty (at offset 0)`},
		{"s0-", `label.ParseLevel("s0-"): sensitivity: empty (at offset 3)`},
		{"s0-x", `label.ParseLevel("s0-x"): sensitivity: must start with 's', found 'x' (at offset 3)`},
		{"s0-s0:c1024", `label.ParseLevel("s0-s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 7)`},
	}
	for _, tt := range tests {
		l, err := label.ParseLevel(tt.in)
		if err == nil {
			t.Errorf("ParseLevel(%q) = %q, want error %q", tt.in, l, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("ParseLevel(%q) error:\n got  %s\n want %s", tt.in, got, tt.want)
		}
		if !l.IsZero() {
			t.Errorf("ParseLevel(%q) returned non-zero Level %q with error", tt.in, l)
		}
		checkParseError(t, err, "label.ParseLevel", tt.in)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", `label.Parse(""): context: empty`},
		{"system_u", `label.Parse("system_u"): role: missing`},
		{"system_u:object_r", `label.Parse("system_u:object_r"): type: missing`},
		{"::t:s0", `label.Parse("::t:s0"): user: empty (at offset 0)`},
		{"u::t", `label.Parse("u::t"): role: empty (at offset 2)`},
		{"u:r:", `label.Parse("u:r:"): type: empty (at offset 4)`},
		{"u:r:t:", `label.Parse("u:r:t:"): level: empty (at offset 6)`},
		{"sys$tem_u:object_r:t", `label.Parse("sys$tem_u:object_r:t"): user: bad character '$' (at offset 3)`},
		{"system_u:object r:t", `label.Parse("system_u:object r:t"): role: bad character ' ' (at offset 15)`},
		{"system_u:object_r:container_file_t!:s0", `label.Parse("system_u:object_r:container_file_t!:s0"): type: bad character '!' (at offset 34)`},
		{" u:r:t", `label.Parse(" u:r:t"): user: bad character ' ' (at offset 0)`},
		{"u:r:t\n", `label.Parse("u:r:t\n"): type: bad character '\n' (at offset 5)`},
		{"u:r:t:s16", `label.Parse("u:r:t:s16"): sensitivity: s16 out of range (s0..s15) (at offset 7)`},
		{"u:r:t:s01", `label.Parse("u:r:t:s01"): sensitivity: leading zero in "01" (at offset 7)`},
		{"u:r:t:x0", `label.Parse("u:r:t:x0"): sensitivity: must start with 's', found 'x' (at offset 6)`},
		{"u:r:t:s0:c1024", `label.Parse("u:r:t:s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 10)`},
		{"u:r:t:s0:c01", `label.Parse("u:r:t:s0:c01"): category: leading zero in "01" (at offset 10)`},
		{"u:r:t:s0:c5.c3", `label.Parse("u:r:t:s0:c5.c3"): category: run "c5.c3" does not ascend (at offset 9)`},
		{"u:r:t:s0:", `label.Parse("u:r:t:s0:"): category: empty category list after ':' (at offset 9)`},
		{"u:r:t:s0:c1,,c2", `label.Parse("u:r:t:s0:c1,,c2"): category: empty category in list (at offset 12)`},
		{"u:r:t:s0:c1:c2", `label.Parse("u:r:t:s0:c1:c2"): category: bad character ':' (at offset 11)`},
		{"u:r:t:s0:c1,c2-s0:c1", `label.Parse("u:r:t:s0:c1,c2-s0:c1"): level: high level "s0:c1" does not dominate low level "s0:c1,c2" (at offset 15)`},
		{"u:r:t:s1-s0", `label.Parse("u:r:t:s1-s0"): level: high level "s0" does not dominate low level "s1" (at offset 9)`},
	}
	for _, tt := range tests {
		c, err := label.Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want error %q", tt.in, c, tt.want)
			continue
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("Parse(%q) error:\n got  %s\n want %s", tt.in, got, tt.want)
		}
		if !c.IsZero() || c != (label.Context{}) {
			t.Errorf("Parse(%q) returned non-zero Context %q with error", tt.in, c)
		}
		checkParseError(t, err, "label.Parse", tt.in)
	}
}

// checkParseError checks that err is a *ParseError for input in, matches
// ErrSyntax, and that its offset, if any, lies within the input.
func checkParseError(t *testing.T, err error, fn, in string) {
	t.Helper()
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("%s(%q): errors.Is(err, ErrSyntax) = false for %v", fn, in, err)
	}
	var pe *label.ParseError
	if !errors.As(err, &pe) {
		t.Errorf("%s(%q): error %T is not a *ParseError", fn, in, err)
		return
	}
	if pe.Func != fn || pe.In != in {
		t.Errorf("%s(%q): ParseError{Func: %q, In: %q}, want Func %q, In %q", fn, in, pe.Func, pe.In, fn, in)
	}
	if pe.At < -1 || pe.At > len(in) {
		t.Errorf("%s(%q): ParseError.At = %d, outside [-1, %d]", fn, in, pe.At, len(in))
	}
	if pe.Part == "" {
		t.Errorf("%s(%q): ParseError.Part is empty", fn, in)
	}
}

func TestParseErrorIsOnlyErrSyntax(t *testing.T) {
	_, err := label.ParseLevel("s99")
	if errors.Is(err, label.ErrNoDefaults) {
		t.Errorf("errors.Is(%v, ErrNoDefaults) = true", err)
	}
	if errors.Is(err, errors.New(label.ErrSyntax.Error())) {
		t.Errorf("errors.Is matches a different error with the same text")
	}
	// A wrapped ParseError still matches.
	wrapped := errors.Join(errors.New("reading config"), err)
	if !errors.Is(wrapped, label.ErrSyntax) {
		t.Errorf("errors.Is(wrapped, ErrSyntax) = false")
	}
	var pe *label.ParseError
	if !errors.As(wrapped, &pe) || pe.Part != "sensitivity" || pe.At != 1 {
		t.Errorf("errors.As(wrapped) = %+v", pe)
	}
}

func TestParseErrorFormat(t *testing.T) {
	tests := []struct {
		err  label.ParseError
		want string
	}{
		{label.ParseError{Func: "f", In: "x", Part: "p", At: -1, Msg: "m"}, `f("x"): p: m`},
		{label.ParseError{Func: "f", In: "x", Part: "p", At: 0, Msg: "m"}, `f("x"): p: m (at offset 0)`},
		{label.ParseError{Func: "f", In: "x", Part: "p", At: -1}, `f("x"): p`},
		{label.ParseError{Func: "f", In: "a\"b", Part: "p", At: 2, Msg: "m"}, `f("a\"b"): p: m (at offset 2)`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestMustParsePanics(t *testing.T) {
	for _, f := range []struct {
		name string
		fn   func()
	}{
		{"MustParse", func() { label.MustParse("u:r") }},
		{"MustParseLevel", func() { label.MustParseLevel("s0:c5.c3") }},
	} {
		func() {
			defer func() {
				r := recover()
				err, ok := r.(error)
				if !ok || !errors.Is(err, label.ErrSyntax) {
					t.Errorf("%s: recovered %v, want a ParseError", f.name, r)
				}
			}()
			f.fn()
		}()
	}
}
