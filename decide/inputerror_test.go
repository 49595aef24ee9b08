package decide

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestInputErrorsAreTyped(t *testing.T) {
	cfg := config(t, 37, nil)
	pv := csiPV("pv", drvOn, rwop)
	bad := pod("bad", level("s0:c1024"))
	badUser := pod("baduser", seOpts(corev1.SELinuxOptions{User: "bad user", Level: "s0:c1,c2"}), claim("other"))
	ctr := pod("ctr", claim("other"))
	ctr.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c2,c1,"}}
	missing := pod("missing", level("s0:c1,c2"), claim("nosuch"))
	missing.OwnerReferences = []metav1.OwnerReference{{Kind: "Deployment", Name: "web", Controller: new(true)}}
	other := csiPV("pv2", drvOn, rwop)
	e := Explain(Objects{
		Pods: []*corev1.Pod{bad, badUser, ctr, missing},
		PVs:  []*corev1.PersistentVolume{pv, other},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv), boundPVC("ns", "other", other)}, CSIDrivers: drivers(),
	}, cfg)
	type want struct{ pod, volume, field, text string }
	wants := []want{
		{"ns/bad", "vol", "spec.securityContext.seLinuxOptions.level", `pod ns/bad: volume "vol": spec.securityContext.seLinuxOptions.level: `},
		{"ns/baduser", "vol", "spec.securityContext.seLinuxOptions.user", `pod ns/baduser: volume "vol": spec.securityContext.seLinuxOptions.user: `},
		{"ns/ctr", "vol", "spec.containers[0].securityContext.seLinuxOptions.level", `pod ns/ctr: volume "vol": spec.containers[0].securityContext.seLinuxOptions.level: `},
		{"ns/missing", "vol", "", `pod ns/missing: volume "vol": PersistentVolumeClaim ns/nosuch not found`},
	}
	if len(e.InputErrors) != len(wants) || len(e.Errors) != len(wants) {
		t.Fatalf("got %d typed errors, %d messages %q; want %d", len(e.InputErrors), len(e.Errors), e.Errors, len(wants))
	}
	for i, w := range wants {
		ie := e.InputErrors[i]
		if ie.Pod != w.pod || ie.Volume != w.volume || ie.Field != w.field || !strings.HasPrefix(ie.Error(), w.text) || e.Errors[i] != ie.Error() {
			t.Errorf("error %d = %+v (%q), want %+v", i, ie, ie.Error(), w)
		}
		var as *InputError
		if !errors.As(error(ie), &as) || as != ie {
			t.Errorf("errors.As fails on %v", ie)
		}
	}
	if o := e.InputErrors[3].Owner; o == nil || o.Kind != "Deployment" || o.Name != "web" {
		t.Errorf("owner = %+v, want Deployment web", o)
	}
	ie := e.InputErrors[0]
	ie.Source = "pods.yaml: document 2"
	if !strings.HasPrefix(ie.Error(), `pods.yaml: document 2: pod ns/bad: volume "vol": `) {
		t.Errorf("with a source: %q", ie.Error())
	}
}

func TestRandomLevelIsAField(t *testing.T) {
	cfg := config(t, 37, nil)
	pv := csiPV("pv", drvOn, rwop)
	noLevel := corev1.SELinuxOptions{Type: "container_t"}
	a, b := pod("a", seOpts(noLevel), onNode("n")), pod("b", seOpts(noLevel), onNode("n"))
	c := pod("c", level("s0:c1,c2"))
	e := Explain(Objects{Pods: []*corev1.Pod{a, b, c}, PVs: []*corev1.PersistentVolume{pv},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}, cfg)
	fa, fb, fc := e.Pods[0].Volumes[0].Facts, e.Pods[1].Volumes[0].Facts, e.Pods[2].Volumes[0].Facts
	const random = "system_u:object_r:container_file_t:s0:<random>"
	if fa.KubeletLabel != random || !fa.RandomLevel || fb.KubeletLabel != random || !fb.RandomLevel {
		t.Errorf("facts a %q %v, b %q %v; want %q with RandomLevel", fa.KubeletLabel, fa.RandomLevel, fb.KubeletLabel, fb.RandomLevel, random)
	}
	if fc.RandomLevel || fc.KubeletLabel != "system_u:object_r:container_file_t:s0:c1,c2" {
		t.Errorf("facts c %q %v", fc.KubeletLabel, fc.RandomLevel)
	}
	// Written the same, drawn apart: the kubelet refuses the second pod.
	if fa.LabelKey() == fb.LabelKey() {
		t.Error("two random levels have the same LabelKey")
	}
	if fc.LabelKey() != fc.LabelKey() {
		t.Error("LabelKey is not stable")
	}
	if e.Pods[1].Admission.Admitted {
		t.Error("the second pod with a random level was admitted on the same node")
	}
	for _, p := range e.Pods[:2] {
		for _, opt := range p.Volumes[0].MountOptions {
			if strings.Contains(opt, "#") {
				t.Errorf("mount option %q carries a marker", opt)
			}
		}
		if strings.Contains(p.Admission.Error, "#") || strings.Contains(p.Volumes[0].Label, "#") {
			t.Errorf("a marker leaks: %q %q", p.Admission.Error, p.Volumes[0].Label)
		}
	}
}

func TestFactsSELinuxAndPolicy(t *testing.T) {
	pv := csiPV("pv", drvOn, rwop)
	win := pod("win", level("s0:c1,c2"))
	win.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	rec := pod("rec", level("s0:c1,c2"), policy(corev1.SELinuxChangePolicyRecursive))
	lin := pod("lin", level("s0:c1,c2"))
	objs := Objects{Pods: []*corev1.Pod{win, rec, lin}, PVs: []*corev1.PersistentVolume{pv},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: drivers()}
	e := Explain(objs, config(t, 37, nil))
	got := func(i int) Facts { return e.Pods[i].Volumes[0].Facts }
	if got(0).SELinux || !got(1).SELinux || !got(2).SELinux {
		t.Errorf("SELinux facts: windows %v, others %v %v", got(0).SELinux, got(1).SELinux, got(2).SELinux)
	}
	if got(1).Policy != corev1.SELinuxChangePolicyRecursive || got(2).Policy != corev1.SELinuxChangePolicyMountOption {
		t.Errorf("policies %q %q", got(1).Policy, got(2).Policy)
	}
	// Recursive is not honoured while the gate is off.
	e = Explain(objs, config(t, 33, map[string]bool{"SELinuxChangePolicy": false}))
	if got(1).Policy != corev1.SELinuxChangePolicyMountOption {
		t.Errorf("policy with the gate off = %q", got(1).Policy)
	}
	cfg := config(t, 37, nil)
	cfg.SELinuxEnabled = false
	e = Explain(objs, cfg)
	if got(2).SELinux {
		t.Error("SELinux applies on a node without SELinux")
	}
}
