package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/relabel"
)

func init() { register(newRelabelCmd) }

type relabelOptions struct {
	label        string
	level        string
	nodeDefaults string
	workers      int
	subPath      string
	xdev         bool
	dryRun       bool
	force        bool
	output       string
}

func newRelabelCmd() *cobra.Command {
	o := &relabelOptions{}
	cmd := &cobra.Command{
		Use:   "relabel PATH (--label LABEL | --level LEVEL [--node-defaults NAME|DIR])",
		Short: "Give every file below PATH an SELinux label, writing only labels that differ",
		Long: `relabel gives PATH and every entry below it (directories, files, symlinks
themselves, sockets, FIFOs, devices) one SELinux label, as a container runtime does
for a volume that could not be mounted with -o context. It reads each label and
writes only those that differ, never follows symlinks, stays on PATH's mount
(unless --xdev=false) and labels PATH itself last.

Unless --force is given it refuses system paths: everything in /usr, /etc,
/boot, /bin, /sbin, /lib*, /proc, /sys, /dev, /run, /root and /var/log; the
directories /, /home, /srv, /mnt, /opt, /tmp, /var, /var/lib themselves, each
/home/USER and /var/lib/SERVICE; and the state directories of the kubelet and
the runtimes except their volume directories (for example
/var/lib/kubelet/pods/UID/volumes/PLUGIN/NAME). The error names the protected
path that matched. See docs/relabel.md.

The label is given whole (--label) or as a level (--level) applied to the node's
default file label (--node-defaults: a profile such as fedora or debian, or the
root directory of a node tree to read the container contexts from).

On a terminal, a progress line is written to stderr. The exit status is 0 when
every entry was handled, 2 when anything failed.`,
		Example: `  selmount relabel /var/lib/kubelet/pods/UID/volumes/kubernetes.io~empty-dir/data --level s0:c12,c34
  selmount relabel /srv/vol --label system_u:object_r:container_file_t:s0 --dry-run -o json`,
		Args: operands("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.label, "label", "", "the full label to set, e.g. system_u:object_r:container_file_t:s0:c1,c2")
	f.StringVar(&o.level, "level", "", "the level to set on the node's default file label, e.g. s0:c1,c2")
	f.StringVar(&o.nodeDefaults, "node-defaults", "fedora", "with --level: a profile (fedora, rhel, coreos, debian, ubuntu, ...) or the root directory of a node tree to read the default labels from")
	f.IntVar(&o.workers, "workers", 0, "number of parallel workers (0: 4 per CPU, between 4 and 32)")
	f.StringVar(&o.subPath, "subpath", "", "relabel only this subtree of PATH (relative, no symlinks), as for a subPath volume mount")
	f.BoolVar(&o.xdev, "xdev", true, "stay on PATH's mount; --xdev=false also relabels filesystems mounted below PATH")
	f.BoolVar(&o.dryRun, "dry-run", false, "read every label and count what would change, writing nothing")
	f.BoolVar(&o.force, "force", false, "allow relabeling a protected system path such as /, /usr/local, /etc/ssh or a home directory")
	addOutputFlag(cmd, &o.output, "o", formatText, formatJSON, formatYAML)
	return cmd
}

// RelabelResult is the document of `selmount relabel -o json|yaml`.
type RelabelResult struct {
	APIVersion     string   `json:"apiVersion"`
	Kind           string   `json:"kind"`
	Path           string   `json:"path"`
	SubPath        string   `json:"subPath,omitempty"`
	Label          string   `json:"label"`
	DryRun         bool     `json:"dryRun"`
	Visited        int64    `json:"visited"`
	Changed        int64    `json:"changed"`
	Unread         int64    `json:"unread"`
	Correct        int64    `json:"correct"`
	Skipped        int64    `json:"skipped"`
	Errors         int64    `json:"errors"`
	ElapsedSeconds float64  `json:"elapsedSeconds"`
	Error          string   `json:"error,omitempty"`
	Failures       []string `json:"failures,omitempty"`
}

func (o *relabelOptions) target() (label.Context, error) {
	to, err := labelFlags(o.label, o.level, o.nodeDefaults)
	if err == nil && to.IsZero() {
		err = errors.New("one of --label or --level is required")
	}
	return to, err
}

func (o *relabelOptions) run(cmd *cobra.Command, path string) error {
	to, err := o.target()
	if err != nil {
		return &ExitCodeError{Code: ExitError, Err: err}
	}
	// A protected path is refused as such, even when it does not exist:
	// Relabel says which rule matched.
	if o.force || !relabel.IsProtected(filepath.Join(path, o.subPath)) {
		if err := checkTarget(path); err != nil {
			return &ExitCodeError{Code: ExitError, Err: err}
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stderr := cmd.ErrOrStderr()
	opt := &relabel.Options{
		Workers:      o.workers,
		FollowMounts: !o.xdev,
		DryRun:       o.dryRun,
		SubPath:      o.subPath,
		Force:        o.force,
	}
	live := isTerminal(stderr)
	if live {
		opt.Progress = func(s relabel.Stats) { progressLine(stderr, s) }
	}
	st, err := relabel.Relabel(ctx, path, to, opt)
	if errors.Is(err, relabel.ErrProtectedPath) {
		err = fmt.Errorf("%w (--force allows it)", err)
	}
	if live {
		fmt.Fprint(stderr, "\r\033[K")
	}
	res := RelabelResult{
		APIVersion: apiversion.Current, Kind: "RelabelResult",
		Path: path, SubPath: o.subPath, Label: to.String(), DryRun: o.dryRun,
		Visited: st.Visited, Changed: st.Changed, Unread: st.Unread, Correct: st.Correct, Skipped: st.Skipped, Errors: st.Errors,
		ElapsedSeconds: st.Elapsed.Seconds(),
	}
	if err != nil {
		res.Error = err.Error()
		var pe *relabel.PartialError
		if errors.As(err, &pe) {
			for _, e := range pe.Errs {
				res.Failures = append(res.Failures, e.Error())
			}
		}
	}
	if o.output != formatText {
		if err := writeOutput(cmd.OutOrStdout(), o.output, res, nil); err != nil {
			return err
		}
	} else if err == nil || st.Visited > 0 {
		writeRelabelText(cmd.OutOrStdout(), res, st.Elapsed)
	}
	if err != nil {
		if o.output == "text" {
			for _, f := range res.Failures {
				fmt.Fprintln(stderr, "error:", f)
			}
			if int64(len(res.Failures)) < res.Errors && len(res.Failures) > 0 {
				fmt.Fprintf(stderr, "error: ... and %d more\n", res.Errors-int64(len(res.Failures)))
			}
			if len(res.Failures) == 0 {
				return &ExitCodeError{Code: ExitError, Err: err}
			}
		}
		return &ExitCodeError{Code: ExitError}
	}
	return nil
}

func writeRelabelText(w io.Writer, r RelabelResult, elapsed time.Duration) {
	target := r.Path
	if r.SubPath != "" {
		target += " (subpath " + r.SubPath + ")"
	}
	verb, changed := "relabeled", "changed"
	if r.DryRun {
		verb, changed = "dry run of", "would change"
	}
	unread := ""
	if r.Unread > 0 {
		unread = fmt.Sprintf(" (%d written without reading, after runs of wrong labels)", r.Unread)
	}
	fmt.Fprintf(w, "%s %s to %s: %d entries in %s (%s/s): %d %s%s, %d already correct, %d skipped, %d errors\n",
		verb, target, r.Label, r.Visited, roundDuration(elapsed), rate(r.Visited, elapsed), r.Changed, changed, unread, r.Correct, r.Skipped, r.Errors)
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func progressLine(w io.Writer, s relabel.Stats) {
	fmt.Fprintf(w, "\r\033[K%d entries (%s/s), %d changed, %d errors", s.Visited, rate(s.Visited, s.Elapsed), s.Changed, s.Errors)
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	r := float64(n) / d.Seconds()
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

// isTerminal reports whether w is a terminal, so that progress is drawn only
// for a person watching.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
