package decide

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	csitrans "k8s.io/csi-translation-lib"
)

// Objects are the API objects a decision reads. Pods are admitted in slice
// order on each node.
type Objects struct {
	Pods           []*corev1.Pod
	PVCs           []*corev1.PersistentVolumeClaim
	PVs            []*corev1.PersistentVolume
	CSIDrivers     []*storagev1.CSIDriver
	StorageClasses []*storagev1.StorageClass
}

// index gives name lookups over Objects.
type index struct {
	pvcs      map[string]*corev1.PersistentVolumeClaim // ns/name
	pvs       map[string]*corev1.PersistentVolume
	drivers   map[string]*storagev1.CSIDriver
	classes   map[string]*storagev1.StorageClass
	defaultSC *storagev1.StorageClass
}

func newIndex(o Objects) *index {
	ix := &index{
		pvcs:    map[string]*corev1.PersistentVolumeClaim{},
		pvs:     map[string]*corev1.PersistentVolume{},
		drivers: map[string]*storagev1.CSIDriver{},
		classes: map[string]*storagev1.StorageClass{},
	}
	for _, c := range o.PVCs {
		ix.pvcs[c.Namespace+"/"+c.Name] = c
	}
	for _, p := range o.PVs {
		ix.pvs[p.Name] = p
	}
	for _, d := range o.CSIDrivers {
		ix.drivers[d.Name] = d
	}
	var defaults []*storagev1.StorageClass
	for _, s := range o.StorageClasses {
		ix.classes[s.Name] = s
		if s.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			defaults = append(defaults, s)
		}
	}
	// With several defaults the API server picks the newest; by name is the
	// closest deterministic stand-in for objects without timestamps.
	sort.Slice(defaults, func(i, j int) bool {
		ti, tj := defaults[i].CreationTimestamp, defaults[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return defaults[i].Name < defaults[j].Name
	})
	if len(defaults) > 0 {
		ix.defaultSC = defaults[0]
	}
	return ix
}

// spec is a pod volume resolved the way the kubelet builds its volume.Spec.
type spec struct {
	vol  *corev1.Volume
	name string // volume.Spec.Name(): the PV name, else the pod volume name
	// pv is the PersistentVolume, nil for inline volumes. It may be
	// synthesized: from a StorageClass for an unbound claim, or by CSI
	// migration of an in-tree volume.
	pv           *corev1.PersistentVolume
	pvNote       string // how pv was obtained when it is not a real object
	pvc          *corev1.PersistentVolumeClaim
	source       string // human description of the chain
	kind         string // volume type: "csi", "iscsi", "fc", "rbd", "nfs", "hostPath", "emptyDir", ...
	csiDriver    string
	migratedFrom string // in-tree plugin name when translated to CSI
	readOnly     bool
	block        bool
	uniqueKey    string // the kubelet's unique volume name ("" for per-pod volumes)
}

// pluginName is the kubelet plugin name used in metric labels.
func (s *spec) pluginName() string {
	if s.kind == "csi" {
		d := s.csiDriver
		if d == "" {
			d = "unknown"
		}
		return "kubernetes.io/csi/" + d
	}
	return "kubernetes.io/" + pluginSuffix(s.kind)
}

func pluginSuffix(kind string) string {
	switch kind {
	case "hostPath":
		return "host-path"
	case "emptyDir":
		return "empty-dir"
	case "configMap":
		return "configmap"
	case "downwardAPI":
		return "downward-api"
	case "persistentVolumeClaim":
		return "pvc"
	}
	return strings.ToLower(kind)
}

var translator = csitrans.New()

// resolveError is an input problem: a claim, volume or class that is
// missing. Its message does not name the pod volume: InputError does.
type resolveError struct{ msg string }

func (e *resolveError) Error() string { return e.msg }

