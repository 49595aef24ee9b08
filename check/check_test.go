package check

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// Fixtures.

func driver(name string, selinux *bool) *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: storagev1.CSIDriverSpec{SELinuxMount: selinux}}
}

var yes = true

func pv(name, drv, handle string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{AccessModes: modes,
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: drv, VolumeHandle: handle}}}}
}

func pvc(ns, name, volume string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: volume}}
}

type specOpt func(*corev1.PodSpec)

func withLevel(l string) specOpt {
	return func(s *corev1.PodSpec) {
		s.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: l}}
	}
}

func withOptions(o corev1.SELinuxOptions) specOpt {
	return func(s *corev1.PodSpec) { s.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &o} }
}

func withRecursive() specOpt {
	return func(s *corev1.PodSpec) {
		if s.SecurityContext == nil {
			s.SecurityContext = &corev1.PodSecurityContext{}
		}
		p := corev1.SELinuxChangePolicyRecursive
		s.SecurityContext.SELinuxChangePolicy = &p
	}
}

func onNode(n string) specOpt { return func(s *corev1.PodSpec) { s.NodeName = n } }

func podSpec(claim string, opts ...specOpt) corev1.PodSpec {
	s := corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func deployment(ns, name, claim string, opts ...specOpt) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: podSpec(claim, opts...)}}}
}

func cronJob(ns, name, claim string, opts ...specOpt) *batchv1.CronJob {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	cj.Spec.JobTemplate.Spec.Template.Spec = podSpec(claim, opts...)
	return cj
}

func runningPod(ns, name, claim string, created time.Time, owner *metav1.OwnerReference, opts ...specOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)}, Spec: podSpec(claim, opts...)}
	p.Status.Phase = corev1.PodRunning
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func ownedBy(kind, name string) *metav1.OwnerReference {
	return &metav1.OwnerReference{Kind: kind, Name: name, Controller: &yes}
}

func input(t *testing.T, target int, current int, objs ...any) Input {
	t.Helper()
	g, err := kubever.NewGates(kubever.V(target), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := label.Profile("fedora")
	in := Input{Target: g, SELinuxEnabled: true, Defaults: d, Source: SourceManifests}
	for _, o := range objs {
		if !in.Objects.Add(o) {
			t.Fatalf("check does not read %T", o)
		}
	}
	if current != 0 {
		c, err := kubever.NewGates(kubever.V(current), nil)
		if err != nil {
			t.Fatal(err)
		}
		in.Current = &c
	}
	return in
}

func find(r Report, typ FindingType, property Property) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Type == typ && f.Property == property {
			out = append(out, f)
		}
	}
	return out
}

func only(t *testing.T, r Report, typ FindingType, property Property) Finding {
	t.Helper()
	fs := find(r, typ, property)
	if len(fs) != 1 {
		t.Fatalf("want one %s/%s finding, got %d: %s", typ, property, len(fs), dump(r))
	}
	return fs[0]
}

func dump(r Report) string {
	b, _ := json.MarshalIndent(r.Findings, "", "  ")
	return string(b)
}

func subjectNames(f Finding) []string {
	var out []string
	for _, s := range f.Subjects {
		out = append(out, s.Kind+"/"+s.Name)
	}
	return out
}

// Tests.

