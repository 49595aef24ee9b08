package decide

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/label"
)

const (
	rwop = corev1.ReadWriteOncePod
	rwo  = corev1.ReadWriteOnce
	rwx  = corev1.ReadWriteMany
	rox  = corev1.ReadOnlyMany
)

var (
	recursive   = corev1.SELinuxChangePolicyRecursive
	mountOption = corev1.SELinuxChangePolicyMountOption
)

type gates = map[string]bool

// TestMethodByVersion walks the upstream decision table (reference §2.8 and
// the per-version gate timeline) through every era of the kubelet.
func TestMethodByVersion(t *testing.T) {
	tests := []struct {
		name   string
		minor  int
		gates  gates
		modes  []corev1.PersistentVolumeAccessMode
		policy *corev1.PodSELinuxChangePolicy
		driver string
		want   Method
		failed []string
	}{
		{"1.25 default: gate alpha off", 25, nil, ms(rwop), nil, drvOn, Recursive, []string{CondFeatureGate, CondPlugin, CondAccessMode}},
		{"1.25 gate on but ReadWriteOncePod alpha off", 25, gates{"SELinuxMountReadWriteOncePod": true}, ms(rwop), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.25 both gates on", 25, gates{"SELinuxMountReadWriteOncePod": true, "ReadWriteOncePod": true}, ms(rwop), nil, drvOn, MountOption, nil},
		{"1.27 default: beta off", 27, nil, ms(rwop), nil, drvOn, Recursive, []string{CondFeatureGate, CondPlugin, CondAccessMode}},
		{"1.27 gate on", 27, gates{"SELinuxMountReadWriteOncePod": true}, ms(rwop), nil, drvOn, MountOption, nil},
		{"1.28 RWOP", 28, nil, ms(rwop), nil, drvOn, MountOption, nil},
		{"1.28 RWO", 28, nil, ms(rwo), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.29 RWOP with another mode", 29, nil, ms(rwop, rwo), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.30 SELinuxMount alpha on, RWX", 30, gates{"SELinuxMount": true}, ms(rwx), nil, drvOn, MountOption, nil},
		{"1.30 SELinuxMount on, two modes: upstream ordering bug", 30, gates{"SELinuxMount": true}, ms(rwo, rwx), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.31 SELinuxMount on, two modes: upstream ordering bug", 31, gates{"SELinuxMount": true}, ms(rwo, rwx), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.32 SELinuxMount on, two modes: fixed", 32, gates{"SELinuxMount": true}, ms(rwo, rwx), nil, drvOn, MountOption, nil},
		{"1.31 Recursive does not exist yet", 31, nil, ms(rwop), &recursive, drvOn, MountOption, nil},
		{"1.32 Recursive with the policy gate alpha off", 32, nil, ms(rwop), &recursive, drvOn, MountOption, nil},
		{"1.32 Recursive with the policy gate on", 32, gates{"SELinuxChangePolicy": true}, ms(rwop), &recursive, drvOn, Recursive, []string{CondChangePolicy}},
		{"1.33 Recursive", 33, nil, ms(rwop), &recursive, drvOn, Recursive, []string{CondChangePolicy}},
		{"1.33 RWX", 33, nil, ms(rwx), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.36 RWX", 36, nil, ms(rwx), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.36 RWO with SELinuxMount on", 36, gates{"SELinuxMount": true}, ms(rwo), &mountOption, drvOn, MountOption, nil},
		{"1.37 RWX: SELinuxMount GA", 37, nil, ms(rwx), nil, drvOn, MountOption, nil},
		{"1.37 ROX", 37, nil, ms(rox), nil, drvOn, MountOption, nil},
		{"1.37 RWX with SELinuxMount=false (not locked in 1.37)", 37, gates{"SELinuxMount": false}, ms(rwx), nil, drvOn, Recursive, []string{CondAccessMode}},
		{"1.37 RWOP with SELinuxMount=false", 37, gates{"SELinuxMount": false}, ms(rwop), nil, drvOn, MountOption, nil},
		{"1.37 Recursive opt-out", 37, nil, ms(rwx), &recursive, drvOn, Recursive, []string{CondChangePolicy}},
		{"1.37 explicit MountOption", 37, nil, ms(rwx), &mountOption, drvOn, MountOption, nil},
		{"1.37 driver seLinuxMount false", 37, nil, ms(rwop), nil, drvOff, Recursive, []string{CondPlugin}},
		{"1.37 driver without the field", 37, nil, ms(rwop), nil, drvUnset, Recursive, []string{CondPlugin}},
		{"1.37 no CSIDriver object", 37, nil, ms(rwop), nil, "missing.csi.example.com", Recursive, []string{CondPlugin}},
		{"1.38 RWX", 38, nil, ms(rwx), nil, drvOn, MountOption, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pod("p", level("s0:c1,c2"))
			if tc.policy != nil {
				policy(*tc.policy)(p)
			}
			v := one(t, config(t, tc.minor, tc.gates), csiPV("pv", tc.driver, tc.modes...), p)
			if v.Method != tc.want {
				t.Errorf("method = %s, want %s (%s)", v.Method, tc.want, v.Reason)
			}
			if got := failed(v); !reflect.DeepEqual(got, tc.failed) {
				t.Errorf("failed conditions = %v, want %v", got, tc.failed)
			}
			if v.Label != "system_u:object_r:container_file_t:s0:c1,c2" {
				t.Errorf("label = %q", v.Label)
			}
		})
	}
}

