// Package cli holds selmount's cobra commands. Commands parse flags, call one
// library function and print its result to cmd.OutOrStdout(); the logic lives
// in the library packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command, so that scripts and CI pipelines can
// tell outcomes apart.
const (
	ExitOK       = 0 // success, nothing found that the command was asked to fail on
	ExitFindings = 1 // the command worked and found what it was asked to fail on
	ExitError    = 2 // bad input, bad flags or an operational error
)

// ExitCodeError carries an exit code out of a command. With a nil Err the
// command has already printed why.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by Execute to a process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *ExitCodeError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitError
}

// NewRootCmd returns the selmount command tree. name is the program name shown
// in help ("selmount", or "kubectl selmount" when run as a kubectl plugin).
func NewRootCmd(name string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   name,
		Short: "Predict, apply and check SELinux volume labeling for Kubernetes (KEP-1710)",
		Long: `selmount predicts what the kubelet does with SELinux labels on every pod volume,
for every Kubernetes version from 1.25 to 1.38: whether it mounts the volume with
-o context (constant time), leaves the container runtime to relabel every file, or
labels nothing, and which pods conflict on a node.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands are registered by the files that define them, so that each
// command lives in one file of its own.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// IsSilent reports whether err only carries an exit code whose reason the
// command has already printed.
func IsSilent(err error) bool {
	var e *ExitCodeError
	return errors.As(err, &e) && e.Err == nil
}

// Main runs the command tree as the program name and exits with the
// command's exit code. Both binaries (selmount and kubectl-selmount) are this
// one call.
func Main(name string) {
	tuneGC()
	root := NewRootCmd(name, os.Stdin, os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		if msg := err.Error(); msg != "" && !IsSilent(err) {
			fmt.Fprintln(os.Stderr, name+":", msg)
		}
		os.Exit(ExitCode(err))
	}
}

// tuneGC trades memory for speed on large inputs (100,000 pods and their
// volumes decode into a few hundred MiB of objects that live to the end):
// collect less often, but keep the heap under a soft 900 MiB, so that a
// whole cluster is checked within 1 GiB of resident memory with room to
// spare (960 MiB left the process at 1,000 MiB and no faster; see
// docs/benchmarks.md). GOGC and GOMEMLIMIT still win when set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(900 << 20)
	}
}