func TestTemplatesConflictBeforeTheyRun(t *testing.T) {
	// A Deployment (scaled to zero, no pods) and a CronJob share a RWX volume
	// with different labels: nothing runs, the upstream controller is blind.
	in := input(t, 37, 36,
		driver("rbd", &yes), pv("pv-shared", "rbd", "h1", corev1.ReadWriteMany), pvc("prod", "shared", "pv-shared"),
		deployment("prod", "db", "shared", withLevel("s0:c1,c2")),
		cronJob("prod", "backup", "shared", withLevel("s0:c3,c4")),
	)
	r := Run(in)
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.Severity != SeverityError || f.When != WhenTargetVersion || f.Volume != "pv-shared" {
		t.Errorf("got severity %s when %s volume %s", f.Severity, f.When, f.Volume)
	}
	if f.UpstreamControllerReports || !strings.Contains(f.UpstreamDifference, "running pods only") {
		t.Errorf("upstream = %v (%q), want not reported because nothing runs", f.UpstreamControllerReports, f.UpstreamDifference)
	}
	if got := strings.Join(subjectNames(f), ","); got != "Deployment/db,CronJob/backup" {
		t.Errorf("subjects = %s", got)
	}
	// The fix aligns the CronJob's level with a patch on its job template.
	if len(f.Patches) != 1 || f.Patches[0].Kind != "CronJob" ||
		f.Patches[0].Patch != `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"securityContext":{"seLinuxOptions":{"level":"s0:c1,c2"}}}}}}}}` {
		t.Errorf("patches = %+v", f.Patches)
	}
}

func TestRunningPodsReportUnderTheirWorkload(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web-5d8f", OwnerReferences: []metav1.OwnerReference{*ownedBy("Deployment", "web")}}}
	rs.Spec.Template.Spec = podSpec("shared", withLevel("s0:c1,c2"))
	in := input(t, 37, 37,
		driver("rbd", &yes), pv("pv-shared", "rbd", "h1", corev1.ReadWriteMany), pvc("prod", "shared", "pv-shared"),
		deployment("prod", "web", "shared", withLevel("s0:c1,c2")), rs,
		runningPod("prod", "web-5d8f-a", "shared", t0, ownedBy("ReplicaSet", "web-5d8f"), withLevel("s0:c1,c2"), onNode("n1")),
		runningPod("prod", "web-5d8f-b", "shared", t0, ownedBy("ReplicaSet", "web-5d8f"), withLevel("s0:c1,c2"), onNode("n2")),
		runningPod("prod", "debug", "shared", t0.Add(time.Hour), nil, onNode("n1")),
	)
	r := Run(in)
	f := only(t, r, TypeConflict, PropertyLabel)
	if got := strings.Join(subjectNames(f), ","); got != "Deployment/web,Pod/debug" {
		t.Errorf("subjects = %s, want the Deployment once and the bare pod", got)
	}
	if f.When != WhenNow || !strings.Contains(f.Kept, "Deployment prod/web") || !strings.Contains(f.Message, "node n1") {
		t.Errorf("when %s, kept %q, message %q", f.When, f.Kept, f.Message)
	}
	if !f.UpstreamControllerReports {
		t.Error("the upstream controller reports a labeled pod next to a label-less one (level compared)")
	}
	if f.Subjects[0].Running != 2 || strings.Join(f.Subjects[0].Nodes, ",") != "n1,n2" {
		t.Errorf("deployment subject = %+v", f.Subjects[0])
	}
	// The labeled side opts out; the Deployment gets a patch, the bare pod none.
	if len(f.Patches) != 1 || f.Patches[0].Kind != "Deployment" || !strings.Contains(f.Patches[0].Patch, `"seLinuxChangePolicy":"Recursive"`) {
		t.Errorf("patches = %+v", f.Patches)
	}
}

func TestWhen(t *testing.T) {
	base := func(modes ...corev1.PersistentVolumeAccessMode) []any {
		return []any{driver("rbd", &yes), pv("pv", "rbd", "h", modes...), pvc("ns", "c", "pv")}
	}
	pods := func(sameNode bool) []any {
		n2 := "n2"
		if sameNode {
			n2 = "n1"
		}
		return []any{
			runningPod("ns", "a", "c", time.Time{}, nil, withLevel("s0:c1,c2"), onNode("n1")),
			runningPod("ns", "b", "c", time.Time{}, nil, withLevel("s0:c3,c4"), onNode(n2)),
		}
	}
	tests := []struct {
		name            string
		target, current int
		modes           []corev1.PersistentVolumeAccessMode
		sameNode        bool
		severity        Severity
		when            When
	}{
		{"RWX, same node, 1.37 cluster", 37, 37, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, true, SeverityError, WhenNow},
		{"RWX, other nodes, 1.37 cluster", 37, 37, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, false, SeverityError, WhenCoScheduled},
		{"RWX, same node, 1.36 cluster", 37, 36, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, true, SeverityError, WhenTargetVersion},
		{"RWOP, same node, 1.36 cluster", 37, 36, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}, true, SeverityError, WhenNow},
		{"RWX, target 1.36", 36, 36, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}, true, SeverityWarning, WhenWarningOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(input(t, tc.target, tc.current, append(base(tc.modes...), pods(tc.sameNode)...)...))
			f := only(t, r, TypeConflict, PropertyLabel)
			if f.Severity != tc.severity || f.When != tc.when {
				t.Errorf("got %s/%s, want %s/%s: %s", f.Severity, f.When, tc.severity, tc.when, f.Message)
			}
		})
	}
}

