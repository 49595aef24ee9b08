package label

import (
	"fmt"
	"math/bits"
	"strconv"
)

// MaxSensitivity and MaxCategory bound the MLS/MCS values selmount accepts:
// s0..s15 and c0..c1023, the ranges of the policies shipped by Fedora, RHEL,
// CoreOS and Debian (and the ones the container tooling allocates from).
const (
	MaxSensitivity = 15
	MaxCategory    = 1023
)

// Categories is a set of MCS categories c0..c1023. It is a comparable value;
// the zero value is the empty set.
type Categories struct {
	bits [(MaxCategory + 1) / 64]uint64
}

// Has reports whether category c is in the set.
func (c Categories) Has(cat int) bool {
	if cat < 0 || cat > MaxCategory {
		return false
	}
	return c.bits[cat/64]&(1<<(uint(cat)%64)) != 0
}

// With returns a copy of the set with category cat added. It panics if cat is
// out of range, which only a programming error can cause.
func (c Categories) With(cat int) Categories {
	if cat < 0 || cat > MaxCategory {
		panic("label: category out of range: " + strconv.Itoa(cat))
	}
	c.bits[cat/64] |= 1 << (uint(cat) % 64)
	return c
}

// Len returns the number of categories in the set.
func (c Categories) Len() int {
	n := 0
	for _, w := range c.bits {
		n += bits.OnesCount64(w)
	}
	return n
}

// IsEmpty reports whether the set has no categories.
func (c Categories) IsEmpty() bool { return c == Categories{} }

// Contains reports whether every category of o is also in c.
func (c Categories) Contains(o Categories) bool {
	for i := range c.bits {
		if o.bits[i]&^c.bits[i] != 0 {
			return false
		}
	}
	return true
}

// List returns the categories in ascending order.
func (c Categories) List() []int {
	out := make([]int, 0, c.Len())
	for i, w := range c.bits {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, i*64+b)
			w &^= 1 << uint(b)
		}
	}
	return out
}

// appendTo writes the set the way the kernel prints it: ascending, runs of
// three or more as cA.cB, two neighbours as cA,cB. It writes nothing for the
// empty set.
func (c Categories) appendTo(b []byte) []byte {
	first := true
	list := c.List()
	for i := 0; i < len(list); {
		j := i
		for j+1 < len(list) && list[j+1] == list[j]+1 {
			j++
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, 'c')
		b = strconv.AppendInt(b, int64(list[i]), 10)
		switch {
		case j-i >= 2:
			b = append(b, ".c"...)
			b = strconv.AppendInt(b, int64(list[j]), 10)
		case j-i == 1:
			b = append(b, ",c"...)
			b = strconv.AppendInt(b, int64(list[j]), 10)
		}
		i = j + 1
	}
	return b
}

// SecLevel is one MLS level: a sensitivity and a set of categories, as in
// "s0:c1,c2". The zero value is "s0".
type SecLevel struct {
	Sensitivity uint8
	Categories  Categories
}

// Dominates reports whether l dominates o: an equal or higher sensitivity and
// a superset of o's categories.
func (l SecLevel) Dominates(o SecLevel) bool {
	return l.Sensitivity >= o.Sensitivity && l.Categories.Contains(o.Categories)
}

func (l SecLevel) appendTo(b []byte) []byte {
	b = append(b, 's')
	b = strconv.AppendInt(b, int64(l.Sensitivity), 10)
	if !l.Categories.IsEmpty() {
		b = append(b, ':')
		b = l.Categories.appendTo(b)
	}
	return b
}

// String returns the level in canonical form, e.g. "s0:c0.c5,c9".
func (l SecLevel) String() string { return string(l.appendTo(nil)) }

// Level is the MLS/MCS part of a context: a low level and, optionally, a
// higher one ("s0-s0:c0.c1023"). It is what Kubernetes calls
// seLinuxOptions.level. Level is a comparable value; two levels written with
// categories in another order ("s0:c2,c1" and "s0:c1,c2") are equal.
//
// The zero Level is not a valid level: it stands for "no level" and IsZero
// reports it. It marshals to the empty string and back.
type Level struct {
	low, high SecLevel
	valid     bool
}

