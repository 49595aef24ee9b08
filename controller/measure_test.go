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
	"k8s.io/klog/v2/ktesting"
)

// TestMeasureSync measures a sync on a fake clientset of
// SELMOUNT_MEASURE_PODS pods laid out as the upstream benchmark's cluster
// (100 namespaces, each pod with its own claim and CSI volume except every
// tenth, which shares its neighbour's claim with another level): the first
// (full) sync, then, one at a time, new pods that each conflict with a
// volume's user, from the pod's creation to its conflict in the metrics
// and to its event (partial syncs). It only logs; run it with -v. Skipped
// without the variable.
func TestMeasureSync(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SELMOUNT_MEASURE_PODS"))
	if n == 0 {
		t.Skip("SELMOUNT_MEASURE_PODS is not set")
	}
	defer func(d time.Duration) { waitTimeout = d }(waitTimeout)
	waitTimeout = 5 * time.Minute
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
	// The controller's default delay, unless SELMOUNT_MEASURE_DELAY says
	// otherwise (a time.Duration).
	delay, _ := time.ParseDuration(os.Getenv("SELMOUNT_MEASURE_DELAY"))
	opts := Options{Delay: delay}
	opts.defaults()
	t.Logf("delay %v", opts.Delay)
	c, client, rec := start(t, Options{Delay: opts.Delay}, objs...)
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
	// The events of the first sync are written 200 per sync, a sync a
	// second: a new conflict's event goes before those left.
	t.Logf("events written so far: %d", len(rec.list()))
	_, ctx := ktesting.NewTestContext(t)
	for k := range 5 {
		// A pod with a new level on the claim of pod i, alone until now.
		i := 100*k + 2
		ns, name := fmt.Sprintf("ns%d", i%100), fmt.Sprintf("new%d", k)
		before, _ := c.State().Snapshot()
		p := pod(ns, name, "s0:c5,c6")
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = fmt.Sprintf("c%d", i)
		p.Spec.NodeName = fmt.Sprintf("node%d", i%500)
		p.CreationTimestamp = metav1.NewTime(time.Unix(int64(n+k), 0))
		created := time.Now()
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the new conflict", func() bool {
			snap, _ := c.State().Snapshot()
			return snap.ConflictingVolumes == before.ConflictingVolumes+1
		})
		metric := time.Since(created)
		waitFor(t, "the new conflict's event", func() bool {
			for _, e := range rec.list() {
				if e.ref.Name == name && e.reason == ReasonConflict {
					return true
				}
			}
			return false
		})
		t.Logf("new conflict %d: in the metrics %v, event %v after the pod's creation", k, metric.Round(time.Microsecond), time.Since(created).Round(time.Microsecond))
		time.Sleep(200 * time.Millisecond)
	}
	fams, _ = c.NewRegistry("x").Gather()
	for _, f := range fams {
		switch f.GetName() {
		case "selmount_reconcile_duration_seconds":
			h := f.GetMetric()[0].GetHistogram()
			t.Logf("syncs %d, total %.2fs", h.GetSampleCount(), h.GetSampleSum())
		case "selmount_syncs_total":
			for _, m := range f.GetMetric() {
				t.Logf("selmount_syncs_total{kind=%q} %v", m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
			}
		}
	}
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	t.Logf("heap in use after GC (fake clientset's tracker included): %d MiB", ms.HeapInuse>>20)
}
