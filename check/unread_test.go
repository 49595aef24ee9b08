package check

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/randfill"

	"github.com/selmount/selmount/manifest"
)

// TestUnreadMatchesSlim: decoding with Discard: Unread gives exactly the
// objects Slim gives, on random objects of every kind with every field set
// (sigs.k8s.io/randfill), so Unread never drops a field a check reads.
func TestUnreadMatchesSlim(t *testing.T) {
	kinds := map[string]func() any{
		"v1/Pod":                         func() any { return &corev1.Pod{} },
		"v1/PersistentVolumeClaim":       func() any { return &corev1.PersistentVolumeClaim{} },
		"v1/PersistentVolume":            func() any { return &corev1.PersistentVolume{} },
		"v1/ReplicationController":       func() any { return &corev1.ReplicationController{} },
		"v1/Namespace":                   func() any { return &corev1.Namespace{} },
		"v1/Node":                        func() any { return &corev1.Node{} },
		"apps/v1/Deployment":             func() any { return &appsv1.Deployment{} },
		"apps/v1/StatefulSet":            func() any { return &appsv1.StatefulSet{} },
		"apps/v1/DaemonSet":              func() any { return &appsv1.DaemonSet{} },
		"apps/v1/ReplicaSet":             func() any { return &appsv1.ReplicaSet{} },
		"batch/v1/Job":                   func() any { return &batchv1.Job{} },
		"batch/v1/CronJob":               func() any { return &batchv1.CronJob{} },
		"storage.k8s.io/v1/CSIDriver":    func() any { return &storagev1.CSIDriver{} },
		"storage.k8s.io/v1/StorageClass": func() any { return &storagev1.StorageClass{} },
	}
	for kind := range Unread {
		found := false
		for k := range kinds {
			found = found || strings.HasSuffix(k, "/"+kind)
		}
		if !found {
			t.Errorf("Unread names kind %s, which is not decoded", kind)
		}
	}
	fill := randfill.NewWithSeed(1710).NilChance(0.2).NumElements(1, 2).MaxDepth(12).Funcs(
		func(q *resource.Quantity, c randfill.Continue) {
			*q = *resource.NewQuantity(int64(c.Intn(1000)), resource.DecimalSI)
		},
		func(ts *metav1.Time, c randfill.Continue) { *ts = metav1.Unix(int64(c.Intn(1<<30)), 0) },
		func(ts *metav1.MicroTime, c randfill.Continue) {
			*ts = metav1.NewMicroTime(metav1.Unix(int64(c.Intn(1<<30)), 0).Time)
		},
		func(v *intstr.IntOrString, c randfill.Continue) { *v = intstr.FromInt32(int32(c.Intn(100))) },
		func(f *metav1.FieldsV1, c randfill.Continue) { f.Raw = []byte(`{"f:metadata":{}}`) },
		func(r *runtime.RawExtension, c randfill.Continue) { r.Raw = []byte(`{"a":1}`) },
		// Plain ASCII, so that most documents take the fast decoder (which
		// leaves non-ASCII keys to sigs.k8s.io/json); one in ten is not.
		func(s *string, c randfill.Continue) { *s = asciiOrNot(c) },
		func(l *corev1.ResourceList, c randfill.Continue) {
			*l = corev1.ResourceList{corev1.ResourceName(asciiOrNot(c)): *resource.NewQuantity(int64(c.Intn(1000)), resource.DecimalSI)}
		},
		func(m *map[string]string, c randfill.Continue) {
			*m = map[string]string{}
			for range c.Intn(3) {
				(*m)[asciiOrNot(c)] = asciiOrNot(c)
			}
		},
	)
	for kind, newObj := range kinds {
		gv, k, _ := strings.Cut(kind, "/")
		if strings.Count(kind, "/") == 2 {
			i := strings.LastIndex(kind, "/")
			gv, k = kind[:i], kind[i+1:]
		}
		for n := range 50 {
			obj := newObj()
			fill.Fill(obj)
			js, err := json.Marshal(obj)
			if err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			// Fix the type meta that randfill made up.
			var m map[string]any
			if err := json.Unmarshal(js, &m); err != nil {
				t.Fatal(err)
			}
			m["apiVersion"], m["kind"] = gv, k
			js, _ = json.Marshal(m)

			name := fmt.Sprintf("%s-%d.json", k, n)
			want, werrs := decodeWith(t, name, js, &manifest.Options{Transform: Slim})
			got, gerrs := decodeWith(t, name, js, &manifest.Options{Transform: Slim, Discard: Unread})
			if fmt.Sprint(werrs) != fmt.Sprint(gerrs) {
				t.Fatalf("%s: errors differ:\n without Discard: %v\n with Discard:    %v", name, werrs, gerrs)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: Discard: Unread and Slim give different objects:\n slim:   %+v\n unread: %+v", name, want, got)
			}
		}
	}
}

func asciiOrNot(c randfill.Continue) string {
	if c.Intn(10) == 0 {
		return c.String(8)
	}
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789-./"
	b := make([]byte, 1+c.Intn(10))
	for i := range b {
		b[i] = letters[c.Intn(len(letters))]
	}
	return string(b)
}

func decodeWith(t *testing.T, name string, js []byte, opt *manifest.Options) ([]any, []error) {
	t.Helper()
	objs, errs := manifest.ReadWith([]string{"-"}, strings.NewReader(string(js)), opt)
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o.Obj
	}
	return out, errs
}
