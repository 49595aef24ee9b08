package volindex

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// VolumeKey identifies the volume behind a pod volume: one key per mount
// that a node can share. Two PersistentVolumes with the same CSI driver and
// volumeHandle are one volume, and so are two that name the same NFS
// server and path (in-tree nfs, or the server, share and subDir attributes
// of a CSI driver such as csi-driver-nfs): without nosharecache the kernel
// gives both mounts one superblock, and one SELinux context. Otherwise the
// key is uniqueName, the kubelet's unique volume name, which is "" for
// volumes that belong to one pod (those are never shared and get no key).
func VolumeKey(pv *corev1.PersistentVolume, uniqueName string) string {
	if pv != nil {
		if n := pv.Spec.NFS; n != nil {
			return "nfs://" + n.Server + cleanPath(n.Path)
		}
		if csi := pv.Spec.CSI; csi != nil {
			a := csi.VolumeAttributes
			if a["server"] != "" && a["share"] != "" {
				return "nfs://" + a["server"] + cleanPath(a["share"]+"/"+a["subDir"])
			}
			return "csi://" + csi.Driver + "^" + csi.VolumeHandle
		}
	}
	return uniqueName
}

// cleanPath drops empty and "." components, so that "/exports/" and
// "/exports" are one path.
func cleanPath(p string) string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}
