package mcsalloc

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/internal/testcluster"
)

// TestIntegrationTenThousandNamespaces: against a real kube-apiserver,
// 10,000 namespaces get a level from one allocator (8 goroutines, as
// concurrent admission requests would call it); a restarted allocator then
// returns every level unchanged, writes nothing, and hands the next new
// namespace a level nobody has.
func TestIntegrationTenThousandNamespaces(t *testing.T) {
	const n, workers = 10000, 8
	cl := testcluster.Start(t, testcluster.Options{})
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 5000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	start := time.Now()

	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("scale-%05d", i)
	}
	parallel := func(f func(i int) error) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					if err := f(i); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ctrlNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	parallel(func(i int) error {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}}, metav1.CreateOptions{})
		return err
	})
	created := time.Since(start)

	a, err := New(client, Options{Namespace: ctrlNS})
	if err != nil {
		t.Fatal(err)
	}
	levels := make([]string, n)
	parallel(func(i int) error {
		l, err := a.Ensure(ctx, names[i])
		levels[i] = l.String()
		return err
	})
	allocated := time.Since(start) - created

	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rv, seen := map[string]string{}, map[string]string{}
	for _, ns := range list.Items {
		rv[ns.Name] = ns.ResourceVersion
		if l := ns.Annotations[Annotation]; l != "" {
			if other, dup := seen[l]; dup {
				t.Errorf("%s and %s both have %q", ns.Name, other, l)
			}
			seen[l] = ns.Name
		}
	}
	if len(seen) != n {
		t.Fatalf("%d namespaces stored with a level, want %d", len(seen), n)
	}

	restarted, err := New(client, Options{Namespace: ctrlNS})
	if err != nil {
		t.Fatal(err)
	}
	parallel(func(i int) error {
		l, err := restarted.Ensure(ctx, names[i])
		if err == nil && l.String() != levels[i] {
			err = fmt.Errorf("%s: %v after the restart, was %s", names[i], l, levels[i])
		}
		return err
	})
	after, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range after.Items {
		if rv[ns.Name] != ns.ResourceVersion {
			t.Errorf("namespace %s was written after the restart", ns.Name)
		}
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scale-new"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := restarted.Ensure(ctx, "scale-new")
	if err != nil {
		t.Fatal(err)
	}
	if other, dup := seen[l.String()]; dup {
		t.Errorf("the restarted allocator handed out %s again (held by %s)", l, other)
	}
	t.Logf("10,000 namespaces: created in %v, allocated in %v, restart verified in %v", created.Round(time.Millisecond), allocated.Round(time.Millisecond), (time.Since(start) - created - allocated).Round(time.Millisecond))
}
