package fastyaml

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// The templates of hack/genmanifests (keep in sync): a CSIDriver, then for
// each pod a PV and a PVC (except every tenth pod, which shares the
// previous pod's claim) and the pod.
const (
	csiDriverTemplate = `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: rbd.csi.ceph.com}
spec: {seLinuxMount: true}
`
	volumeTemplate = `---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-%d}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany]
  csi: {driver: rbd.csi.ceph.com, volumeHandle: vol-%d}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s, namespace: %s}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 1Gi}}
  volumeName: pv-%d
`
	podTemplate = `---
apiVersion: v1
kind: Pod
metadata: {name: pod-%d, namespace: %s}
spec:
  nodeName: node-%d
  securityContext:
    seLinuxOptions: {level: "s0:c%d,c%d"}
  containers:
  - name: app
    image: registry.example/app:1
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: %s}
`
)

// genStream writes the stream hack/genmanifests writes for n pods.
func genStream(n int) []byte {
	var w bytes.Buffer
	w.WriteString(csiDriverTemplate)
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("ns-%d", (i/10)%100)
		claim := fmt.Sprintf("data-%d", i)
		if i%10 == 9 {
			claim = fmt.Sprintf("data-%d", i-1)
		} else {
			fmt.Fprintf(&w, volumeTemplate, i, i, claim, ns, i)
		}
		fmt.Fprintf(&w, podTemplate, i, ns, i%500, i%1000, 1000+i%20, claim)
	}
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
