// Command kubectl-selmount is selmount as a kubectl plugin: put it on PATH
// and run `kubectl selmount check -A`.
package main

import (
	"fmt"
	"os"

	"github.com/selmount/selmount/internal/cli"
)

func main() {
	root := cli.NewRootCmd("kubectl selmount", os.Stdin, os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		if msg := err.Error(); msg != "" && !cli.IsSilent(err) {
			fmt.Fprintln(os.Stderr, "kubectl selmount:", msg)
		}
		os.Exit(cli.ExitCode(err))
	}
}
