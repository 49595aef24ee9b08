package fastyaml

import (
	"math/rand/v2"
	"testing"
)

// seeds are real manifests and tricky snippets for FuzzToJSON, on top of
// the documents of TestToJSON and a few generated ones.
var seeds = []string{
	// A Pod as kubectl users write it: block style, sequences at the
	// indentation of their key, inline flow collections, comments.
	`apiVersion: v1
kind: Pod
metadata:
  name: web-0   # the first replica
  namespace: prod
  labels: {app: web, tier: "frontend"}
  annotations:
    example.com/note: 'it''s: fine # not a comment'
spec:
  nodeName: node-1
  securityContext:
    runAsUser: 1000
    fsGroup: 2000
    seLinuxOptions: {level: "s0:c123,c456", type: spc_t}
  containers:
  - name: app
    image: registry.example/app:1.2.3
    args: ["--port=8080", -v, "--flag=#x"]
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - {name: data, mountPath: /data, readOnly: true}
    - name: cache
      mountPath: /cache
      subPath: a#b
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data-web-0}
  - name: cache
    emptyDir: {}
`,
	// A PersistentVolume with a CSI source and mount options.
	`apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-1
spec:
  capacity:
    storage: 10Gi
  accessModes:
    - ReadWriteOncePod
  persistentVolumeReclaimPolicy: Retain
  mountOptions: [context="system_u:object_r:container_file_t:s0:c1,c2", noatime]
  csi:
    driver: rbd.csi.ceph.com
    volumeHandle: 0001-0009-rook-ceph-0000000000000002-b0a0
    fsType: ext4
    volumeAttributes: {clusterID: rook-ceph, imageFeatures: layering}
  claimRef: {namespace: prod, name: data-web-0}
`,
	// A PersistentVolumeClaim.
	`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data-web-0
  namespace: prod
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  volumeMode: Filesystem
  resources:
    requests:
      storage: 1Gi
  volumeName: ""
`,
	// A StatefulSet with volumeClaimTemplates.
	`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 3
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: postgres:16
          env:
            - name: PGDATA
              value: /var/lib/postgresql/data/pgdata
            - {name: ENABLED, value: "yes"}
          volumeMounts:
            - name: data
              mountPath: /var/lib/postgresql/data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources: {requests: {storage: 5Gi}}
`,
	// A CSIDriver.
	`apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: rbd.csi.ceph.com
spec:
  attachRequired: true
  podInfoOnMount: false
  seLinuxMount: true
  volumeLifecycleModes:
  - Persistent
`,
	// A StorageClass with mountOptions and parameters.
	`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rbd.csi.ceph.com
parameters:
  clusterID: rook-ceph
  pool: replicapool
  csi.storage.k8s.io/fstype: ext4
reclaimPolicy: Delete
allowVolumeExpansion: true
volumeBindingMode: WaitForFirstConsumer
mountOptions:
  - discard
  - context="system_u:object_r:container_file_t:s0"
`,
	// A List of items in flow style.
	"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n",
	// Tricky scalars: numbers in other bases and notations, YAML 1.1
	// booleans, nulls, quotes and their escapes.
	"a: 0x10\nb: 1e3\nc: yes\nd: ~\ne: 'it''s'\nf: \"a\\tb\"\ng: 0o17\nh: 017\ni: 1_000\nj: +12\nk: .5\nl: -.inf\n",
	"- 0x10\n- 1e3\n- yes\n- ~\n- 'it''s'\n- \"a\\tb\"\n- NO\n- Off\n- y\n- 2001-12-14\n- 1.0\n- -0.0\n",
	// ": " and "#" inside quotes; "#" in plain scalars without a
	// preceding space; ":" without a following space.
	"a: \"b: c\"\nd: 'e # f'\ng: h#i\nj: k:l\nurl: http://example.com:8080/p?q=1#frag\n",
	"{a: \"b: c\", d: 'e # f', g: h#i, url: http://x/#y}\n",
	// Keys that are not strings, duplicate keys, merge keys, anchors.
	"1: a\ntrue: b\n",
	"a: 1\nb: 2\na: 3\n",
	"base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
	// Block scalars, tags, multi-line scalars.
	"script: |\n  echo hi\n  exit 0\nnote: >-\n  folded\n  text\n",
	"a: !!str 123\nb: !custom x\n",
	"a: this is\n  a multi-line\n  plain scalar\nb: \"and a\n  quoted one\"\n",
	// Indentation errors and odd layouts.
	"a:\n  b: 1\n c: 2\n",
	"a:\n- b\n  - c\n",
	"- a: 1\n  - b\n",
	"-\n-\n  -\n",
	"a:\n\tb: 1\n",
	"a: b\r\nc: d\r\n",
}

// FuzzToJSON checks the fast path against sigs.k8s.io/yaml on arbitrary
// documents: ToJSON must never panic, must return ok=false whenever
// sigs.k8s.io/yaml fails, and whenever it returns ok=true its output must
// be valid JSON with the same value as sigs.k8s.io/yaml's. Crashers found
// by `go test -fuzz=FuzzToJSON ./manifest/internal/fastyaml/` are kept in
// testdata/fuzz/FuzzToJSON and replayed by plain `go test`.
func FuzzToJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, tc := range cases {
		f.Add([]byte(tc.doc))
	}
	for _, doc := range splitStream(genStream(10))[:4] {
		f.Add(doc)
	}
	// Random assemblies of tricky fragments (see TestRandomDocs), for
	// mutations that stay close to the handled subset.
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		f.Add([]byte(randDoc(r)))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		compare(t, doc)
	})
}

// TestSeeds runs the seeds through compare with their names in failures.
func TestSeeds(t *testing.T) {
	for i, s := range seeds {
		ok := compare(t, []byte(s))
		if i < 6 && !ok {
			t.Errorf("seed %d (a typical manifest) not accepted by the fast path:\n%s", i, s)
		}
	}
}
