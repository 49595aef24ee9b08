// Package controller runs selmount's checks continuously inside a cluster:
// shared informers (slimmed with check.Slim) feed a rate-limited workqueue,
// and each sync brings the findings of `selmount check` for the whole
// cluster up to date, then emits Warning events, keeps the state the
// metrics are read from, and writes the status objects.
//
// The shape is sample-controller's: New takes clients and informers and
// builds none; event handlers only record which object changed and
// enqueue; Run(ctx, workers) waits for the caches and processes the queue.
// Every change enqueues one key, so a burst of changes costs one sync. A
// sync applies the recorded changes to a check.Base (a partial sync), or
// checks every cached object again (a full sync) first, after a change of
// a kind Base cannot apply, or after a failed sync; see docs/controller.md
// for the cost.
package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// eventsInterval is how long the events left over by a sync (beyond
// maxEventsPerSync) wait for the next sync.
const eventsInterval = time.Second

// clusterKey is the one work item: the whole cluster is recomputed, and a
// burst of changes coalesces into one sync.
const clusterKey = "cluster"

// AdmissionBatch is Options.Batch for a process that also answers
// admission requests from Index (selmount webhook): under constant change
// its users are then at most about this old, so that a pod admitted just
// before is seen; a second would miss a rollout's previous pods.
const AdmissionBatch = 100 * time.Millisecond

// Options configure a Controller. The zero value checks against
// check.DefaultTarget of the cluster's version, with SELinux enabled on the
// nodes and Fedora's defaults, and writes no status objects.
type Options struct {
	// Target is the version to check against; zero means
	// check.DefaultTarget of check.ClusterVersion.
	Target kubever.Version
	// SELinuxDisabled checks nodes that run without SELinux.
	SELinuxDisabled bool
	// Defaults are the nodes' default labels; zero means label.Profile("fedora").
	Defaults label.Defaults
	// Dynamic writes the status objects (see package status); nil writes
	// none.
	Dynamic dynamic.Interface
	// Recorder emits the events; nil builds none (no events).
	Recorder events.EventRecorder
	// Leading reports whether this replica may write events and status; nil
	// means always.
	Leading func() bool
	// Recheck is how often the status objects are verified (and recreated
	// when deleted) without any change; zero means 30 s.
	Recheck time.Duration
	// Delay is how long a change waits for others before a sync, so that a
	// burst costs one sync; zero means 10 ms. (It was 100 ms while every
	// sync was a full one; a partial sync costs the change, and a burst is
	// still coalesced by the wait as long as the last sync took.) Under
	// constant change, changes are applied at most once per Batch; a change
	// later than Batch after the last sync that applied changes, when no
	// sync runs, waits for nothing (see enqueue).
	Delay time.Duration
	// NamespaceLabel adds a namespace label to the per-finding metrics.
	NamespaceLabel bool
	// Batch is the shortest time between the starts of two syncs that
	// apply changes, under constant change; zero means one second (see
	// enqueue). A process that answers admission requests from Index
	// wants AdmissionBatch.
	Batch time.Duration
	// SerialSync computes a sync's events and its snapshot (metrics,
	// status) one after the other instead of side by side, so that a sync
	// keeps at most one CPU busy: for a process that also answers requests
	// which must not wait behind it (the admission webhook's). A sync then
	// takes longer, and the pacing of enqueue spaces the next one out
	// accordingly.
	SerialSync bool
}

func (o *Options) defaults() {
	if o.Defaults == (label.Defaults{}) {
		o.Defaults, _ = label.Profile("fedora")
	}
	if o.Recheck <= 0 {
		o.Recheck = 30 * time.Second
	}
	if o.Delay <= 0 {
		o.Delay = 10 * time.Millisecond
	}
	if o.Batch <= 0 {
		o.Batch = time.Second
	}
	if o.Leading == nil {
		o.Leading = func() bool { return true }
	}
}

