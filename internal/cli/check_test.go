package cli_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selmount/selmount/internal/cli"
)

// TestCheckGolden: the reports are byte-identical to those of the CLI
// before the library moves (the golden files were written by it).
func TestCheckGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string
	}{
		{"examples json", []string{"--examples", "-o", "json"}, cli.ExitFindings, "check-examples.json.golden"},
		{"examples wide", []string{"--examples", "-o", "wide"}, cli.ExitFindings, "check-examples-wide.golden"},
		{"examples yaml, cluster at 1.36", []string{"--examples", "-o", "yaml", "--current-version", "1.36"}, cli.ExitFindings, "check-examples-1.36.yaml.golden"},
		// A CronJob before a StatefulSet before a Deployment: the fixes align
		// later documents with earlier ones, across kinds.
		{"document order", []string{"-f", "testdata/check-document-order.yaml", "-o", "json"}, cli.ExitFindings, "check-document-order.json.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"check"}, tt.args...)...)
			if r.code != tt.code || r.stderr != "" {
				t.Fatalf("exit code %d (want %d), error %v, stderr:\n%s", r.code, tt.code, r.err, r.stderr)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

func TestCheckFailOn(t *testing.T) {
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--fail-on", "conflict"}, cli.ExitFindings, ""},
		{[]string{"--fail-on", "warning"}, cli.ExitFindings, ""},
		{[]string{"--fail-on", "none"}, cli.ExitOK, ""},
		{[]string{"--fail-on", "sometimes"}, cli.ExitError, `--fail-on "sometimes": want conflict, warning or none`},
		{[]string{"--current-version", "one"}, cli.ExitError, "--current-version: "},
		{[]string{"--target-version", "1.99"}, cli.ExitError, "--target-version: "},
	}
	for _, tt := range tests {
		r := run(t, "", append([]string{"check", "--examples", "-o", "json"}, tt.args...)...)
		if r.code != tt.code {
			t.Errorf("%v: exit code %d, want %d (%v)", tt.args, r.code, tt.code, r.err)
		}
		if tt.err != "" && (r.err == nil || !strings.HasPrefix(r.err.Error(), tt.err)) {
			t.Errorf("%v: error %v, want it to start with %s", tt.args, r.err, tt.err)
		}
	}
}

// TestCheckFixDirRefusesHostileNames: a manifest whose workload name is a
// path writes no file outside --fix-dir; the report is still printed, the
// other patches are written, and the run fails naming the object.
func TestCheckFixDirRefusesHostileNames(t *testing.T) {
	root := t.TempDir()
	doc, err := os.ReadFile("testdata/check-document-order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The StatefulSet gets the patch (the CronJob is first): make its name
	// a path out of the directory.
	hostile := strings.Replace(string(doc), "name: sts,", `name: "../../../escaped",`, 1)
	if hostile == string(doc) {
		t.Fatal("the test manifest changed: no StatefulSet sts")
	}
	in := filepath.Join(root, "in.yaml")
	if err := os.WriteFile(in, []byte(hostile), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "a", "b", "fixes")
	r := run(t, "", "check", "-f", in, "--fix-dir", dir, "-o", "json")
	if r.code != cli.ExitError || r.err == nil || !strings.Contains(r.err.Error(), `StatefulSet ns/../../../escaped not written: name "../../../escaped"`) {
		t.Fatalf("exit code %d, error %v", r.code, r.err)
	}
	if !strings.Contains(r.stdout, `"kind": "Report"`) {
		t.Errorf("no report printed:\n%s", r.stdout)
	}
	var outside, patches []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != in {
			if rel, _ := filepath.Rel(dir, p); strings.HasPrefix(rel, "..") {
				outside = append(outside, p)
			} else if strings.HasPrefix(rel, "patches") {
				patches = append(patches, rel)
			}
		}
		return nil
	})
	if len(outside) > 0 {
		t.Errorf("files written outside --fix-dir: %v", outside)
	}
	if !slices.Contains(patches, "patches/ns.deployment.dep.1-2.yaml") {
		t.Errorf("the valid patch was not written: %v", patches)
	}
}
