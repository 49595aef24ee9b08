package cli

import (
	"bytes"
	"testing"

	"github.com/selmount/selmount/check"
)

// TestWriteReportJSONMatchesEncoder: the parallel writer gives the bytes
// writeDocument gives, with and without findings, with characters that
// encoding/json escapes and strings that look like the splice marker.
func TestWriteReportJSONMatchesEncoder(t *testing.T) {
	base := check.Report{APIVersion: check.APIVersion, Kind: "Report", TargetVersion: "1.37", Source: "manifests", Findings: []check.Finding{}}
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
		var want, got bytes.Buffer
		if err := writeDocument(&want, "json", r, nil); err != nil {
			t.Fatal(err)
		}
		if err := writeReportJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: writeReportJSON differs from the Encoder:\n got: %s\nwant: %s", name, got.String(), want.String())
		}
	}
}
