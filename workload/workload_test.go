package workload

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// template is a pod template with one container mounting each named claim.
func template(level string, claims ...string) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}, Name: "ignored", Namespace: "ignored"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: level}},
			Containers:      []corev1.Container{{Name: "c"}},
		},
	}
	for _, c := range claims {
		t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: pvcSource(c)})
		t.Spec.Containers[0].VolumeMounts = append(t.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: c, MountPath: "/" + c})
	}
	return t
}

func replicas(n int32) *int32 { return &n }

func claimTemplate(name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
	}
}

// volumes returns name -> claim of a pod's volumes ("" for other sources).
func volumes(p *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, v := range p.Spec.Volumes {
		out[v.Name] = ""
		if v.PersistentVolumeClaim != nil {
			out[v.Name] = v.PersistentVolumeClaim.ClaimName
		}
	}
	return out
}

func TestExpand(t *testing.T) {
	rcTemplate := template("s0:c6")
	tests := []struct {
		name       string
		obj        any
		ok         bool
		pods       int
		podNS      string
		podName    string
		ownerKind  string
		ownerName  string
		level      string
		volumes    map[string]string
		claimNames []string
	}{
		{name: "bare pod keeps its name, no owner", obj: &corev1.Pod{ObjectMeta: meta("ns", "p"), Spec: template("s0:c1", "data").Spec},
			ok: true, pods: 1, podNS: "ns", podName: "p", level: "s0:c1", volumes: map[string]string{"data": "data"}},
		{name: "bare pod without namespace is in default", obj: &corev1.Pod{ObjectMeta: meta("", "p")},
			ok: true, pods: 1, podNS: "default", podName: "p", volumes: map[string]string{}},
		{name: "deployment", obj: &appsv1.Deployment{ObjectMeta: meta("ns", "web"), Spec: appsv1.DeploymentSpec{Replicas: replicas(3), Template: template("s0:c2", "data")}},
			ok: true, pods: 1, podNS: "ns", podName: "web", ownerKind: "Deployment", ownerName: "web", level: "s0:c2", volumes: map[string]string{"data": "data"}},
		{name: "deployment scaled to zero still has its pod", obj: &appsv1.Deployment{ObjectMeta: meta("ns", "idle"), Spec: appsv1.DeploymentSpec{Replicas: replicas(0), Template: template("s0:c2", "data")}},
			ok: true, pods: 1, podNS: "ns", podName: "idle", ownerKind: "Deployment", ownerName: "idle", level: "s0:c2", volumes: map[string]string{"data": "data"}},
		{name: "deployment without namespace is in default", obj: &appsv1.Deployment{ObjectMeta: meta("", "web"), Spec: appsv1.DeploymentSpec{Template: template("")}},
			ok: true, pods: 1, podNS: "default", podName: "web", ownerKind: "Deployment", ownerName: "web", volumes: map[string]string{}},
		{name: "replicaset", obj: &appsv1.ReplicaSet{ObjectMeta: meta("ns", "rs"), Spec: appsv1.ReplicaSetSpec{Replicas: replicas(0), Template: template("s0:c3", "a")}},
			ok: true, pods: 1, podNS: "ns", podName: "rs", ownerKind: "ReplicaSet", ownerName: "rs", level: "s0:c3", volumes: map[string]string{"a": "a"}},
		{name: "daemonset", obj: &appsv1.DaemonSet{ObjectMeta: meta("kube-system", "agent"), Spec: appsv1.DaemonSetSpec{Template: template("s0:c4", "a")}},
			ok: true, pods: 1, podNS: "kube-system", podName: "agent", ownerKind: "DaemonSet", ownerName: "agent", level: "s0:c4", volumes: map[string]string{"a": "a"}},
		{name: "job", obj: &batchv1.Job{ObjectMeta: meta("ns", "once"), Spec: batchv1.JobSpec{Template: template("s0:c5", "a")}},
			ok: true, pods: 1, podNS: "ns", podName: "once", ownerKind: "Job", ownerName: "once", level: "s0:c5", volumes: map[string]string{"a": "a"}},
		{name: "cronjob between runs: the job template's pod",
			obj: &batchv1.CronJob{ObjectMeta: meta("ns", "nightly"), Spec: batchv1.CronJobSpec{Schedule: "@daily", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template("s0:c7", "backup")}}}},
			ok:  true, pods: 1, podNS: "ns", podName: "nightly", ownerKind: "CronJob", ownerName: "nightly", level: "s0:c7", volumes: map[string]string{"backup": "backup"}},
		{name: "suspended cronjob counts too",
			obj: &batchv1.CronJob{ObjectMeta: meta("ns", "off"), Spec: batchv1.CronJobSpec{Suspend: new(bool), JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template("s0:c7")}}}},
			ok:  true, pods: 1, podNS: "ns", podName: "off", ownerKind: "CronJob", ownerName: "off", level: "s0:c7", volumes: map[string]string{}},
		{name: "replicationcontroller", obj: &corev1.ReplicationController{ObjectMeta: meta("ns", "rc"), Spec: corev1.ReplicationControllerSpec{Replicas: replicas(0), Template: &rcTemplate}},
			ok: true, pods: 1, podNS: "ns", podName: "rc", ownerKind: "ReplicationController", ownerName: "rc", level: "s0:c6", volumes: map[string]string{}},
		{name: "replicationcontroller without template: no pod", obj: &corev1.ReplicationController{ObjectMeta: meta("ns", "rc")},
			ok: true, pods: 0},
		{name: "statefulset: pod -0, claims <template>-<set>-0, added and replaced",
			obj: &appsv1.StatefulSet{ObjectMeta: meta("ns", "db"), Spec: appsv1.StatefulSetSpec{
				Replicas: replicas(0),
				Template: func() corev1.PodTemplateSpec {
					t := template("s0:c8", "shared")
					// A volume named like a claim template is replaced by the claim.
					t.Spec.Volumes = append(t.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
					return t
				}(),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data"), claimTemplate("logs")},
			}},
			ok: true, pods: 1, podNS: "ns", podName: "db-0", ownerKind: "StatefulSet", ownerName: "db", level: "s0:c8",
			volumes:    map[string]string{"shared": "shared", "data": "data-db-0", "logs": "logs-db-0"},
			claimNames: []string{"ns/data-db-0", "ns/logs-db-0"}},
		{name: "statefulset with spec.ordinals.start: names start there",
			obj: &appsv1.StatefulSet{ObjectMeta: meta("", "db"), Spec: appsv1.StatefulSetSpec{
				Ordinals:             &appsv1.StatefulSetOrdinals{Start: 5},
				Template:             template("s0:c9"),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")},
			}},
			ok: true, pods: 1, podNS: "default", podName: "db-5", ownerKind: "StatefulSet", ownerName: "db", level: "s0:c9",
			volumes: map[string]string{"data": "data-db-5"}, claimNames: []string{"default/data-db-5"}},
		{name: "a claim is not a workload", obj: &corev1.PersistentVolumeClaim{ObjectMeta: meta("ns", "c")}, ok: false},
		{name: "a service is not a workload", obj: &corev1.Service{ObjectMeta: meta("ns", "s")}, ok: false},
		{name: "a value, not a pointer, is not read", obj: appsv1.Deployment{ObjectMeta: meta("ns", "web")}, ok: false},
		{name: "nil", obj: nil, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pods, claims, ok := Expand(tc.obj)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if len(pods) != tc.pods {
				t.Fatalf("%d pods, want %d", len(pods), tc.pods)
			}
			var names []string
			for _, c := range claims {
				names = append(names, c.Namespace+"/"+c.Name)
			}
			if !reflect.DeepEqual(names, tc.claimNames) {
				t.Errorf("claims %v, want %v", names, tc.claimNames)
			}
			if tc.pods == 0 {
				return
			}
			p := pods[0]
			if p.Namespace != tc.podNS || p.Name != tc.podName {
				t.Errorf("pod %s/%s, want %s/%s", p.Namespace, p.Name, tc.podNS, tc.podName)
			}
			switch {
			case tc.ownerKind == "" && len(p.OwnerReferences) != 0:
				t.Errorf("owners %v, want none", p.OwnerReferences)
			case tc.ownerKind != "":
				if len(p.OwnerReferences) != 1 {
					t.Fatalf("owners %v, want one", p.OwnerReferences)
				}
				r := p.OwnerReferences[0]
				if r.Kind != tc.ownerKind || r.Name != tc.ownerName || r.Controller == nil || !*r.Controller {
					t.Errorf("owner %+v, want controller %s %s", r, tc.ownerKind, tc.ownerName)
				}
				if p.Labels["app"] != "x" {
					t.Errorf("template labels not kept: %v", p.Labels)
				}
			}
			level := ""
			if sc := p.Spec.SecurityContext; sc != nil && sc.SELinuxOptions != nil {
				level = sc.SELinuxOptions.Level
			}
			if level != tc.level {
				t.Errorf("level %q, want %q", level, tc.level)
			}
			if got := volumes(p); !reflect.DeepEqual(got, tc.volumes) {
				t.Errorf("volumes %v, want %v", got, tc.volumes)
			}
			for _, c := range claims {
				if len(c.Spec.AccessModes) != 1 || c.Spec.AccessModes[0] != corev1.ReadWriteOnce {
					t.Errorf("claim %s: spec not taken from its template: %+v", c.Name, c.Spec)
				}
			}
		})
	}
}