// Controller watches the cluster and reports what check finds.
type Controller struct {
	client  kubernetes.Interface
	opts    Options
	queue   workqueue.TypedRateLimitingInterface[string]
	listers Listers
	stores  map[string]cache.Store // by kind: the informers' caches
	synced  []cache.InformerSynced

	serverVersion atomic.Value // string
	state         *State
	events        *eventSink
	status        statusWriter
	lastVerified  time.Time     // by the status loop only
	statusKick    chan struct{} // asks the status loop to write
	mu            sync.Mutex    // serialises syncs (one worker at a time does the cluster)
	hasSynced     atomic.Bool
	lastDuration  [2]atomic.Int64 // of the last partial and full sync, in nanoseconds
	lastEnd       atomic.Int64    // when the last sync ended, in Unix nanoseconds
	syncing       atomic.Bool     // a sync runs
	lastApplied   atomic.Int64    // when the last sync that applied changes started, in Unix nanoseconds
	index         atomic.Pointer[Index]

	// base is the analysis partial syncs update; nil until the first full
	// sync, and after a failed sync.
	base     *check.Base
	settings check.Input // base's settings, without objects
	pmu      sync.Mutex
	pending  map[pendingChange]bool // changed objects since the last sync
	full     bool                   // the next sync must be full

	// What the last sync reported and emitted, under mu: a sync whose
	// report says the same (most pod churn: pods that conflict with
	// nobody) writes no event and keeps the snapshot.
	last        *check.Report
	lastLeading bool // the last sync wrote events
	eventsLeft  int  // events the last sync left for the next
}

// pendingChange is a changed object: its kind, namespace and name.
type pendingChange struct{ kind, namespace, name string }

// Index is what the last sync saw: the users of every volume, and the
// versions and node settings it checked with. An admission webhook checks a
// new object against these users, exactly as the sync would.
type Index struct {
	// Users are the users of every shared volume. They follow the partial
	// syncs after this one (check.Base.Users), up to the next full sync,
	// whose Index has Users of its own.
	Users *check.Users
	// Input is the last sync's input without its objects: Target, Current,
	// ServerVersion, SELinuxEnabled, Defaults and Source.
	Input check.Input
	// Computed is when the sync started listing the caches.
	Computed time.Time
}

// Index returns what the last sync saw, or nil before the first sync. The
// Index is read-only and stays valid after later syncs.
func (c *Controller) Index() *Index { return c.index.Load() }

// New builds a controller on factory's informers, which it registers (with
// transforms that slim the cached objects); start the factory after New.
func New(ctx context.Context, client kubernetes.Interface, factory informers.SharedInformerFactory, opts Options) (*Controller, error) {
	if client == nil || factory == nil {
		return nil, errors.New("controller.New: a client and an informer factory are required")
	}
	opts.defaults()
	c := &Controller{
		client: client,
		opts:   opts,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "selmount"}),
		state:   newState(),
		pending: map[pendingChange]bool{},
	}
	c.events = newEventSink(opts.Recorder, nil)
	if opts.Dynamic != nil {
		c.status = &dynamicStatus{client: opts.Dynamic}
		c.statusKick = make(chan struct{}, 1)
	}
	for _, ki := range c.register(factory) {
		inf, kind := ki.inf, ki.kind
		handler := cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.record(kind, obj) },
			UpdateFunc: func(old, cur any) {
				if changed(old, cur) {
					c.record(kind, cur)
				}
			},
			DeleteFunc: func(obj any) { c.record(kind, obj) },
		}
		if err := inf.SetTransform(slim); err != nil {
			return nil, fmt.Errorf("setting the transform of an informer: %w", err)
		}
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return nil, fmt.Errorf("adding an event handler: %w", err)
		}
		// Synced once the handler has seen every object of the first
		// list: the first sync then takes them all as its changes, and
		// no late notification of the first list asks for a second full
		// sync.
		c.synced = append(c.synced, reg.HasSynced)
	}
	klog.FromContext(ctx).V(2).Info("Controller built", "informers", len(c.synced))
	return c, nil
}

