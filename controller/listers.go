package controller

import (
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
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
		pods: pods.Lister(), pvcs: pvcs.Lister(), pvs: pvs.Lister(), namespaces: nss.Lister(), nodes: nodes.Lister(),
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

// Listers read the controller's caches (slimmed objects: see check.Slim).
// Callers must not modify the objects they return.
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
