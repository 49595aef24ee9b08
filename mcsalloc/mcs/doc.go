// Package mcs is the pure core of the MCS allocator: the 523,776 levels of
// two categories out of c0..c1023 at s0 (Pair, ranked in colexicographic
// order), the pairs a level covers, and Bitmap, the used set with a moving
// cursor that finds a free pair in amortised O(1). It imports no client and
// does no I/O; package mcsalloc persists its state in the cluster.
package mcs
