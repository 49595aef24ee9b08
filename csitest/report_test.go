package csitest_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"

	"github.com/selmount/selmount/csitest"
)

func sampleReport() *csitest.Report {
	return &csitest.Report{APIVersion: csitest.ReportAPIVersion, Kind: csitest.ReportKind, Endpoint: "unix:///csi.sock",
		Driver: csitest.Driver{Name: "example.csi.io", Version: "1.2"}, Labels: []string{"a", "b"},
		Results: []csitest.Result{
			{Rule: csitest.RuleCapabilities, Status: csitest.Pass, Reason: "SEL-001 capabilities: ok"},
			{Rule: csitest.RuleContextMount, Status: csitest.Fail, Reason: `SEL-002 context-mount: target <x> & "y" is mounted without context=`,
				Details: []string{"target: 1 2 0:1 / /x rw - ext4 /dev/loop0 rw,seclabel"}},
			{Rule: csitest.RuleBlock, Status: csitest.Skip, Reason: "SEL-009 block-volumes: labels do not apply"},
		}}
}

// The JUnit document parses back with one test case per rule, and the
// counts and outcomes that test reporters read.
func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := csitest.WriteJUnit(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Class   string `xml:"classname,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Skipped != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("counts %+v\n%s", doc, b.String())
	}
	cs := doc.Suites[0].Cases
	if cs[0].Name != "SEL-001 capabilities" || cs[0].Failure != nil || cs[0].Skipped != nil {
		t.Errorf("case 0 %+v", cs[0])
	}
	if cs[1].Failure == nil || !strings.Contains(cs[1].Failure.Message, `<x> & "y"`) || !strings.Contains(cs[1].Failure.Text, "how to fix: ") {
		t.Errorf("case 1 %+v", cs[1])
	}
	if cs[2].Skipped == nil || cs[2].Skipped.Message != "SEL-009 block-volumes: labels do not apply" {
		t.Errorf("case 2 %+v", cs[2])
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := sampleReport()
	if err := csitest.Write(&b, in, "json"); err != nil {
		t.Fatal(err)
	}
	var out csitest.Report
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != "CSITestReport" || len(out.Results) != 3 || out.Results[1].Status != csitest.Fail || out.Results[1].ID != "SEL-002" ||
		out.Results[1].Fix == "" || out.Results[1].Details[0] != in.Results[1].Details[0] {
		t.Errorf("%+v", out)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := csitest.Write(&b, sampleReport(), "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"csi-test of example.csi.io 1.2 at unix:///csi.sock", "PASS  SEL-001", "FAIL  SEL-002",
		"        target: 1 2 0:1", "        how to fix: ", "SKIP  SEL-009", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	if err := csitest.Write(&b, sampleReport(), "yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

// Every rule has an ID, a source and a fix, and docs/csi-test.md
// documents each one under its ID and name.
func TestRulesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/csi-test.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range csitest.Rules {
		if seen[r.ID] || r.Name == "" || r.Title == "" || r.Source == "" || r.Fix == "" {
			t.Errorf("rule %+v: duplicate or incomplete", r)
		}
		seen[r.ID] = true
		if !strings.Contains(string(doc), "### "+r.ID+" "+r.Name) {
			t.Errorf("docs/csi-test.md has no section %q", "### "+r.ID+" "+r.Name)
		}
	}
}
