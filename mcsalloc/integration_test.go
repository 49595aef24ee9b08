package mcsalloc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/internal/testcluster"
	"github.com/selmount/selmount/label"
)

// TestIntegrationTwoAllocators: against a real kube-apiserver, two
// allocators (two controller replicas, or an old and a new leader) allocate
// 1,000 namespaces at once, each from 4 goroutines, in opposite orders. The
// apiserver's resourceVersion checks decide every race; no level is handed
// out twice and both allocators agree with what is stored. A restarted
// allocator then returns the same levels and writes nothing.
func TestIntegrationTwoAllocators(t *testing.T) {
	const n, workers = 1000, 4
	cl := testcluster.Start(t, testcluster.Options{})
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = 2000, 2000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()

	names := make([]string, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				names[i] = fmt.Sprintf("mcs-%04d", i)
				if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}}, metav1.CreateOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ctrlNS}}, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	allocs := make([]*Allocator, 2)
	results := make([][]label.Level, 2)
	for k := range allocs {
		a, err := New(client, Options{Namespace: ctrlNS, BlockSize: 16})
		if err != nil {
			t.Fatal(err)
		}
		allocs[k], results[k] = a, make([]label.Level, n)
	}
	for k, a := range allocs {
		for w := range workers {
			wg.Go(func() {
				for j := w; j < n; j += workers {
					i := j
					if k == 1 {
						i = n - 1 - j
					}
					l, err := a.Ensure(ctx, names[i])
					if err != nil {
						t.Error(err)
						return
					}
					results[k][i] = l
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	storedLevel := map[string]string{}
	rv := map[string]string{}
	for _, ns := range list.Items {
		storedLevel[ns.Name] = ns.Annotations[Annotation]
		rv[ns.Name] = ns.ResourceVersion
	}
	seen := map[string]string{}
	for i, name := range names {
		s := storedLevel[name]
		for k := range allocs {
			if results[k][i].String() != s {
				t.Errorf("%s: allocator %d returned %v, stored %q", name, k, results[k][i], s)
			}
		}
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s both have %q", name, other, s)
		}
		seen[s] = name
	}

	restarted, err := New(client, Options{Namespace: ctrlNS})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		l, err := restarted.Ensure(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if l != results[0][i] {
			t.Errorf("%s: %v after restart, was %v", name, l, results[0][i])
		}
	}
	after, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range after.Items {
		if rv[ns.Name] != ns.ResourceVersion {
			t.Errorf("namespace %s was written by the restarted allocator", ns.Name)
		}
	}
}
