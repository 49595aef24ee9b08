package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/selmount/selmount/check"
)

// kindInformer is an informer and the kind of its objects.
type kindInformer struct {
	kind string
	inf  cache.SharedIndexInformer
}

// register asks factory for every informer the check reads and returns
// them with their kinds.
func (c *Controller) register(f informers.SharedInformerFactory) []kindInformer {
	core, storage, apps, batch := f.Core().V1(), f.Storage().V1(), f.Apps().V1(), f.Batch().V1()
	// Pods, claims and volumes are most of the objects. Their informers
	// keep no namespace index (a set entry per object: 7 MB at 50,000
	// pods, and one set of every volume under "" for the cluster-scoped
	// volumes); inNamespace lists without it. Registered first, so that
	// the factory hands these to everyone sharing it.
	f.InformerFor(&corev1.Pod{}, func(cl kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewPodInformer(cl, metav1.NamespaceAll, resync, cache.Indexers{})
	})
	f.InformerFor(&corev1.PersistentVolumeClaim{}, func(cl kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewPersistentVolumeClaimInformer(cl, metav1.NamespaceAll, resync, cache.Indexers{})
	})
	f.InformerFor(&corev1.PersistentVolume{}, func(cl kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewPersistentVolumeInformer(cl, resync, cache.Indexers{})
	})
	pods, pvcs, pvs := core.Pods(), core.PersistentVolumeClaims(), core.PersistentVolumes()
	nss, nodes, rcs := core.Namespaces(), core.Nodes(), core.ReplicationControllers()
	drivers, classes := storage.CSIDrivers(), storage.StorageClasses()
	deps, sts, dss, rss := apps.Deployments(), apps.StatefulSets(), apps.DaemonSets(), apps.ReplicaSets()
	jobs, cjs := batch.Jobs(), batch.CronJobs()
	c.listers = Listers{
		Pods: podLister{unpacking[*corev1.Pod]{pods.Informer().GetIndexer(), "pods"}},
		PVCs: claimLister{unpacking[*corev1.PersistentVolumeClaim]{pvcs.Informer().GetIndexer(), "persistentvolumeclaims"}},
		PVs:  unpacking[*corev1.PersistentVolume]{pvs.Informer().GetIndexer(), "persistentvolumes"}, Namespaces: nss.Lister(), Nodes: nodes.Lister(),
		CSIDrivers: drivers.Lister(), StorageClasses: classes.Lister(),
		Deployments: deps.Lister(), StatefulSets: sts.Lister(), DaemonSets: dss.Lister(), ReplicaSets: rss.Lister(),
		Jobs: jobs.Lister(), CronJobs: cjs.Lister(), RCs: rcs.Lister(),
	}
	kinds := []kindInformer{{"Pod", pods.Informer()}, {"PersistentVolumeClaim", pvcs.Informer()},
		{"PersistentVolume", pvs.Informer()}, {"Namespace", nss.Informer()}, {"Node", nodes.Informer()},
		{"CSIDriver", drivers.Informer()}, {"StorageClass", classes.Informer()}, {"Deployment", deps.Informer()},
		{"StatefulSet", sts.Informer()}, {"DaemonSet", dss.Informer()}, {"ReplicaSet", rss.Informer()},
		{"Job", jobs.Informer()}, {"CronJob", cjs.Informer()}, {"ReplicationController", rcs.Informer()}}
	c.stores = map[string]cache.Store{}
	for _, k := range kinds {
		c.stores[k.kind] = k.inf.GetStore()
	}
	return kinds
}

// cached returns the object kind namespace/name from its informer's
// cache, nil when it is not there (deleted) or no informer holds the kind.
func (c *Controller) cached(kind, namespace, name string) (any, error) {
	store := c.stores[kind]
	if store == nil {
		return nil, nil
	}
	obj, ok, err := store.GetByKey(cache.NewObjectName(namespace, name).String())
	if err != nil || !ok {
		return nil, err
	}
	return obj, nil
}

// cacheStorage is the Base's check.Storage: the claims and volumes in the
// informers' caches, of which the Base then keeps no copy (a map entry per
// claim and volume: about 100 bytes per pod).
type cacheStorage struct{ c *Controller }

func (s cacheStorage) Claim(namespace, name string) any {
	obj, _ := s.c.cached("PersistentVolumeClaim", namespace, name) // a store's lookup does not fail
	return obj
}

func (s cacheStorage) Volume(name string) any {
	obj, _ := s.c.cached("PersistentVolume", "", name)
	return obj
}

// The informers' transform packs pods, claims and volumes (check.Packed):
// client-go's listers would assert the cached objects to be *corev1.Pod and
// so on. These list them unpacked; each call decodes the objects it
// returns, new objects the caller owns.