func TestVolumeIdentity(t *testing.T) {
	t.Run("two PVs with one CSI handle are one volume", func(t *testing.T) {
		r := Run(input(t, 37, 0,
			driver("rbd", &yes), pv("pv-a", "rbd", "same", corev1.ReadWriteMany), pv("pv-b", "rbd", "same", corev1.ReadWriteMany),
			pvc("ns", "ca", "pv-a"), pvc("ns", "cb", "pv-b"),
			deployment("ns", "a", "ca", withLevel("s0:c1,c2")), deployment("ns", "b", "cb", withLevel("s0:c3,c4"))))
		only(t, r, TypeConflict, PropertyLabel)
	})
	t.Run("different handles do not conflict", func(t *testing.T) {
		r := Run(input(t, 37, 0,
			driver("rbd", &yes), pv("pv-a", "rbd", "h1", corev1.ReadWriteMany), pv("pv-b", "rbd", "h2", corev1.ReadWriteMany),
			pvc("ns", "ca", "pv-a"), pvc("ns", "cb", "pv-b"),
			deployment("ns", "a", "ca", withLevel("s0:c1,c2")), deployment("ns", "b", "cb", withLevel("s0:c3,c4"))))
		if fs := find(r, TypeConflict, PropertyLabel); len(fs) != 0 {
			t.Errorf("unexpected conflicts: %s", dump(r))
		}
	})
	t.Run("one NFS export behind two PVs", func(t *testing.T) {
		a := pv("pv-a", "nfs.csi.k8s.io", "srv#/exports#a", corev1.ReadWriteMany)
		a.Spec.CSI.VolumeAttributes = map[string]string{"server": "srv", "share": "/exports/"}
		b := pv("pv-b", "nfs.csi.k8s.io", "srv#/exports#b", corev1.ReadWriteMany)
		b.Spec.CSI.VolumeAttributes = map[string]string{"server": "srv", "share": "/exports"}
		r := Run(input(t, 37, 0, driver("nfs.csi.k8s.io", &yes), a, b, pvc("ns", "ca", "pv-a"), pvc("ns", "cb", "pv-b"),
			deployment("ns", "a", "ca", withLevel("s0:c1,c2")), deployment("ns", "b", "cb", withLevel("s0:c3,c4"))))
		only(t, r, TypeConflict, PropertyLabel)
		// And the driver lacks nosharecache.
		f := only(t, r, TypeDriverReadiness, PropertySharedSuperblock)
		if !strings.Contains(f.Message, "nosharecache") || !strings.Contains(f.Message, "PersistentVolume pv-a") {
			t.Errorf("message %q", f.Message)
		}
	})
}

func TestChangePolicyConflictAndUpstreamOnly(t *testing.T) {
	r := Run(input(t, 37, 37,
		driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		runningPod("ns", "mo", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
		runningPod("ns", "rec", "c", time.Time{}, nil, withLevel("s0:c1,c2"), withRecursive()),
		// Same file label as "mo" to the kubelet (type does not propagate,
		// user defaults to system_u), different raw options to upstream.
		runningPod("ns", "typed", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "system_u", Type: "spc_t", Level: "s0:c1,c2"})),
	))
	f := only(t, r, TypeConflict, PropertyChangePolicy)
	if !f.UpstreamControllerReports || f.Severity != SeverityError {
		t.Errorf("policy conflict: %+v", f)
	}
	if fs := find(r, TypeConflict, PropertyLabel); len(fs) != 0 {
		t.Errorf("spc_t and user system_u must not make a kubelet conflict: %s", dump(r))
	}
}