// TestExpandNeverModifiesItsInput: the pods and claims are copies, so that
// callers may change them (check applies OpenShift's namespace levels) and
// objects shared with an informer cache stay as they are.
func TestExpandNeverModifiesItsInput(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: meta("", "db"), Spec: appsv1.StatefulSetSpec{
		Template:             template("s0:c1", "data"),
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")},
	}}
	pod := &corev1.Pod{ObjectMeta: meta("", "p"), Spec: template("s0:c1", "data").Spec}
	for _, obj := range []any{sts, pod} {
		before := reflect.ValueOf(obj).Elem().Interface()
		before = deepCopy(before)
		pods, claims, _ := Expand(obj)
		pods[0].Spec.SecurityContext.SELinuxOptions.Level = "changed"
		pods[0].Spec.Volumes[0].Name = "changed"
		pods[0].Labels = map[string]string{"changed": "yes"}
		for _, c := range claims {
			c.Spec.AccessModes[0] = corev1.ReadWriteMany
		}
		if after := reflect.ValueOf(obj).Elem().Interface(); !reflect.DeepEqual(before, after) {
			t.Errorf("%T modified through Expand's result:\nbefore %+v\nafter  %+v", obj, before, after)
		}
	}
}

func deepCopy(v any) any {
	switch o := v.(type) {
	case appsv1.StatefulSet:
		return *o.DeepCopy()
	case corev1.Pod:
		return *o.DeepCopy()
	}
	panic("unexpected type")
}

