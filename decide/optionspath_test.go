package decide

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestOptionsPath(t *testing.T) {
	podOpts, initOpts, ctrOpts, ephOpts := &corev1.SELinuxOptions{Level: "s0:c1"}, &corev1.SELinuxOptions{Level: "a"}, &corev1.SELinuxOptions{Level: "b"}, &corev1.SELinuxOptions{Level: "c"}
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: podOpts},
		InitContainers:  []corev1.Container{{Name: "i", SecurityContext: &corev1.SecurityContext{SELinuxOptions: initOpts}}},
		Containers:      []corev1.Container{{Name: "a"}, {Name: "b", SecurityContext: &corev1.SecurityContext{SELinuxOptions: ctrOpts}}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "e", SecurityContext: &corev1.SecurityContext{SELinuxOptions: ephOpts}}}},
	}}
	for o, want := range map[*corev1.SELinuxOptions]string{
		podOpts:                   "spec.securityContext.seLinuxOptions",
		initOpts:                  "spec.initContainers[0].securityContext.seLinuxOptions",
		ctrOpts:                   "spec.containers[1].securityContext.seLinuxOptions",
		ephOpts:                   "spec.ephemeralContainers[0].securityContext.seLinuxOptions",
		{Level: "not in the pod"}: "seLinuxOptions",
	} {
		if got := optionsPath(pod, o); got != want {
			t.Errorf("optionsPath(%q) = %q, want %q", o.Level, got, want)
		}
	}
}