func TestUpstreamMissesUserDifference(t *testing.T) {
	// user foo_u vs no user: the kubelet fills system_u and sees two labels;
	// upstream treats the empty user as incomparable.
	r := Run(input(t, 37, 37,
		driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		runningPod("ns", "a", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "foo_u", Level: "s0:c1,c2"})),
		runningPod("ns", "b", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
	))
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.UpstreamControllerReports || !strings.Contains(f.UpstreamDifference, "without node defaults") {
		t.Errorf("upstream %v %q", f.UpstreamControllerReports, f.UpstreamDifference)
	}
}

func TestCanonicalOrder(t *testing.T) {
	r := Run(input(t, 37, 0,
		driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		deployment("ns", "a", "c", withLevel("s0:c1,c2")), deployment("ns", "b", "c", withLevel("s0:c2,c1"))))
	f := only(t, r, TypeConflict, PropertyLabel)
	if !strings.Contains(f.Message, "differ only in how their categories are written") || !strings.Contains(f.Fix, "exactly as") {
		t.Errorf("message %q fix %q", f.Message, f.Fix)
	}
}

func TestSlowPaths(t *testing.T) {
	r := Run(input(t, 37, 0,
		driver("rbd", &yes), driver("plain", nil),
		pv("pv-a", "rbd", "h1", corev1.ReadWriteMany), pvc("ns", "a", "pv-a"),
		pv("pv-b", "plain", "h2", corev1.ReadWriteOnce), pvc("ns", "b", "pv-b"),
		pv("pv-c", "rbd", "h3", corev1.ReadWriteOnce), pvc("ns", "c", "pv-c"),
		pv("pv-d", "rbd", "h4", corev1.ReadWriteOnce), pvc("ns", "d", "pv-d"),
		deployment("ns", "nolevel", "a"),
		deployment("ns", "nodriver", "b", withLevel("s0:c1,c2")),
		deployment("ns", "optout", "c", withLevel("s0:c1,c2"), withRecursive()),
		deployment("ns", "shared-s0", "d", withLevel("s0")),
	))
	if f := only(t, r, TypeSlowPath, PropertyNoLevel); f.Subjects[0].Name != "nolevel" {
		t.Errorf("NoLevel for %v", subjectNames(f))
	}
	if f := only(t, r, TypeSlowPath, PropertyDriverSupport); !strings.Contains(f.Fix, "CSIDriver plain") {
		t.Errorf("fix %q", f.Fix)
	}
	f := only(t, r, TypeSlowPath, PropertyRecursivePolicy)
	if len(f.Patches) != 1 || !strings.Contains(f.Patches[0].Patch, `"seLinuxChangePolicy":null`) {
		t.Errorf("patches %+v", f.Patches)
	}
	if f := only(t, r, TypeSlowPath, PropertyNoIsolation); f.Subjects[0].Name != "shared-s0" {
		t.Errorf("NoIsolation for %v", subjectNames(f))
	}
}

