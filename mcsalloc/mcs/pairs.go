package mcs

import (
	"math/bits"

	"github.com/selmount/selmount/label"
)

// Categories is the number of MCS categories levels are drawn from
// (c0..c1023), and Pairs the number of distinct two-category levels.
const (
	Categories = label.MaxCategory + 1
	Pairs      = Categories * (Categories - 1) / 2 // 523,776
)

// Pair is a two-category level s0:cA,cB with A < B. Its index is its rank in
// colexicographic order: B*(B-1)/2 + A, so s0:c0,c1 is 0, s0:c0,c2 is 1,
// s0:c1,c2 is 2, and s0:c1022,c1023 is Pairs-1.
type Pair struct{ A, B int }

// Index returns the rank of p in 0..Pairs-1.
func (p Pair) Index() int { return p.B*(p.B-1)/2 + p.A }

// PairAt returns the pair of rank i (0 <= i < Pairs); it is the inverse of
// Index.
func PairAt(i int) Pair {
	// B is the largest b with b*(b-1)/2 <= i.
	b := int((1 + isqrt(uint64(1+8*i))) / 2)
	for b*(b-1)/2 > i {
		b--
	}
	for (b+1)*b/2 <= i {
		b++
	}
	return Pair{A: i - b*(b-1)/2, B: b}
}

func isqrt(n uint64) uint64 {
	if n < 2 {
		return n
	}
	x := uint64(1) << ((bits.Len64(n) + 1) / 2)
	for {
		y := (x + n/x) / 2
		if y >= x {
			return x
		}
		x = y
	}
}

// Level returns p as the single level "s0:cA,cB" (canonical form, ascending).
func (p Pair) Level() label.Level {
	var c label.Categories
	return label.SingleLevel(label.SecLevel{Categories: c.With(p.A).With(p.B)})
}

// String returns the canonical form, "s0:cA,cB".
func (p Pair) String() string { return p.Level().String() }

// PairOf reports the pair l is, if l is a single s0 level of exactly two
// categories (the levels this package hands out).
func PairOf(l label.Level) (Pair, bool) {
	if l.IsZero() || l.IsRange() || l.Low().Sensitivity != 0 {
		return Pair{}, false
	}
	cs := l.Low().Categories.List()
	if len(cs) != 2 {
		return Pair{}, false
	}
	return Pair{A: cs[0], B: cs[1]}, true
}

// Covered returns the pairs a process at level l can read files of: every
// pair whose two categories are both in l's high (clearance) category set.
// A level honoured from an annotation blocks all of them, so that no
// allocated namespace's files are readable from another namespace. The result
// is bounded by Pairs.
func Covered(l label.Level) []Pair {
	if l.IsZero() {
		return nil
	}
	cs := l.High().Categories.List()
	var out []Pair
	for j := 1; j < len(cs); j++ {
		for i := 0; i < j; i++ {
			out = append(out, Pair{A: cs[i], B: cs[j]})
		}
	}
	return out
}