func ms(m ...corev1.PersistentVolumeAccessMode) []corev1.PersistentVolumeAccessMode { return m }

func TestMountOptions(t *testing.T) {
	pv := csiPV("pv", drvOn, rwop)
	pv.Spec.MountOptions = []string{"noexec", "noatime"}
	v := one(t, config(t, 37, nil), pv, pod("p", level("s0:c0,c1")))
	want := []string{"noexec", "noatime", `context="system_u:object_r:container_file_t:s0:c0,c1"`}
	if !reflect.DeepEqual(v.MountOptions, want) {
		t.Errorf("mount options = %q, want %q", v.MountOptions, want)
	}
	// Not mounted with context: the PV options alone, in order.
	v = one(t, config(t, 36, nil), csiPV("pv", drvOn, rwx), pod("p", level("s0:c0,c1")))
	if len(v.MountOptions) != 0 {
		t.Errorf("RWX in 1.36: mount options = %q, want none", v.MountOptions)
	}
}

// TestFileLabel checks the kubelet's translation through the engine: only
// user and level reach the file label; no options mean no label.
func TestFileLabel(t *testing.T) {
	tests := []struct {
		name     string
		opts     *corev1.SELinuxOptions
		defaults string
		want     string
		method   Method
		hazard   bool
	}{
		{"level", &corev1.SELinuxOptions{Level: "s0:c1,c2"}, "fedora", "system_u:object_r:container_file_t:s0:c1,c2", MountOption, false},
		{"all four", &corev1.SELinuxOptions{User: "system_u", Role: "system_r", Type: "container_t", Level: "s0:c1,c2"}, "fedora", "system_u:object_r:container_file_t:s0:c1,c2", MountOption, false},
		{"spc_t does not propagate", &corev1.SELinuxOptions{Type: "spc_t", Level: "s0:c1,c2"}, "fedora", "system_u:object_r:container_file_t:s0:c1,c2", MountOption, false},
		{"user propagates", &corev1.SELinuxOptions{User: "foo_u", Level: "s0"}, "fedora", "foo_u:object_r:container_file_t:s0", MountOption, false},
		{"no level: random", &corev1.SELinuxOptions{Type: "container_t"}, "fedora", "system_u:object_r:container_file_t:" + label.RandomLevel, MountOption, true},
		{"empty options", &corev1.SELinuxOptions{}, "fedora", "", Recursive, false},
		{"nil options", nil, "fedora", "", Recursive, false},
		{"debian defaults", &corev1.SELinuxOptions{Level: "s0:c1,c2"}, "debian", "system_u:object_r:svirt_lxc_file_t:s0:c1,c2", MountOption, false},
		{"category order kept as written", &corev1.SELinuxOptions{Level: "s0:c2,c1"}, "fedora", "system_u:object_r:container_file_t:s0:c2,c1", MountOption, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t, 37, nil)
			cfg.Defaults, _ = label.Profile(tc.defaults)
			p := pod("p")
			if tc.opts != nil {
				seOpts(*tc.opts)(p)
			}
			v := one(t, cfg, csiPV("pv", drvOn, rwop), p)
			if v.Label != tc.want || v.Method != tc.method {
				t.Errorf("got %s %q, want %s %q", v.Method, v.Label, tc.method, tc.want)
			}
			if got := len(v.Warnings) > 0 && strings.Contains(strings.Join(v.Warnings, " "), "no level"); got != tc.hazard {
				t.Errorf("level hazard warning = %v, want %v (warnings %q)", got, tc.hazard, v.Warnings)
			}
		})
	}
}