// NewLevel returns the level low-high. It fails if high does not dominate low.
// It also fails if a sensitivity is above MaxSensitivity, since such a level
// could not be parsed back from its String form.
func NewLevel(low, high SecLevel) (Level, error) {
	in := low.String() + "-" + high.String()
	for _, l := range []SecLevel{low, high} {
		if l.Sensitivity > MaxSensitivity {
			return Level{}, &ParseError{Func: "label.NewLevel", In: in, Part: "sensitivity", At: -1, Msg: fmt.Sprintf("s%d out of range (s0..s%d)", l.Sensitivity, MaxSensitivity)}
		}
	}
	if !high.Dominates(low) {
		return Level{}, &ParseError{Func: "label.NewLevel", In: in, Part: "level", At: -1, Msg: "high level does not dominate low level"}
	}
	return Level{low: low, high: high, valid: true}, nil
}

// SingleLevel returns the level consisting of l alone (low == high).
func SingleLevel(l SecLevel) Level { return Level{low: l, high: l, valid: true} }

// IsZero reports whether l is the zero Level (no level).
func (l Level) IsZero() bool { return !l.valid }

// Low returns the low (current) level.
func (l Level) Low() SecLevel { return l.low }

// High returns the high (clearance) level; equal to Low for a single level.
func (l Level) High() SecLevel { return l.high }

// IsRange reports whether the high level differs from the low level.
func (l Level) IsRange() bool { return l.valid && l.low != l.high }

// AppendTo appends the canonical form of l to b: categories ascending, runs of
// three or more as cA.cB, "low-high" collapsed to "low" when both are equal.
// This is the form the kernel prints.
func (l Level) AppendTo(b []byte) []byte {
	if !l.valid {
		return b
	}
	b = l.low.appendTo(b)
	if l.low != l.high {
		b = append(b, '-')
		b = l.high.appendTo(b)
	}
	return b
}

// String returns the canonical form of l, or "" for the zero Level.
func (l Level) String() string { return string(l.AppendTo(nil)) }

// Compare orders levels: the zero Level first, then by low sensitivity, low
// categories, high sensitivity and high categories. It returns -1, 0 or +1.
func (l Level) Compare(o Level) int {
	if l.valid != o.valid {
		if !l.valid {
			return -1
		}
		return 1
	}
	if c := compareSec(l.low, o.low); c != 0 {
		return c
	}
	return compareSec(l.high, o.high)
}

func compareSec(a, b SecLevel) int {
	if a.Sensitivity != b.Sensitivity {
		if a.Sensitivity < b.Sensitivity {
			return -1
		}
		return 1
	}
	// Compare category sets as their ascending lists compare
	// lexicographically: up to the lowest differing category the lists agree.
	// The set that has that category sorts first, unless the other set has no
	// category above it, in which case the other list is a prefix and sorts
	// first ("s0" < "s0:c0" < "s0:c0,c1" < "s0:c1").
	for i := range a.Categories.bits {
		x, y := a.Categories.bits[i], b.Categories.bits[i]
		if x == y {
			continue
		}
		d := x ^ y
		low := d & -d
		lower, other := -1, b.Categories // a has the differing category
		if x&low == 0 {
			lower, other = 1, a.Categories
		}
		if other.hasAbove(i*64 + bits.TrailingZeros64(low)) {
			return lower
		}
		return -lower
	}
	return 0
}

// hasAbove reports whether the set has a category greater than cat.
func (c Categories) hasAbove(cat int) bool {
	i, b := cat/64, uint(cat%64)
	if b < 63 && c.bits[i]>>(b+1) != 0 {
		return true
	}
	for _, w := range c.bits[i+1:] {
		if w != 0 {
			return true
		}
	}
	return false
}

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (l Level) MarshalText() ([]byte, error) { return l.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler. The empty text gives the
// zero Level.
func (l *Level) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*l = Level{}
		return nil
	}
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// WithoutCategories returns the level with every category removed, keeping
// the sensitivities: the level of a shared (":z") label.
func (l Level) WithoutCategories() Level {
	if !l.valid {
		return l
	}
	l.low.Categories = Categories{}
	l.high.Categories = Categories{}
	return l
}
