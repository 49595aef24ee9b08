package check

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestInlineSharedVolumeSaysWhyNotEligible: two pods share an inline iSCSI
// volume with different labels. The conflict is only a warning, and its
// message says why the volume is not mounted with a context, also though
// Lean decisions keep no checklist for volumes without a PersistentVolume.
func TestInlineSharedVolumeSaysWhyNotEligible(t *testing.T) {
	iscsi := func(s *corev1.PodSpec) {
		s.Volumes[0].VolumeSource = corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: "iqn.2024-01.example:disk", Lun: 0, FSType: "ext4"}}
	}
	now := time.Now()
	r := Run(input(t, 37, 0,
		runningPod("ns", "a", "", now, nil, iscsi, withLevel("s0:c1,c2"), onNode("n1")),
		runningPod("ns", "b", "", now, nil, iscsi, withLevel("s0:c3,c4"), onNode("n1")),
	))
	f := only(t, r, TypeConflict, PropertyLabel)
	if f.Severity != SeverityWarning || strings.Contains(f.Message, "()") || !strings.Contains(f.Message, "not mounted with -o context (") {
		t.Errorf("finding %+v: want a warning that says why the volume is not mounted with a context", f)
	}
	t.Log(f.Message)
}
