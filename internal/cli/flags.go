package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/label"
)

// Output formats. Every command that prints a result takes --output (-o,
// except in mount, where -o is the mount options as for mount(8)) with these
// names; "text" is the human-readable form everywhere, and check calls it
// "table" too.
const (
	formatText  = "text"
	formatTable = "table" // check only: text, one row per finding
	formatWide  = "wide"  // check only: the table with more columns
	formatJSON  = "json"
	formatYAML  = "yaml"
	formatJUnit = "junit" // csi-test only: JUnit XML, one test case per rule
)

// outputValue is the value of an --output flag: one of a fixed list of
// formats, checked when the flag is parsed so that a bad value is refused
// before any work is done, with the flag's name.
type outputValue struct {
	p       *string
	formats []string
}

func (v *outputValue) String() string { return *v.p }
func (v *outputValue) Type() string   { return "format" }

func (v *outputValue) Set(s string) error {
	if !slices.Contains(v.formats, s) {
		return fmt.Errorf("want %s", orList(v.formats))
	}
	*v.p = s
	return nil
}

// addOutputFlag registers --output on cmd, with shorthand ("o", or "" for
// mount, whose -o is the mount options and whose help then says so).
// formats lists the accepted names, the default first.
func addOutputFlag(cmd *cobra.Command, p *string, shorthand string, formats ...string) {
	*p = formats[0]
	v := &outputValue{p: p, formats: formats}
	names := slices.Clone(formats)
	if slices.Contains(names, formatTable) {
		names = slices.DeleteFunc(names, func(s string) bool { return s == formatText })
		names[slices.Index(names, formatTable)] = "table (or text)"
	}
	usage := "output format: " + orList(names)
	if shorthand == "" {
		usage += "; -o is the mount options, as for mount(8)"
	}
	cmd.Flags().VarP(v, "output", shorthand, usage)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// orList writes a, b or c.
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// writeOutput prints v as JSON or YAML, or calls text for the human-readable
// formats. JSON is indented and does not escape <, > and &; YAML follows the
// JSON field names.
func writeOutput(w io.Writer, format string, v any, text func(io.Writer) error) error {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case formatYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return text(w)
}

// fileArgs refuses positional arguments on the commands that read manifests
// with -f, and says how to read them: `selmount explain pod.yaml` is a
// missing -f far more often than anything else. An argument that looks like
// no file (`selmount check pods`) gets no such suggestion.
func fileArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	quoted := make([]string, len(args))
	fs := make([]string, len(args))
	files := true
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
		fs[i] = "-f " + shellQuote(a)
		files = files && looksLikeFile(a)
	}
	s := ""
	if len(args) > 1 {
		s = "s"
	}
	if !files {
		return fmt.Errorf("unexpected argument%s %s: %s takes no arguments; manifests are read with -f FILE|DIR|-", s, strings.Join(quoted, " "), cmd.CommandPath())
	}
	what := "a file"
	if len(args) > 1 {
		what = "files"
	}
	return fmt.Errorf("unexpected argument%s %s; to read %s use %s", s, strings.Join(quoted, " "), what, strings.Join(fs, " "))
}

