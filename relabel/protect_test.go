package relabel

import (
	"errors"
	"strings"
	"testing"
)

func TestProtected(t *testing.T) {
	env := map[string]string{"HOME": "/home/alice", "SUDO_USER": "bob"}
	getenv := func(k string) string { return env[k] }
	homeOf := func(u string) string {
		if u == "bob" {
			return "/srv/bob"
		}
		return ""
	}
	// Symlinks of a pretend filesystem, resolved as filepath.EvalSymlinks
	// would.
	links := map[string]string{
		"/data/etc-link":       "/etc",
		"/data/share":          "/usr/share",
		"/srv/vol":             "/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data",
		"/srv/kubelet-link":    "/var/lib/kubelet",
		"/mnt/disk/ssh":        "/etc/ssh",
		"/var/lib/mysql-link":  "/srv/db",
		"/home/alice/data/etc": "/etc",
	}
	resolve := func(p string) (string, error) {
		for from, to := range links {
			if p == from {
				return to, nil
			}
			if strings.HasPrefix(p, from+"/") {
				return to + p[len(from):], nil
			}
		}
		return p, nil
	}
	for _, tc := range []struct {
		path string
		want string // the start of the rule; "" when allowed
	}{
		// system trees and everything below them
		{"/", "is a protected system directory (its"},
		{"/usr", "is a protected system directory"},
		{"/usr/", "is a protected system directory"},
		{"//usr", "is a protected system directory"},
		{"/usr/local", "is inside the protected system directory /usr"},
		{"/usr/local/vol", "is inside the protected system directory /usr"},
		{"/etc/ssh", "is inside the protected system directory /etc"},
		{"/etc/selinux/targeted", "is inside the protected system directory /etc"},
		{"/boot/efi", "is inside the protected system directory /boot"},
		{"/lib64/x", "is inside the protected system directory /lib64"},
		{"/proc/1/root", "is inside the protected system directory /proc"},
		{"/sys/fs/cgroup", "is inside the protected system directory /sys"},
		{"/dev/shm/x", "is inside the protected system directory /dev"},
		{"/root/data", "is inside the protected system directory /root"},
		{"/run/containerd", "is inside the protected system directory /run"},
		{"/var/log/pods", "is inside the protected system directory /var/log"},
		{"/usrdata", ""}, {"/etcetera/x", ""},
		// ".." and relative tricks
		{"/var/../etc", "is a protected system directory"},
		{"/srv/data/../../etc/ssh", "is inside the protected system directory /etc"},
		{"/srv/data/../../../../usr/share", "is inside the protected system directory /usr"},
		{"/srv/data/..", "is a protected system directory (its"},
		{"/tmp/./x/../", "is a protected system directory (its"},
		// exact paths: their subdirectories are data
		{"/var", "is a protected system directory (its"},
		{"/var/lib", "is a protected system directory (its"},
		{"/srv", "is a protected system directory (its"},
		{"/mnt", "is a protected system directory (its"},
		{"/opt", "is a protected system directory (its"},
		{"/tmp", "is a protected system directory (its"},
		{"/var/tmp", "is a protected system directory (its"},
		{"/srv/data", ""}, {"/mnt/x", ""}, {"/mnt/x/y", ""}, {"/opt/app/data", ""}, {"/tmp/test", ""},
		{"/var/tmp/x", ""}, {"/data", ""}, {"/var/cache/x", ""},
		// homes
		{"/home", "is a protected system directory (its"},
		{"/home/alice", "is a home directory"},
		{"/home/carol", "is a home directory"},
		{"/srv/bob", "is the home directory of the calling user"},
		{"/home/alice/data", ""}, {"/srv/bob/data", ""},
		// services' state directories
		{"/var/lib/mysql", "is a service's state directory"},
		{"/var/lib/longhorn/replicas/pvc-1", ""},
		// the kubelet: only volume directories
		{"/var/lib/kubelet", "is the state directory"},
		{"/var/lib/kubelet/pods", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1/volumes", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1/etc-hosts", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data", ""},
		{"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/pvc-1/mount", ""},
		{"/var/lib/kubelet/pods/u1/volume-subpaths/data/app/0", ""},
		{"/var/lib/kubelet/pods/u1/volume-subpaths/data/app", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/plugins/kubernetes.io/csi/ebs.csi.aws.com/0a1b/globalmount", ""},
		{"/var/lib/kubelet/plugins/kubernetes.io/csi/pv/pvc-1/globalmount/sub", ""},
		{"/var/lib/kubelet/plugins/kubernetes.io/csi/ebs.csi.aws.com/0a1b", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/plugins/ebs.csi.aws.com", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/var/lib/kubelet/pods/u1/volumes/kubernetes.io~empty-dir/data/../../../etc-hosts", "is inside the protected state directory /var/lib/kubelet, where only"},
		// the runtimes
		{"/var/lib/containers/storage/overlay/abc/diff", "is inside the protected state directory /var/lib/containers, where only"},
		{"/var/lib/containers/storage/volumes/v/_data", ""},
		{"/var/lib/containers/storage/volumes/v", "is inside the protected state directory /var/lib/containers, where only"},
		{"/var/lib/docker/volumes/v/_data/x", ""},
		{"/var/lib/docker/overlay2/abc", "is inside the protected state directory /var/lib/docker, where only"},
		{"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", "is inside the protected state directory /var/lib/containerd"},
		{"/var/lib/selinux/targeted", "is inside the protected state directory /var/lib/selinux"},
		// symlinks: the resolved path is checked too
		{"/data/etc-link", "is a protected system directory (/data/etc-link resolves to it)"},
		{"/data/share/doc", "is inside the protected system directory /usr (/data/share/doc resolves to it)"},
		{"/mnt/disk/ssh", "is inside the protected system directory /etc"},
		{"/srv/kubelet-link/pods", "is inside the protected state directory /var/lib/kubelet, where only"},
		{"/home/alice/data/etc/x", "is inside the protected system directory /etc"},
		{"/srv/vol", ""}, // a link to a volume directory
		{"/var/lib/mysql-link", "is a service's state directory"}, // the link's own path matches
	} {
		err := checkProtected(tc.path, homes(getenv, homeOf), resolve)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.path, err)
		case tc.want != "" && err == nil:
			t.Errorf("%q allowed, want refused: %s", tc.path, tc.want)
		case err != nil && !strings.HasPrefix(err.Rule, tc.want):
			t.Errorf("%q: rule %q, want it to start with %q", tc.path, err.Rule, tc.want)
		case err != nil && !errors.Is(err, ErrProtectedPath):
			t.Errorf("%q: %v does not match ErrProtectedPath", tc.path, err)
		}
	}
}

func TestProtectedPathErrorText(t *testing.T) {
	err := checkProtected("/srv/../etc/ssh", nil, nil)
	want := "relabeling this system path is not allowed: /etc/ssh is inside the protected system directory /etc"
	if err == nil || err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}
