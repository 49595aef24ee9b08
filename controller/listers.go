package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/selmount/selmount/check"
)

// listers read the informers' caches.
type listers struct {
	pods           corelisters.PodLister
	pvcs           corelisters.PersistentVolumeClaimLister
	pvs            corelisters.PersistentVolumeLister
	namespaces     corelisters.NamespaceLister
	nodes          corelisters.NodeLister
	csiDrivers     storagelisters.CSIDriverLister
	storageClasses storagelisters.StorageClassLister
	deployments    appslisters.DeploymentLister
	statefulSets   appslisters.StatefulSetLister
	daemonSets     appslisters.DaemonSetLister
	replicaSets    appslisters.ReplicaSetLister
	jobs           batchlisters.JobLister
	cronJobs       batchlisters.CronJobLister
	rcs            corelisters.ReplicationControllerLister
}

// kindInformer is an informer and the kind of its objects.
type kindInformer struct {
	kind string
	inf  cache.SharedIndexInformer
}

// register asks factory for every informer the check reads and returns
// them with their kinds.
func (c *Controller) register(f informers.SharedInformerFactory) []kindInformer {
	core, storage, apps, batch := f.Core().V1(), f.Storage().V1(), f.Apps().V1(), f.Batch().V1()
	pods, pvcs, pvs := core.Pods(), core.PersistentVolumeClaims(), core.PersistentVolumes()
	nss, nodes, rcs := core.Namespaces(), core.Nodes(), core.ReplicationControllers()
	drivers, classes := storage.CSIDrivers(), storage.StorageClasses()
	deps, sts, dss, rss := apps.Deployments(), apps.StatefulSets(), apps.DaemonSets(), apps.ReplicaSets()
	jobs, cjs := batch.Jobs(), batch.CronJobs()
	c.listers = listers{
		pods: packedPods{pods.Informer().GetIndexer()}, pvcs: pvcs.Lister(), pvs: pvs.Lister(), namespaces: nss.Lister(), nodes: nodes.Lister(),
		csiDrivers: drivers.Lister(), storageClasses: classes.Lister(),
		deployments: deps.Lister(), statefulSets: sts.Lister(), daemonSets: dss.Lister(), replicaSets: rss.Lister(),
		jobs: jobs.Lister(), cronJobs: cjs.Lister(), rcs: rcs.Lister(),
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
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, ok, err := store.GetByKey(key)
	if err != nil || !ok {
		return nil, err
	}
	return obj, nil
}

// packedPods lists the pods of an informer whose transform packs them
// (check.PackedPod), unpacked: client-go's PodLister would assert the cached
// objects to be *corev1.Pod. Each call decodes the pods it returns, new
// objects the caller owns.
type packedPods struct{ indexer cache.Indexer }

// List returns the pods whose labels selector matches.
func (l packedPods) List(selector labels.Selector) ([]*corev1.Pod, error) {
	return unpackAll(l.indexer.List(), selector)
}

// Pods returns the lister of one namespace's pods.
func (l packedPods) Pods(namespace string) corelisters.PodNamespaceLister {
	return packedNamespacePods{l.indexer, namespace}
}

type packedNamespacePods struct {
	indexer   cache.Indexer
	namespace string
}

// List returns the namespace's pods whose labels selector matches.
func (l packedNamespacePods) List(selector labels.Selector) ([]*corev1.Pod, error) {
	objs, err := l.indexer.ByIndex(cache.NamespaceIndex, l.namespace)
	if err != nil {
		return nil, err
	}
	return unpackAll(objs, selector)
}

// Get returns the pod name of the namespace, a NotFound error when the
// cache has none.
func (l packedNamespacePods) Get(name string) (*corev1.Pod, error) {
	obj, ok, err := l.indexer.GetByKey(l.namespace + "/" + name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
	}
	return unpack(obj)
}

// unpack returns a cached pod as a *corev1.Pod.
func unpack(obj any) (*corev1.Pod, error) {
	switch o := obj.(type) {
	case *check.PackedPod:
		return o.Unpack()
	case *corev1.Pod:
		return o, nil
	}
	return nil, fmt.Errorf("the pod cache holds a %T", obj)
}

func unpackAll(objs []any, selector labels.Selector) ([]*corev1.Pod, error) {
	out := make([]*corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		p, err := unpack(obj)
		if err != nil {
			return nil, err
		}
		if selector.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// packedPods returns every cached pod as a change for check.Base, packed
// as the cache keeps it.
func (c *Controller) packedPods() []check.Change {
	objs := c.stores["Pod"].List()
	out := make([]check.Change, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*check.PackedPod); ok {
			out = append(out, check.Change{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, Object: p})
		} else if p, ok := obj.(*corev1.Pod); ok {
			out = append(out, check.Change{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, Object: p})
		}
	}
	return out
}

// Listers read the controller's caches (slimmed objects: see check.Slim).
// Callers must not modify the objects they return. The cache keeps pods
// packed (check.PackedPod): Pods decodes the ones it returns at each call.
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
func (c *Controller) Listers() Listers {
	l := c.listers
	return Listers{Pods: l.pods, PVCs: l.pvcs, PVs: l.pvs, Namespaces: l.namespaces, Nodes: l.nodes,
		CSIDrivers: l.csiDrivers, StorageClasses: l.storageClasses, Deployments: l.deployments,
		StatefulSets: l.statefulSets, DaemonSets: l.daemonSets, ReplicaSets: l.replicaSets,
		Jobs: l.jobs, CronJobs: l.cronJobs, RCs: l.rcs}
}
