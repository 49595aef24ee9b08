// Command selmount predicts, applies and checks SELinux volume labeling for
// Kubernetes. See README.md and `selmount --help`.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/selmount/selmount/internal/cli"
)

func main() {
	tuneGC()
	root := cli.NewRootCmd("selmount", os.Stdin, os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		if msg := err.Error(); msg != "" && !cli.IsSilent(err) {
			fmt.Fprintln(os.Stderr, "selmount:", msg)
		}
		os.Exit(cli.ExitCode(err))
	}
}

// tuneGC trades memory for speed on large inputs (100,000 pods and their
// volumes decode into a few hundred MiB of objects that live to the end):
// collect less often, but keep the heap under a soft 960 MiB, so that a
// whole cluster is checked within 1 GiB (at some CPU cost near the limit;
// see docs/benchmarks.md). GOGC and GOMEMLIMIT still win when set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(960 << 20)
	}
}
