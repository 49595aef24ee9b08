package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/selmount/selmount/internal/gencluster"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// TestMeasureMemory reports the heap kept by the slimmed objects of N pods
// (each with its claim and volume, decoded one by one as an informer
// decodes them, every string its own allocation, with the UID, resource
// version and creation time the API server adds; pods, claims and volumes
// packed, as the controller's caches keep them) and by a Base over them,
// then by a Base that reads the claims and volumes from maps of them
// (RunBaseWithStorage), as the controller's reads its caches: what the
// controller holds between syncs, without the informers' indexes.
// A measurement, not a test; docs/controller.md quotes it:
//
//	SELMOUNT_MEASURE_MEMORY=50000 go test -run TestMeasureMemory -v ./check/
//
// SELMOUNT_MEASURE_MEMORY_PROFILE=FILE also writes a heap profile of what is
// kept (go tool pprof -sample_index=inuse_space).
func TestMeasureMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SELMOUNT_MEASURE_MEMORY"))
	if n <= 0 {
		t.Skip("set SELMOUNT_MEASURE_MEMORY to a number of pods")
	}
	if os.Getenv("SELMOUNT_MEASURE_MEMORY_PROFILE") != "" {
		// Every allocation of 256 bytes on average, not of 512 KiB: the
		// Base's small structs are counted, not estimated from a few
		// samples each.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 256
	}
	var buf bytes.Buffer
	gencluster.WriteJSON(&buf, n)
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	buf = bytes.Buffer{}
	// The raw documents are live now and freed below: they do not count.
	raw := uint64(cap(list.Items)) * 24
	for _, r := range list.Items {
		raw += uint64(cap(r))
	}
	before := liveHeap() - raw
	kinds := map[string]func() metav1.Object{
		"Pod":                   func() metav1.Object { return &corev1.Pod{} },
		"PersistentVolumeClaim": func() metav1.Object { return &corev1.PersistentVolumeClaim{} },
		"PersistentVolume":      func() metav1.Object { return &corev1.PersistentVolume{} },
		"CSIDriver":             func() metav1.Object { return &storagev1.CSIDriver{} },
	}
	var o Objects
	for i, raw := range list.Items {
		var tm struct{ Kind string }
		if err := json.Unmarshal(raw, &tm); err != nil {
			t.Fatal(err)
		}
		newObj, ok := kinds[tm.Kind]
		if !ok {
			t.Fatalf("unexpected kind %q", tm.Kind)
		}
		obj := newObj()
		if err := json.Unmarshal(raw, obj); err != nil {
			t.Fatal(err)
		}
		// What the API server adds and Slim keeps.
		obj.SetUID(types.UID(fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)))
		obj.SetResourceVersion(strconv.Itoa(100000 + i))
		obj.SetCreationTimestamp(metav1.Now())
		Slim(obj)
		if tm.Kind == "CSIDriver" {
			o.Add(obj)
			continue
		}
		p, err := Pack(obj)
		if err != nil {
			t.Fatal(err)
		}
		o.Add(p) // as the controller's caches keep them
	}
	list.Items = nil
	objects := liveHeap() - before
	target, err := kubever.NewGates(kubever.V(37), nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults, _ := label.Profile("fedora")
	o.Sort()
	b, r := RunBase(Input{Objects: o, SELinuxEnabled: true, Defaults: defaults, Source: SourceCluster, Target: target})
	base := liveHeap() - before - objects
	perPod := func(bytes uint64) float64 { return float64(bytes) / float64(n) }
	t.Logf("%d pods: slimmed objects %.1f MiB (%.0f B per pod), Base %.1f MiB (%.0f B per pod); %d findings",
		n, float64(objects)/(1<<20), perPod(objects), float64(base)/(1<<20), perPod(base), len(r.Findings))
	if f := os.Getenv("SELMOUNT_MEASURE_MEMORY_PROFILE"); f != "" {
		w, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		if err := pprof.WriteHeapProfile(w); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	runtime.KeepAlive(b)

	// As the controller keeps it: its claims and volumes read from the
	// informers' caches (here, maps of the same packed objects, not
	// counted, as the caches' indexes are not).
	b, r = nil, Report{}
	st := mapStorage{}
	for _, p := range o.Packed {
		if p.Kind() != "Pod" {
			st[p.Namespace()+"/"+p.Name()] = p
		}
	}
	before = liveHeap()
	b, _ = RunBaseWithStorage(Input{Objects: o, SELinuxEnabled: true, Defaults: defaults, Source: SourceCluster, Target: target}, st)
	t.Logf("%d pods: Base over the caches (as the controller keeps it) %.0f B per pod", n, perPod(liveHeap()-before))
	runtime.KeepAlive(b)
	runtime.KeepAlive(o)
	runtime.KeepAlive(st)

}

// mapStorage is a Storage of packed claims (by namespace/name) and volumes
// (by /name).
type mapStorage map[string]*Packed

func (m mapStorage) Claim(namespace, name string) any { return nonNil(m[namespace+"/"+name]) }
func (m mapStorage) Volume(name string) any           { return nonNil(m["/"+name]) }

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
