package label_test

// A slow, deliberately simple reference implementation of the level syntax,
// written from the specification rather than from parse.go: split the text
// with package strings, record categories in a []bool, format the result from
// the []bool. The fast parser must agree with it on accept/reject and on the
// canonical form.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/selmount/selmount/label"
)

// slowSecLevel is one level: a sensitivity and a set of categories.
type slowSecLevel struct {
	sens int
	cats []bool // len 1024
}

// slowNumber parses the digits after the 's' or 'c' prefix.
func slowNumber(s string, max int) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false // the largest accepted number, 1023, has 4 digits
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

func slowParseSecLevel(s string) (slowSecLevel, bool) {
	l := slowSecLevel{cats: make([]bool, 1024)}
	sens, cats, hasCats := strings.Cut(s, ":")
	if !strings.HasPrefix(sens, "s") {
		return l, false
	}
	n, ok := slowNumber(sens[1:], 15)
	if !ok {
		return l, false
	}
	l.sens = n
	if !hasCats {
		return l, true
	}
	for _, item := range strings.Split(cats, ",") {
		ends := strings.Split(item, ".")
		if len(ends) > 2 {
			return l, false
		}
		var nums []int
		for _, e := range ends {
			if !strings.HasPrefix(e, "c") {
				return l, false
			}
			n, ok := slowNumber(e[1:], 1023)
			if !ok {
				return l, false
			}
			nums = append(nums, n)
		}
		if len(nums) == 1 {
			l.cats[nums[0]] = true
			continue
		}
		if nums[1] <= nums[0] {
			return l, false
		}
		for c := nums[0]; c <= nums[1]; c++ {
			l.cats[c] = true
		}
	}
	return l, true
}

func (l slowSecLevel) dominates(o slowSecLevel) bool {
	if l.sens < o.sens {
		return false
	}
	for c := range 1024 {
		if o.cats[c] && !l.cats[c] {
			return false
		}
	}
	return true
}

func (l slowSecLevel) equal(o slowSecLevel) bool {
	return l.dominates(o) && o.dominates(l)
}

// String formats the level canonically: categories ascending, runs of three
// or more as cA.cB, pairs and single categories as a comma list.
func (l slowSecLevel) String() string {
	var items []string
	for c := 0; c < 1024; {
		if !l.cats[c] {
			c++
			continue
		}
		end := c
		for end+1 < 1024 && l.cats[end+1] {
			end++
		}
		switch end - c {
		case 0:
			items = append(items, fmt.Sprintf("c%d", c))
		case 1:
			items = append(items, fmt.Sprintf("c%d", c), fmt.Sprintf("c%d", end))
		default:
			items = append(items, fmt.Sprintf("c%d.c%d", c, end))
		}
		c = end + 1
	}
	s := fmt.Sprintf("s%d", l.sens)
	if len(items) > 0 {
		s += ":" + strings.Join(items, ",")
	}
	return s
}

// slowParseLevel returns the canonical form of a level, or ok == false.
func slowParseLevel(s string) (canonical string, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) > 2 {
		return "", false
	}
	low, ok := slowParseSecLevel(parts[0])
	if !ok {
		return "", false
	}
	if len(parts) == 1 {
		return low.String(), true
	}
	high, ok := slowParseSecLevel(parts[1])
	if !ok || !high.dominates(low) {
		return "", false
	}
	if low.equal(high) {
		return low.String(), true
	}
	return low.String() + "-" + high.String(), true
}

// slowParse returns the canonical form of a context, or ok == false.
func slowParse(s string) (canonical string, ok bool) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return "", false
	}
	for _, id := range parts[:3] {
		if id == "" {
			return "", false
		}
		for _, r := range id {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", r) {
				return "", false
			}
		}
	}
	out := strings.Join(parts[:3], ":")
	if len(parts) == 4 {
		lv, ok := slowParseLevel(parts[3])
		if !ok {
			return "", false
		}
		out += ":" + lv
	}
	return out, true
}

// checkLevelAgainstSlow reports a disagreement between ParseLevel and the
// reference implementation on s.
func checkLevelAgainstSlow(t *testing.T, s string) {
	t.Helper()
	want, wantOK := slowParseLevel(s)
	l, err := label.ParseLevel(s)
	switch {
	case wantOK && err != nil:
		t.Errorf("ParseLevel(%q) = error %v; reference accepts it as %q", s, err, want)
	case !wantOK && err == nil:
		t.Errorf("ParseLevel(%q) = %q; reference rejects it", s, l)
	case wantOK && l.String() != want:
		t.Errorf("ParseLevel(%q) = %q; reference gives %q", s, l, want)
	}
}