// unpacking lists the unpacked objects of an indexer whose objects are T,
// packed or not.
type unpacking[T metav1.Object] struct {
	indexer  cache.Indexer
	resource string // for NotFound errors: "pods", ...
}

func (l unpacking[T]) list(objs []any, selector labels.Selector) ([]T, error) {
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		o, err := check.Unpacked[T](obj)
		if err != nil {
			return nil, err
		}
		if selector.Matches(labels.Set(o.GetLabels())) {
			out = append(out, o)
		}
	}
	return out, nil
}

// List returns the objects whose labels selector matches.
func (l unpacking[T]) List(selector labels.Selector) ([]T, error) {
	return l.list(l.indexer.List(), selector)
}

// Get returns the object of a cluster-scoped kind.
func (l unpacking[T]) Get(name string) (T, error) {
	return l.get("", name)
}

func (l unpacking[T]) get(namespace, name string) (T, error) {
	obj, ok, err := l.indexer.GetByKey(cache.NewObjectName(namespace, name).String())
	if err != nil || !ok {
		var zero T
		if err == nil {
			err = apierrors.NewNotFound(corev1.Resource(l.resource), name)
		}
		return zero, err
	}
	return check.Unpacked[T](obj)
}

// inNamespace lists one namespace's objects.
type inNamespace[T metav1.Object] struct {
	unpacking[T]
	namespace string
}

// List returns the namespace's objects whose labels selector matches: from
// the namespace index when the informer has one, else by a walk of every
// object (the controller's own informers of pods and claims have none;
// nothing it runs lists a namespace).
func (l inNamespace[T]) List(selector labels.Selector) ([]T, error) {
	if _, ok := l.indexer.GetIndexers()[cache.NamespaceIndex]; ok {
		objs, err := l.indexer.ByIndex(cache.NamespaceIndex, l.namespace)
		if err != nil {
			return nil, err
		}
		return l.list(objs, selector)
	}
	var objs []any
	for _, obj := range l.indexer.List() {
		if m, err := meta.Accessor(obj); err == nil && m.GetNamespace() == l.namespace {
			objs = append(objs, obj)
		}
	}
	return l.list(objs, selector)
}

// Get returns the namespace's object name.
func (l inNamespace[T]) Get(name string) (T, error) {
	return l.get(l.namespace, name)
}

type podLister struct{ unpacking[*corev1.Pod] }

func (l podLister) Pods(namespace string) corelisters.PodNamespaceLister {
	return inNamespace[*corev1.Pod]{l.unpacking, namespace}
}

type claimLister struct {
	unpacking[*corev1.PersistentVolumeClaim]
}

func (l claimLister) PersistentVolumeClaims(namespace string) corelisters.PersistentVolumeClaimNamespaceLister {
	return inNamespace[*corev1.PersistentVolumeClaim]{l.unpacking, namespace}
}

var (
	_ corelisters.PodLister                   = podLister{}
	_ corelisters.PersistentVolumeClaimLister = claimLister{}
	_ corelisters.PersistentVolumeLister      = unpacking[*corev1.PersistentVolume]{}
)

// addCached adds the cached objects of kinds (pods, claims, volumes) to o
// as the caches keep them: packed, in o.Packed, or as typed objects if the
// transform could not pack them.
func (c *Controller) addCached(o *check.Objects, kinds ...string) {
	for _, kind := range kinds {
		for _, obj := range c.stores[kind].List() {
			o.Add(obj)
		}
	}
}

// Listers read the controller's caches (slimmed objects: see check.Slim).
// Callers must not modify the objects they return. The cache keeps pods
// packed (check.Packed), as it does claims and volumes: Pods, PVCs and PVs
// decode the ones they return at each call. Their informers keep no
// namespace index: listing one namespace's pods or claims walks the cache.
type Listers struct {
	Pods           corelisters.PodLister
	PVCs           corelisters.PersistentVolumeClaimLister
	PVs            corelisters.PersistentVolumeLister
	Namespaces     corelisters.NamespaceLister
	Nodes          corelisters.NodeLister
	CSIDrivers     storagelisters.CSIDriverLister
	StorageClasses storagelisters.StorageClassLister
	Deployments    appslisters.DeploymentLister
	StatefulSets   appslisters.StatefulSetLister
	DaemonSets     appslisters.DaemonSetLister
	ReplicaSets    appslisters.ReplicaSetLister
	Jobs           batchlisters.JobLister
	CronJobs       batchlisters.CronJobLister
	RCs            corelisters.ReplicationControllerLister
}

// Listers returns the listers of the controller's informers.
func (c *Controller) Listers() Listers { return c.listers }
