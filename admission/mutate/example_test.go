package mutate_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/admission/mutate"
)

func ExamplePod() {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        "team-a",
		Labels:      map[string]string{mutate.OptInLabel: mutate.OptInValue, mutate.ChangePolicyLabel: "Mountoption"},
		Annotations: map[string]string{mutate.LevelAnnotation: "s0:c4,c9"},
	}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
	}
	r := mutate.Pod(ns, pod, mutate.Options{})
	fmt.Println(string(r.Patch))
	for _, w := range r.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// [{"op":"add","path":"/spec/securityContext","value":{}},{"op":"add","path":"/spec/securityContext/seLinuxOptions","value":{}},{"op":"add","path":"/spec/securityContext/seLinuxOptions/level","value":"s0:c4,c9"}]
	// warning: namespace label selmount.io/selinux-change-policy="Mountoption" is not Recursive or MountOption; seLinuxChangePolicy left unset
}