func TestContainerReplacesPodOptions(t *testing.T) {
	// The container sets only a type: it does not inherit the pod's level,
	// so its label gets a random level and differs from the pod's label.
	p := pod("p", level("s0:c1,c2"))
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
		Name:            "sidecar",
		SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "vol", MountPath: "/v"}},
	})
	e := Explain(Objects{Pods: []*corev1.Pod{p}, PVs: []*corev1.PersistentVolume{csiPV("pv", drvOn, rwx)},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", csiPV("pv", drvOn, rwx))}, CSIDrivers: drivers()}, config(t, 37, nil))
	adm := e.Pods[0].Admission
	want := "multiple SELinux labels found: system_u:object_r:container_file_t:s0:c1,c2,system_u:object_r:container_file_t:" + label.RandomLevel
	if adm.Admitted || adm.Error != want {
		t.Errorf("admission = %+v, want error %q", adm, want)
	}
}

func TestNoneCases(t *testing.T) {
	ro := true
	tests := []struct {
		name   string
		cfg    func(*Config)
		pv     *corev1.PersistentVolume
		opt    podOpt
		want   Method
		reason string
	}{
		{"SELinux off", func(c *Config) { c.SELinuxEnabled = false }, csiPV("pv", drvOn, rwop), nil, None, "SELinux is disabled"},
		{"read-only claim, driver without support", nil, csiPV("pv", drvOff, rwx), func(p *corev1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ReadOnly = true }, None, "read-only"},
		// csi_mounter asks for a context mount whatever readOnly says.
		{"read-only claim is still mounted with context", nil, csiPV("pv", drvOn, rwx), func(p *corev1.Pod) { p.Spec.Volumes[0].PersistentVolumeClaim.ReadOnly = true }, MountOption, "mounted with -o context"},
		{"hostPath", nil, nil, volume(corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}}), None, "never relabels hostPath"},
		{"inline CSI read-only", nil, nil, volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: drvOn, ReadOnly: &ro}}), None, "read-only"},
		{"inline CSI", nil, nil, volume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: drvOn}}), Recursive, "inline"},
		{"emptyDir", nil, nil, volume(corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}), Recursive, "inline emptyDir"},
		{"raw block", nil, func() *corev1.PersistentVolume {
			pv := csiPV("pv", drvOn, rwop)
			b := corev1.PersistentVolumeBlock
			pv.Spec.VolumeMode = &b
			return pv
		}(), nil, None, "raw block"},
		{"windows pod", nil, csiPV("pv", drvOn, rwop), func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }, None, "Windows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(t, 37, nil)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p := pod("p", level("s0:c1,c2"))
			if tc.opt != nil {
				tc.opt(p)
			}
			v := one(t, cfg, tc.pv, p)
			if v.Method != tc.want || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("got %s (%s), want %s containing %q", v.Method, v.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestResolution(t *testing.T) {
	sc := "fast"
	cfg := config(t, 37, nil)
	classes := []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: drvOn, MountOptions: []string{"discard"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "std", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/aws-ebs"},
	}
	t.Run("unbound claim uses its StorageClass", func(t *testing.T) {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "claim"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &sc, AccessModes: ms(rwx)}}
		e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1,c2"))}, PVCs: []*corev1.PersistentVolumeClaim{pvc}, StorageClasses: classes, CSIDrivers: drivers()}, cfg)
		v := e.Pods[0].Volumes[0]
		want := []string{"discard", `context="system_u:object_r:container_file_t:s0:c1,c2"`}
		if v.Method != MountOption || !reflect.DeepEqual(v.MountOptions, want) {
			t.Errorf("got %s %q, want MountOption %q", v.Method, v.MountOptions, want)
		}
	})
	t.Run("default StorageClass with an in-tree provisioner migrates to CSI", func(t *testing.T) {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "claim"}, Spec: corev1.PersistentVolumeClaimSpec{AccessModes: ms(rwo)}}
		e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1,c2"))}, PVCs: []*corev1.PersistentVolumeClaim{pvc}, StorageClasses: classes, CSIDrivers: drivers()}, cfg)
		if got := e.Pods[0].Volumes[0].Plugin; got != "kubernetes.io/csi/ebs.csi.aws.com" {
			t.Errorf("plugin = %q, want the migrated CSI driver", got)
		}
	})
	t.Run("in-tree PV resolves to its CSI driver", func(t *testing.T) {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{AccessModes: ms(rwo),
			PersistentVolumeSource: corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "vol-1"}}}}
		yes := true
		drv := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "ebs.csi.aws.com"}, Spec: storagev1.CSIDriverSpec{SELinuxMount: &yes}}
		e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1,c2"))}, PVs: []*corev1.PersistentVolume{pv},
			PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", pv)}, CSIDrivers: []*storagev1.CSIDriver{drv}}, cfg)
		v := e.Pods[0].Volumes[0]
		if v.Method != MountOption || v.Plugin != "kubernetes.io/csi/ebs.csi.aws.com" {
			t.Errorf("got %s via %s, want MountOption via the EBS CSI driver", v.Method, v.Plugin)
		}
	})
	t.Run("generic ephemeral volume has a PVC", func(t *testing.T) {
		p := pod("p", level("s0:c1,c2"), volume(corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &sc, AccessModes: ms(rwop)}}}}))
		e := Explain(Objects{Pods: []*corev1.Pod{p}, StorageClasses: classes, CSIDrivers: drivers()}, cfg)
		if len(e.Errors) != 0 {
			t.Fatal(e.Errors)
		}
		v := e.Pods[0].Volumes[0]
		if v.Method != MountOption || !strings.Contains(v.Source, "ephemeral claim p-vol") {
			t.Errorf("got %s from %q", v.Method, v.Source)
		}
	})
	t.Run("missing claim is an input error", func(t *testing.T) {
		e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1,c2"))}}, cfg)
		want := `pod ns/p: volume "vol": PersistentVolumeClaim ns/claim not found`
		if len(e.Errors) != 1 || e.Errors[0] != want {
			t.Errorf("errors = %q, want [%q]", e.Errors, want)
		}
	})
	t.Run("in-tree iscsi needs no CSIDriver", func(t *testing.T) {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{AccessModes: ms(rwop),
			PersistentVolumeSource: corev1.PersistentVolumeSource{ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: "iqn.x", Lun: 1}}}}
		v := one(t, cfg, pv, pod("p", level("s0:c1,c2")))
		if v.Method != MountOption || v.Plugin != "kubernetes.io/iscsi" {
			t.Errorf("got %s via %s", v.Method, v.Plugin)
		}
	})
	t.Run("unused volumes are skipped", func(t *testing.T) {
		p := pod("p", level("s0:c1,c2"))
		p.Spec.Containers[0].VolumeMounts = nil
		e := Explain(Objects{Pods: []*corev1.Pod{p}}, cfg)
		if len(e.Pods[0].Volumes) != 0 || len(e.Errors) != 0 {
			t.Errorf("got volumes %+v errors %v, want none", e.Pods[0].Volumes, e.Errors)
		}
	})
}

func TestInvalidLevelIsAnInputError(t *testing.T) {
	e := Explain(Objects{Pods: []*corev1.Pod{pod("p", level("s0:c1024"))}, PVs: []*corev1.PersistentVolume{csiPV("pv", drvOn, rwop)},
		PVCs: []*corev1.PersistentVolumeClaim{boundPVC("ns", "claim", csiPV("pv", drvOn, rwop))}, CSIDrivers: drivers()}, config(t, 37, nil))
	if len(e.Errors) != 1 || !strings.Contains(e.Errors[0], "c1024 out of range") {
		t.Fatalf("errors = %q, want one naming c1024", e.Errors)
	}
	adm := e.Pods[0].Admission
	if adm.Admitted || !strings.HasPrefix(adm.Error, `failed to construct SELinux label from context "&SELinuxOptions{User:,Role:,Type:,Level:s0:c1024,}": `) || adm.Metric != MetricContainerErrors {
		t.Errorf("admission = %+v", adm)
	}
}
