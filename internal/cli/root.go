// Package cli holds selmount's cobra commands. Commands parse flags, call one
// library function and print its result to cmd.OutOrStdout(); the logic lives
// in the library packages.
package cli

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

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
// in help and errors ("selmount", or "kubectl selmount" when run as a kubectl
// plugin).
func NewRootCmd(name string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		// cobra takes a command's name from the first word of Use: the
		// plugin is kubectl-selmount, displayed as "kubectl selmount", as
		// kubectl plugins do.
		Use:   strings.ReplaceAll(name, " ", "-"),
		Short: "Predict, apply and check SELinux volume labeling for Kubernetes (KEP-1710)",
		Long: `selmount predicts what the kubelet does with SELinux labels on every pod volume,
for every Kubernetes version from 1.25 to 1.38: whether it mounts the volume with
-o context (constant time), leaves the container runtime to relabel every file, or
labels nothing, and which pods conflict on a node.

Exit status, for every command: 0 success; 1 the command worked and found what it
reports as a failure (check: a finding at or above --fail-on; mount: mounted
without the label; verify: not a mount point, or not with the label); 2 invalid
flags or input, or the work could not be done. Each command's help says more.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagErrors)
	for _, add := range subcommands {
		cmd := add()
		if name != "selmount" {
			cmd.Example = renameInExamples(cmd.Example, name)
		}
		root.AddCommand(cmd)
	}
	// --version without cobra's -v shorthand, which kubectl users know as
	// the log verbosity.
	v := buildVersion()
	var text strings.Builder
	_ = writeVersion(&text, name, v)
	root.Version = text.String()
	root.SetVersionTemplate("{{.Version}}")
	root.Flags().Bool("version", false, "print the version, the commit and the Go version, and exit")
	return root
}

// renameInExamples replaces the command name at the start of each example
// line, and after a pipe, with name.
func renameInExamples(ex, name string) string {
	lines := strings.Split(ex, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		indent := l[:len(l)-len(trimmed)]
		if rest, ok := strings.CutPrefix(trimmed, "selmount "); ok {
			trimmed = name + " " + rest
		}
		trimmed = strings.ReplaceAll(trimmed, "| selmount ", "| "+name+" ")
		lines[i] = indent + trimmed
	}
	return strings.Join(lines, "\n")
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
// volumes decode into a few hundred MiB of objects that live to the end).
// Unless GOMEMLIMIT is set, the heap gets a soft limit of 900 MiB (or 3/4
// of the memory limit of the process's cgroup, when that is lower), and the
// collector runs at GOGC=400 below it: a whole cluster is checked within
// 1 GiB, 0.15 to 0.2 s faster than at GOGC=200. Switching the collector off
// below the limit was faster still, but overshot 1 GiB now and then (see
// docs/benchmarks.md). GOGC and GOMEMLIMIT still win when set.
func tuneGC() {
	gogc := 400
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := int64(900 << 20)
		if c, ok := cgroupMemoryLimit(""); ok && c/4*3 < limit {
			limit = c / 4 * 3
		}
		debug.SetMemoryLimit(limit)
	} else {
		gogc = 200 // the user's limit may be "off"
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gogc)
	}
}

// tuneGCService undoes tuneGC for the long-running commands (controller,
// webhook): their heap is what the informers and the analysis keep, live
// for ever, so GOGC=400 would let the process grow to five times it. They
// run at GOGC=25, so the heap grows to 1.25 times what is live instead of
// twice at Go's default. At 50,000 pods (docs/benchmarks.md, one run each,
// same code) the RSS above idle was 235 / 211 MiB (peak / after catch-up)
// at GOGC=50, 190 / 188 at GOGC=25 for about the same CPU to catch up
// (26.6 and 27.1 s), and 180 / 170 at GOGC=10, which took 42.5 s. A soft
// limit sits at 3/4 of the cgroup's memory limit, when there is one (no
// limit otherwise). GOGC and GOMEMLIMIT still win when set.
func tuneGCService() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		limit := int64(math.MaxInt64)
		if c, ok := cgroupMemoryLimit(""); ok {
			limit = c / 4 * 3
		}
		debug.SetMemoryLimit(limit)
	}
}

// cgroupMemoryLimit returns the lowest memory limit on the path of this
// process's cgroup (from /proc/self/cgroup, read under root: cgroup v2's
// memory.max, or v1's memory.limit_in_bytes), ok false when there is none.
func cgroupMemoryLimit(root string) (int64, bool) {
	self, err := os.ReadFile(root + "/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	best, found := int64(0), false
	consider := func(file string) {
		b, err := os.ReadFile(file)
		if err != nil {
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 { // "max", or v1's "unlimited" (a huge number)
			return
		}
		if !found || n < best {
			best, found = n, true
		}
	}
	for _, line := range strings.Split(string(self), "\n") {
		// "0::/path" (v2) or "4:memory:/path" (v1).
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = root+"/sys/fs/cgroup", "memory.max"
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			dir, file = root+"/sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		// The cgroup and each parent: a limit anywhere above applies too.
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			consider(dir + p + "/" + file)
			if p == "/" {
				break
			}
		}
	}
	return best, found
}
