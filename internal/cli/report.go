package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/internal/parallel"
)

// A check report can hold 100,000 findings. encoding/json marshals, then
// re-scans the whole output to indent it, and sigs.k8s.io/yaml goes through
// JSON and a tree of interfaces, both on one CPU: for large reports that
// took longer than the check itself. So the findings are encoded in
// parallel chunks and spliced into the encoding of the rest of the report.

// reportFormat is how one output format encodes a report around its
// findings.
type reportFormat struct {
	shell   func(check.Report) ([]byte, error)   // the report without findings
	marker  string                               // the empty findings list in it
	open    string                               // replaces marker before the first finding
	finding func(*check.Finding) ([]byte, error) // one finding
	item    func(bw *errWriter, n int, b []byte) // writes the nth encoded finding
	close   string                               // after the last finding
	end     string                               // after the whole document
}

// jsonReport writes exactly what writeOutput writes (an Encoder with
// two-space indentation and no HTML escaping).
var jsonReport = reportFormat{
	shell:   func(r check.Report) ([]byte, error) { return encodeIndented(r, "") },
	marker:  "\n  \"findings\": []", // a newline in a string is escaped: this is structure
	open:    "\n  \"findings\": [",
	finding: func(f *check.Finding) ([]byte, error) { return encodeIndented(f, "    ") },
	item: func(bw *errWriter, n int, b []byte) {
		if n > 0 {
			bw.write([]byte(","))
		}
		bw.write([]byte("\n    "))
		bw.write(b)
	},
	close: "\n  ]",
	end:   "\n",
}

// yamlReport writes a document that parses to what yaml.Marshal(r) gives
// (the emitter may fold long strings at other columns).
var yamlReport = reportFormat{
	shell:   func(r check.Report) ([]byte, error) { return yaml.Marshal(r) },
	marker:  "\nfindings: []\n", // lines of multi-line strings are indented: this is the key
	open:    "\nfindings:\n",
	finding: func(f *check.Finding) ([]byte, error) { return yaml.Marshal(f) },
	item:    func(bw *errWriter, _ int, b []byte) { writeListItem(bw, b) },
}

func writeReport(w io.Writer, r check.Report, format reportFormat) error {
	shell := r
	shell.Findings = []check.Finding{}
	doc, err := format.shell(shell)
	if err != nil {
		return err
	}
	at := bytes.Index(doc, []byte(format.marker))
	if at < 0 {
		return fmt.Errorf("internal error: no findings list in the encoded report")
	}
	buffered := bufio.NewWriterSize(w, 1<<16)
	bw := &errWriter{w: buffered}
	bw.write(doc[:at])
	if len(r.Findings) == 0 {
		bw.write([]byte(format.marker))
	} else {
		bw.write([]byte(format.open))
		// In chunks, so that the encoded findings are not all in memory
		// at once.
		const chunk = 4096
		items := make([][]byte, min(chunk, len(r.Findings)))
		errs := make([]error, len(items))
		for start := 0; start < len(r.Findings) && bw.err == nil; start += chunk {
			batch := r.Findings[start:min(start+chunk, len(r.Findings))]
			parallel.For(len(batch), func(i int) {
				items[i], errs[i] = format.finding(&batch[i])
			})
			for i := range batch {
				if errs[i] != nil {
					return errs[i]
				}
				format.item(bw, start+i, items[i])
			}
		}
		bw.write([]byte(format.close))
	}
	bw.write(doc[at+len(format.marker):])
	bw.write([]byte(format.end))
	if bw.err != nil {
		return bw.err
	}
	return buffered.Flush()
}

// encodeIndented encodes v as the indenting Encoder does, with prefix on
// every line but the first and no trailing newline.
func encodeIndented(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeListItem writes a YAML mapping as an item of a block sequence: "- "
// before its first line, two spaces before the others (empty lines stay
// empty, so block scalars keep their content).
func writeListItem(bw *errWriter, item []byte) {
	first := true
	for line := range bytes.Lines(item) {
		switch {
		case first:
			bw.write([]byte("- "))
			first = false
		case len(line) > 1:
			bw.write([]byte("  "))
		}
		bw.write(line)
	}
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
