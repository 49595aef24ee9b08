package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// sharedVolume returns n running pods on one RWX volume, each with its own
// level, spread over nodes, and the storage objects.
func sharedVolume(n int) []any {
	objs := []any{driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv")}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		objs = append(objs, runningPod("ns", fmt.Sprint("p", i), "c", t0.Add(time.Duration(i)*time.Second), nil,
			withLevel(fmt.Sprintf("s0:c%d,c%d", i%1000, 1000+i/1000)), onNode(fmt.Sprint("n", i%100))))
	}
	return objs
}

// TestSharedVolumeReportIsLinear: 2,000 pods with 2,000 labels on one
// volume give one conflict finding that lists every pod once, and the
// report grows linearly with the pods (it used to give n(n-1)/2 findings).
func TestSharedVolumeReportIsLinear(t *testing.T) {
	size := func(n int) (Report, int) {
		r := Run(input(t, 37, 37, sharedVolume(n)...))
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return r, len(b)
	}
	r, big := size(2000)
	_, small := size(1000)
	fs := find(r, TypeConflict, PropertyLabel)
	if len(fs) != 1 || len(r.Findings) != 1 {
		t.Fatalf("%d findings, %d label conflicts; want one", len(r.Findings), len(fs))
	}
	f := fs[0]
	if len(f.Subjects) != 2000 || f.When != WhenNow {
		t.Errorf("%d subjects, when %s", len(f.Subjects), f.When)
	}
	if !strings.Contains(f.Message, "2000 label groups share it") || !strings.Contains(f.Message, "and 1995 more groups") || !strings.Contains(f.Message, "node n0 and 99 more nodes") {
		t.Errorf("message %q", f.Message)
	}
	if len(f.Message) > 2000 || len(f.Kept) > 1000 || len(f.Fix) > 2000 {
		t.Errorf("texts not bounded: message %d, kept %d, fix %d bytes", len(f.Message), len(f.Kept), len(f.Fix))
	}
	// The upstream controller reports every ordered pair: computed, not built.
	if f.Upstream == nil || f.Upstream.Conflicts != 2000*1999 || len(f.Upstream.Sample) != maxSample || !f.UpstreamControllerReports {
		t.Errorf("upstream %+v", f.Upstream)
	}
	if ratio := float64(big) / float64(small); ratio > 2.2 {
		t.Errorf("report of 2,000 pods is %.2f times that of 1,000 (%d and %d bytes): not linear", ratio, big, small)
	}
}

func BenchmarkSharedVolume(b *testing.B) {
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprint(n, "pods"), func(b *testing.B) {
			in := input(&testing.T{}, 37, 37, sharedVolume(n)...)
			for b.Loop() {
				Run(in)
			}
		})
	}
}

func TestThreeGroupsOneFinding(t *testing.T) {
	// Arrange: three Deployments with three levels, and a bare pod without
	// options, on one volume.
	r := Run(input(t, 37, 0,
		driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		deployment("ns", "a", "c", withLevel("s0:c1,c2")),
		deployment("ns", "b", "c", withLevel("s0:c3,c4")),
		deployment("ns", "a2", "c", withLevel("s0:c1,c2")),
		deployment("ns", "d", "c", withLevel("s0:c5,c6")),
	))
	// Assert: one finding; the largest group first, the others aligned to
	// its level, one patch each.
	f := only(t, r, TypeConflict, PropertyLabel)
	if got := strings.Join(subjectNames(f), ","); got != "Deployment/a,Deployment/a2,Deployment/b,Deployment/d" {
		t.Errorf("subjects %s", got)
	}
	if len(f.Patches) != 2 || f.Patches[0].Name != "b" || f.Patches[1].Name != "d" || !strings.Contains(f.Patches[0].Patch, `"level":"s0:c1,c2"`) {
		t.Errorf("patches %+v", f.Patches)
	}
	if !strings.Contains(f.Message, "3 label groups share it") {
		t.Errorf("message %q", f.Message)
	}
}