func checkContextAgainstSlow(t *testing.T, s string) {
	t.Helper()
	want, wantOK := slowParse(s)
	c, err := label.Parse(s)
	switch {
	case wantOK && err != nil:
		t.Errorf("Parse(%q) = error %v; reference accepts it as %q", s, err, want)
	case !wantOK && err == nil:
		t.Errorf("Parse(%q) = %q; reference rejects it", s, c)
	case wantOK && c.String() != want:
		t.Errorf("Parse(%q) = %q; reference gives %q", s, c, want)
	}
}

// TestSlowReference checks the reference implementation itself on a few
// hand-written cases, so that agreement with it means something.
func TestSlowReference(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for reject
	}{
		{"s0", "s0"},
		{"s0:c2,c1", "s0:c1,c2"},
		{"s0:c1,c2,c3", "s0:c1.c3"},
		{"s0:c0.c5,c9", "s0:c0.c5,c9"},
		{"s0-s0:c0.c1023", "s0-s0:c0.c1023"},
		{"s0:c1-s0:c1", "s0:c1"},
		{"s3:c5,c5", "s3:c5"},
		{"s16", ""},
		{"s01", ""},
		{"s0:c1024", ""},
		{"s0:c01", ""},
		{"s0:c5.c3", ""},
		{"s0:c3.c3", ""},
		{"s0:", ""},
		{"s0:c1,,c2", ""},
		{"s0:c1,c2-s0:c1", ""},
		{"s1-s0", ""},
		{"x0", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := slowParseLevel(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("slowParseLevel(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// levelGen generates level strings, valid and invalid, with a fixed seed so
// that failures reproduce.
type levelGen struct {
	r *rand.Rand
}

// cat returns a category number, biased towards small numbers, word
// boundaries and the ends of the range so that runs and limits are common.
func (g levelGen) cat() int {
	switch g.r.IntN(6) {
	case 0:
		return g.r.IntN(1024)
	case 1:
		return []int{0, 1, 62, 63, 64, 65, 127, 128, 1021, 1022, 1023}[g.r.IntN(11)]
	default:
		return g.r.IntN(12)
	}
}

// catSet returns a random set of categories.
func (g levelGen) catSet() []bool {
	set := make([]bool, 1024)
	switch g.r.IntN(8) {
	case 0: // empty
	case 1: // one long run
		a := g.cat()
		b := a + g.r.IntN(1024-a)
		for c := a; c <= b; c++ {
			set[c] = true
		}
	default:
		for range g.r.IntN(8) {
			a := g.cat()
			n := 1
			if g.r.IntN(3) == 0 {
				n += g.r.IntN(5)
			}
			for c := a; c < a+n && c < 1024; c++ {
				set[c] = true
			}
		}
	}
	return set
}

// writeCats writes a category set in a random but valid spelling: the runs
// are cut into pieces, each written as a list or as a dotted run, in random
// order, some of them twice.
func (g levelGen) writeCats(set []bool) string {
	var items []string
	for c := 0; c < 1024; {
		if !set[c] {
			c++
			continue
		}
		end := c
		for end+1 < 1024 && set[end+1] && g.r.IntN(8) != 0 {
			end++
		}
		if end > c && g.r.IntN(2) == 0 {
			items = append(items, fmt.Sprintf("c%d.c%d", c, end))
		} else {
			for k := c; k <= end; k++ {
				items = append(items, fmt.Sprintf("c%d", k))
			}
		}
		if g.r.IntN(10) == 0 {
			items = append(items, items[len(items)-1])
		}
		c = end + 1
	}
	if g.r.IntN(2) == 0 {
		g.r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	}
	return strings.Join(items, ",")
}

func (g levelGen) writeSec(sens int, set []bool) string {
	s := fmt.Sprintf("s%d", sens)
	if cats := g.writeCats(set); cats != "" {
		s += ":" + cats
	}
	return s
}

// valid returns a valid level in a random spelling.
func (g levelGen) valid() string {
	sens := g.r.IntN(16)
	if g.r.IntN(2) == 0 {
		sens = g.r.IntN(2)
	}
	low := g.catSet()
	if g.r.IntN(2) == 0 {
		return g.writeSec(sens, low)
	}
	// A range: the high level dominates the low one.
	high := make([]bool, 1024)
	copy(high, low)
	if g.r.IntN(3) != 0 {
		extra := g.catSet()
		for c := range high {
			high[c] = high[c] || extra[c]
		}
	}
	hsens := sens
	if g.r.IntN(3) == 0 {
		hsens += g.r.IntN(16 - sens)
	}
	return g.writeSec(sens, low) + "-" + g.writeSec(hsens, high)
}

// mutate damages s in one of several ways; the result may still be valid.
func (g levelGen) mutate(s string) string {
	const alphabet = "sc0123456789:,.- x"
	if s == "" {
		return string(alphabet[g.r.IntN(len(alphabet))])
	}
	i := g.r.IntN(len(s) + 1)
	switch g.r.IntN(7) {
	case 0: // insert a character
		return s[:i] + string(alphabet[g.r.IntN(len(alphabet))]) + s[i:]
	case 1: // delete a character
		if i == len(s) {
			i--
		}
		return s[:i] + s[i+1:]
	case 2: // replace a character
		if i == len(s) {
			i--
		}
		return s[:i] + string(alphabet[g.r.IntN(len(alphabet))]) + s[i+1:]
	case 3: // out-of-range or zero-padded numbers
		return strings.NewReplacer("c1,", "c1024,", "s1", "s16", "c0", "c00", "c5", "c05", "s0", "s00").Replace(s)
	case 4: // swap the two levels of a range
		if lo, hi, ok := strings.Cut(s, "-"); ok {
			return hi + "-" + lo
		}
		return s + "-" + g.valid()
	case 5: // reverse a dotted run
		if a, b, ok := strings.Cut(s, "."); ok {
			return a + "." + strings.Replace(b, "c", "c0", 1)
		}
		return s + ","
	default: // concatenate with another level
		return s + []string{"-", ":", ","}[g.r.IntN(3)] + g.valid()
	}
}

// junk returns a short random string over the level alphabet.
func (g levelGen) junk() string {
	const alphabet = "sc0123456789:,.-"
	b := make([]byte, g.r.IntN(12))
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

func TestParseLevelAgainstSlow(t *testing.T) {
	g := levelGen{rand.New(rand.NewPCG(1, 2))}
	n := 10000
	if testing.Short() {
		n = 2000
	}
	var accepted, rejected int
	for range n {
		var s string
		switch g.r.IntN(4) {
		case 0, 1:
			s = g.valid()
			if _, ok := slowParseLevel(s); !ok {
				t.Fatalf("generator produced %q, which the reference rejects", s)
			}
		case 2:
			s = g.mutate(g.valid())
			for g.r.IntN(3) == 0 {
				s = g.mutate(s)
			}
		default:
			s = g.junk()
		}
		if _, ok := slowParseLevel(s); ok {
			accepted++
		} else {
			rejected++
		}
		checkLevelAgainstSlow(t, s)
		checkContextAgainstSlow(t, "system_u:object_r:container_file_t:"+s)
		if t.Failed() {
			return
		}
	}
	// The comparison is only meaningful if both outcomes are common.
	if accepted < n/4 || rejected < n/10 {
		t.Errorf("generated %d accepted and %d rejected inputs; generator is unbalanced", accepted, rejected)
	}
}

// TestCompareAgainstSlow checks Level.Compare against comparing the category
// lists of the reference implementation lexicographically.
func TestCompareAgainstSlow(t *testing.T) {
	g := levelGen{rand.New(rand.NewPCG(3, 4))}
	key := func(l label.Level) []int {
		k := []int{int(l.Low().Sensitivity)}
		k = append(k, l.Low().Categories.List()...)
		k = append(k, -1, int(l.High().Sensitivity)) // -1 ends the low list
		return append(k, l.High().Categories.List()...)
	}
	cmpInts := func(a, b []int) int {
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				if a[i] < b[i] {
					return -1
				}
				return 1
			}
		}
		return len(a) - len(b)
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	var levels []label.Level
	for range 200 {
		levels = append(levels, label.MustParseLevel(g.valid()))
	}
	for _, a := range levels {
		for _, b := range levels {
			if got, want := a.Compare(b), sign(cmpInts(key(a), key(b))); got != want {
				t.Fatalf("ParseLevel(%q).Compare(%q) = %d, want %d", a, b, got, want)
			}
		}
	}
}
