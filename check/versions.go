package check

import (
	"errors"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/kubever"
)

// upgradeVersion is the release that turns SELinuxMount on by default: the
// upgrade check exists for.
var upgradeVersion = kubever.V(37)

// DefaultTarget returns the version to check against when none is chosen:
// 1.37, or current when the cluster already runs a newer one.
// current is zero when unknown (manifests).
func DefaultTarget(current kubever.Version) kubever.Version {
	if !current.IsZero() && current.Compare(upgradeVersion) > 0 {
		return current
	}
	return upgradeVersion
}

// ClusterVersion returns the version a cluster runs today as far as volume
// labeling goes. The kubelets decide what fails, so it is the oldest
// kubeletVersion among nodes; without nodes (or without a kubelet version
// that parses) it is the API server's serverVersion (a gitVersion such as
// "v1.36.2-eks-1"). ok is false when neither is known.
//
// A version outside the modelled range stands for the nearest modelled one:
// an older cluster is checked as kubever.Oldest, a newer one as
// kubever.Newest. A serverVersion that is not a version at all is taken as
// kubever.Oldest, the kubelet with the fewest context mounts.
func ClusterVersion(serverVersion string, nodes []*corev1.Node) (v kubever.Version, ok bool) {
	ref := serverVersion
	if kv := OldestKubelet(nodes); kv != "" {
		ref = kv
	}
	if ref == "" {
		return kubever.Version{}, false
	}
	v, err := kubever.ParseVersion(ref)
	if err == nil {
		return v, true
	}
	if minor, perr := kubever.ParseMinor(ref); errors.Is(err, kubever.ErrUnsupportedVersion) && perr == nil && minor > kubever.Newest.Minor() {
		return kubever.Newest, true
	}
	return kubever.Oldest, true
}

// OldestKubelet returns the kubeletVersion of the oldest kubelet among
// nodes, as the node reports it; "" when no node reports one that parses.
// Kubelets older than the modelled range count too: they are the oldest.
func OldestKubelet(nodes []*corev1.Node) string {
	best, bestMinor := "", 1<<30
	for _, n := range nodes {
		v := n.Status.NodeInfo.KubeletVersion
		if minor, err := kubever.ParseMinor(v); err == nil && minor < bestMinor {
			best, bestMinor = v, minor
		}
	}
	return best
}
