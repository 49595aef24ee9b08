package mcs

import (
	"testing"

	"github.com/selmount/selmount/label"
)

func TestPairIndexRoundTrip(t *testing.T) {
	seen := make([]bool, Pairs)
	for b := 1; b < Categories; b++ {
		for a := 0; a < b; a++ {
			p := Pair{A: a, B: b}
			i := p.Index()
			if i < 0 || i >= Pairs || seen[i] {
				t.Fatalf("%v: index %d out of range or repeated", p, i)
			}
			seen[i] = true
			if got := PairAt(i); got != p {
				t.Fatalf("PairAt(%d) = %v, want %v", i, got, p)
			}
		}
	}
}

func TestPairLevel(t *testing.T) {
	for _, tc := range []struct {
		p    Pair
		want string
	}{
		{Pair{0, 1}, "s0:c0,c1"},
		{Pair{1, 2}, "s0:c1,c2"},
		{Pair{5, 1023}, "s0:c5,c1023"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%v.String() = %q, want %q", tc.p, got, tc.want)
		}
		l := label.MustParseLevel(tc.want)
		if got, ok := PairOf(l); !ok || got != tc.p {
			t.Errorf("PairOf(%q) = %v, %v; want %v", tc.want, got, ok, tc.p)
		}
	}
	// OpenShift writes categories descending; the pair is the same.
	if got, ok := PairOf(label.MustParseLevel("s0:c1,c0")); !ok || got != (Pair{0, 1}) {
		t.Errorf("PairOf(s0:c1,c0) = %v, %v", got, ok)
	}
	for _, s := range []string{"s0", "s0:c1", "s0:c1,c2,c3", "s1:c1,c2", "s0:c1,c2-s0:c1,c2,c3"} {
		if p, ok := PairOf(label.MustParseLevel(s)); ok {
			t.Errorf("PairOf(%q) = %v, want not a pair", s, p)
		}
	}
}

func TestCovered(t *testing.T) {
	got := Covered(label.MustParseLevel("s0:c1,c2,c5"))
	want := []Pair{{1, 2}, {1, 5}, {2, 5}}
	if len(got) != len(want) {
		t.Fatalf("Covered = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Covered = %v, want %v", got, want)
		}
	}
	if c := Covered(label.MustParseLevel("s0:c3")); len(c) != 0 {
		t.Errorf("Covered(s0:c3) = %v, want none", c)
	}
}

func TestBitmapNextSkipsUsedAndWraps(t *testing.T) {
	var b Bitmap
	b.Set(0)
	b.Set(1)
	b.Set(3)
	for _, want := range []int{2, 4, 5} {
		p, ok := b.Next()
		if !ok || p.Index() != want {
			t.Fatalf("Next = %v (%d), %v; want index %d", p, p.Index(), ok, want)
		}
	}
	b.Seek(Pairs - 1)
	if p, _ := b.Next(); p.Index() != Pairs-1 {
		t.Fatalf("Next at end = %d", p.Index())
	}
	if p, _ := b.Next(); p.Index() != 6 {
		t.Fatalf("Next after wrap = %d, want 6", p.Index())
	}
	if !b.Clear(6) || b.Clear(6) {
		t.Fatal("Clear did not report the previous state")
	}
}

func TestBitmapFull(t *testing.T) {
	var b Bitmap
	for i := 0; i < Pairs; i++ {
		if _, ok := b.Next(); !ok {
			t.Fatalf("Next failed after %d allocations", i)
		}
	}
	if p, ok := b.Next(); ok {
		t.Fatalf("Next on a full bitmap = %v", p)
	}
	b.Clear(12345)
	if p, ok := b.Next(); !ok || p.Index() != 12345 {
		t.Fatalf("Next after freeing 12345 = %v, %v", p, ok)
	}
}

func TestBitmapNoDuplicates(t *testing.T) {
	var b Bitmap
	seen := map[Pair]bool{}
	// A scattered used set, then 10,000 allocations.
	for i := 0; i < Pairs; i += 7 {
		b.Set(i)
	}
	for n := 0; n < 10000; n++ {
		p, ok := b.Next()
		if !ok || seen[p] || p.Index()%7 == 0 {
			t.Fatalf("allocation %d: %v, %v (seen %v)", n, p, ok, seen[p])
		}
		seen[p] = true
	}
}

// BenchmarkAllocate allocates with 100,000 pairs already used, scattered the
// way a rebuilt cluster would leave them.
func BenchmarkAllocate(b *testing.B) {
	var bm Bitmap
	for i := 0; i < 100000; i++ {
		bm.Set((i * 5) % Pairs)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, ok := bm.Next()
		if !ok {
			b.Fatal("bitmap full")
		}
		bm.Clear(p.Index()) // keep the used count at 100,000
	}
}

// FuzzPairOf: any level that is a pair prints canonically and ranks back to
// itself. Seeds: a canonical pair, OpenShift's descending form, a run, a
// single category, a range.
func FuzzPairOf(f *testing.F) {
	for _, s := range []string{"s0:c1,c2", "s0:c1,c0", "s0:c0.c1", "s0:c5", "s0-s0:c0,c1", "s0:c1022,c1023"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := label.ParseLevel(s)
		if err != nil {
			return
		}
		p, ok := PairOf(l)
		if !ok {
			return
		}
		if p.A >= p.B || p.B >= Categories {
			t.Fatalf("PairOf(%q) = %v, not ascending or out of range", s, p)
		}
		if p.Level() != l {
			t.Fatalf("PairOf(%q).Level() = %v, want %v", s, p.Level(), l)
		}
		if PairAt(p.Index()) != p {
			t.Fatalf("PairAt(%d) = %v, want %v", p.Index(), PairAt(p.Index()), p)
		}
	})
}
