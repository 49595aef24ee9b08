package cli

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/check"
)

// TestWriteReportJSONMatchesEncoder: the parallel JSON writer gives the bytes
// writeOutput gives, with and without findings, with characters that
// encoding/json escapes and strings that look like the splice marker.
func TestWriteReportJSONMatchesEncoder(t *testing.T) {
	base := check.Report{APIVersion: apiversion.Current, Kind: "Report", TargetVersion: "1.37", Source: "manifests", Findings: []check.Finding{}}
	withFindings := base
	withFindings.Findings = []check.Finding{
		{Type: check.TypeConflict, Severity: check.SeverityError, Property: check.PropertyLabel, Volume: "pv-a",
			Subjects: []check.Subject{{Kind: "Pod", Namespace: "ns", Name: "a", Label: "system_u:object_r:container_file_t:s0:c1,c2"}},
			Message:  "<b>&</b> \u2028 \"quoted\"\n  \"findings\": []", Fix: "é"},
		{Type: check.TypeSlowPath, Severity: check.SeverityWarning, Volume: "pv-b"},
	}
	withFindings.Warnings = []string{"a warning"}
	withFindings.CurrentVersion = "1.36"
	for name, r := range map[string]check.Report{"empty": base, "findings": withFindings} {
		checkReport(t, name, r, "json")
	}
}

// checkReport writes r with writeReport and with writeOutput, the
// reference: JSON must be the same bytes, YAML must parse to the same
// document (the emitter may fold long strings at other columns).
func checkReport(t *testing.T, name string, r check.Report, format string) {
	t.Helper()
	f := map[string]reportFormat{"json": jsonReport, "yaml": yamlReport}[format]
	var want, got bytes.Buffer
	if err := writeOutput(&want, format, r, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(&got, r, f); err != nil {
		t.Fatal(err)
	}
	if format == "json" {
		if got.String() != want.String() {
			t.Errorf("%s: writeReport(jsonReport) differs from the Encoder:\n got: %s\nwant: %s", name, got.String(), want.String())
		}
		return
	}
	var wantDoc, gotDoc any
	if err := yaml.Unmarshal(want.Bytes(), &wantDoc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(got.Bytes(), &gotDoc); err != nil {
		t.Fatalf("%s: writeReport(yamlReport) wrote invalid YAML: %v\n%s", name, err, got.String())
	}
	if !reflect.DeepEqual(wantDoc, gotDoc) {
		t.Errorf("%s: writeReport(yamlReport) parses differently:\n got: %s\nwant: %s", name, got.String(), want.String())
	}
}

// TestWriteReportYAMLMatchesMarshal: the parallel YAML writer gives a
// document that parses to what yaml.Marshal of the whole report gives, also
// with long strings the emitter folds, multi-line strings and characters
// YAML must quote.
func TestWriteReportYAMLMatchesMarshal(t *testing.T) {
	long := strings.Repeat("a long message with spaces that the emitter folds at eighty columns, ", 4)
	r := check.Report{APIVersion: apiversion.Current, Kind: "Report", TargetVersion: "1.37", Source: "manifests", Findings: []check.Finding{}}
	reports := []check.Report{r}
	r.Findings = []check.Finding{
		{Type: check.TypeConflict, Severity: check.SeverityError, Property: check.PropertyLabel, Volume: "pv-a",
			Subjects: []check.Subject{{Kind: "Pod", Namespace: "ns", Name: "a", Label: "system_u:object_r:container_file_t:s0:c1,c2", Nodes: []string{"n1", "n2"}}},
			Message:  long, Fix: "line one\nline two\n\n  indented: after an empty line\n"},
		{Type: check.TypeSlowPath, Severity: check.SeverityWarning, Volume: "- not a list", Message: "key: value # not a comment", Fix: "'quoted' \"double\" é \t tab"},
		{Type: check.TypeDriverReadiness, Severity: check.SeverityInfo, Volume: "findings: []"},
	}
	r.Warnings = []string{"findings: []", long}
	r.ClusterFixes = []check.ClusterFix{{File: "a.yaml", Name: "x", Manifest: "apiVersion: v1\nkind: List\n---\nfindings: []\n"}}
	reports = append(reports, r)
	for i, r := range reports {
		checkReport(t, fmt.Sprintf("report %d", i), r, "yaml")
	}
}

// TestWriteReportChunks: more findings than one chunk, in both formats.
func TestWriteReportChunks(t *testing.T) {
	r := check.Report{APIVersion: apiversion.Current, Kind: "Report", TargetVersion: "1.37", Source: "manifests"}
	for i := range 4096*2 + 3 {
		r.Findings = append(r.Findings, check.Finding{Type: check.TypeSlowPath, Severity: check.SeverityWarning, Volume: fmt.Sprintf("pv-%d", i),
			Subjects: []check.Subject{{Kind: "Pod", Namespace: "ns", Name: fmt.Sprint(i)}}})
	}
	checkReport(t, "chunks", r, "json")
	checkReport(t, "chunks", r, "yaml")
}
