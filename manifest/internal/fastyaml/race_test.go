//go:build race

package fastyaml

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocations cannot be counted.
const raceEnabled = true
