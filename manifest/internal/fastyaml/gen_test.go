package fastyaml

import (
	"bytes"
	"os"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/internal/gencluster"
)

// genStream returns the stream hack/genmanifests writes for n pods.
func genStream(n int) []byte {
	var w bytes.Buffer
	gencluster.WriteYAML(&w, n)
	return w.Bytes()
}

// splitStream splits a stream at its "---" lines (enough for genStream's
// output; the manifest package has the general splitter).
func splitStream(data []byte) [][]byte {
	var docs [][]byte
	for _, doc := range bytes.Split(data, []byte("---\n")) {
		if len(doc) > 0 {
			docs = append(docs, doc)
		}
	}
	return docs
}

// benchDocs returns the documents of a 2,000-pod stream or, when
// FASTYAML_STREAM names a file (say /tmp/100k.yaml from
// `go run ./hack/genmanifests -pods 100000`), of that stream.
func benchDocs(b *testing.B) ([][]byte, int64) {
	var docs [][]byte
	if name := os.Getenv("FASTYAML_STREAM"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		docs = splitStream(data)
	} else {
		docs = splitStream(genStream(2000))
	}
	var size int64
	for _, d := range docs {
		size += int64(len(d))
	}
	return docs, size
}

// BenchmarkToJSON converts the documents of a 2,000-pod stream (5,601
// documents, 1.3 MB) per op.
func BenchmarkToJSON(b *testing.B) {
	docs, size := benchDocs(b)
	b.SetBytes(size)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for _, doc := range docs {
			var ok bool
			if buf, ok = ToJSON(buf[:0], doc); !ok {
				b.Fatalf("not accepted:\n%s", doc)
			}
		}
	}
}

// BenchmarkSigsYAML converts the same documents with sigs.k8s.io/yaml.
func BenchmarkSigsYAML(b *testing.B) {
	docs, size := benchDocs(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, doc := range docs {
			if _, err := yaml.YAMLToJSON(doc); err != nil {
				b.Fatal(err)
			}
		}
	}
}
