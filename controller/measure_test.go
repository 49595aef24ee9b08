package controller

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestMeasureSync measures a sync on a fake clientset of
// SELMOUNT_MEASURE_PODS pods laid out as the upstream benchmark's cluster
// (100 namespaces, each pod with its own claim and CSI volume except every
// tenth, which shares its neighbour's claim with another level). It only
// logs; run it with -v. Skipped without the variable.
func TestMeasureSync(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SELMOUNT_MEASURE_PODS"))
	if n == 0 {
		t.Skip("SELMOUNT_MEASURE_PODS is not set")
	}
	objs := []runtime.Object{csiDriver()}
	for i := range n {
		ns := fmt.Sprintf("ns%d", i%100)
		claim := fmt.Sprintf("c%d", i)
		level := "s0:c1,c2"
		if i%10 == 1 {
			claim = fmt.Sprintf("c%d", i-1)
			level = "s0:c3,c4"
		} else {
			p := pv(fmt.Sprintf("pv%d", i))
			p.Spec.CSI.VolumeHandle = claim
			c := pvc(ns, p.Name)
			c.Name = claim
			objs = append(objs, p, c)
		}
		if i%10 == 1 {
			ns = fmt.Sprintf("ns%d", (i-1)%100)
		}
		p := pod(ns, fmt.Sprintf("p%d", i), level)
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = claim
		p.Spec.NodeName = fmt.Sprintf("node%d", i%500)
		p.CreationTimestamp = metav1.NewTime(time.Unix(int64(i), 0))
		objs = append(objs, p)
	}
	objs = append(objs, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.36.2"}}})
	began := time.Now()
	c, _, rec := start(t, Options{}, objs...)
	t.Logf("first sync done %v after start", time.Since(began))
	snap, _ := c.State().Snapshot()
	t.Logf("conflicting volumes %d, errors %d, events %d", snap.ConflictingVolumes, snap.Errors, len(rec.list()))
	fams, _ := c.NewRegistry("x").Gather()
	series := 0
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "selmount_") {
			series += len(f.GetMetric())
			if f.GetName() == "selmount_reconcile_duration_seconds" {
				h := f.GetMetric()[0].GetHistogram()
				t.Logf("syncs %d, total %.2fs", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	t.Logf("selmount_* series: %d", series)
	for range 3 {
		c.Resync()
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	fams, _ = c.NewRegistry("x").Gather()
	for _, f := range fams {
		if f.GetName() == "selmount_reconcile_duration_seconds" {
			h := f.GetMetric()[0].GetHistogram()
			t.Logf("syncs %d, total %.2fs", h.GetSampleCount(), h.GetSampleSum())
		}
	}
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	t.Logf("heap in use after GC (fake clientset's tracker included): %d MiB", ms.HeapInuse>>20)
}
