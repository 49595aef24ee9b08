package check

import (
	"reflect"
	"slices"
	"strings"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Slim clears, in place, the fields of obj that no check reads (labels,
// managed fields, environment, probes, resources, images, the defaults the
// API server gives every pod, capacity, status except the phase of a pod or
// a claim, the UID and creation time of a claim or a volume), and interns
// the strings that many objects repeat (namespaces, names of containers and
// volumes, levels, drivers, access modes), so that a cluster of 100,000
// pods fits in memory. Call it on objects the caller owns, before Run; Run
// gives the same result with and without it.
func Slim(obj any) {
	switch o := obj.(type) {
	case *corev1.Pod:
		slimMeta(&o.ObjectMeta)
		slimPodSpec(&o.Spec)
		o.Status = corev1.PodStatus{Phase: o.Status.Phase}
	case *corev1.PersistentVolumeClaim:
		slimMeta(&o.ObjectMeta)
		slimVolumeMeta(&o.ObjectMeta)
		o.Spec.AccessModes = internModes(compact(o.Spec.AccessModes))
		o.Spec.Resources = corev1.VolumeResourceRequirements{}
		o.Spec.Selector, o.Spec.DataSource, o.Spec.DataSourceRef = nil, nil, nil
		o.Status = corev1.PersistentVolumeClaimStatus{Phase: o.Status.Phase} // the upstream controller skips unbound claims
	case *corev1.PersistentVolume:
		slimMeta(&o.ObjectMeta)
		slimVolumeMeta(&o.ObjectMeta)
		o.Spec.Capacity, o.Spec.NodeAffinity, o.Spec.ClaimRef = nil, nil, nil
		o.Spec.AccessModes, o.Spec.MountOptions = internModes(compact(o.Spec.AccessModes)), compact(o.Spec.MountOptions)
		if o.Spec.CSI != nil {
			o.Spec.CSI.Driver = intern(o.Spec.CSI.Driver)
		}
		o.Status = corev1.PersistentVolumeStatus{}
	case *appsv1.Deployment:
		slimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.StatefulSet:
		slimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Status = appsv1.StatefulSetStatus{}
	case *appsv1.DaemonSet:
		// Node plugins: their volumes and mounts are read, keep the spec.
		slimMeta(&o.ObjectMeta)
		o.Status = appsv1.DaemonSetStatus{}
	case *appsv1.ReplicaSet:
		slimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Status = appsv1.ReplicaSetStatus{}
	case *batchv1.Job:
		slimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Status = batchv1.JobStatus{}
	case *batchv1.CronJob:
		slimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.JobTemplate.Spec.Template)
		o.Status = batchv1.CronJobStatus{}
	case *corev1.ReplicationController:
		slimMeta(&o.ObjectMeta)
		if o.Spec.Template != nil {
			slimTemplate(o.Spec.Template)
		}
		o.Status = corev1.ReplicationControllerStatus{}
	case *corev1.Node:
		// Only the kubelet version is read (ClusterVersion): images,
		// conditions and attached volumes of thousands of nodes are not.
		slimMeta(&o.ObjectMeta)
		o.Spec = corev1.NodeSpec{}
		o.Status = corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: o.Status.NodeInfo.KubeletVersion}}
	case *storagev1.StorageClass:
		// The default-class annotation is read: keep the annotations.
		o.ManagedFields, o.Labels = nil, nil
	}
}

func slimMeta(m *metav1.ObjectMeta) {
	m.Labels, m.Annotations, m.ManagedFields, m.Finalizers = nil, nil, nil, nil
	m.GenerateName = ""
	m.Namespace = intern(m.Namespace)
	m.OwnerReferences = compact(m.OwnerReferences)
	for i := range m.OwnerReferences {
		r := &m.OwnerReferences[i]
		r.APIVersion, r.Kind = intern(r.APIVersion), intern(r.Kind)
	}
}

