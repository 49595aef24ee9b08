package check

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/kubever"
)

// driverFindings checks every CSI driver in use: the CSIDriver object and its
// seLinuxMount, the node plugin's host paths, the options shared filesystems
// need, and the API server's support for the field. used counts the
// volumes of each driver (driversUsed); superblock reports a driver's
// shared-superblock finding (sharedSuperblock over the storage objects).
func driverFindings(in Input, csiDrivers []*storagev1.CSIDriver, used map[string]int, superblock func(driver string) (Finding, bool)) []Finding {
	drivers := map[string]*storagev1.CSIDriver{}
	for _, d := range csiDrivers {
		drivers[d.Name] = d
	}
	dss := append(slices.Clip(in.Objects.NodePlugins), in.Objects.DaemonSets...)
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)

	var out []Finding
	old, _ := kubever.ParseMinor(in.ServerVersion) // 0 when unknown
	for _, name := range names {
		drv := drivers[name]
		base := Finding{Type: TypeDriverReadiness, Driver: name}
		if old > 0 && old < 25 {
			f := base
			f.Severity, f.Property = SeverityError, PropertyAPIServerVersion
			f.Message = fmt.Sprintf("The API server is %s: CSIDriver.spec.seLinuxMount exists from 1.25, and older API servers reject a CSIDriver that sets it.", in.ServerVersion)
			f.Fix = "Upgrade the API server to 1.25 or newer before installing driver manifests that set seLinuxMount (some Helm charts have an option to omit the field)."
			out = append(out, f)
		}
		switch {
		case drv == nil:
			f := base
			f.Severity, f.Property = SeverityWarning, PropertyMissingCSIDriver
			f.Message = fmt.Sprintf("No CSIDriver object %s: the kubelet treats the driver as one without SELinux support, so its %s relabeled file by file.", name, plural(used[name], "volume is", "volumes are"))
			f.Fix = "Install the driver's CSIDriver object (it comes with the driver's deployment manifests)."
			out = append(out, f)
			continue
		case drv.Spec.SELinuxMount == nil || !*drv.Spec.SELinuxMount:
			f := base
			f.Severity, f.Property = SeverityInfo, PropertyDriverSupport
			f.Message = fmt.Sprintf("CSIDriver %s does not announce seLinuxMount: its %s relabeled file by file by the container runtime.", name, plural(used[name], "volume is", "volumes are"))
			f.Fix = "If every volume of the driver can be mounted on its own with a different -o context (block devices, or shared filesystems with nosharecache/nosharesock), set spec.seLinuxMount: true after the node plugin mounts /sys/fs/selinux and /etc/selinux."
			out = append(out, f)
			continue
		}
		// seLinuxMount is on: the driver must be able to honour it.
		if ds := nodePlugin(name, dss); ds != nil {
			if missing := missingHostPaths(ds); len(missing) > 0 {
				f := base
				f.Severity, f.Property = SeverityError, PropertyHostPaths
				f.Subjects = []Subject{{Kind: "DaemonSet", Namespace: ns(ds.Namespace), Name: ds.Name}}
				f.Message = fmt.Sprintf("CSIDriver %s announces seLinuxMount, but its node plugin DaemonSet %s/%s does not mount %s from the host: util-linux mount inside the plugin silently drops context= without them, and pods get volumes with wrong labels.", name, ns(ds.Namespace), ds.Name, strings.Join(missing, " and "))
				f.Fix = "Add hostPath volumes to the node plugin container: /sys/fs/selinux (read-write: libselinux checks that it is writable) and /etc/selinux (or /etc/selinux/config)."
				out = append(out, f)
			}
		} else if in.DaemonSetsListed {
			f := base
			f.Severity, f.Property = SeverityInfo, PropertyHostPaths
			f.Message = fmt.Sprintf("CSIDriver %s announces seLinuxMount, but no DaemonSet that runs its node plugin was found, so its host paths could not be checked.", name)
			f.Fix = "Check that the node plugin mounts /sys/fs/selinux (read-write) and /etc/selinux from the host."
			out = append(out, f)
		}
		if f, ok := superblock(name); ok {
			out = append(out, f)
		}
	}
	return out
}

// driversUsed counts the volumes of each CSI driver that SELinux applies
// to and that have a PersistentVolume.
func driversUsed(pods []decide.Pod) map[string]int {
	used := map[string]int{}
	for i := range pods {
		addDrivers(used, driversOf(&pods[i]), 1)
	}
	return used
}

// driversOf lists the CSI drivers of p's PersistentVolumes that SELinux
// concerns, once per volume.
func driversOf(p *decide.Pod) []string {
	var out []string
	for _, v := range p.Volumes {
		if v.Facts.SELinux && v.Facts.Kind == "csi" && v.Facts.CSIDriver != "" && v.Facts.PV != nil {
			out = append(out, v.Facts.CSIDriver)
		}
	}
	return out
}

// addDrivers adds d times each of drivers to used.
func addDrivers(used map[string]int, drivers []string, d int) {
	for _, name := range drivers {
		used[name] += d
		if used[name] == 0 {
			delete(used, name)
		}
	}
}

// nodePlugin finds the DaemonSet that runs driver's node plugin: it mounts
// or names the kubelet plugin directory of the driver.
func nodePlugin(driver string, dss []*appsv1.DaemonSet) *appsv1.DaemonSet {
	dir := "/plugins/" + driver
	for _, ds := range dss {
		spec := &ds.Spec.Template.Spec
		for _, v := range spec.Volumes {
			if v.HostPath != nil && strings.Contains(v.HostPath.Path, dir) {
				return ds
			}
		}
		for _, ctr := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, a := range append(append([]string{}, ctr.Command...), ctr.Args...) {
				if strings.Contains(a, dir) || strings.HasSuffix(a, "="+driver) {
					return ds
				}
			}
		}
	}
	return nil
}

