package mcsalloc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// KeeperOptions configure a Keeper.
type KeeperOptions struct {
	// OptedIn reports whether a namespace wants a level (for selmount's
	// pod defaults, the label selmount.io/selinux-defaults=enabled).
	// Required.
	OptedIn func(*corev1.Namespace) bool
	// Leading reports whether this replica may write; nil means always.
	// Work that arrives while not leading waits and is retried.
	Leading func() bool
	// Allocate gives opted-in namespaces without a level one as soon as
	// they are seen; false only retires the levels of deleted namespaces.
	Allocate bool
}

// Keeper runs an Allocator from the namespace informer: every opted-in
// namespace without a level gets one when it appears or opts in (so pods
// find it in the cache, with no API call at admission), and a deleted
// namespace's level is retired (see Retire). Only the leader writes; a
// replica that becomes leader catches up, because the work of a follower
// is retried until a leader does it.
type Keeper struct {
	a       *Allocator
	opts    KeeperOptions
	lister  corelisters.NamespaceLister
	queue   workqueue.TypedRateLimitingInterface[string]
	mu      sync.Mutex
	deleted map[string]*corev1.Namespace // the last state of deleted namespaces to retire
}

// notLeadingDelay is how long a follower waits before looking at an item
// again (a variable for tests).
var notLeadingDelay = 5 * time.Second

// NewKeeper registers a Keeper's handlers on the namespace informer; start
// the informer and call Run.
func NewKeeper(a *Allocator, namespaces coreinformers.NamespaceInformer, opts KeeperOptions) (*Keeper, error) {
	if a == nil || namespaces == nil || opts.OptedIn == nil {
		return nil, errors.New("mcsalloc.NewKeeper: an allocator, a namespace informer and OptedIn are required")
	}
	if opts.Leading == nil {
		opts.Leading = func() bool { return true }
	}
	k := &Keeper{a: a, opts: opts, lister: namespaces.Lister(), deleted: map[string]*corev1.Namespace{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "selmount-levels"})}
	_, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.maybeAllocate(obj) },
		UpdateFunc: func(_, cur any) { k.maybeAllocate(cur) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if ns, ok := obj.(*corev1.Namespace); ok && len(levelsOf(ns)) > 0 {
				k.mu.Lock()
				k.deleted[ns.Name] = ns
				k.mu.Unlock()
				k.queue.Add(ns.Name)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mcsalloc: adding the namespace handler: %w", err)
	}
	return k, nil
}

// needsLevel reports whether ns is opted in and has no level annotation
// (an invalid one is never replaced).
func (k *Keeper) needsLevel(ns *corev1.Namespace) bool {
	if !k.opts.Allocate || ns.DeletionTimestamp != nil || !k.opts.OptedIn(ns) {
		return false
	}
	for _, key := range LevelAnnotations {
		if _, has := ns.Annotations[key]; has {
			return false
		}
	}
	return true
}

func (k *Keeper) maybeAllocate(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok && k.needsLevel(ns) {
		k.queue.Add(ns.Name)
	}
}

// Run processes the work until ctx is done.
func (k *Keeper) Run(ctx context.Context) {
	defer k.queue.ShutDown()
	go func() {
		<-ctx.Done()
		k.queue.ShutDown()
	}()
	for k.next(ctx) {
	}
}

func (k *Keeper) next(ctx context.Context) bool {
	name, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(name)
	if !k.opts.Leading() {
		k.queue.AddAfter(name, notLeadingDelay)
		return true
	}
	if err := k.sync(ctx, name); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot keep the namespace's SELinux level; retrying", "namespace", name)
		k.queue.AddRateLimited(name)
		return true
	}
	k.queue.Forget(name)
	return true
}

// sync retires the level of a deleted namespace, or allocates one for an
// opted-in namespace without a level, as the cache now shows it.
func (k *Keeper) sync(ctx context.Context, name string) error {
	ns, err := k.lister.Get(name)
	switch {
	case apierrors.IsNotFound(err):
		k.mu.Lock()
		gone := k.deleted[name]
		k.mu.Unlock()
		if gone == nil {
			return nil
		}
		if err := k.a.Retire(ctx, gone); err != nil {
			return err
		}
		k.mu.Lock()
		if k.deleted[name] == gone {
			delete(k.deleted, name)
		}
		k.mu.Unlock()
		return nil
	case err != nil:
		return err
	}
	// Re-created under the same name: nothing to retire any more.
	k.mu.Lock()
	delete(k.deleted, name)
	k.mu.Unlock()
	if !k.needsLevel(ns) {
		return nil
	}
	l, err := k.a.Ensure(ctx, name)
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	klog.FromContext(ctx).V(2).Info("Allocated the namespace's SELinux level", "namespace", name, "level", l.String())
	return nil
}
