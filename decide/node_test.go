package decide

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const (
	l12 = "system_u:object_r:container_file_t:s0:c1,c2"
	l34 = "system_u:object_r:container_file_t:s0:c3,c4"
	l21 = "system_u:object_r:container_file_t:s0:c2,c1"
)

type admitted struct {
	ok      bool
	err     string
	metric  string
	metrics []string
}

// admitAll explains pods sharing one PV (claim "claim") and returns each
// pod's admission.
func admitAll(t *testing.T, cfg Config, pv *corev1.PersistentVolume, pods ...*corev1.Pod) []admitted {
	t.Helper()
	e := Explain(Objects{Pods: pods, PVs: []*corev1.PersistentVolume{pv},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}, cfg)
	if len(e.Errors) > 0 {
		t.Fatalf("input errors: %v", e.Errors)
	}
	var out []admitted
	for _, p := range e.Pods {
		for _, v := range p.Volumes {
			checkInvariants(t, v)
		}
		out = append(out, admitted{p.Admission.Admitted, p.Admission.Error, p.Admission.Metric, p.Admission.Metrics})
	}
	return out
}

func conflict(a, b string) string {
	return `conflicting SELinux labels of volume pv: "` + a + `" and "` + b + `"`
}

const (
	plugRWX = `{volume_plugin="kubernetes.io/csi/on.csi.example.com",access_mode="RWX"}`
	plugRWO = `{volume_plugin="kubernetes.io/csi/on.csi.example.com",access_mode="RWO"}`
)

