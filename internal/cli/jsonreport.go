package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/internal/parallel"
)

// writeReportJSON writes r exactly as writeDocument does (an Encoder with
// two-space indentation and no HTML escaping), but encodes the findings in
// parallel. Why not the Encoder alone: it marshals, then re-scans the whole
// output byte by byte to indent it, on one CPU; with 100,000 findings that
// was a second and a half, more than the analysis itself.
func writeReportJSON(w io.Writer, r check.Report) error {
	shell := r
	shell.Findings = []check.Finding{}
	doc, err := encodeIndented(shell, "")
	if err != nil {
		return err
	}
	// The empty list at the top level: a newline can only be structure
	// (strings escape it), so this is the findings key itself.
	marker := []byte("\n  \"findings\": []")
	at := bytes.Index(doc, marker)
	if at < 0 {
		return fmt.Errorf("internal error: no findings list in the encoded report")
	}
	buffered := bufio.NewWriterSize(w, 1<<16)
	bw := &errWriter{w: buffered}
	bw.write(doc[:at])
	if len(r.Findings) == 0 {
		bw.write(marker)
	} else {
		bw.write([]byte("\n  \"findings\": ["))
		// In chunks, so that the encoded findings are not all in memory
		// at once.
		const chunk = 4096
		items := make([][]byte, min(chunk, len(r.Findings)))
		errs := make([]error, len(items))
		for start := 0; start < len(r.Findings) && bw.err == nil; start += chunk {
			batch := r.Findings[start:min(start+chunk, len(r.Findings))]
			parallel.For(len(batch), func(i int) {
				items[i], errs[i] = encodeIndented(batch[i], "    ")
			})
			for i := range batch {
				if errs[i] != nil {
					return errs[i]
				}
				if start+i > 0 {
					bw.write([]byte(","))
				}
				bw.write([]byte("\n    "))
				bw.write(items[i])
			}
		}
		bw.write([]byte("\n  ]"))
	}
	bw.write(doc[at+len(marker):])
	bw.write([]byte("\n"))
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

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