// slim is the informers' transform: check.Slim on every object, and the
// last state of a deleted one; pods, claims and volumes are then packed
// (check.Packed), which the listers unpack.
func slim(obj any) (any, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		o, err := slim(d.Obj)
		d.Obj = o
		return d, err
	}
	check.Slim(obj)
	switch obj.(type) {
	case *corev1.Pod, *corev1.PersistentVolumeClaim, *corev1.PersistentVolume:
		if p, err := check.Pack(obj); err == nil {
			return p, nil
		}
		// Kept decoded (never seen: the API's objects encode): an error
		// would make the informer list everything again, for ever.
	}
	return obj, nil
}

// record notes that an object changed and enqueues a sync. The sync reads
// the object's current state from the cache.
func (c *Controller) record(kind string, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	c.pmu.Lock()
	if m, err := meta.Accessor(obj); err == nil && check.Incremental(kind) {
		c.pending[pendingChange{kind, m.GetNamespace(), m.GetName()}] = true
	} else {
		c.full = true
	}
	c.pmu.Unlock()
	c.enqueue()
}

// enqueue asks for a sync after Delay, no sooner than Batch after the
// start of the last sync that applied changes, and no sooner than as long
// after the end of the last sync as a sync of the kind coming (full or
// partial) took, so that the controller syncs at most about half its time.
// A change that none of these holds back is synced at once: a lone new
// conflict waits for nothing.
//
// Batch: each sync that applies changes assembles the report, the snapshot
// and the events of every finding, so syncing each change as it came (back
// to back) cost a quarter more CPU and, with a large heap, a third more
// memory at 50,000 pods (more of the heap was a sync's garbage whenever the
// collector ran). Syncs that apply no change (events left over, the status
// check) do not count.
func (c *Controller) enqueue() {
	c.pmu.Lock()
	full := c.full
	c.pmu.Unlock()
	last := c.lastDuration[0].Load()
	if full {
		last = c.lastDuration[1].Load()
	}
	rest := time.Until(time.Unix(0, c.lastEnd.Load()).Add(time.Duration(last)))
	next := time.Until(time.Unix(0, c.lastApplied.Load()).Add(c.opts.Batch))
	if !c.syncing.Load() && rest <= 0 && next <= 0 {
		c.queue.Add(clusterKey)
		return
	}
	c.queue.AddAfter(clusterKey, max(c.opts.Delay, rest, next))
}

// State returns the state the metrics and status are computed from.
func (c *Controller) State() *State { return c.state }