// missingHostPaths lists what the node plugin lacks: /sys/fs/selinux mounted
// read-write and /etc/selinux.
func missingHostPaths(ds *appsv1.DaemonSet) []string {
	spec := &ds.Spec.Template.Spec
	hostPath := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPath[v.Name] = path.Clean(v.HostPath.Path)
		}
	}
	selinuxfs, selinuxfsRO, etc := false, false, false
	for _, ctr := range spec.Containers {
		for _, m := range ctr.VolumeMounts {
			p, ok := hostPath[m.Name]
			if !ok {
				continue
			}
			switch p {
			case "/sys/fs/selinux", "/sys/fs", "/sys":
				if m.ReadOnly {
					selinuxfsRO = true
				} else {
					selinuxfs = true
				}
			case "/etc/selinux", "/etc/selinux/config", "/etc":
				etc = true
			}
		}
	}
	var missing []string
	switch {
	case !selinuxfs && selinuxfsRO:
		missing = append(missing, "/sys/fs/selinux read-write (it is mounted read-only)")
	case !selinuxfs:
		missing = append(missing, "/sys/fs/selinux")
	}
	if !etc {
		missing = append(missing, "/etc/selinux")
	}
	return missing
}

// sharedSuperblock checks the PVs and StorageClasses of an NFS or CIFS/SMB
// driver for the option that gives each mount its own superblock, without
// which two volumes of one server cannot carry two labels.
func sharedSuperblock(driver string, pvs []*corev1.PersistentVolume, classes []*storagev1.StorageClass) (Finding, bool) {
	var notes []superblockNote
	for _, pv := range pvs {
		if d, n, ok := superblockNoteOf(pv); ok && d == driver {
			notes = append(notes, n)
		}
	}
	return superblockFinding(driver, notes, classes)
}

// superblockNote is a PersistentVolume without the option that gives its
// mounts their own superblock: kind is "NFS" or "CIFS/SMB", opt the option.
type superblockNote struct{ pv, kind, opt string }

// superblockKind is the kind of filesystem a volume of driver mounts, and
// that kind's option, from the driver's name, else from the volume's
// attributes (nil: the driver alone); "" when neither tells.
func superblockKind(driver string, attrs map[string]string) (kind, opt string) {
	lower := strings.ToLower(driver)
	nfs, smb := strings.Contains(lower, "nfs"), strings.Contains(lower, "smb") || strings.Contains(lower, "cifs")
	if !nfs && !smb { // the name does not tell
		nfs = attrs["server"] != "" && attrs["share"] != ""
		smb = !nfs && strings.HasPrefix(attrs["source"], "//")
	}
	switch {
	case nfs:
		return "NFS", "nosharecache"
	case smb:
		return "CIFS/SMB", "nosharesock"
	}
	return "", ""
}

// superblockNoteOf returns pv's CSI driver and its note, ok when pv is NFS
// or CIFS/SMB (by its driver's name, else by its volume attributes) and
// lacks the option.
func superblockNoteOf(pv *corev1.PersistentVolume) (string, superblockNote, bool) {
	csi := pv.Spec.CSI
	if csi == nil {
		return "", superblockNote{}, false
	}
	k, o := superblockKind(csi.Driver, csi.VolumeAttributes)
	if k == "" || hasOption(pv.Spec.MountOptions, o) {
		return "", superblockNote{}, false
	}
	return csi.Driver, superblockNote{pv: pv.Name, kind: k, opt: o}, true
}

// superblockFinding is the shared-superblock finding of driver, whose
// PersistentVolumes without the option are notes (in order), ok false when
// there is nothing to report. The StorageClasses are checked when the kind
// is known: from the driver's name, else from the first note.
func superblockFinding(driver string, notes []superblockNote, classes []*storagev1.StorageClass) (Finding, bool) {
	kind, opt := superblockKind(driver, nil)
	if kind == "" && len(notes) > 0 {
		kind, opt = notes[0].kind, notes[0].opt
	}
	var missing []string
	for _, n := range notes {
		missing = append(missing, "PersistentVolume "+n.pv)
	}
	for _, sc := range classes {
		if sc.Provisioner == driver && kind != "" && !hasOption(sc.MountOptions, opt) {
			missing = append(missing, "StorageClass "+sc.Name)
		}
	}
	if len(missing) == 0 {
		return Finding{}, false
	}
	return Finding{
		Type: TypeDriverReadiness, Severity: SeverityWarning, Property: PropertySharedSuperblock, Driver: driver,
		Message: fmt.Sprintf("CSIDriver %s (%s) announces seLinuxMount, but %s lack the mount option %s: volumes of one server share a superblock, and the kernel refuses a second mount with another context (\"Same superblock, different security settings\").", driver, kind, strings.Join(missing, ", "), opt),
		Fix:     fmt.Sprintf("Add %s to the mountOptions of these PersistentVolumes and StorageClasses (StorageClass mountOptions are copied to new PVs only), or unset seLinuxMount on the driver.", opt),
	}, true
}

func hasOption(opts []string, want string) bool {
	for _, o := range opts {
		for _, part := range strings.Split(o, ",") {
			if strings.TrimSpace(part) == want {
				return true
			}
		}
	}
	return false
}
