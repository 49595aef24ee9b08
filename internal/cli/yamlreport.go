package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/internal/parallel"
)

// writeReportYAML writes r as YAML, the findings converted in parallel.
// Why: sigs.k8s.io/yaml turns the whole report into JSON, then into a tree,
// then into YAML, on one CPU: with 10,000 findings that took longer than the
// check. The result parses to the same document as yaml.Marshal(r) (the
// emitter may fold long strings at other columns, so it is not byte for
// byte the same).
func writeReportYAML(w io.Writer, r check.Report) error {
	shell := r
	shell.Findings = []check.Finding{}
	doc, err := yaml.Marshal(shell)
	if err != nil {
		return err
	}
	// A top-level key starts a line; the lines of multi-line strings are
	// indented, so this is the findings key itself.
	marker := []byte("\nfindings: []\n")
	at := bytes.Index(doc, marker)
	if at < 0 {
		return fmt.Errorf("internal error: no findings list in the encoded report")
	}
	buffered := bufio.NewWriterSize(w, 1<<16)
	bw := &errWriter{w: buffered}
	bw.write(doc[:at+1])
	if len(r.Findings) == 0 {
		bw.write(marker[1:])
	} else {
		bw.write([]byte("findings:\n"))
		const chunk = 4096
		items := make([][]byte, min(chunk, len(r.Findings)))
		errs := make([]error, len(items))
		for start := 0; start < len(r.Findings) && bw.err == nil; start += chunk {
			batch := r.Findings[start:min(start+chunk, len(r.Findings))]
			parallel.For(len(batch), func(i int) {
				items[i], errs[i] = yaml.Marshal(batch[i])
			})
			for i := range batch {
				if errs[i] != nil {
					return errs[i]
				}
				writeListItem(bw, items[i])
			}
		}
	}
	bw.write(doc[at+len(marker):])
	if bw.err != nil {
		return bw.err
	}
	return buffered.Flush()
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