// HasSynced reports whether every informer has synced and the first sync
// is done.
func (c *Controller) HasSynced() bool {
	if !c.hasSynced.Load() {
		return false
	}
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// InformersSynced reports whether every informer has synced.
func (c *Controller) InformersSynced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// QueueLen returns the number of queued work items.
func (c *Controller) QueueLen() int { return c.queue.Len() }

// Resync asks for a sync now (for example when this replica becomes the
// leader).
func (c *Controller) Resync() { c.queue.Add(clusterKey) }

// Run waits for the caches, then processes the queue with workers workers
// until ctx is done. It returns an error when the caches never sync.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx)
	logger.Info("Starting selmount controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return errors.New("the informer caches did not sync")
	}
	if workers < 1 {
		workers = 1
	}
	c.queue.Add(clusterKey)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.runWorker, time.Second) })
	}
	wg.Go(func() { c.statusLoop(ctx) })
	// Without any change, the status objects are still verified now and
	// then (recreated when deleted).
	wg.Go(func() {
		wait.UntilWithContext(ctx, func(context.Context) { c.queue.Add(clusterKey) }, c.opts.Recheck)
	})
	logger.Info("Started workers", "workers", workers)
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	logger.Info("Stopped selmount controller")
	return nil
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(key)
	if err := c.safeSync(ctx, key); err != nil {
		utilruntime.HandleErrorWithContext(ctx, err, "Sync failed, requeuing", "key", key)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

// safeSync is sync with a panic turned into an error: an object the
// analysis cannot handle must not stop the controller (the sync is retried
// with backoff, and the panic logged with its stack).
func (c *Controller) safeSync(ctx context.Context, key string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sync panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.sync(ctx, key)
}

// sync brings the findings up to date and reports them: a partial sync
// applies the changed objects to the Base, a full sync checks every cached
// object again.
func (c *Controller) sync(ctx context.Context, key string) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.syncing.Store(true)
	defer c.syncing.Store(false)
	logger := klog.FromContext(ctx)
	start := time.Now()
	c.pmu.Lock()
	pending, full := c.pending, c.full || c.base == nil
	c.pending, c.full = map[pendingChange]bool{}, false
	c.pmu.Unlock()
	if full || len(pending) > 0 {
		c.lastApplied.Store(start.UnixNano())
	}
	updated := false
	defer func() {
		if !updated {
			// The changes taken are lost, and the Base may be half
			// updated (a panic): check everything next time.
			c.pmu.Lock()
			c.full = true
			c.pmu.Unlock()
			c.base = nil
		}
	}()
	var r check.Report
	early := 0 // events written before the report
	switch {
	case !full && len(pending) == 0 && c.last != nil:
		// Nothing changed since the last report (a sync for the events
		// it left): the same report, without assembling it again.
		r = *c.last
	case !full:
		var changes []check.Change
		for pc := range pending {
			obj, err := c.cached(pc.kind, pc.namespace, pc.name)
			if err != nil {
				return fmt.Errorf("reading %s %s/%s from the cache: %w", pc.kind, pc.namespace, pc.name, err)
			}
			changes = append(changes, check.Change{Kind: pc.kind, Namespace: pc.namespace, Name: pc.name, Object: obj})
		}
		var incomplete *check.IncompleteError
		fresh, err := c.base.Apply(changes)
		switch {
		case errors.As(err, &incomplete):
			logger.V(2).Info("A change needs a full sync", "kind", incomplete.Kind, "namespace", incomplete.Namespace, "name", incomplete.Name)
			full = true
		case err != nil:
			return err
		default:
			// A new conflict's events go out before the report is
			// assembled, which costs every finding of the cluster.
			if c.opts.Leading() {
				early = c.events.emitNew(fresh, c.objectRef)
			}
			r = c.base.Report()
		}
	}
	kind := "partial"
	if full {
		kind = "full"
		in, err := c.input(ctx)
		if err != nil {
			return err
		}
		c.base = nil // its memory, before the new one is built
		c.base, r = check.RunBaseWithStorage(in, cacheStorage{c})
		c.settings = in
		c.settings.Objects = check.Objects{}
	}
	updated = true
	c.index.Store(&Index{Users: c.base.Users(), Input: c.settings, Computed: start})
	defer func() { c.lastEnd.Store(time.Now().UnixNano()) }()
	// The snapshot (metrics, status) and the events are computed from the
	// report, side by side (one after the other with SerialSync), unless
	// the report says what the last one said.
	leading := c.opts.Leading()
	analysed := time.Since(start)
	// finished counts and logs the sync, with the log's extra keys and values.
	finished := func(kvs ...any) {
		c.state.observe(time.Since(start))
		c.state.syncs.WithLabelValues(kind).Inc()
		c.lastDuration[boolIndex(full)].Store(int64(time.Since(start)))
		logger.V(2).Info("Synced", append([]any{"key", key, "kind", kind, "changes", len(pending), "findings", len(r.Findings),
			"duration", time.Since(start), "analysis", analysed}, kvs...)...)
	}
	if c.last != nil && early == 0 && leading == c.lastLeading && sameAnswer(c.last, &r) {
		// The same snapshot: only its time moves, and only the events the
		// last sync left are written.
		c.state.touch(time.Now())
		c.hasSynced.Store(true)
		if !leading || c.eventsLeft == 0 {
			finished("unchanged", true)
		} else {
			t := time.Now()
			c.eventsLeft = c.events.emit(ctx, r.Findings, c.objectRef, 0)
			finished("unchanged", true, "events", time.Since(t))
			if c.eventsLeft > 0 {
				c.queue.AddAfter(clusterKey, eventsInterval)
			}
		}
		if leading {
			c.kickStatus()
		}
		return nil
	}
	var wg sync.WaitGroup
	var panicked any
	left := 0
	var emitted time.Duration
	emit := func() {
		defer func() { panicked = recover() }() // raised again below, after the snapshot
		if leading {
			t := time.Now()
			left = c.events.emit(ctx, r.Findings, c.objectRef, early)
			emitted = time.Since(t)
		}
	}
	if c.opts.SerialSync {
		emit()
	} else {
		wg.Go(emit)
	}
	t := time.Now()
	c.state.update(r, time.Now())
	summarized := time.Since(t)
	c.hasSynced.Store(true)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	// Remembered only now: a sync that panicked is done again in full.
	c.last, c.lastLeading, c.eventsLeft = &r, leading, left
	finished("snapshot", summarized, "events", emitted)
	if !leading {
		return nil
	}
	if left > 0 {
		c.queue.AddAfter(clusterKey, eventsInterval) // the next batch of events
	}
	c.kickStatus()
	return nil
}

