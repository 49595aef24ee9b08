// Package gencluster writes a synthetic cluster for benchmarks: N pods, each
// with its own PVC and PV, except that every tenth pod shares the previous
// pod's claim with another level (so conflicts are found too), spread over
// 100 namespaces and 500 nodes, with one CSIDriver. hack/genmanifests writes
// it for hack/bench-check.sh; the fast YAML tests read the same documents.
package gencluster

import (
	"fmt"
	"io"
)

const (
	csiDriverYAML = `apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: rbd.csi.ceph.com}
spec: {seLinuxMount: true}
`
	volumeYAML = `---
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
	podYAML = `---
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
	csiDriverJSON = `{"apiVersion":"storage.k8s.io/v1","kind":"CSIDriver","metadata":{"name":"rbd.csi.ceph.com"},"spec":{"seLinuxMount":true}}`
	volumeJSON    = `,{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-%d"},"spec":{"capacity":{"storage":"1Gi"},"accessModes":["ReadWriteMany"],"csi":{"driver":"rbd.csi.ceph.com","volumeHandle":"vol-%d"}}}` +
		`,{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","namespace":"%s"},"spec":{"accessModes":["ReadWriteMany"],"resources":{"requests":{"storage":"1Gi"}},"volumeName":"pv-%d"}}`
	podJSON = `,{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pod-%d","namespace":"%s"},"spec":{"nodeName":"node-%d","securityContext":{"seLinuxOptions":{"level":"s0:c%d,c%d"}},"containers":[{"name":"app","image":"registry.example/app:1","volumeMounts":[{"name":"data","mountPath":"/data"}]}],"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"%s"}}]}}`
)

// WriteYAML writes the cluster of n pods as a multi-document YAML stream.
func WriteYAML(w io.Writer, n int) {
	write(w, n, csiDriverYAML, volumeYAML, podYAML)
}

// WriteJSON writes the same objects as one v1 List.
func WriteJSON(w io.Writer, n int) {
	fmt.Fprint(w, `{"apiVersion":"v1","kind":"List","items":[`)
	write(w, n, csiDriverJSON, volumeJSON, podJSON)
	fmt.Fprint(w, "]}\n")
}

func write(w io.Writer, n int, driver, volume, pod string) {
	fmt.Fprint(w, driver)
	for i := range n {
		ns := fmt.Sprintf("ns-%d", (i/10)%100) // pods that share a claim share a namespace
		claim := fmt.Sprintf("data-%d", i)
		if i%10 == 9 {
			claim = fmt.Sprintf("data-%d", i-1) // the previous pod's claim
		} else {
			fmt.Fprintf(w, volume, i, i, claim, ns, i)
		}
		fmt.Fprintf(w, pod, i, ns, i%500, i%1000, 1000+i%20, claim)
	}
}
