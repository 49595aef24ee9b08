package check

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeySetAgreesWithMap: random adds and removes, across the switch from
// slice to map, leave a keySet with a map's keys.
func TestKeySetAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var s keySet
		want := map[string]bool{}
		span := 1 + rng.IntN(3*smallSet)
		for step := range 200 {
			k := fmt.Sprint(rng.IntN(span))
			if rng.IntN(3) == 0 {
				s.remove(k)
				delete(want, k)
			} else {
				s.add(k)
				want[k] = true
			}
			got := slices.Sorted(s.all())
			if !slices.Equal(got, slices.Sorted(maps.Keys(want))) || s.len() != len(want) {
				t.Fatalf("round %d step %d: set %v (len %d), want %v", round, step, got, s.len(), slices.Sorted(maps.Keys(want)))
			}
		}
	}
	var nilSet *keySet
	if nilSet.len() != 0 || len(slices.Collect(nilSet.all())) != 0 {
		t.Error("a nil keySet is not empty")
	}
}

// TestReadersAgreeWithMaps: random links and unlinks of a few names, across
// the switches between one reader and several, leave readers that agree
// with a map of sets, and a name without readers takes no room.
func TestReadersAgreeWithMaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := newReaderIndex()
	want := map[string]map[string]bool{}
	names := []string{"a", "b", "c"}
	for step := range 5000 {
		name, ek := names[rng.IntN(len(names))], fmt.Sprint(rng.IntN(2*smallSet))
		if rng.IntN(2) == 0 {
			r.unlink(name, ek)
			delete(want[name], ek)
			if len(want[name]) == 0 {
				delete(want, name)
			}
		} else {
			r.link(name, ek)
			if want[name] == nil {
				want[name] = map[string]bool{}
			}
			want[name][ek] = true
		}
		for _, n := range names {
			if got, w := slices.Sorted(r.of(n)), slices.Sorted(maps.Keys(want[n])); !slices.Equal(got, w) {
				t.Fatalf("step %d: readers of %s %v, want %v", step, n, got, w)
			}
		}
		if r.len() != len(want) {
			t.Fatalf("step %d: %d names (%d single, %d several), want %d", step, r.len(), len(r.one), len(r.many), len(want))
		}
		for n, s := range r.many {
			if s.len() < 2 {
				t.Fatalf("step %d: %s has %d readers in a set", step, n, s.len())
			}
		}
	}
}