func (ix *index) resolve(pod *corev1.Pod, vol *corev1.Volume) (*spec, error) {
	s := &spec{vol: vol, name: vol.Name}
	switch {
	case vol.PersistentVolumeClaim != nil:
		claim := vol.PersistentVolumeClaim.ClaimName
		s.readOnly = vol.PersistentVolumeClaim.ReadOnly
		pvc := ix.pvcs[pod.Namespace+"/"+claim]
		if pvc == nil {
			return nil, &resolveError{fmt.Sprintf("PersistentVolumeClaim %s/%s not found", pod.Namespace, claim)}
		}
		s.source = "persistentVolumeClaim " + claim
		return s, ix.fromClaim(s, pvc)
	case vol.Ephemeral != nil:
		// Generic ephemeral volume: the claim is named <pod>-<volume>.
		claim := pod.Name + "-" + vol.Name
		s.source = "ephemeral claim " + claim
		if pvc := ix.pvcs[pod.Namespace+"/"+claim]; pvc != nil {
			return s, ix.fromClaim(s, pvc)
		}
		if vol.Ephemeral.VolumeClaimTemplate == nil {
			return nil, &resolveError{"ephemeral volume without volumeClaimTemplate"}
		}
		pvc := &corev1.PersistentVolumeClaim{Spec: vol.Ephemeral.VolumeClaimTemplate.Spec}
		pvc.Name, pvc.Namespace = claim, pod.Namespace
		return s, ix.fromClaim(s, pvc)
	}
	// Inline volumes.
	s.kind = inlineKind(vol)
	s.source = "inline " + s.kind
	switch {
	case vol.CSI != nil:
		s.csiDriver = vol.CSI.Driver
		s.readOnly = vol.CSI.ReadOnly != nil && *vol.CSI.ReadOnly
		s.source = "inline CSI ephemeral volume (" + vol.CSI.Driver + ")"
	case translator.IsInlineMigratable(vol):
		plugin, _ := translator.GetInTreePluginNameFromSpec(nil, vol)
		pv, err := translator.TranslateInTreeInlineVolumeToCSI(logr.Discard(), vol, pod.Namespace)
		if err != nil || pv == nil || pv.Spec.CSI == nil {
			return nil, &resolveError{fmt.Sprintf("cannot translate in-tree %s volume to CSI: %v", s.kind, err)}
		}
		s.pv, s.kind, s.csiDriver, s.migratedFrom = pv, "csi", pv.Spec.CSI.Driver, plugin
		s.pvNote = "inline " + plugin + " volume translated to CSI " + pv.Spec.CSI.Driver + " (the kubelet treats it as a PersistentVolume)"
		s.name = pv.Name
		s.readOnly = pv.Spec.CSI.ReadOnly
		s.uniqueKey = "kubernetes.io/csi/" + pv.Spec.CSI.Driver + "^" + pv.Spec.CSI.VolumeHandle
		s.source = "inline " + plugin + " (migrated to CSI " + pv.Spec.CSI.Driver + ")"
	case vol.ISCSI != nil:
		s.readOnly = vol.ISCSI.ReadOnly
		s.uniqueKey = fmt.Sprintf("kubernetes.io/iscsi/%s:%s:%d", vol.ISCSI.TargetPortal, vol.ISCSI.IQN, vol.ISCSI.Lun)
	case vol.FC != nil:
		s.readOnly = vol.FC.ReadOnly
		s.uniqueKey = "kubernetes.io/fc/" + fcKey(vol.FC)
	}
	return s, nil
}

func fcKey(fc *corev1.FCVolumeSource) string {
	if len(fc.WWIDs) > 0 {
		return strings.Join(fc.WWIDs, "-")
	}
	lun := int32(0)
	if fc.Lun != nil {
		lun = *fc.Lun
	}
	return fmt.Sprintf("%s-lun-%d", strings.Join(fc.TargetWWNs, "-"), lun)
}

func (ix *index) fromClaim(s *spec, pvc *corev1.PersistentVolumeClaim) error {
	s.pvc = pvc
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		s.block = true
	}
	if name := pvc.Spec.VolumeName; name != "" {
		pv := ix.pvs[name]
		if pv == nil {
			return &resolveError{fmt.Sprintf("PersistentVolumeClaim %s/%s is bound to PersistentVolume %s, which was not found", pvc.Namespace, pvc.Name, name)}
		}
		s.source += " -> PersistentVolume " + name
		return ix.fromPV(s, pv)
	}
	// Not bound yet: the PV will come from the claim's StorageClass.
	var sc *storagev1.StorageClass
	switch {
	case pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == "":
		return &resolveError{fmt.Sprintf("PersistentVolumeClaim %s/%s is not bound and asks for no StorageClass (storageClassName: \"\"); bind it to a PersistentVolume", pvc.Namespace, pvc.Name)}
	case pvc.Spec.StorageClassName != nil:
		sc = ix.classes[*pvc.Spec.StorageClassName]
		if sc == nil {
			return &resolveError{fmt.Sprintf("PersistentVolumeClaim %s/%s is not bound and its StorageClass %q was not found", pvc.Namespace, pvc.Name, *pvc.Spec.StorageClassName)}
		}
	default:
		sc = ix.defaultSC
		if sc == nil {
			return &resolveError{fmt.Sprintf("PersistentVolumeClaim %s/%s is not bound, names no StorageClass and there is no default StorageClass", pvc.Namespace, pvc.Name)}
		}
	}
	driver := sc.Provisioner
	note := "not bound yet: provisioned by StorageClass " + sc.Name + " (" + sc.Provisioner + ")"
	if translator.IsMigratableIntreePluginByName(driver) {
		if d, err := translator.GetCSINameFromInTreeName(driver); err == nil {
			note += ", migrated to CSI " + d
			s.migratedFrom = driver
			driver = d
		}
	}
	pv := &corev1.PersistentVolume{}
	pv.Name = "pvc-<" + pvc.Namespace + "/" + pvc.Name + ">"
	pv.Spec.AccessModes = pvc.Spec.AccessModes
	pv.Spec.MountOptions = sc.MountOptions
	pv.Spec.VolumeMode = pvc.Spec.VolumeMode
	pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: pv.Name}
	s.pv, s.pvNote, s.kind, s.csiDriver, s.name = pv, note, "csi", driver, pv.Name
	s.uniqueKey = "kubernetes.io/csi/" + driver + "^" + pv.Name
	s.source += " -> StorageClass " + sc.Name + " (not bound yet)"
	return nil
}

