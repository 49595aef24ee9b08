package manifest_test

import (
	"reflect"
	"testing"

	"github.com/selmount/selmount/manifest"
)

func TestValidation(t *testing.T) {
	const podHead = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\n"
	tests := []struct {
		name  string
		input string
		want  []string // errors; nil: the object is read
	}{
		{
			name:  "seLinuxChangePolicy is an enum",
			input: podHead + "spec:\n  securityContext: {seLinuxChangePolicy: recursive}\n  containers: [{name: c}]\n",
			want:  []string{`f.yaml: document 1 (Pod ns/p): spec.securityContext.seLinuxChangePolicy: Unsupported value: "recursive": supported values: "MountOption", "Recursive"`},
		},
		{
			name:  "valid policies",
			input: podHead + "spec: {securityContext: {seLinuxChangePolicy: Recursive}, containers: [{name: c}]}\n---\n" + podHead + "spec: {securityContext: {seLinuxChangePolicy: MountOption}, containers: [{name: c}]}\n",
		},
		{
			name: "Windows pods cannot set SELinux fields",
			input: podHead + `spec:
  os: {name: windows}
  securityContext: {seLinuxChangePolicy: Recursive, seLinuxOptions: {level: "s0:c1,c2"}}
  containers: [{name: c, securityContext: {seLinuxOptions: {level: "s0:c1"}}}]
`,
			want: []string{
				"f.yaml: document 1 (Pod ns/p): spec.securityContext.seLinuxChangePolicy: Forbidden: cannot be set for a windows pod",
				"f.yaml: document 1 (Pod ns/p): spec.securityContext.seLinuxOptions: Forbidden: cannot be set for a windows pod",
				"f.yaml: document 1 (Pod ns/p): spec.containers[0].securityContext.seLinuxOptions: Forbidden: cannot be set for a windows pod",
			},
		},
		{
			name:  "Windows pod without SELinux fields",
			input: podHead + "spec: {os: {name: windows}, containers: [{name: c}]}\n",
		},
		{
			name:  "os name",
			input: podHead + "spec: {os: {name: Linux}, containers: [{name: c}]}\n",
			want:  []string{`f.yaml: document 1 (Pod ns/p): spec.os.name: Unsupported value: "Linux": supported values: "linux", "windows"`},
		},
		{
			name: "volumes: one source each, unique names, mounts that exist",
			input: podHead + `spec:
  containers:
  - name: c
    volumeMounts: [{name: a, mountPath: /a}, {name: nosuch, mountPath: /b}]
    volumeDevices: [{name: gone, devicePath: /dev/x}]
  volumes:
  - {name: a, emptyDir: {}}
  - {name: a, emptyDir: {}}
  - {name: none}
  - {name: two, emptyDir: {}, hostPath: {path: /x}}
`,
			want: []string{
				`f.yaml: document 1 (Pod ns/p): spec.volumes[1].name: Duplicate value: "a"`,
				"f.yaml: document 1 (Pod ns/p): spec.volumes[2]: Required value: must specify a volume type",
				"f.yaml: document 1 (Pod ns/p): spec.volumes[3].emptyDir: Forbidden: may not specify more than 1 volume type",
				`f.yaml: document 1 (Pod ns/p): spec.containers[0].volumeMounts[1].name: Not found: "nosuch"`,
				`f.yaml: document 1 (Pod ns/p): spec.containers[0].volumeDevices[0].name: Not found: "gone"`,
			},
		},
		{
			name: "a Deployment's template, with its path",
			input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns}
spec:
  template:
    spec:
      securityContext: {seLinuxChangePolicy: Mount}
      containers: [{name: c}]
`,
			want: []string{`f.yaml: document 1 (Deployment ns/web): spec.template.spec.securityContext.seLinuxChangePolicy: Unsupported value: "Mount": supported values: "MountOption", "Recursive"`},
		},
		{
			name: "a CronJob's template, with its path",
			input: `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ns}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {spec: {containers: [{name: c, volumeMounts: [{name: x, mountPath: /x}]}]}}}}
`,
			want: []string{`f.yaml: document 1 (CronJob ns/nightly): spec.jobTemplate.spec.template.spec.containers[0].volumeMounts[0].name: Not found: "x"`},
		},
		{
			name: "a StatefulSet mounts its claim templates",
			input: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ns}
spec:
  template: {spec: {containers: [{name: c, volumeMounts: [{name: data, mountPath: /d}]}]}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOncePod, ReadWriteOnce]}}]
`,
			want: []string{"f.yaml: document 1 (StatefulSet ns/db): spec.volumeClaimTemplates[0].spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"},
		},
		{
			name: "claims: access modes and volume mode",
			input: `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c, namespace: ns}
spec: {accessModes: [ReadWriteOnly], volumeMode: block}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: d, namespace: ns}
spec: {}
`,
			want: []string{
				`f.yaml: document 1 (PersistentVolumeClaim ns/c): spec.accessModes: Unsupported value: "ReadWriteOnly": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`,
				`f.yaml: document 1 (PersistentVolumeClaim ns/c): spec.volumeMode: Unsupported value: "block": supported values: "Block", "Filesystem"`,
				"f.yaml: document 2 (PersistentVolumeClaim ns/d): spec.accessModes: Required value: at least 1 access mode is required",
			},
		},
		{
			name: "ephemeral claim templates",
			input: podHead + `spec:
  containers: [{name: c, volumeMounts: [{name: e, mountPath: /e}]}]
  volumes: [{name: e, ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOncePod, ReadOnlyMany]}}}}]
`,
			want: []string{"f.yaml: document 1 (Pod ns/p): spec.volumes[0].ephemeral.volumeClaimTemplate.spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"},
		},
		{
			name: "PersistentVolumes: one source",
			input: `apiVersion: v1
kind: PersistentVolume
metadata: {name: pv}
spec: {accessModes: [ReadWriteOnce], csi: {driver: d, volumeHandle: h}, nfs: {server: s, path: /}}
`,
			want: []string{"f.yaml: document 1 (PersistentVolume pv): spec.csi: Forbidden: may not specify more than 1 volume type"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := manifest.DecodeAll("f.yaml", []byte(tt.input), nil)
			got := messages(res.Errors)
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("errors:\n got %q\nwant %q", got, want)
			}
			if tt.want != nil && len(res.Objects) != 0 {
				t.Errorf("an object the API server refuses was read: %+v", res.Objects)
			}
		})
	}
}