func TestClaims(t *testing.T) {
	explicit := []*corev1.PersistentVolumeClaim{
		{ObjectMeta: meta("ns", "data-db-0"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-bound"}},
		{ObjectMeta: meta("", "nons")},
	}
	synthesized := []*corev1.PersistentVolumeClaim{
		{ObjectMeta: meta("ns", "data-db-0")}, // given explicitly (and bound): the explicit one wins
		{ObjectMeta: meta("ns", "logs-db-0")},
	}
	got := Claims(explicit, synthesized)
	var names []string
	for _, c := range got {
		names = append(names, c.Namespace+"/"+c.Name)
	}
	want := []string{"ns/data-db-0", "default/nons", "ns/logs-db-0"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("claims %v, want %v", names, want)
	}
	if got[0] != explicit[0] || got[0].Spec.VolumeName != "pv-bound" {
		t.Errorf("the explicit claim did not win: %+v", got[0])
	}
	if explicit[1].Namespace != "" {
		t.Errorf("the input claim was given a namespace: %q", explicit[1].Namespace)
	}
	if len(Claims(nil, nil)) != 0 {
		t.Error("claims out of nothing")
	}
}

// TestCollect: workloads expand in input order, storage objects are sorted
// by kind, and a StatefulSet's claim given explicitly is the one used.
func TestCollect(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: meta("ns", "db"), Spec: appsv1.StatefulSetSpec{
		Template: template("s0:c1"), VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data"), claimTemplate("logs")},
	}}
	bound := &corev1.PersistentVolumeClaim{ObjectMeta: meta("ns", "data-db-0"), Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1"}}
	objs := []any{
		&batchv1.CronJob{ObjectMeta: meta("ns", "cj"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: template("s0:c2")}}}},
		sts,
		&corev1.PersistentVolume{ObjectMeta: meta("", "pv-1")},
		&storagev1.CSIDriver{ObjectMeta: meta("", "d")},
		&storagev1.StorageClass{ObjectMeta: meta("", "sc")},
		&corev1.Service{ObjectMeta: meta("ns", "svc")},
		bound,
		&corev1.Pod{ObjectMeta: meta("ns", "p")},
	}
	o := Collect(objs)
	var pods []string
	for _, p := range o.Pods {
		pods = append(pods, p.Name)
	}
	if want := []string{"cj", "db-0", "p"}; !reflect.DeepEqual(pods, want) {
		t.Errorf("pods %v, want %v", pods, want)
	}
	var claims []string
	for _, c := range o.PVCs {
		claims = append(claims, c.Name+"="+c.Spec.VolumeName)
	}
	if want := []string{"data-db-0=pv-1", "logs-db-0="}; !reflect.DeepEqual(claims, want) {
		t.Errorf("claims %v, want %v", claims, want)
	}
	if len(o.PVs) != 1 || len(o.CSIDrivers) != 1 || len(o.StorageClasses) != 1 {
		t.Errorf("storage objects: %d PVs, %d CSIDrivers, %d StorageClasses, want one each", len(o.PVs), len(o.CSIDrivers), len(o.StorageClasses))
	}
}
