package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/internal/cli"
)

// goInternals are fragments that only mean something to a Go programmer:
// type names from encoding/json, fmt's verb errors, package-qualified
// function names.
var goInternals = []string{"Go value", "Go struct", "*v1.", "v1.Pod", "manifest.", "%!", "strconv.", "label.Parse", "syscall", "<nil>",
	// System call names before a path (the tests' paths are absolute).
	"stat /", "fstatat", "open /", "openat", "mkdir /"}

// TestBadInputMessages runs every command with a bad flag value, argument
// or input and checks that the message names the flag or input, holds no Go
// internals, and that the exit status is 2 (1 for verify's "not a mount
// point", which is a finding).
func TestBadInputMessages(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	array := write("array.yaml", "[1, 2]\n")
	kindArray := write("kind.yaml", "apiVersion: v1\nkind: [1]\n")
	missing := filepath.Join(dir, "nosuch.yaml")
	mnt := t.TempDir()

	tests := []struct {
		name string
		args []string
		code int
		want string // the message (error and standard error) contains this
	}{
		// explain
		{"explain positional file", []string{"explain", "pod.yaml"}, 2, `unexpected argument "pod.yaml"; to read a file use -f pod.yaml`},
		{"explain positional files", []string{"explain", "a.yaml", "my dir.yml"}, 2, `unexpected arguments "a.yaml" "my dir.yml"; to read files use -f a.yaml -f 'my dir.yml'`},
		{"explain positional directory", []string{"explain", dir}, 2, `; to read a file use -f ` + dir},
		{"explain positional stdin", []string{"explain", "-"}, 2, `unexpected argument "-"; to read a file use -f -`},
		{"explain positional word", []string{"explain", "pods"}, 2, `unexpected argument "pods": selmount explain takes no arguments; manifests are read with -f FILE|DIR|-`},
		{"explain output", []string{"explain", "-o", "xml"}, 2, `--output "xml": want text, json or yaml`},
		{"explain bool", []string{"explain", "--selinux=maybe"}, 2, `--selinux "maybe": want true or false`},
		{"explain version", []string{"explain", "--kube-version", "latest"}, 2, `--kube-version: invalid Kubernetes version "latest"`},
		{"explain node defaults", []string{"explain", "--node-defaults", "nosuch"}, 2, `--node-defaults "nosuch"`},
		{"explain gate value", []string{"explain", "--feature-gates", "SELinuxMount=maybe"}, 2, `--feature-gates: "SELinuxMount=maybe": want true or false`},
		{"explain array document", []string{"explain", "-f", array}, 2, array + `: document 1: `},
		{"explain kind not a string", []string{"explain", "-f", kindArray}, 2, kindArray + `: document 1: `},
		{"explain missing file", []string{"explain", "-f", missing}, 2, missing + " does not exist"},

		// check
		{"check positional file", []string{"check", "pod.yaml"}, 2, `unexpected argument "pod.yaml"; to read a file use -f pod.yaml`},
		{"check output", []string{"check", "-o", "xml"}, 2, `--output "xml": want table, text, wide, json or yaml`},
		{"check fail-on", []string{"check", "--examples", "--fail-on", "never"}, 2, `--fail-on "never"`},
		{"check target version", []string{"check", "--examples", "--target-version", "1.2.3.4"}, 2, `--target-version: `},
		{"check current version", []string{"check", "--examples", "--current-version", "x"}, 2, `--current-version: `},
		{"check bool", []string{"check", "--examples=maybe"}, 2, `--examples "maybe": want true or false`},
		{"check missing file", []string{"check", "-f", missing}, 2, missing + " does not exist"},
		{"check missing kubeconfig", []string{"check", "--kubeconfig", missing}, 2, "--kubeconfig " + missing + " does not exist"},
		{"check fix dir", []string{"check", "--examples", "--fix-dir", filepath.Join(array, "fixes")}, 2, "--fix-dir: " + array + ": not a directory"},
		{"check array document", []string{"check", "-f", array}, 2, array + `: document 1: `},

		// mount
		{"mount output format in -o", []string{"mount", "-t", "tmpfs", "-o", "json", "--level", "s0", "tmpfs", mnt}, 2, `-o json: -o is the mount options, as for mount(8); for the output format use --output json`},
		{"mount output format among options", []string{"mount", "-t", "tmpfs", "-o", "noatime,yaml", "--level", "s0", "tmpfs", mnt}, 2, `use --output yaml`},
		{"mount output", []string{"mount", "--output", "xml", "--level", "s0", "tmpfs", mnt}, 2, `--output "xml": want text, json or yaml`},
		{"mount level", []string{"mount", "-t", "tmpfs", "--level", "garbage", "tmpfs", mnt}, 2, `--level "garbage": sensitivity: `},
		{"mount label", []string{"mount", "-t", "tmpfs", "--label", "garbage", "tmpfs", mnt}, 2, `--label "garbage": role: missing`},
		{"mount label in a level", []string{"mount", "-t", "tmpfs", "--label", "system_u:object_r:container_file_t:s0:c1024", "tmpfs", mnt}, 2, `--label "system_u:object_r:container_file_t:s0:c1024": `},
		{"mount label and level", []string{"mount", "-t", "tmpfs", "--label", "a:b:c:s0", "--level", "s0", "tmpfs", mnt}, 2, `--label and --level exclude each other`},
		{"mount context option", []string{"mount", "-t", "tmpfs", "-o", `context="nope"`, "tmpfs", mnt}, 2, `-o context="nope": label "nope": role: missing`},
		{"mount context option and level", []string{"mount", "-t", "tmpfs", "--level", "s0", "-o", "context=nope", "tmpfs", mnt}, 2, `-o context=nope: label "nope": role: missing`},
		{"mount fscontext option", []string{"mount", "-t", "tmpfs", "--level", "s0", "-o", "fscontext=a:b:c:s0:c99999", "tmpfs", mnt}, 2, `-o fscontext=a:b:c:s0:c99999: label "a:b:c:s0:c99999": category: `},
		{"mount no target", []string{"mount", "-t", "tmpfs", "--level", "s0", "tmpfs"}, 2, "missing TARGET"},
		{"mount no operands", []string{"mount", "-t", "tmpfs", "--level", "s0"}, 2, "missing SOURCE and TARGET"},
		{"mount too many operands", []string{"mount", "--level", "s0", "tmpfs", mnt, "json"}, 2, `unexpected argument "json" after SOURCE TARGET`},
		{"mount missing target", []string{"mount", "-t", "tmpfs", "--level", "s0", "tmpfs", missing}, 2, missing + " does not exist"},
		{"mount no label", []string{"mount", "-t", "tmpfs", "tmpfs", mnt}, 2, `one of --label, --level or a context= option in -o is required`},
		{"mount node defaults", []string{"mount", "-t", "tmpfs", "--level", "s0", "--node-defaults", "nosuch", "tmpfs", mnt}, 2, `--node-defaults "nosuch"`},

		// verify
		{"verify missing path", []string{"verify", missing}, 2, missing + " does not exist"},
		{"verify not a mount point", []string{"verify", mnt}, 1, "not a mount point"},
		{"verify no target", []string{"verify", "--level", "s0"}, 2, "missing TARGET"},
		{"verify two targets", []string{"verify", mnt, "/a", "/b"}, 2, `unexpected arguments "/a" "/b" after TARGET`},
		{"verify level", []string{"verify", mnt, "--level", "garbage"}, 2, `--level "garbage": `},
		{"verify label", []string{"verify", mnt, "--label", "garbage"}, 2, `--label "garbage": `},
		{"verify output", []string{"verify", mnt, "-o", "xml"}, 2, `--output "xml": want text, json or yaml`},

		// relabel
		{"relabel level", []string{"relabel", mnt, "--level", "s0:c1.c0"}, 2, `--level "s0:c1.c0": `},
		{"relabel label", []string{"relabel", mnt, "--label", "garbage"}, 2, `--label "garbage": `},
		{"relabel workers", []string{"relabel", mnt, "--level", "s0", "--workers", "many"}, 2, `--workers "many": want a whole number`},
		{"relabel output", []string{"relabel", mnt, "--level", "s0", "-o", "xml"}, 2, `--output "xml": want text, json or yaml`},
		{"relabel missing path", []string{"relabel", missing, "--level", "s0"}, 2, missing + " does not exist"},
		{"relabel no path", []string{"relabel", "--level", "s0"}, 2, "missing PATH"},
		{"relabel no label", []string{"relabel", mnt}, 2, `one of --label or --level is required`},

		// version and the root
		{"version output", []string{"version", "-o", "xml"}, 2, `--output "xml": want text, json or yaml`},
		{"unknown command", []string{"explian"}, 2, `unknown command "explian" for "selmount"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			msg := r.stdout + r.stderr // verify prints "not a mount point" as its result
			if r.err != nil {
				msg += r.err.Error()
			}
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (%s)", r.code, tt.code, msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q\nlacks %q", msg, tt.want)
			}
			for _, g := range goInternals {
				if !strings.Contains(msg, g) {
					continue
				}
				t.Errorf("message %q holds Go internals (%q)", msg, g)
			}
		})
	}
}

// TestOutputFlags: every command that prints a result has --output with the
// same names for the same formats (text, json, yaml; check also table and
// wide), -o as its shorthand except in mount, where -o is the mount options.
func TestOutputFlags(t *testing.T) {
	root := cli.NewRootCmd("selmount", strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	want := map[string][]string{
		"explain":  {"text", "json", "yaml"},
		"check":    {"table", "text", "wide", "json", "yaml"},
		"mount":    {"text", "json", "yaml"},
		"verify":   {"text", "json", "yaml"},
		"relabel":  {"text", "json", "yaml"},
		"version":  {"text", "json", "yaml"},
		"csi-test": {"text", "json", "junit"},
		"status":   {"text", "json", "yaml"},
		// Prints manifests: no text form.
		"admission-policy": {"yaml", "json"},
	}
	seen := 0
	for _, cmd := range root.Commands() {
		f := cmd.Flags().Lookup("output")
		if f == nil {
			continue
		}
		seen++
		formats, ok := want[cmd.Name()]
		if !ok {
			t.Errorf("%s has --output; add it to this test and to the README's table", cmd.Name())
			continue
		}
		if f.DefValue != formats[0] {
			t.Errorf("%s --output defaults to %q, want %q", cmd.Name(), f.DefValue, formats[0])
		}
		for _, format := range formats {
			if err := f.Value.Set(format); err != nil {
				t.Errorf("%s --output %s: %v", cmd.Name(), format, err)
			}
			if !strings.Contains(f.Usage, format) {
				t.Errorf("%s --output help %q does not name %s", cmd.Name(), f.Usage, format)
			}
		}
		if err := f.Value.Set("xml"); err == nil {
			t.Errorf("%s --output xml accepted", cmd.Name())
		}
		short := "o"
		if cmd.Name() == "mount" {
			short = ""
			if o := cmd.Flags().ShorthandLookup("o"); o == nil || o.Name != "options" {
				t.Errorf("mount -o is %v, want the mount options", o)
			}
		}
		if f.Shorthand != short {
			t.Errorf("%s --output shorthand %q, want %q", cmd.Name(), f.Shorthand, short)
		}
	}
	if seen != len(want) {
		t.Errorf("%d commands have --output, want %d", seen, len(want))
	}
}

// TestCheckTextIsTable: -o text means the table in check, so that -o text
// works with every command.
func TestCheckTextIsTable(t *testing.T) {
	text := run(t, "", "check", "--examples", "-o", "text")
	table := run(t, "", "check", "--examples")
	if text.stdout == "" || text.stdout != table.stdout || text.code != table.code {
		t.Errorf("check -o text (exit %d) differs from the default table (exit %d)", text.code, table.code)
	}
}

// TestDocumentOutputs: json and yaml print the same document, also when the
// command fails (verify on a directory that is not a mount point).
func TestDocumentOutputs(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"verify", dir}, {"version"}} {
		j := run(t, "", append(args, "-o", "json")...)
		y := run(t, "", append(args, "-o", "yaml")...)
		if j.code != y.code {
			t.Errorf("%v: exit %d with json, %d with yaml", args, j.code, y.code)
		}
		var fromJSON, fromYAML map[string]any
		if err := json.Unmarshal([]byte(j.stdout), &fromJSON); err != nil {
			t.Fatalf("%v -o json: %v\n%s", args, err, j.stdout)
		}
		if err := yaml.Unmarshal([]byte(y.stdout), &fromYAML); err != nil {
			t.Fatalf("%v -o yaml: %v\n%s", args, err, y.stdout)
		}
		if fromJSON["kind"] == nil || fromJSON["apiVersion"] != "selmount.io/v1alpha1" {
			t.Errorf("%v: no kind or apiVersion in %v", args, fromJSON)
		}
		jb, _ := json.Marshal(fromJSON)
		yb, _ := json.Marshal(fromYAML)
		if args[0] != "verify" && !bytes.Equal(jb, yb) { // verify reads the host twice
			t.Errorf("%v: json and yaml differ:\n%s\n%s", args, jb, yb)
		}
	}
}

// TestMountOutputDocument: --output yaml prints a MountResult naming why the
// mount failed. Where SELinux is off (most test machines) nothing is mounted.
func TestMountOutputDocument(t *testing.T) {
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux is enabled: this would mount")
	}
	r := run(t, "", "mount", "-t", "tmpfs", "--level", "s0", "--output", "yaml", "tmpfs", t.TempDir())
	var res cli.MountResult
	if err := yaml.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if r.code != 2 || res.Kind != "MountResult" || res.Reason != "SELinuxDisabled" {
		t.Errorf("exit %d, kind %q, reason %q: want 2, MountResult, SELinuxDisabled", r.code, res.Kind, res.Reason)
	}
}

func TestVersion(t *testing.T) {
	flag := run(t, "", "--version")
	sub := run(t, "", "version")
	if flag.code != 0 || sub.code != 0 || flag.stdout != sub.stdout {
		t.Errorf("--version (exit %d) %q and version (exit %d) %q differ", flag.code, flag.stdout, sub.code, sub.stdout)
	}
	lines := strings.Split(flag.stdout, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "selmount version ") || !strings.HasPrefix(lines[1], "commit: ") ||
		lines[2] != "go: "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("--version printed %q", flag.stdout)
	}
	var v cli.VersionInfo
	if err := json.Unmarshal([]byte(run(t, "", "version", "-o", "json").stdout), &v); err != nil {
		t.Fatal(err)
	}
	if v.Kind != "Version" || v.Version == "" || v.GoVersion != runtime.Version() {
		t.Errorf("version -o json: %+v", v)
	}
	// -v stays free for the log verbosity kubectl users expect.
	if r := run(t, "", "-v"); r.code != 2 {
		t.Errorf("-v: exit %d, want 2 (unknown flag)", r.code)
	}
}

// TestKubectlPluginName: as a kubectl plugin, usage, examples and errors say
// "kubectl selmount", never "kubectl" alone.
func TestKubectlPluginName(t *testing.T) {
	exec := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := cli.NewRootCmd("kubectl selmount", strings.NewReader(""), &out, &out)
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	help, err := exec("check", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  kubectl selmount check [-f FILE|DIR|-]... [flags]",
		"  kubectl selmount check -A\n",
		"| kubectl selmount check -f - --fail-on warning",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("check --help lacks %q:\n%s", want, help)
		}
	}
	rootHelp, _ := exec("--help")
	if !strings.Contains(rootHelp, `Use "kubectl selmount [command] --help"`) || !strings.Contains(rootHelp, "  kubectl selmount [command]") {
		t.Errorf("--help:\n%s", rootHelp)
	}
	for _, out := range []string{help, rootHelp} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "kubectl ") && !strings.Contains(line, "kubectl selmount") && !strings.Contains(line, "kubectl -n") && !strings.Contains(line, "kubectl patch") {
				t.Errorf("a line names kubectl without selmount: %q", line)
			}
		}
	}
	if _, err := exec("nosuch"); err == nil || err.Error() != `unknown command "nosuch" for "kubectl selmount"` {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := exec("explain", "pod.yaml"); err == nil || !strings.Contains(err.Error(), "-f pod.yaml") {
		t.Errorf("explain pod.yaml: %v", err)
	}
	if v, _ := exec("--version"); !strings.HasPrefix(v, "kubectl selmount version ") {
		t.Errorf("--version: %q", v)
	}
}

// TestUsageLines: every command's usage line starts with its own name.
func TestUsageLines(t *testing.T) {
	root := cli.NewRootCmd("selmount", strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !strings.HasPrefix(c.UseLine(), c.CommandPath()) {
			t.Errorf("%s: usage %q", c.CommandPath(), c.UseLine())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}