// slimVolumeMeta clears what a claim's or a volume's metadata carries that
// no check reads: its UID (events name pods, workloads and CSIDrivers,
// never a claim or a volume) and its creation time (only pods are ordered
// by theirs). Packed, the two took about a third of each encoding (50 of
// 100 to 130 bytes).
func slimVolumeMeta(m *metav1.ObjectMeta) {
	m.UID, m.CreationTimestamp = "", metav1.Time{}
}

// intern returns the one copy of s that every slimmed object shares: a
// decoder allocates each string of each object, and thousands of objects
// repeat the same namespaces, kinds, container and volume names, levels,
// drivers and access modes. The copies are kept in the unique package's
// weak map, so an interned string no object uses is freed.
func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// compact returns s in an array of its own length. JSON decoding gives even
// a one-element slice room for four, which for Containers (408 bytes each)
// and Volumes was a third of the memory of a large cluster.
func compact[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	if cap(s) == len(s) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

func internModes(ms []corev1.PersistentVolumeAccessMode) []corev1.PersistentVolumeAccessMode {
	for i, m := range ms {
		ms[i] = corev1.PersistentVolumeAccessMode(intern(string(m)))
	}
	return ms
}

func slimTemplate(t *corev1.PodTemplateSpec) {
	t.Labels, t.Annotations = nil, nil
	slimPodSpec(&t.Spec)
}

func slimPodSpec(s *corev1.PodSpec) {
	s.InitContainers, s.Containers = compact(s.InitContainers), compact(s.Containers)
	s.EphemeralContainers, s.Volumes = compact(s.EphemeralContainers), compact(s.Volumes)
	for i := range s.Volumes {
		v := &s.Volumes[i]
		v.Name = intern(v.Name)
	}
	if sc := s.SecurityContext; sc != nil && sc.SELinuxOptions != nil {
		internSELinux(sc.SELinuxOptions)
	}
	for i := range s.InitContainers {
		slimContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		slimContainer(&s.Containers[i])
	}
	for i := range s.EphemeralContainers {
		slimContainer((*corev1.Container)(&s.EphemeralContainers[i].EphemeralContainerCommon))
	}
	s.Affinity, s.Tolerations, s.NodeSelector, s.TopologySpreadConstraints = nil, nil, nil, nil
	s.ImagePullSecrets, s.HostAliases, s.ReadinessGates, s.ResourceClaims = nil, nil, nil, nil
	s.Overhead, s.DNSConfig, s.Resources = nil, nil, nil
	// Defaulted by the API server on every pod, and read by no check.
	s.RestartPolicy, s.DNSPolicy, s.SchedulerName, s.PriorityClassName = "", "", "", ""
	s.Priority, s.PreemptionPolicy, s.EnableServiceLinks, s.TerminationGracePeriodSeconds = nil, nil, nil, nil
	s.ActiveDeadlineSeconds, s.SchedulingGates = nil, nil
	s.ServiceAccountName, s.DeprecatedServiceAccount, s.Hostname, s.Subdomain = "", "", "", ""
}

func internSELinux(o *corev1.SELinuxOptions) {
	o.User, o.Role, o.Type, o.Level = intern(o.User), intern(o.Role), intern(o.Type), intern(o.Level)
}

func slimContainer(c *corev1.Container) {
	c.VolumeMounts, c.VolumeDevices = compact(c.VolumeMounts), compact(c.VolumeDevices)
	c.Name = intern(c.Name)
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		m.Name, m.MountPath = intern(m.Name), intern(m.MountPath)
	}
	if c.SecurityContext != nil && c.SecurityContext.SELinuxOptions != nil {
		internSELinux(c.SecurityContext.SELinuxOptions)
	}
	// Defaulted on every container, and read by no check.
	c.Image, c.ImagePullPolicy, c.TerminationMessagePath, c.TerminationMessagePolicy, c.WorkingDir = "", "", "", "", ""
	c.Command, c.Args, c.Env, c.EnvFrom, c.Ports = nil, nil, nil, nil, nil
	c.Resources, c.ResizePolicy = corev1.ResourceRequirements{}, nil
	c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle = nil, nil, nil, nil
}

