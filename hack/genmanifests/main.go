// Command genmanifests writes the synthetic cluster of package
// internal/gencluster (N pods, each with its own PVC and PV, every tenth
// pod sharing its neighbour's claim with another level) to standard output,
// for the check benchmark (hack/bench-check.sh).
package main

import (
	"bufio"
	"flag"
	"os"

	"github.com/selmount/selmount/internal/gencluster"
)

func main() {
	n := flag.Int("pods", 100000, "number of pods (and of PVCs and PVs)")
	asJSON := flag.Bool("json", false, "write one JSON List instead of YAML documents")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	if *asJSON {
		gencluster.WriteJSON(w, *n)
		return
	}
	gencluster.WriteYAML(w, *n)
}
