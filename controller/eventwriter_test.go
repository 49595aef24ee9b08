package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
)

// writeEventsWith starts WriteEvents on a fake clientset whose event
// creates answer with fail(n) (n counts the creates from 1; nil lets the
// create through) and returns the recorder, the clientset, the count of
// creates tried and the stop function.
func writeEventsWith(t *testing.T, fail func(n int64) error) (events.EventRecorder, *fake.Clientset, *atomic.Int64, func()) {
	t.Helper()
	pause := eventRetryPause
	t.Cleanup(func() { eventRetryPause = pause }) // after stop: the writers read it
	eventRetryPause = time.Millisecond
	cs := fake.NewClientset()
	var tries atomic.Int64
	cs.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		if err := fail(tries.Add(1)); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	t.Cleanup(b.Shutdown)
	stop, err := WriteEvents(context.Background(), b, cs.EventsV1())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return b.NewRecorder(scheme.Scheme, "selmount-controller"), cs, &tries, stop
}

func listEvents(t *testing.T, cs *fake.Clientset, ns string) []eventsv1.Event {
	t.Helper()
	l, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func regarding(ns, name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: name, UID: "u"}
}

func TestWriteEventsWritesEachEventOnce(t *testing.T) {
	r, cs, tries, _ := writeEventsWith(t, func(int64) error { return nil })
	for range 3 { // the same event thrice: written thrice, not merged into a series
		r.Eventf(regarding("a", "p"), nil, corev1.EventTypeWarning, ReasonConflict, "Check", "%s", "the note")
	}
	r.Eventf(regarding("b", "q"), nil, corev1.EventTypeWarning, ReasonSlowPath, "Check", "%s", "another")
	waitFor(t, "four events", func() bool { return len(listEvents(t, cs, "a")) == 3 && len(listEvents(t, cs, "b")) == 1 })
	for _, e := range append(listEvents(t, cs, "a"), listEvents(t, cs, "b")...) {
		if e.Type != corev1.EventTypeWarning || e.ReportingController != "selmount-controller" || e.Regarding.Namespace != e.Namespace || e.Series != nil {
			t.Errorf("event %s/%s: type %q, controller %q, regarding %s/%s, series %v", e.Namespace, e.Name, e.Type, e.ReportingController, e.Regarding.Namespace, e.Regarding.Name, e.Series)
		}
	}
	if n := tries.Load(); n != 4 {
		t.Errorf("%d creates, want 4", n)
	}
}

func TestWriteEventsRetriesWhileTheServerIsUnreachable(t *testing.T) {
	r, cs, tries, _ := writeEventsWith(t, func(n int64) error {
		switch n {
		case 1:
			return errors.New("connection refused")
		case 2:
			return apierrors.NewServiceUnavailable("starting")
		}
		return nil
	})
	r.Eventf(regarding("a", "p"), nil, corev1.EventTypeWarning, ReasonConflict, "Check", "%s", "the note")
	waitFor(t, "the event", func() bool { return len(listEvents(t, cs, "a")) == 1 })
	if n := tries.Load(); n != 3 {
		t.Errorf("%d creates, want 3 (two failures, then the write)", n)
	}
}

func TestWriteEventsGivesUp(t *testing.T) {
	gr := schema.GroupResource{Group: "events.k8s.io", Resource: "events"}
	for name, tc := range map[string]struct {
		err  error
		want int64
	}{
		"rejected":           {apierrors.NewForbidden(gr, "", errors.New("namespace a is terminating")), 1},
		"invalid":            {apierrors.NewBadRequest("note too long"), 1},
		"always unreachable": {errors.New("connection refused"), int64(eventTries)},
	} {
		t.Run(name, func(t *testing.T) {
			r, cs, tries, stop := writeEventsWith(t, func(int64) error { return tc.err })
			r.Eventf(regarding("a", "p"), nil, corev1.EventTypeWarning, ReasonConflict, "Check", "%s", "the note")
			waitFor(t, "the tries", func() bool { return tries.Load() >= tc.want })
			stop() // waits for the write under way: no more tries after it
			if n := tries.Load(); n != tc.want {
				t.Errorf("%d creates, want %d", n, tc.want)
			}
			if l := listEvents(t, cs, "a"); len(l) != 0 {
				t.Errorf("%d events written", len(l))
			}
		})
	}
}

func TestWriteEventsStopsWithTheContext(t *testing.T) {
	pause := eventRetryPause
	defer func() { eventRetryPause = pause }()
	eventRetryPause = time.Hour // a retry would wait for the context
	cs := fake.NewClientset()
	cs.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	defer b.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	stop, err := WriteEvents(ctx, b, cs.EventsV1())
	if err != nil {
		t.Fatal(err)
	}
	b.NewRecorder(scheme.Scheme, "x").Eventf(regarding("a", "p"), nil, corev1.EventTypeWarning, ReasonConflict, "Check", "%s", "n")
	time.Sleep(50 * time.Millisecond)
	cancel()
	done := make(chan struct{})
	go func() { stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the context ended")
	}
}
