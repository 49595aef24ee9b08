package check

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/kubever"
)

func kubelet(v string) *corev1.Node {
	n := &corev1.Node{}
	n.Status.NodeInfo.KubeletVersion = v
	return n
}

func TestClusterVersion(t *testing.T) {
	tests := []struct {
		name   string
		server string
		nodes  []*corev1.Node
		want   kubever.Version
		ok     bool
	}{
		{"nothing known (manifests)", "", nil, kubever.Version{}, false},
		{"server only", "v1.36.2-eks-1", nil, kubever.V(36), true},
		{"the oldest kubelet wins over the server", "v1.37.0", []*corev1.Node{kubelet("v1.37.1"), kubelet("v1.35.4"), kubelet("v1.36.0")}, kubever.V(35), true},
		{"kubelets without a version that parses: the server", "v1.36.0", []*corev1.Node{kubelet(""), kubelet("garbage")}, kubever.V(36), true},
		{"a kubelet older than the modelled range is the oldest modelled", "v1.30.0", []*corev1.Node{kubelet("v1.30.2"), kubelet("v1.24.17")}, kubever.Oldest, true},
		{"a server older than the modelled range", "v1.24.17", nil, kubever.Oldest, true},
		{"a server newer than the modelled range", "v1.99.0", nil, kubever.Newest, true},
		{"a server version that is no version", "garbage", nil, kubever.Oldest, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ClusterVersion(tc.server, tc.nodes)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ClusterVersion(%q, ...) = %v, %v; want %v, %v", tc.server, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestOldestKubelet(t *testing.T) {
	tests := []struct {
		versions []string
		want     string
	}{
		{nil, ""},
		{[]string{"garbage", ""}, ""},
		{[]string{"v1.30.2", "v1.24.17", "garbage", "v1.36.0"}, "v1.24.17"},
		{[]string{"v1.36.0", "v1.36.9"}, "v1.36.0"}, // the first of one minor: patches do not matter here
	}
	for _, tc := range tests {
		var nodes []*corev1.Node
		for _, v := range tc.versions {
			nodes = append(nodes, kubelet(v))
		}
		if got := OldestKubelet(nodes); got != tc.want {
			t.Errorf("OldestKubelet(%q) = %q, want %q", tc.versions, got, tc.want)
		}
	}
}

func TestDefaultTarget(t *testing.T) {
	tests := []struct {
		current, want kubever.Version
	}{
		{kubever.Version{}, kubever.V(37)}, // unknown: the upgrade to check for
		{kubever.V(30), kubever.V(37)},
		{kubever.V(37), kubever.V(37)},
		{kubever.V(38), kubever.V(38)}, // already past it: the cluster's own
	}
	for _, tc := range tests {
		if got := DefaultTarget(tc.current); got != tc.want {
			t.Errorf("DefaultTarget(%v) = %v, want %v", tc.current, got, tc.want)
		}
	}
}

func TestFailOn(t *testing.T) {
	conflict := Finding{Type: TypeConflict, Severity: SeverityError}
	conflictWarning := Finding{Type: TypeConflict, Severity: SeverityWarning, When: WhenWarningOnly}
	slowError := Finding{Type: TypeSlowPath, Severity: SeverityError}
	driverWarning := Finding{Type: TypeDriverReadiness, Severity: SeverityWarning}
	info := Finding{Type: TypeConflict, Severity: SeverityInfo, When: WhenUpstreamOnly}
	tests := []struct {
		name     string
		findings []Finding
		want     map[FailOn]bool
	}{
		{"nothing", nil, map[FailOn]bool{FailOnNone: false, FailOnConflict: false, FailOnWarning: false}},
		{"a failing conflict", []Finding{info, conflict}, map[FailOn]bool{FailOnNone: false, FailOnConflict: true, FailOnWarning: true}},
		{"a conflict that only warns", []Finding{conflictWarning}, map[FailOn]bool{FailOnNone: false, FailOnConflict: false, FailOnWarning: true}},
		{"an error that is no conflict", []Finding{slowError}, map[FailOn]bool{FailOnNone: false, FailOnConflict: false, FailOnWarning: true}},
		{"a driver warning", []Finding{driverWarning}, map[FailOn]bool{FailOnConflict: false, FailOnWarning: true}},
		{"infos only", []Finding{info, info}, map[FailOn]bool{FailOnConflict: false, FailOnWarning: false}},
	}
	for _, tc := range tests {
		r := Report{Findings: tc.findings}
		for level, want := range tc.want {
			if got := r.Fails(level); got != want {
				t.Errorf("%s: Fails(%s) = %v, want %v", tc.name, level, got, want)
			}
		}
	}
}

func TestParseFailOn(t *testing.T) {
	for _, s := range []string{"none", "conflict", "warning"} {
		if f, err := ParseFailOn(s); err != nil || string(f) != s {
			t.Errorf("ParseFailOn(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "error", "Conflict", "info"} {
		_, err := ParseFailOn(s)
		if want := `"` + s + `": want conflict, warning or none`; err == nil || err.Error() != want {
			t.Errorf("ParseFailOn(%q): error %v, want %s", s, err, want)
		}
	}
}