// TestUnboundClaimIsNotSeenUpstream: the upstream controller cannot build
// a volume spec for a claim that is not bound, so it skips the pods.
func TestUnboundClaimIsNotSeenUpstream(t *testing.T) {
	sc := &storagev1.StorageClass{Provisioner: "rbd"}
	sc.Name = "fast"
	for _, tc := range []struct {
		name  string
		claim *corev1.PersistentVolumeClaim
	}{
		{"provisioned later", func() *corev1.PersistentVolumeClaim {
			c := pvc("ns", "c", "")
			c.Spec.StorageClassName = &sc.Name
			c.Status.Phase = corev1.ClaimPending
			return c
		}()},
		{"volumeName set, still pending", func() *corev1.PersistentVolumeClaim {
			c := pvc("ns", "c", "pv")
			c.Status.Phase = corev1.ClaimPending
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Run(input(t, 37, 37, driver("rbd", &yes), sc, pv("pv", "rbd", "h", corev1.ReadWriteMany), tc.claim,
				runningPod("ns", "a", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
				runningPod("ns", "b", "c", time.Time{}, nil, withLevel("s0:c3,c4"))))
			f := only(t, r, TypeConflict, PropertyLabel)
			if f.UpstreamControllerReports || f.Upstream == nil || f.Upstream.Conflicts != 0 {
				t.Errorf("upstream reports %v (%+v) for pods whose claim is pending", f.UpstreamControllerReports, f.Upstream)
			}
			if !strings.Contains(f.UpstreamDifference, "skips pods whose claims are not bound (claim ns/c") || !strings.Contains(f.UpstreamDifference, "Pod ns/a, Pod ns/b") {
				t.Errorf("difference %q", f.UpstreamDifference)
			}
		})
	}
	// Bound: seen.
	bound := pvc("ns", "c", "pv")
	bound.Status.Phase = corev1.ClaimBound
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), bound,
		runningPod("ns", "a", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
		runningPod("ns", "b", "c", time.Time{}, nil, withLevel("s0:c3,c4"))))
	if f := only(t, r, TypeConflict, PropertyLabel); !f.UpstreamControllerReports || f.Upstream.Conflicts != 2 {
		t.Errorf("bound claim: upstream %v %+v", f.UpstreamControllerReports, f.Upstream)
	}
}

// TestNoLevelReason: two pods without a level each get a random level from
// the kubelet; upstream compares their empty levels as equal.
func TestNoLevelReason(t *testing.T) {
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		runningPod("ns", "a", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{Type: "container_t"})),
		runningPod("ns", "b", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{Type: "container_t"}))))
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.UpstreamControllerReports || !strings.Contains(f.UpstreamDifference, "random level") || strings.Contains(f.UpstreamDifference, "node defaults") {
		t.Errorf("upstream %v, difference %q", f.UpstreamControllerReports, f.UpstreamDifference)
	}
	if !strings.Contains(f.Message, "without a level") || !strings.Contains(f.Fix, "Give Pod ns/a, Pod ns/b a level") {
		t.Errorf("message %q fix %q", f.Message, f.Fix)
	}
}

// TestContainersDisagreeReason: a pod whose containers set different raw
// options (one file label to the kubelet) is skipped by upstream for the
// volume, so its conflict with another pod is not reported.
func TestContainersDisagreeReason(t *testing.T) {
	x := runningPod("ns", "x", "c", time.Time{}, nil, withLevel("s0:c1,c2"))
	x.Spec.Containers = append(x.Spec.Containers, corev1.Container{Name: "side",
		SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t", Level: "s0:c1,c2"}},
		VolumeMounts:    []corev1.VolumeMount{{Name: "data", MountPath: "/d"}}})
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		x, runningPod("ns", "y", "c", time.Time{}, nil, withLevel("s0:c3,c4"))))
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.UpstreamControllerReports || !strings.Contains(f.UpstreamDifference, "containers set different seLinuxOptions") || !strings.Contains(f.UpstreamDifference, "Pod ns/x") {
		t.Errorf("upstream %v, difference %q", f.UpstreamControllerReports, f.UpstreamDifference)
	}
	if m := only(t, r, TypeConflict, PropertyMultipleLabels); !m.UpstreamControllerReports || m.KubeletConflict {
		t.Errorf("multiple: %+v", m)
	}
}

