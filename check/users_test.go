package check

import (
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRunUsers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web-5d8f", OwnerReferences: []metav1.OwnerReference{*ownedBy("Deployment", "web")}}}
	rs.Spec.Template.Spec = podSpec("shared", withLevel("s0:c1,c2"))
	// Two PersistentVolumes of one storage volume: one key, each user's
	// own name.
	in := input(t, 37, 37,
		driver("rbd", &yes), pv("pv-shared", "rbd", "h1", corev1.ReadWriteMany), pvc("prod", "shared", "pv-shared"),
		pv("pv-other", "rbd", "h1", corev1.ReadWriteMany), pvc("dev", "mine", "pv-other"),
		pv("pv-alone", "rbd", "h2", corev1.ReadWriteMany), pvc("dev", "alone", "pv-alone"),
		deployment("prod", "web", "shared", withLevel("s0:c1,c2")), rs,
		runningPod("prod", "web-5d8f-a", "shared", t0, ownedBy("ReplicaSet", "web-5d8f"), withLevel("s0:c1,c2"), onNode("n1")),
		runningPod("dev", "debug", "mine", t0.Add(time.Hour), nil, onNode("n1")),
		runningPod("dev", "lonely", "alone", t0.Add(time.Hour), nil, onNode("n1")),
	)
	r, users := RunUsers(in)
	if !reflect.DeepEqual(r, Run(in)) {
		t.Error("RunUsers's report differs from Run's")
	}
	key := "csi://rbd^h1"
	want := []User{{"Deployment", "prod", "web"}, {"Pod", "prod", "web-5d8f-a"}, {"Pod", "dev", "debug"}}
	if got := users.Of(key); !reflect.DeepEqual(got, want) {
		t.Errorf("users of %s = %v, want %v", key, got, want)
	}
	if got := users.VolumesOf(User{"Pod", "dev", "debug"}); !reflect.DeepEqual(got, []UserVolume{{Key: key, Name: "pv-other", Label: ""}}) {
		t.Errorf("volumes of the debug pod = %v", got)
	}
	if got := users.VolumesOf(User{"Pod", "prod", "web-5d8f-a"}); len(got) != 1 || !strings.HasSuffix(got[0].Label, ":s0:c1,c2") {
		t.Errorf("volumes of a labeled pod = %v, want its kubelet label", got)
	}
	if got := users.Of("csi://rbd^h2"); len(got) != 1 || got[0].Name != "lonely" {
		t.Errorf("a volume of one user is kept too: %v", got)
	}
	if users.Len() != 4 || users.Volumes() != 2 {
		t.Errorf("len %d volumes %d, want 4 and 2", users.Len(), users.Volumes())
	}
	if users.VolumesOf(User{"Pod", "prod", "nope"}) != nil || len(users.Of("nope")) != 0 {
		t.Error("unknown user or volume")
	}
	var none *Users
	if none.Of(key) != nil || none.VolumesOf(want[0]) != nil || none.Len() != 0 {
		t.Error("a nil Users has no users")
	}
}