func TestNodeAdmission(t *testing.T) {
	n := onNode("node-1")
	tests := []struct {
		name  string
		minor int
		gates gates
		pv    *corev1.PersistentVolume
		pods  []*corev1.Pod
		want  []admitted
	}{
		{
			name:  "1.37: the first label wins, a second label is an error",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}},
				{ok: false, err: conflict(l12, l34), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors + plugRWX}},
			},
		},
		{
			name:  "1.36: the same pods only bump the warning metric",
			minor: 36, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}},
				{ok: true, metric: MetricVolumeMismatchWarning, metrics: []string{MetricVolumeMismatchWarning + plugRWX}},
			},
		},
		{
			name:  "1.37: a pod without seLinuxOptions (privileged) has label \"\"",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("priv", n)},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}},
				{ok: false, err: conflict(l12, ""), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors + plugRWX}},
			},
		},
		{
			name:  "1.37: label-less pod first, labeled pod second",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("priv", n), pod("a", n, level("s0:c1,c2"))},
			want: []admitted{
				{ok: true},
				{ok: false, err: conflict("", l12), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors + plugRWX}},
			},
		},
		{
			name:  "1.37: MountOption pod next to a Recursive pod",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("r", n, level("s0:c1,c2"), policy(recursive))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}},
				{ok: false, err: conflict(l12, ""), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors + plugRWX}},
			},
		},
		{
			name:  "1.37: two Recursive pods never conflict",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("r1", n, level("s0:c1,c2"), policy(recursive)), pod("r2", n, level("s0:c3,c4"), policy(recursive))},
			want: []admitted{{ok: true}, {ok: true}},
		},
		{
			name:  "1.37: category order differs only in writing, still a conflict",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("a2", n, level("s0:c2,c1"))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}},
				{ok: false, err: conflict(l12, l21), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors + plugRWX}},
			},
		},
		{
			name:  "1.37: the same label shares the mount",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c1,c2"))},
			want: []admitted{{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}, {ok: true}},
		},
		{
			name:  "1.37: different nodes never conflict",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", onNode("node-2"), level("s0:c3,c4"))},
			want: []admitted{{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}, {ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}},
		},
		{
			name:  "1.37: pods without a node are admitted alone",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("a", level("s0:c1,c2")), pod("b", level("s0:c3,c4"))},
			want: []admitted{{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}, {ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}},
		},
		{
			name:  "1.37: a driver without support is never checked",
			minor: 37, pv: csiPV("pv", drvOff, rwx),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{{ok: true}, {ok: true}},
		},
		{
			name:  "1.37: containers of one pod disagree",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "s0:c3,c4"))},
			want: []admitted{{ok: false, err: "multiple SELinux labels found: " + l12 + "," + l34, metric: MetricPodMismatchErrors, metrics: []string{MetricPodMismatchErrors + `{access_mode="RWX"}`}}},
		},
		{
			name:  "1.37: multiple labels even with a driver without support",
			minor: 37, pv: csiPV("pv", drvOff, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "s0:c3,c4"))},
			want: []admitted{{ok: false, err: "multiple SELinux labels found: " + l12 + "," + l34, metric: MetricPodMismatchErrors, metrics: []string{MetricPodMismatchErrors + `{access_mode="RWX"}`}}},
		},
		{
			name:  "1.37: a container without options adds nothing",
			minor: 37, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "-"))},
			want: []admitted{{ok: true, metrics: []string{MetricVolumesAdmitted + plugRWX}}},
		},
		{
			name:  "1.36: a multi-label pod is a warning and leaves \"\" as the volume's label",
			minor: 36, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "s0:c3,c4")), pod("a", n, level("s0:c1,c2"))},
			want: []admitted{
				{ok: true, metric: MetricPodMismatchWarnings, metrics: []string{MetricPodMismatchWarnings + `{access_mode="RWX"}`}},
				{ok: true, metric: MetricVolumeMismatchWarning, metrics: []string{MetricVolumeMismatchWarning + plugRWX}},
			},
		},
		{
			name:  "1.31: the old intra-pod message, volume eligible with SELinuxMount",
			minor: 31, gates: gates{"SELinuxMount": true}, pv: csiPV("pv", drvOn, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "s0:c3,c4"))},
			want: []admitted{{ok: false, err: `volume pv is used with two different SELinux contexts in the same pod: "` + l12 + `", "` + l34 + `"`, metric: MetricPodMismatchErrors, metrics: []string{MetricPodMismatchErrors + `{access_mode="RWX"}`}}},
		},
		{
			name:  "1.31: no multi-label check for a driver without support",
			minor: 31, gates: gates{"SELinuxMount": true}, pv: csiPV("pv", drvOff, rwx),
			pods: []*corev1.Pod{pod("m", n, containerLevels("s0:c1,c2", "s0:c3,c4"))},
			want: []admitted{{ok: true}},
		},
		{
			name:  "1.29: volume metrics carry volume_plugin only",
			minor: 29, pv: csiPV("pv", drvOn, rwo),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + `{volume_plugin="kubernetes.io/csi/on.csi.example.com"}`}},
				{ok: true, metric: MetricVolumeMismatchWarning, metrics: []string{MetricVolumeMismatchWarning + `{volume_plugin="kubernetes.io/csi/on.csi.example.com"}`}},
			},
		},
		{
			name:  "1.28: metrics without labels; RWOP conflict is an error",
			minor: 28, pv: csiPV("pv", drvOn, rwop),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted}},
				{ok: false, err: conflict(l12, l34), metric: MetricVolumeMismatchErrors, metrics: []string{MetricVolumeMismatchErrors}},
			},
		},
		{
			name:  "1.26: the volume keeps only its effective label, so even equal labels warn on RWO",
			minor: 26, gates: gates{"SELinuxMountReadWriteOncePod": true, "ReadWriteOncePod": true}, pv: csiPV("pv", drvOn, rwo),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c1,c2"))},
			want: []admitted{
				{ok: true},
				{ok: true, metric: MetricVolumeMismatchWarning, metrics: []string{MetricVolumeMismatchWarning}},
			},
		},
		{
			name:  "1.26: equal labels on RWOP count as admitted twice",
			minor: 26, gates: gates{"SELinuxMountReadWriteOncePod": true, "ReadWriteOncePod": true}, pv: csiPV("pv", drvOn, rwop),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c1,c2"))},
			want: []admitted{{ok: true, metrics: []string{MetricVolumesAdmitted}}, {ok: true, metrics: []string{MetricVolumesAdmitted}}},
		},
		{
			name:  "1.27 default: the gate is off, nothing is tracked",
			minor: 27, pv: csiPV("pv", drvOn, rwop),
			pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
			want: []admitted{{ok: true}, {ok: true}},
		},
		{
			name:  "1.37: two pods without a level get two random labels",
			minor: 37, pv: csiPV("pv", drvOn, rwop),
			pods: []*corev1.Pod{pod("a", n, seOpts(corev1.SELinuxOptions{Type: "container_t"})), pod("b", n, seOpts(corev1.SELinuxOptions{Type: "container_t"}))},
			want: []admitted{
				{ok: true, metrics: []string{MetricVolumesAdmitted + `{volume_plugin="kubernetes.io/csi/on.csi.example.com",access_mode="RWOP"}`}},
				{ok: false, err: conflict("system_u:object_r:container_file_t:s0:<random>", "system_u:object_r:container_file_t:s0:<random>"), metric: MetricVolumeMismatchErrors,
					metrics: []string{MetricVolumeMismatchErrors + `{volume_plugin="kubernetes.io/csi/on.csi.example.com",access_mode="RWOP"}`}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := admitAll(t, config(t, tc.minor, tc.gates), tc.pv, tc.pods...)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("admission:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestConflictEventAndCanonicalNote(t *testing.T) {
	n := onNode("node-1")
	pv := csiPV("pv", drvOn, rwx)
	e := Explain(Objects{Pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c2,c1"))},
		PVs: []*corev1.PersistentVolume{pv}, PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}, config(t, 37, nil))
	b := e.Pods[1]
	wantEvent := `Unable to attach or mount volumes: unmounted volumes=[vol], unattached volumes=[], failed to process volumes=[vol]: ` + conflict(l12, l21)
	if b.Admission.Event != wantEvent {
		t.Errorf("event = %q\nwant    %q", b.Admission.Event, wantEvent)
	}
	if w := strings.Join(b.Volumes[0].Warnings, " "); !strings.Contains(w, "compares label strings as written") {
		t.Errorf("warnings %q do not explain the string comparison", w)
	}
	// A real difference gets no such note.
	e = Explain(Objects{Pods: []*corev1.Pod{pod("a", n, level("s0:c1,c2")), pod("b", n, level("s0:c3,c4"))},
		PVs: []*corev1.PersistentVolume{pv}, PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}, config(t, 37, nil))
	if len(e.Pods[1].Volumes[0].Warnings) != 0 {
		t.Errorf("unexpected warnings %q", e.Pods[1].Volumes[0].Warnings)
	}
}

func TestPodWarnings(t *testing.T) {
	tests := []struct {
		name  string
		minor int
		gates gates
		pol   corev1.PodSELinuxChangePolicy
		want  string
	}{
		{"1.31 has no such field", 31, nil, recursive, "does not exist in 1.31"},
		{"1.32 gate off drops it", 32, nil, recursive, "dropped by the API server"},
		{"1.35 rejects MountOption", 35, nil, mountOption, "rejects seLinuxChangePolicy: MountOption"},
		{"1.37 accepts MountOption", 37, nil, mountOption, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pv := csiPV("pv", drvOn, rwop)
			e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1,c2"), policy(tc.pol))}, PVs: []*corev1.PersistentVolume{pv},
				PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}, config(t, tc.minor, tc.gates))
			got := strings.Join(e.Pods[0].Warnings, " ")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("warnings = %q, want %q", got, tc.want)
			}
		})
	}
}