// TestUpstreamOnlyNamesOnlyConflictingUsers: a and b agree with everyone;
// only typed and typed2 differ in raw type.
func TestUpstreamOnlyNamesOnlyConflictingUsers(t *testing.T) {
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		runningPod("ns", "a", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
		runningPod("ns", "b", "c", time.Time{}, nil, withLevel("s0:c1,c2")),
		runningPod("ns", "typed", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "system_u", Type: "spc_t", Level: "s0:c1,c2"})),
		runningPod("ns", "typed2", "c", time.Time{}, nil, withOptions(corev1.SELinuxOptions{Type: "container_t", Level: "s0:c1,c2"})),
	))
	f := only(t, r, TypeConflict, PropertyUpstreamOnly)
	if got := strings.Join(subjectNames(f), ","); got != "Pod/typed,Pod/typed2" {
		t.Errorf("subjects %s, want only the two that upstream finds in conflict", got)
	}
	if f.Upstream == nil || f.Upstream.Conflicts != 2 {
		t.Errorf("upstream %+v", f.Upstream)
	}
	if fs := find(r, TypeConflict, PropertyLabel); len(fs) != 0 {
		t.Errorf("kubelet conflict: %s", dump(r))
	}
}

// TestTemplatesAndPodsOfOneWorkload: a Deployment whose template moved to
// a new level while an old pod still runs is in two groups; one patch.
func TestTemplatesAndPodsOfOneWorkload(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	rs.Namespace, rs.Name = "ns", "web-1"
	rs.OwnerReferences = append(rs.OwnerReferences, *ownedBy("Deployment", "web"))
	rs.Spec.Template.Spec = podSpec("c", withLevel("s0:c1,c2"))
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		deployment("ns", "web", "c", withLevel("s0:c3,c4")), rs,
		runningPod("ns", "web-1-a", "c", time.Time{}, ownedBy("ReplicaSet", "web-1"), withLevel("s0:c1,c2")),
		deployment("ns", "db", "c", withLevel("s0:c3,c4")),
	))
	f := only(t, r, TypeConflict, PropertyLabel)
	if got := strings.Join(subjectNames(f), ","); got != "Deployment/web,Deployment/db,Deployment/web" {
		t.Errorf("subjects %s", got)
	}
	if len(f.Patches) != 1 || f.Patches[0].Name != "web" {
		t.Errorf("patches %+v", f.Patches)
	}
}

// TestTemplateSeenThroughItsPods: a Deployment's template is not a pod, but
// its running pod with the same label is what upstream compares.
func TestTemplateSeenThroughItsPods(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	rs.Namespace, rs.Name = "ns", "web-1"
	rs.OwnerReferences = append(rs.OwnerReferences, *ownedBy("Deployment", "web"))
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		deployment("ns", "web", "c", withLevel("s0:c1,c2")), rs,
		runningPod("ns", "web-1-a", "c", time.Time{}, ownedBy("ReplicaSet", "web-1"), withLevel("s0:c1,c2")),
		runningPod("ns", "debug", "c", time.Time{}, nil, withLevel("s0:c3,c4")),
	))
	f := only(t, r, TypeConflict, PropertyLabel)
	if !f.UpstreamControllerReports || f.UpstreamDifference != "" {
		t.Errorf("upstream %v, difference %q", f.UpstreamControllerReports, f.UpstreamDifference)
	}
}

// TestOneExportTwoVolumesUpstream: upstream compares the pods of one
// PersistentVolume (unique volume name); two PVs of one NFS export are one
// mount to the kernel.
func TestOneExportTwoVolumesUpstream(t *testing.T) {
	a := pv("pv-a", "nfs.csi.k8s.io", "srv#/exports#a", corev1.ReadWriteMany)
	a.Spec.CSI.VolumeAttributes = map[string]string{"server": "srv", "share": "/exports"}
	b := pv("pv-b", "nfs.csi.k8s.io", "srv#/exports#b", corev1.ReadWriteMany)
	b.Spec.CSI.VolumeAttributes = map[string]string{"server": "srv", "share": "/exports/"}
	r := Run(input(t, 37, 37, driver("nfs.csi.k8s.io", &yes), a, b, pvc("ns", "ca", "pv-a"), pvc("ns", "cb", "pv-b"),
		runningPod("ns", "x", "ca", time.Time{}, nil, withLevel("s0:c1,c2")),
		runningPod("ns", "y", "cb", time.Time{}, nil, withLevel("s0:c3,c4"))))
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.UpstreamControllerReports || !strings.Contains(f.UpstreamDifference, "one PersistentVolume") || f.Upstream.Conflicts != 0 {
		t.Errorf("upstream %v %+v, difference %q", f.UpstreamControllerReports, f.Upstream, f.UpstreamDifference)
	}
}

