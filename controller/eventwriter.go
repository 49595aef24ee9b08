package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	eventsclient "k8s.io/client-go/kubernetes/typed/events/v1"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
)

// Writing events: how many at once, how often one is tried, and the pause
// between tries (jittered by a quarter). A write that fails because the
// API server cannot be reached is tried again, as client-go's sink does; an
// event the server rejects is not.
var (
	eventWriters    = 4
	eventTries      = 6
	eventRetryPause = 5 * time.Second
)

// WriteEvents writes the events that the recorders of broadcaster emit
// through client, each with one Create, until ctx ends or stop is called;
// stop waits for the writes under way. It takes the place of the
// broadcaster's StartRecordingToSinkWithContext, whose cache of every event
// written (kept for minutes to merge repeats into series) held about 1.2 KB
// per event: 12 MB after the events of 10,000 conflicting pods. The
// controller's events need no merging: it writes an event once until its
// text changes (eventSink), at a bounded rate.
func WriteEvents(ctx context.Context, broadcaster events.EventBroadcaster, client eventsclient.EventsGetter) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	slots := make(chan struct{}, eventWriters)
	var wg sync.WaitGroup
	stopWatch, err := broadcaster.StartEventWatcher(func(obj runtime.Object) {
		ev, ok := obj.(*eventsv1.Event)
		if !ok {
			return
		}
		ev = ev.DeepCopy() // the broadcaster's object is shared with its other watchers
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			writeEvent(ctx, client, ev)
		}()
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return func() {
		stopWatch()
		cancel()
		wg.Wait()
	}, nil
}

// writeEvent creates ev, trying again while the API server cannot be
// reached (at most eventTries times, while ctx lasts).
func writeEvent(ctx context.Context, client eventsclient.EventsGetter, ev *eventsv1.Event) {
	log := klog.FromContext(ctx)
	for try := 1; ; try++ {
		ev.ResourceVersion = ""
		_, err := client.Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if !retryable(err) {
			// Rejected (a terminating namespace, a quota, an invalid
			// event): the same request would be rejected again.
			log.Error(err, "The API server rejected an event", "namespace", ev.Namespace, "regarding", ev.Regarding.Name, "reason", ev.Reason)
			return
		}
		if try == eventTries || ctx.Err() != nil {
			log.Error(err, "Could not write an event; giving up", "namespace", ev.Namespace, "regarding", ev.Regarding.Name, "reason", ev.Reason, "tries", try)
			return
		}
		log.V(2).Info("Could not write an event; trying again", "err", err, "namespace", ev.Namespace, "regarding", ev.Regarding.Name)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait.Jitter(eventRetryPause, 0.25)):
		}
	}
}

// retryable reports whether a failed Create may succeed if sent again: the
// API server could not be reached, or answered that it was busy, unavailable
// or out of time. client-go's own sink tries again only when no answer came;
// a busy server's 429 or 503 is worth the wait here too, as the events are
// few.
func retryable(err error) bool {
	var construction *restclient.RequestConstructionError
	if errors.As(err, &construction) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return true // no answer: transport errors
	}
	return apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsInternalError(err)
}
