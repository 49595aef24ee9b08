// Command genmanifests writes a synthetic cluster as one multi-document YAML
// stream: N pods, each with its own PVC and PV (every tenth pair of pods
// shares a volume with another level, so conflicts are found too), spread
// over namespaces and nodes, with a CSIDriver. Used by the check benchmark.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

func main() {
	n := flag.Int("pods", 100000, "number of pods (and of PVCs and PVs)")
	asJSON := flag.Bool("json", false, "write one JSON List instead of YAML documents")
	flag.Parse()
	if *asJSON {
		writeJSON(*n)
		return
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	fmt.Fprint(w, `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: rbd.csi.ceph.com}
spec: {seLinuxMount: true}
`)
	for i := 0; i < *n; i++ {
		ns := fmt.Sprintf("ns-%d", (i/10)%100) // pods that share a claim share a namespace
		claim := fmt.Sprintf("data-%d", i)
		// Every tenth pod uses the previous pod's claim with another level.
		if i%10 == 9 {
			claim = fmt.Sprintf("data-%d", i-1)
		} else {
			fmt.Fprintf(w, `---
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
`, i, i, claim, ns, i)
		}
		fmt.Fprintf(w, `---
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
`, i, ns, i%500, i%1000, 1000+i%20, claim)
	}
}

// writeJSON writes the same objects as one v1 List.
func writeJSON(n int) {
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	fmt.Fprint(w, `{"apiVersion":"v1","kind":"List","items":[`)
	fmt.Fprint(w, `{"apiVersion":"storage.k8s.io/v1","kind":"CSIDriver","metadata":{"name":"rbd.csi.ceph.com"},"spec":{"seLinuxMount":true}}`)
	for i := 0; i < n; i++ {
		ns := fmt.Sprintf("ns-%d", (i/10)%100)
		claim := fmt.Sprintf("data-%d", i)
		if i%10 == 9 {
			claim = fmt.Sprintf("data-%d", i-1)
		} else {
			fmt.Fprintf(w, `,{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-%d"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteMany"],"csi":{"driver":"rbd.csi.ceph.com","volumeHandle":"vol-%d"}}}`, i, i)
			fmt.Fprintf(w, `,{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","namespace":"%s"},"spec":{"accessModes":["ReadWriteMany"],"resources":{"requests":{"storage":"1Gi"}},"volumeName":"pv-%d"}}`, claim, ns, i)
		}
		fmt.Fprintf(w, `,{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pod-%d","namespace":"%s"},"spec":{"nodeName":"node-%d","securityContext":{"seLinuxOptions":{"level":"s0:c%d,c%d"}},"containers":[{"name":"app","image":"registry.example/app:1","volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"%s"}}]}}`, i, ns, i%500, i%1000, 1000+i%20, claim)
	}
	fmt.Fprint(w, "]}\n")
}
