package decide

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// Builders for small, readable test fixtures.

const (
	drvOn    = "on.csi.example.com"  // CSIDriver with seLinuxMount: true
	drvOff   = "off.csi.example.com" // CSIDriver with seLinuxMount: false
	drvUnset = "nil.csi.example.com" // CSIDriver without the field
)

func drivers() []*storagev1.CSIDriver {
	t, f := true, false
	return []*storagev1.CSIDriver{
		{ObjectMeta: metav1.ObjectMeta{Name: drvOn}, Spec: storagev1.CSIDriverSpec{SELinuxMount: &t}},
		{ObjectMeta: metav1.ObjectMeta{Name: drvOff}, Spec: storagev1.CSIDriverSpec{SELinuxMount: &f}},
		{ObjectMeta: metav1.ObjectMeta{Name: drvUnset}},
	}
}

type pvOpt func(*corev1.PersistentVolume)

func csiPV(name, driver string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            modes,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: "h-" + name}},
		},
	}
}

func boundPVC(ns, name string, pv *corev1.PersistentVolume) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PersistentVolumeClaimSpec{VolumeName: pv.Name, AccessModes: pv.Spec.AccessModes},
	}
}

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "vol", MountPath: "/v"}}}},
			Volumes:    []corev1.Volume{{Name: "vol", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func level(l string) podOpt {
	return func(p *corev1.Pod) { podSC(p).SELinuxOptions = &corev1.SELinuxOptions{Level: l} }
}

func seOpts(o corev1.SELinuxOptions) podOpt {
	return func(p *corev1.Pod) { podSC(p).SELinuxOptions = &o }
}

func policy(v corev1.PodSELinuxChangePolicy) podOpt {
	return func(p *corev1.Pod) { podSC(p).SELinuxChangePolicy = &v }
}

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }

func claim(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = name }
}

func volume(src corev1.VolumeSource) podOpt {
	return func(p *corev1.Pod) { p.Spec.Volumes[0].VolumeSource = src }
}

// containerLevels gives the pod one container per level, each mounting vol
// with its own seLinuxOptions.
func containerLevels(levels ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = nil
		for i, l := range levels {
			c := corev1.Container{Name: "c" + string(rune('a'+i)), VolumeMounts: []corev1.VolumeMount{{Name: "vol", MountPath: "/v"}}}
			if l != "-" {
				c.SecurityContext = &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: l}}
			}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}
	}
}

func podSC(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

func config(t *testing.T, minor int, gates map[string]bool) Config {
	t.Helper()
	g, err := kubever.NewGates(kubever.V(minor), gates)
	if err != nil {
		t.Fatalf("gates: %v", err)
	}
	d, _ := label.Profile("fedora")
	return Config{Gates: g, SELinuxEnabled: true, Defaults: d}
}

// one explains a single pod using pv through claim "claim".
func one(t *testing.T, cfg Config, pv *corev1.PersistentVolume, p *corev1.Pod) Volume {
	t.Helper()
	objs := Objects{Pods: []*corev1.Pod{p}, CSIDrivers: drivers()}
	if pv != nil {
		objs.PVs = []*corev1.PersistentVolume{pv}
		objs.PVCs = []*corev1.PersistentVolumeClaim{boundPVC(p.Namespace, "claim", pv)}
	}
	e := Explain(objs, cfg)
	if len(e.Errors) > 0 {
		t.Fatalf("unexpected input errors: %v", e.Errors)
	}
	if len(e.Pods) != 1 || len(e.Pods[0].Volumes) != 1 {
		t.Fatalf("want 1 pod with 1 volume, got %+v", e.Pods)
	}
	v := e.Pods[0].Volumes[0]
	checkInvariants(t, v)
	return v
}

// checkInvariants asserts what must hold for every volume decision.
func checkInvariants(t *testing.T, v Volume) {
	t.Helper()
	if v.MountOptions == nil {
		t.Errorf("volume %s: mountOptions is nil, want an empty list", v.Name)
	}
	allPassed := true
	for _, c := range v.Conditions {
		if !c.Passed && !c.Advisory {
			allPassed = false
		}
	}
	if v.Method == MountOption {
		if len(v.Conditions) > 0 && !allPassed {
			t.Errorf("volume %s: MountOption with a failed condition: %+v", v.Name, v.Conditions)
		}
		last := ""
		if n := len(v.MountOptions); n > 0 {
			last = v.MountOptions[n-1]
		}
		if want := label.MountOption(v.Label); last != want {
			t.Errorf("volume %s: last mount option %q, want %q", v.Name, last, want)
		}
		if v.RuntimeRelabel {
			t.Errorf("volume %s: MountOption with runtime relabel", v.Name)
		}
	}
	if v.Method != MountOption {
		for _, o := range v.MountOptions {
			if len(o) >= 8 && o[:8] == "context=" {
				t.Errorf("volume %s: %s carries %s", v.Name, v.Method, o)
			}
		}
	}
	if (v.Method == Recursive) != v.RuntimeRelabel {
		t.Errorf("volume %s: method %s with runtimeRelabel %v", v.Name, v.Method, v.RuntimeRelabel)
	}
}

func failed(v Volume) []string {
	var out []string
	for _, c := range v.Conditions {
		if !c.Passed && !c.Advisory {
			out = append(out, c.Name)
		}
	}
	return out
}
