package webhook

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// staticCache is a Cache over fixed objects: listers on plain indexers and
// the index check.RunUsers computes, as the controller's sync would.
type staticCache struct {
	l   controller.Listers
	idx *controller.Index
}

func (s *staticCache) Index() *controller.Index    { return s.idx }
func (s *staticCache) Listers() controller.Listers { return s.l }
func (s *staticCache) InformersSynced() bool       { return true }

func newStaticCache(tb testing.TB, objs check.Objects) *staticCache {
	tb.Helper()
	idxr := func(items ...any) cache.Indexer {
		i := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, it := range items {
			if err := i.Add(it); err != nil {
				tb.Fatal(err)
			}
		}
		return i
	}
	anys := func(n int, at func(int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	l := controller.Listers{
		Pods:           corelisters.NewPodLister(idxr(anys(len(objs.Pods), func(i int) any { return objs.Pods[i] })...)),
		PVCs:           corelisters.NewPersistentVolumeClaimLister(idxr(anys(len(objs.PVCs), func(i int) any { return objs.PVCs[i] })...)),
		PVs:            corelisters.NewPersistentVolumeLister(idxr(anys(len(objs.PVs), func(i int) any { return objs.PVs[i] })...)),
		Namespaces:     corelisters.NewNamespaceLister(idxr(anys(len(objs.Namespaces), func(i int) any { return objs.Namespaces[i] })...)),
		Nodes:          corelisters.NewNodeLister(idxr()),
		CSIDrivers:     storagelisters.NewCSIDriverLister(idxr(anys(len(objs.CSIDrivers), func(i int) any { return objs.CSIDrivers[i] })...)),
		StorageClasses: storagelisters.NewStorageClassLister(idxr()),
		Deployments:    appslisters.NewDeploymentLister(idxr()),
		StatefulSets:   appslisters.NewStatefulSetLister(idxr()),
		DaemonSets:     appslisters.NewDaemonSetLister(idxr()),
		ReplicaSets:    appslisters.NewReplicaSetLister(idxr()),
		Jobs:           batchlisters.NewJobLister(idxr()),
		CronJobs:       batchlisters.NewCronJobLister(idxr()),
		RCs:            corelisters.NewReplicationControllerLister(idxr()),
	}
	gates, err := kubever.NewGates(kubever.V(37), nil)
	if err != nil {
		tb.Fatal(err)
	}
	defaults, _ := label.Profile("fedora")
	in := check.Input{Objects: objs, Target: gates, Current: &gates, SELinuxEnabled: true, Defaults: defaults, Source: check.SourceCluster}
	_, users := check.RunUsers(in)
	in.Objects = check.Objects{}
	return &staticCache{l: l, idx: &controller.Index{Users: users, Input: in, Computed: time.Now()}}
}

// benchCluster: pods in namespaces of 100 pods, each namespace with 10
// claims on volumes of their own, 10 pods per claim; the first namespace's
// first volume is also reached by hot other pods (through PVs of another
// namespace).
func benchCluster(pods, hot int) check.Objects {
	var o check.Objects
	o.CSIDrivers = append(o.CSIDrivers, csiDriver())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for n := 0; n < pods/100; n++ {
		ns := fmt.Sprintf("ns-%04d", n)
		o.Namespaces = append(o.Namespaces, namespace(ns, nil))
		for v := range 10 {
			name := fmt.Sprintf("pv-%04d-%d", n, v)
			p := pv(name)
			p.Spec.CSI.VolumeHandle = name
			o.PVs = append(o.PVs, p)
			c := pvc(ns, name)
			c.Name = fmt.Sprintf("data-%d", v)
			o.PVCs = append(o.PVCs, c)
			for k := range 10 {
				po := pod(ns, fmt.Sprintf("p-%d-%d", v, k), "s0:c1,c2")
				po.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(len(o.Pods)) * time.Millisecond))
				po.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = c.Name
				po.Spec.NodeName = fmt.Sprintf("node-%d", k)
				o.Pods = append(o.Pods, po)
			}
		}
	}
	if hot > 0 {
		o.Namespaces = append(o.Namespaces, namespace("hot", nil))
		p := pv("pv-hot")
		p.Spec.CSI.VolumeHandle = "pv-0000-0"
		o.PVs = append(o.PVs, p)
		o.PVCs = append(o.PVCs, pvc("hot", "pv-hot"))
		for k := range hot {
			po := pod("hot", fmt.Sprintf("h-%d", k), "s0:c1,c2")
			po.CreationTimestamp = metav1.NewTime(t0)
			o.Pods = append(o.Pods, po)
		}
	}
	return o
}

// BenchmarkValidate measures the validating webhook's in-process latency
// (decode, check against the volume's current users, encode) with an
// index of 100,000 pods, for a pod that conflicts with the 10 users of its
// volume, and for one whose volume has 1,010 users (DefaultMaxUsers are
// read). It reports the median and the 99th percentile.
func BenchmarkValidate(b *testing.B) {
	for _, tc := range []struct {
		name string
		hot  int
	}{{"users=10", 0}, {"users=1010", 1000}} {
		b.Run(tc.name, func(b *testing.B) {
			c := newStaticCache(b, benchCluster(100000, tc.hot))
			h, err := New(c, Options{})
			if err != nil {
				b.Fatal(err)
			}
			p := pod("ns-0000", "new", "s0:c3,c4")
			p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "data-0"
			body := review(b, admissionv1.Create, p, nil)
			var durations []time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				r := httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				durations = append(durations, time.Since(start))
				if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte("different SELinux labels")) {
					b.Fatalf("response %d %s", w.Code, w.Body.String())
				}
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(durations[len(durations)*99/100].Nanoseconds()), "p99-ns")
		})
	}
}
