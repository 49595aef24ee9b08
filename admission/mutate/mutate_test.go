package mutate

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func namespace(labels, annotations map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: labels, Annotations: annotations}}
}

func optedIn(policy string, annotations map[string]string) *corev1.Namespace {
	l := map[string]string{OptInLabel: OptInValue}
	if policy != "" {
		l[ChangePolicyLabel] = policy
	}
	return namespace(l, annotations)
}

func basePod(opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func podSC(sc corev1.PodSecurityContext) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.SecurityContext = &sc }
}

func ctrSC(sc corev1.SecurityContext) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext = &sc }
}

func withInit(sc corev1.SecurityContext) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "img", SecurityContext: &sc}}
	}
}

var (
	recursive   = corev1.SELinuxChangePolicyRecursive
	mountOption = corev1.SELinuxChangePolicyMountOption
	lvl         = map[string]string{LevelAnnotation: "s0:c1,c2"}
)

func TestPod(t *testing.T) {
	tests := []struct {
		name      string
		ns        *corev1.Namespace
		pod       *corev1.Pod
		want      *corev1.PodSecurityContext // nil: pod unchanged
		warning   string                     // substring of the only warning
		unchanged string                     // substring of some Unchanged line
	}{
		{"not opted in", namespace(nil, lvl), basePod(), nil, "", "not opted in"},
		{"opt-in label wrong value", namespace(map[string]string{OptInLabel: "true"}, lvl), basePod(), nil, "", "not opted in"},
		{"level only", optedIn("", lvl), basePod(), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}, "", "has no label " + ChangePolicyLabel},
		{"level and MountOption", optedIn("MountOption", lvl), basePod(), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}, SELinuxChangePolicy: &mountOption}, "", ""},
		{"policy only, no level annotation", optedIn("Recursive", nil), basePod(), &corev1.PodSecurityContext{SELinuxChangePolicy: &recursive}, "", "has no level"},
		{"openshift level wins", optedIn("", map[string]string{LevelAnnotation: "s0:c1,c2", OpenShiftLevelAnnotation: "s0:c26,c5"}), basePod(), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c26,c5"}}, "", ""},
		{"invalid openshift level: no fallback", optedIn("", map[string]string{LevelAnnotation: "s0:c1,c2", OpenShiftLevelAnnotation: "bogus"}), basePod(), nil, `openshift.io/sa.scc.mcs="bogus"`, "not an MCS level"},
		{"level out of range", optedIn("", map[string]string{LevelAnnotation: "s0:c1,c5000"}), basePod(), nil, "not an MCS level", ""},
		{"bad policy label", optedIn("recursive", nil), basePod(), nil, `selmount.io/selinux-change-policy="recursive" is not Recursive or MountOption`, ""},
		{"keeps user and type, adds level", optedIn("", lvl), basePod(podSC(corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}, RunAsUser: ptr.To[int64](1)})),
			&corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t", Level: "s0:c1,c2"}, RunAsUser: ptr.To[int64](1)}, "", ""},
		{"own level kept, policy set", optedIn("MountOption", lvl), basePod(podSC(corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c9,c10"}})),
			&corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c9,c10"}, SELinuxChangePolicy: &mountOption}, "", "own seLinuxOptions.level"},
		{"own policy kept, level set", optedIn("MountOption", lvl), basePod(podSC(corev1.PodSecurityContext{SELinuxChangePolicy: &recursive})),
			&corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}, SELinuxChangePolicy: &recursive}, "", "own seLinuxChangePolicy"},
		{"both set: unchanged", optedIn("MountOption", lvl), basePod(podSC(corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c9,c10"}, SELinuxChangePolicy: &recursive})), nil, "", "own seLinuxChangePolicy"},
		{"container own level", optedIn("MountOption", lvl), basePod(ctrSC(corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c3,c4"}})), nil, "", "container c sets its own"},
		{"container type only is fine", optedIn("", lvl), basePod(ctrSC(corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "container_t"}})), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}, "", ""},
		{"privileged container", optedIn("MountOption", lvl), basePod(ctrSC(corev1.SecurityContext{Privileged: ptr.To(true)})), nil, "", "container c is privileged"},
		{"privileged init container", optedIn("MountOption", lvl), basePod(withInit(corev1.SecurityContext{Privileged: ptr.To(true)})), nil, "", "init container init is privileged"},
		{"privileged: false", optedIn("", lvl), basePod(ctrSC(corev1.SecurityContext{Privileged: ptr.To(false)})), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}, "", ""},
		{"hostNetwork is mutated", optedIn("", lvl), basePod(func(p *corev1.Pod) { p.Spec.HostNetwork = true }), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}, "", ""},
		{"empty securityContext", optedIn("Recursive", lvl), basePod(podSC(corev1.PodSecurityContext{})), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}, SELinuxChangePolicy: &recursive}, "", ""},
		{"empty seLinuxOptions", optedIn("", lvl), basePod(podSC(corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{}})), &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}, "", ""},
		{"privileged ephemeral container", optedIn("MountOption", lvl), basePod(func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}
		}), nil, "", "ephemeral container debug is privileged"},
		{"init container own level", optedIn("MountOption", lvl), basePod(withInit(corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c3,c4"}})), nil, "", "init container init sets its own"},
		{"windows", optedIn("MountOption", lvl), basePod(func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }), nil, "", "Windows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.pod.DeepCopy()
			r := Pod(tc.ns, tc.pod, Options{})
			if !reflect.DeepEqual(tc.pod, before) {
				t.Fatalf("input pod modified")
			}
			if tc.want == nil {
				if r.Changed() || r.Pod != tc.pod {
					t.Fatalf("want unchanged, got patch %s", r.Patch)
				}
			} else if !reflect.DeepEqual(r.Pod.Spec.SecurityContext, tc.want) {
				t.Fatalf("securityContext = %+v, want %+v", r.Pod.Spec.SecurityContext, tc.want)
			}
			if tc.warning == "" && len(r.Warnings) > 0 || tc.warning != "" && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], tc.warning)) {
				t.Fatalf("warnings = %q, want one containing %q", r.Warnings, tc.warning)
			}
			if tc.unchanged != "" && !strings.Contains(strings.Join(r.Unchanged, "\n"), tc.unchanged) {
				t.Fatalf("unchanged = %q, want %q", r.Unchanged, tc.unchanged)
			}
			// The patch turns the input into Pod, as the apiserver applies it.
			if r.Changed() {
				orig, _ := json.Marshal(tc.pod)
				patch, err := jsonpatch.DecodePatch(r.Patch)
				if err != nil {
					t.Fatalf("patch %s: %v", r.Patch, err)
				}
				got, err := patch.Apply(orig)
				if err != nil {
					t.Fatalf("apply %s: %v", r.Patch, err)
				}
				var patched corev1.Pod
				if err := json.Unmarshal(got, &patched); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(&patched, r.Pod) {
					t.Fatalf("patched pod differs from Result.Pod:\n%s", got)
				}
			}
			// Idempotent: a second pass changes nothing.
			if again := Pod(tc.ns, r.Pod, Options{}); again.Changed() {
				t.Fatalf("second pass changed the pod again: %s", again.Patch)
			}
		})
	}
}

func TestPodNil(t *testing.T) {
	if r := Pod(nil, basePod(), Options{}); r.Changed() {
		t.Fatal("nil namespace changed the pod")
	}
	if r := Pod(optedIn("", lvl), nil, Options{}); r.Changed() || r.Pod != nil {
		t.Fatal("nil pod")
	}
}

func TestPatchExact(t *testing.T) {
	r := Pod(optedIn("MountOption", lvl), basePod(), Options{})
	want := `[{"op":"add","path":"/spec/securityContext","value":{}},{"op":"add","path":"/spec/securityContext/seLinuxOptions","value":{}},{"op":"add","path":"/spec/securityContext/seLinuxOptions/level","value":"s0:c1,c2"},{"op":"add","path":"/spec/securityContext/seLinuxChangePolicy","value":"MountOption"}]`
	if string(r.Patch) != want {
		t.Fatalf("patch\n got %s\nwant %s", r.Patch, want)
	}
}
