package manifest

import (
	"reflect"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validate rejects what the API server's validation rejects in the fields
// selmount reads, with the API server's messages and field paths: an
// object it refuses cannot exist in a cluster, so it is not explained
// either. It checks, in pods and in the pod templates of workloads:
//
//   - spec.os.name: linux or windows;
//   - securityContext.seLinuxChangePolicy: Recursive or MountOption, and
//     not on a Windows pod; seLinuxOptions not on a Windows pod (pod or
//     container level);
//   - volumes: each with a unique name and exactly one volume source;
//     volumeMounts and volumeDevices naming a volume of the pod;
//   - access modes (claims, claim templates, PersistentVolumes): known
//     values, ReadWriteOncePod alone, at least one on PersistentVolumes and
//     PersistentVolumeClaims; volumeMode Block or Filesystem;
//   - PersistentVolumes: exactly one volume source.
//
// What the API server checks only against the cluster's feature gates
// (seLinuxChangePolicy: MountOption while SELinuxMount is off) depends on
// the version and is a warning of package decide. The format of
// seLinuxOptions is not validated by the API server (an invalid level fails
// at the kubelet); decide reports it.
func validate(obj any) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		return podSpec(&o.Spec, field.NewPath("spec"))
	case *corev1.PersistentVolumeClaim:
		return claimSpec(&o.Spec, field.NewPath("spec"), true)
	case *corev1.PersistentVolume:
		return pvSpec(&o.Spec, field.NewPath("spec"))
	case *corev1.ReplicationController:
		if o.Spec.Template != nil {
			return podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))
		}
	case *appsv1.Deployment:
		return podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))
	case *appsv1.ReplicaSet:
		return podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))
	case *appsv1.DaemonSet:
		return podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))
	case *appsv1.StatefulSet:
		// The containers mount the claim templates by name, as volumes.
		var claims []string
		for _, c := range o.Spec.VolumeClaimTemplates {
			claims = append(claims, c.Name)
		}
		errs := podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"), claims...)
		for i := range o.Spec.VolumeClaimTemplates {
			errs = append(errs, claimSpec(&o.Spec.VolumeClaimTemplates[i].Spec, field.NewPath("spec", "volumeClaimTemplates").Index(i).Child("spec"), false)...)
		}
		return errs
	case *batchv1.Job:
		return podSpec(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"))
	case *batchv1.CronJob:
		return podSpec(&o.Spec.JobTemplate.Spec.Template.Spec, field.NewPath("spec", "jobTemplate", "spec", "template", "spec"))
	}
	return nil
}

var (
	osNames        = sets.New(string(corev1.Linux), string(corev1.Windows))
	changePolicies = sets.New(string(corev1.SELinuxChangePolicyRecursive), string(corev1.SELinuxChangePolicyMountOption))
	accessModes    = sets.New(string(corev1.ReadWriteOnce), string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOncePod))
	volumeModes    = sets.New(string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem))
)

