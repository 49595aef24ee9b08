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