// Unread lists, per kind, the fields Slim clears, in the form
// manifest.Options.Discard takes, so that decoding leaves them out at once
// (no maps of labels, no resource lists to build and throw away). Slim
// stays the reference: a test checks that both give the same objects.
var Unread = unreadFields()

func unreadFields() map[string][]string {
	meta := []string{"metadata.labels", "metadata.annotations", "metadata.managedFields", "metadata.finalizers", "metadata.generateName"}
	podSpec := func(prefix string) []string {
		var out []string
		for _, f := range []string{"affinity", "tolerations", "nodeSelector", "topologySpreadConstraints", "imagePullSecrets", "hostAliases", "readinessGates", "resourceClaims", "overhead", "dnsConfig", "resources",
			"restartPolicy", "dnsPolicy", "schedulerName", "priorityClassName", "priority", "preemptionPolicy", "enableServiceLinks", "terminationGracePeriodSeconds",
			"activeDeadlineSeconds", "schedulingGates", "serviceAccountName", "serviceAccount", "hostname", "subdomain"} {
			out = append(out, prefix+f)
		}
		for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
			for _, f := range []string{"command", "args", "env", "envFrom", "ports", "resources", "resizePolicy", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
				"image", "imagePullPolicy", "terminationMessagePath", "terminationMessagePolicy", "workingDir"} {
				out = append(out, prefix+list+"."+f)
			}
		}
		return out
	}
	template := func(prefix string) []string {
		return append([]string{prefix + "metadata.labels", prefix + "metadata.annotations"}, podSpec(prefix+"spec.")...)
	}
	with := func(lists ...[]string) []string { return slices.Concat(lists...) }
	// Everything in a status but the phase.
	butPhase := func(t reflect.Type) []string {
		var out []string
		for _, name := range jsonFieldNames(t) {
			if name != "phase" {
				out = append(out, "status."+name)
			}
		}
		return out
	}
	status := []string{"status"}
	// A node's status but its kubelet version.
	nodeStatus := []string{"spec"}
	for _, name := range jsonFieldNames(reflect.TypeFor[corev1.NodeStatus]()) {
		if name != "nodeInfo" {
			nodeStatus = append(nodeStatus, "status."+name)
		}
	}
	for _, name := range jsonFieldNames(reflect.TypeFor[corev1.NodeSystemInfo]()) {
		if name != "kubeletVersion" {
			nodeStatus = append(nodeStatus, "status.nodeInfo."+name)
		}
	}
	return map[string][]string{
		"Pod":                   with(meta, podSpec("spec."), butPhase(reflect.TypeFor[corev1.PodStatus]())),
		"PersistentVolumeClaim": with(meta, []string{"spec.resources", "spec.selector", "spec.dataSource", "spec.dataSourceRef"}, butPhase(reflect.TypeFor[corev1.PersistentVolumeClaimStatus]())),
		"PersistentVolume":      with(meta, []string{"spec.capacity", "spec.nodeAffinity", "spec.claimRef"}, status),
		"Deployment":            with(meta, template("spec.template."), status),
		"StatefulSet":           with(meta, template("spec.template."), status),
		"ReplicaSet":            with(meta, template("spec.template."), status),
		"Job":                   with(meta, template("spec.template."), status),
		"CronJob":               with(meta, template("spec.jobTemplate.spec.template."), status),
		"ReplicationController": with(meta, template("spec.template."), status),
		"DaemonSet":             with(meta, status),
		"Node":                  with(meta, nodeStatus),
		"StorageClass":          {"metadata.managedFields", "metadata.labels"},
	}
}

// jsonFieldNames returns the JSON names of the fields of struct t.
func jsonFieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