func (ix *index) fromPV(s *spec, pv *corev1.PersistentVolume) error {
	s.pv, s.name = pv, pv.Name
	if pv.Spec.VolumeMode != nil && *pv.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		s.block = true
	}
	src := pv.Spec.PersistentVolumeSource
	switch {
	case src.CSI != nil:
		s.kind, s.csiDriver = "csi", src.CSI.Driver
		s.readOnly = s.readOnly || src.CSI.ReadOnly
		s.uniqueKey = "kubernetes.io/csi/" + src.CSI.Driver + "^" + src.CSI.VolumeHandle
	case translator.IsPVMigratable(pv):
		plugin, _ := translator.GetInTreePluginNameFromSpec(pv, nil)
		t, err := translator.TranslateInTreePVToCSI(logr.Discard(), pv)
		if err != nil || t == nil || t.Spec.CSI == nil {
			return &resolveError{fmt.Sprintf("cannot translate in-tree PersistentVolume %s (%s) to CSI: %v", pv.Name, plugin, err)}
		}
		s.pv, s.kind, s.csiDriver, s.migratedFrom = t, "csi", t.Spec.CSI.Driver, plugin
		s.pvNote = "in-tree " + plugin + " PersistentVolume translated to CSI " + t.Spec.CSI.Driver + " (CSI migration)"
		s.readOnly = s.readOnly || t.Spec.CSI.ReadOnly
		s.uniqueKey = "kubernetes.io/csi/" + t.Spec.CSI.Driver + "^" + t.Spec.CSI.VolumeHandle
	case src.ISCSI != nil:
		s.kind = "iscsi"
		s.readOnly = s.readOnly || src.ISCSI.ReadOnly
		s.uniqueKey = fmt.Sprintf("kubernetes.io/iscsi/%s:%s:%d", src.ISCSI.TargetPortal, src.ISCSI.IQN, src.ISCSI.Lun)
	case src.FC != nil:
		s.kind = "fc"
		s.readOnly = s.readOnly || src.FC.ReadOnly
		s.uniqueKey = "kubernetes.io/fc/" + fcKey(src.FC)
	default:
		s.kind = pvKind(src)
		s.uniqueKey = "kubernetes.io/" + pluginSuffix(s.kind) + "/" + pv.Name
	}
	return nil
}

func pvKind(src corev1.PersistentVolumeSource) string {
	switch {
	case src.NFS != nil:
		return "nfs"
	case src.HostPath != nil:
		return "hostPath"
	case src.Local != nil:
		return "local"
	case src.RBD != nil:
		return "rbd"
	case src.CephFS != nil:
		return "cephfs"
	case src.Glusterfs != nil:
		return "glusterfs"
	case src.FlexVolume != nil:
		return "flexVolume"
	}
	return "unknown"
}

func inlineKind(v *corev1.Volume) string {
	s := v.VolumeSource
	switch {
	case s.EmptyDir != nil:
		return "emptyDir"
	case s.ConfigMap != nil:
		return "configMap"
	case s.Secret != nil:
		return "secret"
	case s.DownwardAPI != nil:
		return "downwardAPI"
	case s.Projected != nil:
		return "projected"
	case s.HostPath != nil:
		return "hostPath"
	case s.NFS != nil:
		return "nfs"
	case s.ISCSI != nil:
		return "iscsi"
	case s.FC != nil:
		return "fc"
	case s.CSI != nil:
		return "csi"
	case s.Image != nil:
		return "image"
	case s.RBD != nil:
		return "rbd"
	case s.CephFS != nil:
		return "cephfs"
	case s.Glusterfs != nil:
		return "glusterfs"
	case s.GitRepo != nil:
		return "gitRepo"
	case s.FlexVolume != nil:
		return "flexVolume"
	case s.AWSElasticBlockStore != nil:
		return "awsElasticBlockStore"
	case s.GCEPersistentDisk != nil:
		return "gcePersistentDisk"
	case s.AzureDisk != nil:
		return "azureDisk"
	case s.AzureFile != nil:
		return "azureFile"
	case s.Cinder != nil:
		return "cinder"
	case s.VsphereVolume != nil:
		return "vsphereVolume"
	case s.PortworxVolume != nil:
		return "portworxVolume"
	}
	return "unknown"
}
