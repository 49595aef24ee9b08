//go:build !unix

package manifest

// oNonBlock is 0 where FIFOs cannot be opened from a directory walk.
const oNonBlock = 0
