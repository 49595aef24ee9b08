package csitest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one line per rule, the details
// of failed rules indented below, and a summary.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	name := r.Driver.Name
	if name == "" {
		name = "(unknown driver)"
	}
	fmt.Fprintf(&b, "csi-test of %s %s at %s\n", name, r.Driver.Version, r.Endpoint)
	if r.Error != "" {
		fmt.Fprintf(&b, "ERROR: %s\n", r.Error)
	}
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%-4s  %s\n", strings.ToUpper(string(res.Status)), res.Reason)
		if res.Status == Fail {
			for _, d := range res.Details {
				fmt.Fprintf(&b, "        %s\n", d)
			}
			fmt.Fprintf(&b, "        how to fix: %s\n", res.Fix)
		}
	}
	p, f, s := r.Counts()
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", p, f, s)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as an indented JSON document (kind
// CSITestReport).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML, in the subset that Jenkins, GitLab and GitHub test reporters
// read: one testsuite, one testcase per rule, <failure> or <skipped>.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  string          `xml:"system-err,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: one test case per rule, named
// "<ID> <name>", in a suite named after the driver.
func WriteJUnit(w io.Writer, r *Report) error {
	p, f, s := r.Counts()
	secs := func(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	suite := junitSuite{Name: "selmount csi-test " + r.Driver.Name, Tests: p + f + s, Failures: f, Skipped: s,
		Time: secs(r.Duration), SystemErr: r.Error,
		Properties: []junitProperty{{"endpoint", r.Endpoint}, {"driver", r.Driver.Name}, {"driverVersion", r.Driver.Version},
			{"labels", strings.Join(r.Labels, " ")}}}
	for _, res := range r.Results {
		c := junitCase{Name: res.ID + " " + res.Name, Classname: "selmount.csitest", Time: "0",
			SystemOut: strings.Join(res.Details, "\n")}
		switch res.Status {
		case Fail:
			c.Failure = &junitMessage{Message: res.Reason, Type: "RuleFailed", Text: res.Reason + "\nhow to fix: " + res.Fix}
		case Skip:
			c.Skipped = &junitMessage{Message: res.Reason}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Tests: suite.Tests, Failures: f, Skipped: s, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Write writes the report in a format: "text", "json" or "junit".
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "text", "":
		return WriteText(w, r)
	case "json":
		return WriteJSON(w, r)
	case "junit":
		return WriteJUnit(w, r)
	}
	return fmt.Errorf("output format %q: want text, json or junit", format)
}