// kickStatus asks the status loop to write the status objects from the
// latest snapshot. The sync does not wait: under constant change each
// sync's namespaces would otherwise be written (a server-side apply each,
// within the client's rate limit) before the next sync could start. Asks
// during a write coalesce into one more.
func (c *Controller) kickStatus() {
	if c.statusKick == nil {
		return
	}
	select {
	case c.statusKick <- struct{}{}:
	default:
	}
}

// statusLoop writes the status objects whenever a sync asks, until ctx is
// done.
func (c *Controller) statusLoop(ctx context.Context) {
	if c.statusKick == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.statusKick:
			c.writeStatus(ctx)
		}
	}
}

// writeStatus writes the status objects if the snapshot changed, and
// verifies them (recreating deleted ones) every Recheck.
func (c *Controller) writeStatus(ctx context.Context) {
	if !c.opts.Leading() {
		return // leadership lost since the sync asked
	}
	// A failed write is retried at the next sync (at least every Recheck),
	// without recomputing the findings now: the events and metrics do not
	// wait for the status objects (nor for their CRDs).
	verify := time.Since(c.lastVerified) >= c.opts.Recheck
	if err := c.status.write(ctx, c.state, verify); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot write the status objects; retrying at the next sync (are the CRDs of deploy/crds installed?)")
	} else if verify {
		c.lastVerified = time.Now()
	}
}

