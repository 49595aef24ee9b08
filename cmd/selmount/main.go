// Command selmount predicts, applies and checks SELinux volume labeling for
// Kubernetes. See README.md and `selmount --help`.
package main

import (
	"fmt"
	"os"

	"github.com/selmount/selmount/internal/cli"
)

func main() {
	root := cli.NewRootCmd("selmount", os.Stdin, os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		if msg := err.Error(); msg != "" && !cli.IsSilent(err) {
			fmt.Fprintln(os.Stderr, "selmount:", msg)
		}
		os.Exit(cli.ExitCode(err))
	}
}