func TestDriverReadiness(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "ebs-csi-node"}}
	ds.Spec.Template.Spec = corev1.PodSpec{
		Containers: []corev1.Container{{Name: "node", VolumeMounts: []corev1.VolumeMount{{Name: "plugin-dir", MountPath: "/csi"}, {Name: "selinuxfs", MountPath: "/sys/fs/selinux", ReadOnly: true}}}},
		Volumes: []corev1.Volume{
			{Name: "plugin-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet/plugins/ebs.csi.aws.com/"}}},
			{Name: "selinuxfs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/sys/fs/selinux"}}},
		},
	}
	in := input(t, 37, 0, driver("ebs.csi.aws.com", &yes), pv("pv", "ebs.csi.aws.com", "vol-1", corev1.ReadWriteOnce), pvc("ns", "c", "pv"),
		deployment("ns", "a", "c", withLevel("s0:c1,c2")), ds, pv("pv2", "missing.csi", "x", corev1.ReadWriteOnce), pvc("ns", "c2", "pv2"),
		deployment("ns", "b", "c2", withLevel("s0:c1,c2")))
	in.ServerVersion = "v1.24.17"
	r := Run(in)
	f := only(t, r, TypeDriverReadiness, PropertyHostPaths)
	if !strings.Contains(f.Message, "/sys/fs/selinux read-write (it is mounted read-only) and /etc/selinux") {
		t.Errorf("message %q", f.Message)
	}
	if f := only(t, r, TypeDriverReadiness, PropertyMissingCSIDriver); f.Driver != "missing.csi" {
		t.Errorf("missing driver finding for %q", f.Driver)
	}
	if fs := find(r, TypeDriverReadiness, PropertyAPIServerVersion); len(fs) != 2 {
		t.Errorf("want an API server finding per driver, got %d", len(fs))
	}
}

func TestMultipleLabelsAndSummary(t *testing.T) {
	d := deployment("ns", "two", "c")
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "side",
		SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c5,c6"}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}})
	d.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c1,c2"}}
	r := Run(input(t, 37, 0, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"), d))
	f := only(t, r, TypeConflict, PropertyMultipleLabels)
	if f.Severity != SeverityError || f.UpstreamControllerReports {
		t.Errorf("got %+v", f)
	}
	if r.Summary.Workloads != 1 || r.Summary.Errors != 1 || r.ClusterFixes != nil {
		t.Errorf("summary %+v, cluster fixes %d", r.Summary, len(r.ClusterFixes))
	}
}

func TestFinishedPodsAreIgnored(t *testing.T) {
	done := runningPod("ns", "old", "c", time.Time{}, nil, withLevel("s0:c3,c4"), onNode("n1"))
	done.Status.Phase = corev1.PodSucceeded
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		runningPod("ns", "new", "c", time.Time{}, nil, withLevel("s0:c1,c2"), onNode("n1")), done))
	if fs := find(r, TypeConflict, PropertyLabel); len(fs) != 0 {
		t.Errorf("finished pod reported: %s", dump(r))
	}
}

func TestSlimChangesNothing(t *testing.T) {
	objs, errs := examplesObjects()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	full := Run(input(t, 37, 36, objs...))
	var slim []any
	for _, o := range objs {
		Slim(o)
		slim = append(slim, o)
	}
	got := Run(input(t, 37, 36, slim...))
	a, _ := json.Marshal(full)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("Slim changed the report:\n%s\n%s", a, b)
	}
	if len(full.Findings) < 5 {
		t.Errorf("the examples gave only %d findings", len(full.Findings))
	}
}

func TestOpenShiftNamespaceLevel(t *testing.T) {
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Annotations: map[string]string{"openshift.io/sa.scc.mcs": "s0:c26,c15"}}}
	priv := deployment("team", "agent", "c")
	priv.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	r := Run(input(t, 37, 0, nsObj, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("team", "c", "pv"),
		deployment("team", "web", "c"), // gets s0:c26,c15 from the namespace
		deployment("team", "api", "c", withLevel("s0:c26,c15")),
		priv, // privileged: no level, the empty label
	))
	f := only(t, r, TypeConflict, PropertyLabel)
	if got := strings.Join(subjectNames(f), ","); got != "Deployment/web,Deployment/api,Deployment/agent" {
		t.Errorf("subjects = %s: web must share api's namespace level, agent must not", got)
	}
	if f.Subjects[0].Label != "system_u:object_r:container_file_t:s0:c26,c15" {
		t.Errorf("web's label = %q", f.Subjects[0].Label)
	}
}
