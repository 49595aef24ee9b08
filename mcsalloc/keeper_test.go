package mcsalloc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/selmount/selmount/admission/mutate"
)

func optedIn(ns *corev1.Namespace) bool { return ns.Labels[mutate.OptInLabel] == mutate.OptInValue }

func labelled(ns *corev1.Namespace) *corev1.Namespace {
	ns.Labels = map[string]string{mutate.OptInLabel: mutate.OptInValue}
	return ns
}

// startKeeper runs a Keeper on a fake clientset holding objs.
func startKeeper(t *testing.T, leading func() bool, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	notLeadingDelay = 50 * time.Millisecond
	c := fake.NewClientset(objs...)
	ctx, cancel := context.WithCancel(context.Background())
	f := informers.NewSharedInformerFactory(c, 0)
	k, err := NewKeeper(newAlloc(t, c), f.Core().V1().Namespaces(), KeeperOptions{OptedIn: optedIn, Leading: leading, Allocate: true})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; f.Shutdown() })
	return c
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeeperAllocatesOptedInNamespaces(t *testing.T) {
	c := startKeeper(t, nil,
		labelled(nsObj("in", nil)),
		nsObj("out", nil),
		labelled(nsObj("openshift", map[string]string{OpenShiftAnnotation: "s0:c9,c4"})),
		labelled(nsObj("bad", map[string]string{Annotation: "bogus"})))
	eventually(t, "a level on the opted-in namespace", func() bool { return stored(t, c, "in") != "" })
	time.Sleep(100 * time.Millisecond) // room for wrong writes to the others
	for _, ns := range []string{"out", "openshift"} {
		if got := stored(t, c, ns); got != "" {
			t.Errorf("namespace %s got %s=%q; want it left alone", ns, Annotation, got)
		}
	}
	if got := stored(t, c, "bad"); got != "bogus" {
		t.Errorf("an invalid level was replaced by %q", got)
	}

	// A namespace that opts in later gets one too, and another than "in".
	ns, err := c.CoreV1().Namespaces().Get(context.Background(), "out", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Update(context.Background(), labelled(ns), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a level once the namespace opts in", func() bool { return stored(t, c, "out") != "" })
	if stored(t, c, "out") == stored(t, c, "in") {
		t.Errorf("two namespaces got %s", stored(t, c, "in"))
	}
}

func TestKeeperWritesOnlyWhenLeading(t *testing.T) {
	var leading atomic.Bool
	c := startKeeper(t, leading.Load, labelled(nsObj("in", nil)))
	time.Sleep(300 * time.Millisecond)
	if got := stored(t, c, "in"); got != "" {
		t.Fatalf("a follower wrote %q", got)
	}
	leading.Store(true)
	eventually(t, "the new leader to allocate", func() bool { return stored(t, c, "in") != "" })
}

func TestKeeperRetiresDeletedNamespaces(t *testing.T) {
	c := startKeeper(t, nil, nsObj("old", map[string]string{Annotation: "s0:c0,c1"}), retainPV("pv", "old"))
	time.Sleep(50 * time.Millisecond) // the informer has listed "old"
	if err := c.CoreV1().Namespaces().Delete(context.Background(), "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retired level in the ledger", func() bool { return ledgerDataOK(c)["retired.0.1"] == "old" })
}

// ledgerDataOK is ledgerData that returns nil while the ledger does not
// exist yet.
func ledgerDataOK(c *fake.Clientset) map[string]string {
	cm, err := c.CoreV1().ConfigMaps(ctrlNS).Get(context.Background(), DefaultLedgerName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return cm.Data
}