// TestUpstreamCountsByHand: the integration test's objects, with the
// controller's series counted by hand from kubelet-and-controller.md 3.5:
// on the shared volume a-b (level), a, b and user each against the two
// label-less pods (policy and level: 2+2 each), b-user (level); a-user
// not (an empty user is incomparable); the two label-less pods not (both
// "" and Recursive). Twice each: 28. typed: type differs, 2. cross: 2.
func TestUpstreamCountsByHand(t *testing.T) {
	bound := func(ns, name, volume string) *corev1.PersistentVolumeClaim {
		c := pvc(ns, name, volume)
		c.Status.Phase = corev1.ClaimBound
		return c
	}
	level := func(l string) specOpt { return withLevel(l) }
	r := Run(input(t, 37, 37, driver("rbd", &yes),
		pv("pv-shared", "rbd", "handle-pv-shared", corev1.ReadWriteMany), pv("pv-typed", "rbd", "handle-pv-typed", corev1.ReadWriteMany),
		pv("pv-cross", "rbd", "handle-pv-cross", corev1.ReadWriteMany), pv("pv-cross-alias", "rbd", "handle-pv-cross", corev1.ReadWriteMany),
		bound("prod", "shared", "pv-shared"), bound("prod", "typed", "pv-typed"), bound("prod", "cross", "pv-cross"), bound("other", "cross", "pv-cross-alias"),
		runningPod("prod", "a", "shared", time.Time{}, nil, level("s0:c1,c2"), onNode("node-1")),
		runningPod("prod", "b", "shared", time.Time{}, nil, level("s0:c3,c4"), onNode("node-1")),
		runningPod("prod", "unlabeled", "shared", time.Time{}, nil, onNode("node-2")),
		runningPod("prod", "recursive", "shared", time.Time{}, nil, level("s0:c1,c2"), withRecursive(), onNode("node-2")),
		runningPod("prod", "user", "shared", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "foo_u", Level: "s0:c1,c2"}), onNode("node-3")),
		runningPod("prod", "typed-1", "typed", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "system_u", Type: "container_t", Level: "s0:c7,c8"}), onNode("node-1")),
		runningPod("prod", "typed-2", "typed", time.Time{}, nil, withOptions(corev1.SELinuxOptions{User: "system_u", Type: "spc_t", Level: "s0:c7,c8"}), onNode("node-1")),
		runningPod("prod", "cross-1", "cross", time.Time{}, nil, level("s0:c5,c6"), onNode("node-1")),
		runningPod("other", "cross-2", "cross", time.Time{}, nil, level("s0:c6,c5"), onNode("node-1")),
		deployment("prod", "batch", "shared", level("s0:c9,c10")),
	))
	got := map[string]int{}
	for _, f := range r.Findings {
		if f.Upstream != nil {
			got[f.Volume] += f.Upstream.Conflicts
		}
	}
	if want := map[string]int{"pv-shared": 28, "pv-typed": 2, "pv-cross": 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("upstream conflicts per volume %v, want %v\n%s", got, want, dump(r))
	}
	var f Finding
	for _, c := range find(r, TypeConflict, PropertyLabel) {
		if c.Volume == "pv-shared" {
			f = c
		}
	}
	for _, want := range []string{"running pods only, and Deployment prod/batch has no pod", "without node defaults", "Pod prod/user"} {
		if !strings.Contains(f.UpstreamDifference, want) {
			t.Errorf("difference %q lacks %q", f.UpstreamDifference, want)
		}
	}
}

// TestReferenceIsWhatRuns: with one user per label, the fix aligns the
// Deployment scaled to zero with the running pod, not the reverse.
func TestReferenceIsWhatRuns(t *testing.T) {
	r := Run(input(t, 37, 37, driver("rbd", &yes), pv("pv", "rbd", "h", corev1.ReadWriteMany), pvc("ns", "c", "pv"),
		deployment("ns", "batch", "c", withLevel("s0:c9,c10")),
		runningPod("ns", "a", "c", time.Time{}, nil, withLevel("s0:c1,c2"))))
	f := only(t, r, TypeConflict, PropertyLabel)
	if got := strings.Join(subjectNames(f), ","); got != "Pod/a,Deployment/batch" {
		t.Errorf("subjects %s", got)
	}
	if len(f.Patches) != 1 || f.Patches[0].Name != "batch" || !strings.Contains(f.Patches[0].Patch, `"level":"s0:c1,c2"`) {
		t.Errorf("patches %+v", f.Patches)
	}
}