// sameAnswer reports whether report b says what a said: the same findings
// (subjects, their running pods and nodes included), input errors and
// versions. The snapshot and the events depend on nothing else. It costs a
// comparison of the findings, much less than the snapshot and the events.
func sameAnswer(a, b *check.Report) bool {
	return a.TargetVersion == b.TargetVersion && a.CurrentVersion == b.CurrentVersion &&
		slices.Equal(a.InputErrors, b.InputErrors) && maps.Equal(a.FeatureGatesWithoutEffect, b.FeatureGatesWithoutEffect) &&
		reflect.DeepEqual(a.Findings, b.Findings)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// input assembles check's input from the caches, in a stable order. Pods,
// claims and volumes come packed, as the caches keep them, in
// Objects.Packed (decoding them all would hold all their structs at once).
func (c *Controller) input(ctx context.Context) (check.Input, error) {
	var o check.Objects
	var err error
	all := labels.Everything()
	collect := func(e error) {
		err = cmp.Or(err, e)
	}
	c.addCached(&o, "Pod", "PersistentVolumeClaim", "PersistentVolume")
	deps, e := c.listers.Deployments.List(all)
	collect(e)
	o.Deployments = sorted(deps)
	sts, e := c.listers.StatefulSets.List(all)
	collect(e)
	o.StatefulSets = sorted(sts)
	dss, e := c.listers.DaemonSets.List(all)
	collect(e)
	o.DaemonSets = sorted(dss)
	rss, e := c.listers.ReplicaSets.List(all)
	collect(e)
	o.ReplicaSets = sorted(rss)
	jobs, e := c.listers.Jobs.List(all)
	collect(e)
	o.Jobs = sorted(jobs)
	cjs, e := c.listers.CronJobs.List(all)
	collect(e)
	o.CronJobs = sorted(cjs)
	rcs, e := c.listers.RCs.List(all)
	collect(e)
	o.ReplicationControllers = sorted(rcs)
	scs, e := c.listers.StorageClasses.List(all)
	collect(e)
	o.StorageClasses = sorted(scs)
	drivers, e := c.listers.CSIDrivers.List(all)
	collect(e)
	o.CSIDrivers = sorted(drivers)
	nss, e := c.listers.Namespaces.List(all)
	collect(e)
	o.Namespaces = sorted(nss)
	nodes, e := c.listers.Nodes.List(all)
	collect(e)
	o.Nodes = sorted(nodes)
	if err != nil {
		return check.Input{}, fmt.Errorf("listing from the caches: %w", err)
	}
	in := check.Input{Objects: o, SELinuxEnabled: !c.opts.SELinuxDisabled, Defaults: c.opts.Defaults,
		Source: check.SourceCluster, DaemonSetsListed: true, ServerVersion: c.version(ctx)}
	cur, known := check.ClusterVersion(in.ServerVersion, o.Nodes)
	if known {
		g, err := kubever.NewGates(cur, nil)
		if err != nil {
			return check.Input{}, err
		}
		in.Current = &g
	}
	target := c.opts.Target
	if target.IsZero() {
		target = check.DefaultTarget(cur)
	}
	if in.Target, err = kubever.NewGates(target, nil); err != nil {
		return check.Input{}, fmt.Errorf("target version %s: %w", target, err)
	}
	return in, nil
}

// version returns the API server's version, asked for once.
func (c *Controller) version(ctx context.Context) string {
	if v, _ := c.serverVersion.Load().(string); v != "" {
		return v
	}
	v, err := c.client.Discovery().ServerVersion()
	if err != nil {
		klog.FromContext(ctx).V(1).Info("Cannot read the API server version; the nodes' versions are used", "err", err)
		return ""
	}
	c.serverVersion.Store(v.GitVersion)
	return v.GitVersion
}

type named interface {
	GetNamespace() string
	GetName() string
}

// sorted orders objects by namespace and name; pods by creation time
// first, the order in which the kubelet admits them.
func sorted[T named](s []T) []T {
	slices.SortFunc(s, func(a, b T) int {
		if pa, ok := any(a).(*corev1.Pod); ok {
			pb := any(b).(*corev1.Pod)
			if c := pa.CreationTimestamp.Compare(pb.CreationTimestamp.Time); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	return s
}

// changed reports whether an update changed what the check reads: the
// cached objects are slimmed, so a pod's condition or a node's heartbeat
// leaves them equal but for the resource version, and costs no sync.
func changed(old, cur any) bool {
	if a, ok := old.(*check.Packed); ok {
		if b, ok := cur.(*check.Packed); ok {
			return !a.SameExceptVersion(b)
		}
	}
	return !reflect.DeepEqual(withoutVersion(old), withoutVersion(cur))
}

// withoutVersion returns a shallow copy of obj without its resource
// version (the cached object is not modified).
func withoutVersion(obj any) any {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return obj
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	m, err := meta.Accessor(cp.Interface())
	if err != nil {
		return obj
	}
	m.SetResourceVersion("")
	return cp.Interface()
}