// looksLikeFile reports whether a stray argument is probably meant for -f:
// standard input, a manifest's extension, or a path that exists.
func looksLikeFile(a string) bool {
	switch strings.ToLower(filepath.Ext(a)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	if a == "-" {
		return true
	}
	_, err := os.Stat(a)
	return err == nil
}

// operands accepts exactly the named positional arguments and says which
// one is missing or which one is too many, rather than cobra's "accepts 2
// arg(s), received 1".
func operands(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return fmt.Errorf("missing %s", strings.Join(names[len(args):], " and "))
		case len(args) > len(names):
			extra := make([]string, len(args)-len(names))
			for i, a := range args[len(names):] {
				extra[i] = strconv.Quote(a)
			}
			s := ""
			if len(extra) > 1 {
				s = "s"
			}
			return fmt.Errorf("unexpected argument%s %s after %s", s, strings.Join(extra, " "), strings.Join(names, " "))
		}
		return nil
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// flagErrors gives the errors of values pflag parses the style of every
// other flag error, `--flag "value": what is wrong`, instead of pflag's
// `invalid argument "value" for "-o, --output" flag: ...`. The cause of a
// boolean or a number names a Go function ("strconv.ParseBool: parsing
// \"maybe\": invalid syntax"): it is replaced by what the flag wants. Other
// errors are returned unchanged.
func flagErrors(_ *cobra.Command, err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	reason := errors.Unwrap(ive)
	var ne *strconv.NumError
	if errors.As(reason, &ne) {
		switch {
		case ne.Func == "ParseBool":
			reason = errors.New("want true or false")
		case errors.Is(ne.Err, strconv.ErrRange):
			reason = errors.New("out of range")
		case strings.HasPrefix(ne.Func, "ParseFloat"):
			reason = errors.New("want a number")
		default:
			reason = errors.New("want a whole number")
		}
	}
	if reason == nil {
		return err
	}
	return &flagValueError{Flag: "--" + ive.GetFlag().Name, Value: ive.GetValue(), Err: reason}
}

// resolveDefaults turns --node-defaults into label.Defaults: a profile name,
// else the root directory of a node tree to read them from.
func resolveDefaults(v string) (label.Defaults, error) {
	if d, ok := label.Profile(v); ok {
		return d, nil
	}
	if fi, err := os.Stat(v); err == nil && fi.IsDir() {
		d, err := label.LoadDefaults(v)
		if err != nil {
			return label.Defaults{}, fmt.Errorf("--node-defaults %s: %w", v, err)
		}
		return d, nil
	}
	return label.Defaults{}, fmt.Errorf("--node-defaults %q: neither a profile (%v) nor a directory", v, label.ProfileNames())
}

// flagValueError is an invalid value of a flag: it names the flag and the
// value, then what is wrong, and still matches the cause with errors.Is and
// errors.As (label.ErrSyntax, *label.ParseError).
type flagValueError struct {
	Flag  string // with its dashes: "--level"
	Value string
	Err   error
	// Verbatim prints Value as given rather than quoted: a mount option
	// that holds quotes itself (context="...") reads better as typed.
	Verbatim bool
}

func (e *flagValueError) Error() string {
	v := strconv.Quote(e.Value)
	if e.Verbatim {
		v = e.Value
	}
	return fmt.Sprintf("%s %s: %s", e.Flag, v, e.reason())
}

// reason is what is wrong with the value. The label package names itself
// in its errors ("label.ParseLevel(...)"), which means nothing to someone
// who typed a flag: only the part and what is wrong with it are kept, and
// the label when it is not the whole value.
func (e *flagValueError) reason() string {
	var pe *label.ParseError
	if !errors.As(e.Err, &pe) {
		return e.Err.Error()
	}
	r := pe.Part
	if pe.Msg != "" {
		r += ": " + pe.Msg
	}
	if pe.At >= 0 {
		r += " (at offset " + strconv.Itoa(pe.At) + ")"
	}
	if pe.In != e.Value {
		r = fmt.Sprintf("label %q: %s", pe.In, r)
	}
	return r
}

func (e *flagValueError) Unwrap() error { return e.Err }

// labelFlags resolves --label, or --level applied to the --node-defaults
// file label; the zero label when neither is set.
func labelFlags(lbl, level, nodeDefaults string) (label.Context, error) {
	switch {
	case lbl != "" && level != "":
		return label.Context{}, errors.New("--label and --level exclude each other")
	case lbl != "":
		c, err := label.Parse(lbl)
		if err != nil {
			return label.Context{}, &flagValueError{Flag: "--label", Value: lbl, Err: err}
		}
		return c, nil
	case level != "":
		lv, err := label.ParseLevel(level)
		if err != nil {
			return label.Context{}, &flagValueError{Flag: "--level", Value: level, Err: err}
		}
		d, err := resolveDefaults(nodeDefaults)
		if err != nil {
			return label.Context{}, err
		}
		return d.File.WithLevel(lv), nil
	}
	return label.Context{}, nil
}