// podSpec checks a pod spec; claims are the names of a StatefulSet's claim
// templates, which its containers mount like volumes.
func podSpec(spec *corev1.PodSpec, path *field.Path, claims ...string) field.ErrorList {
	var errs field.ErrorList
	windows := false
	if spec.OS != nil {
		switch name := string(spec.OS.Name); {
		case !osNames.Has(name):
			errs = append(errs, field.NotSupported(path.Child("os", "name"), name, sets.List(osNames)))
		case name == string(corev1.Windows):
			windows = true
		}
	}
	if sc := spec.SecurityContext; sc != nil {
		scPath := path.Child("securityContext")
		if p := sc.SELinuxChangePolicy; p != nil {
			switch {
			case !changePolicies.Has(string(*p)):
				errs = append(errs, field.NotSupported(scPath.Child("seLinuxChangePolicy"), string(*p), sets.List(changePolicies)))
			case windows:
				errs = append(errs, field.Forbidden(scPath.Child("seLinuxChangePolicy"), "cannot be set for a windows pod"))
			}
		}
		if windows && sc.SELinuxOptions != nil {
			errs = append(errs, field.Forbidden(scPath.Child("seLinuxOptions"), "cannot be set for a windows pod"))
		}
	}

	volumes := map[string]bool{}
	for _, c := range claims {
		volumes[c] = true
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		vPath := path.Child("volumes").Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(vPath.Child("name"), ""))
		case volumes[v.Name] && !slices.Contains(claims, v.Name):
			errs = append(errs, field.Duplicate(vPath.Child("name"), v.Name))
		}
		volumes[v.Name] = true
		errs = append(errs, oneSource(v.VolumeSource, vPath)...)
		if e := v.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
			errs = append(errs, claimSpec(&e.VolumeClaimTemplate.Spec, vPath.Child("ephemeral", "volumeClaimTemplate", "spec"), true)...)
		}
	}

	container := func(list string, i int, sc *corev1.SecurityContext, mounts []corev1.VolumeMount, devices []corev1.VolumeDevice) {
		cPath := path.Child(list).Index(i)
		if windows && sc != nil && sc.SELinuxOptions != nil {
			errs = append(errs, field.Forbidden(cPath.Child("securityContext", "seLinuxOptions"), "cannot be set for a windows pod"))
		}
		for j, m := range mounts {
			if !volumes[m.Name] {
				errs = append(errs, field.NotFound(cPath.Child("volumeMounts").Index(j).Child("name"), m.Name))
			}
		}
		for j, d := range devices {
			if !volumes[d.Name] {
				errs = append(errs, field.NotFound(cPath.Child("volumeDevices").Index(j).Child("name"), d.Name))
			}
		}
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		container("initContainers", i, c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		container("containers", i, c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i]
		container("ephemeralContainers", i, c.SecurityContext, c.VolumeMounts, c.VolumeDevices)
	}
	return errs
}

// claimSpec checks a claim's access modes and volume mode; required says
// whether an empty access mode list is an error (it is for claims; claim
// templates of StatefulSets are checked by the API server only when the
// claims are created).
func claimSpec(spec *corev1.PersistentVolumeClaimSpec, path *field.Path, required bool) field.ErrorList {
	errs := modes(spec.AccessModes, path.Child("accessModes"), required)
	if m := spec.VolumeMode; m != nil && !volumeModes.Has(string(*m)) {
		errs = append(errs, field.NotSupported(path.Child("volumeMode"), string(*m), sets.List(volumeModes)))
	}
	return errs
}

func pvSpec(spec *corev1.PersistentVolumeSpec, path *field.Path) field.ErrorList {
	errs := modes(spec.AccessModes, path.Child("accessModes"), true)
	if m := spec.VolumeMode; m != nil && !volumeModes.Has(string(*m)) {
		errs = append(errs, field.NotSupported(path.Child("volumeMode"), string(*m), sets.List(volumeModes)))
	}
	return append(errs, oneSource(spec.PersistentVolumeSource, path)...)
}

func modes(list []corev1.PersistentVolumeAccessMode, path *field.Path, required bool) field.ErrorList {
	var errs field.ErrorList
	if len(list) == 0 && required {
		return append(errs, field.Required(path, "at least 1 access mode is required"))
	}
	rwop := false
	for _, m := range list {
		if !accessModes.Has(string(m)) {
			errs = append(errs, field.NotSupported(path, m, sets.List(accessModes)))
		}
		rwop = rwop || m == corev1.ReadWriteOncePod
	}
	if rwop && len(list) > 1 {
		errs = append(errs, field.Forbidden(path, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// oneSource checks that exactly one field of a VolumeSource or a
// PersistentVolumeSource (structs of pointers, one per volume type) is set.
func oneSource(src any, path *field.Path) field.ErrorList {
	v := reflect.ValueOf(src)
	var set []string
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			set = append(set, name)
		}
	}
	switch {
	case len(set) == 0:
		return field.ErrorList{field.Required(path, "must specify a volume type")}
	case len(set) > 1:
		return field.ErrorList{field.Forbidden(path.Child(set[1]), "may not specify more than 1 volume type")}
	}
	return nil
}
