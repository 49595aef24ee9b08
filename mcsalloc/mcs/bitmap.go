package mcs

import "math/bits"

const words = (Pairs + 63) / 64

// Bitmap is the set of used pairs with a moving cursor. Next hands out the
// first free pair at or after the cursor, wrapping around, and moves the
// cursor past it, so successive allocations walk the space once before any
// index is looked at again: amortised O(1) per allocation whatever the number
// of used pairs, and deterministic (the same used set and cursor give the
// same answers). The zero value is an empty set with the cursor at 0. A
// Bitmap is not safe for concurrent use; mcsalloc.Allocator guards its own
// with a mutex.
type Bitmap struct {
	w      [words]uint64
	used   int
	cursor int
}

// Has reports whether pair index i is used.
func (b *Bitmap) Has(i int) bool { return b.w[i/64]&(1<<(uint(i)%64)) != 0 }

// Set marks pair index i used; it reports whether it was free before.
func (b *Bitmap) Set(i int) bool {
	if b.Has(i) {
		return false
	}
	b.w[i/64] |= 1 << (uint(i) % 64)
	b.used++
	return true
}

// Clear marks pair index i free; it reports whether it was used before.
func (b *Bitmap) Clear(i int) bool {
	if !b.Has(i) {
		return false
	}
	b.w[i/64] &^= 1 << (uint(i) % 64)
	b.used--
	return true
}

// Used returns the number of used pairs.
func (b *Bitmap) Used() int { return b.used }

// Cursor returns the index the next search starts at.
func (b *Bitmap) Cursor() int { return b.cursor }

// Seek moves the cursor to i (taken modulo Pairs).
func (b *Bitmap) Seek(i int) { b.cursor = ((i % Pairs) + Pairs) % Pairs }

// NextFree returns the first free index in [from, limit) without changing
// anything, or -1. It skips full 64-bit words at once.
func (b *Bitmap) NextFree(from, limit int) int {
	if limit > Pairs {
		limit = Pairs
	}
	for i := from; i < limit; {
		w := ^b.w[i/64] >> (uint(i) % 64)
		if w == 0 {
			i = (i/64 + 1) * 64
			continue
		}
		j := i + bits.TrailingZeros64(w)
		if j >= limit {
			return -1
		}
		return j
	}
	return -1
}

// Next marks the first free pair at or after the cursor (wrapping) used,
// moves the cursor past it and returns it. ok is false when all Pairs are
// used.
func (b *Bitmap) Next() (p Pair, ok bool) {
	if b.used >= Pairs {
		return Pair{}, false
	}
	i := b.NextFree(b.cursor, Pairs)
	if i < 0 {
		i = b.NextFree(0, b.cursor)
	}
	if i < 0 {
		return Pair{}, false
	}
	b.Set(i)
	b.Seek(i + 1)
	return PairAt(i), true
}
