// Package clusterread reads the objects `selmount check` analyses from a
// live cluster, page by page, into check.Objects.
//
// Every page is slimmed (check.Slim) as it arrives, so a cluster of 100,000
// pods is never held whole. A resource type the client may not list
// (Forbidden) is a warning, not an error: that type is left out and the
// rest is read, as kubectl does. Use NewClient for a client that asks for
// protobuf, several times faster to decode than JSON on large lists.
package clusterread

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/selmount/selmount/check"
)

// DefaultPageSize is the number of objects asked for per list call.
const DefaultPageSize = 500

// Options tune Read. The zero value reads all namespaces in pages of
// DefaultPageSize.
type Options struct {
	// Namespace limits the namespaced objects to one namespace; "" reads
	// all. Cluster-scoped objects (Nodes, PersistentVolumes, ...) are read
	// in full either way, and so are DaemonSets, for the CSI node plugins
	// that live in their drivers' namespaces.
	Namespace string
	// PageSize is the list limit; <= 0 means DefaultPageSize.
	PageSize int64
	// Progress, when set, is called after every page with the resource
	// being listed ("pods") and how many of it have been read so far.
	Progress func(resource string, n int)
}

// Result is what Read found.
type Result struct {
	// Objects are the slimmed objects. DaemonSets outside Namespace are in
	// Objects.NodePlugins.
	Objects check.Objects
	// ServerVersion is the API server's gitVersion ("v1.36.2").
	ServerVersion string
	// AllDaemonSets is true when every DaemonSet of the cluster was read
	// (as Objects.DaemonSets or Objects.NodePlugins), so that a CSI driver
	// without a node plugin can be told apart from one that was not seen.
	AllDaemonSets bool
	// Forbidden lists the resources ("pods", "daemonsets in all
	// namespaces") the client may not list: they are left out.
	Forbidden []string
	// Warnings say what was left out and what that means for the check.
	Warnings []string
}

// NewClient returns a clientset for cfg (which is not modified) that asks
// for protobuf, with JSON as the fallback, as kubectl does for built-in
// types, and that may send 50 requests per second (bursts of 100): reading
// a large cluster takes hundreds of pages.
func NewClient(cfg *rest.Config) (kubernetes.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst = 50, 100
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c.ContentType = "application/vnd.kubernetes.protobuf"
	return kubernetes.NewForConfig(c)
}

// Read lists, in pages, the Namespaces, Nodes, CSIDrivers, StorageClasses,
// PersistentVolumes, PersistentVolumeClaims, workloads and Pods that check
// reads. It fails when the API server cannot be reached or a list fails
// for another reason than RBAC.
func Read(ctx context.Context, cs kubernetes.Interface, opt Options) (*Result, error) {
	if opt.PageSize <= 0 {
		opt.PageSize = DefaultPageSize
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cannot reach the API server: %w", err)
	}
	res := &Result{ServerVersion: v.GitVersion}
	o := &res.Objects
	for _, l := range listers(cs, o) {
		ns := opt.Namespace
		if !l.namespaced {
			ns = ""
		}
		if err := listAll(ctx, l, ns, opt); err != nil {
			if apierrors.IsForbidden(err) {
				res.Forbidden = append(res.Forbidden, l.resource)
				res.Warnings = append(res.Warnings, fmt.Sprintf("cannot list %s: forbidden by RBAC; they are left out of the check", l.resource))
				continue
			}
			return nil, fmt.Errorf("listing %s: %w", l.resource, err)
		}
	}
	if opt.Namespace == "" {
		res.AllDaemonSets = true
		return res, nil
	}
	// Node plugin DaemonSets live in driver namespaces: they are listed
	// cluster-wide for the readiness check, without being checked as
	// workloads.
	switch err := listAll(ctx, daemonSets(cs, &o.NodePlugins), "", opt); {
	case err == nil:
		res.AllDaemonSets = true
	case apierrors.IsForbidden(err):
		res.Forbidden = append(res.Forbidden, "daemonsets in all namespaces")
		res.Warnings = append(res.Warnings, "cannot list DaemonSets in all namespaces: CSI node plugins are not checked")
	default:
		return nil, fmt.Errorf("listing daemonsets: %w", err)
	}
	return res, nil
}

// listAll lists every page of l in ns.
func listAll(ctx context.Context, l lister, ns string, opt Options) error {
	lo := metav1.ListOptions{Limit: opt.PageSize}
	n := 0
	for {
		got, cont, err := l.list(ctx, ns, lo)
		if err != nil {
			return err
		}
		n += got
		if opt.Progress != nil {
			opt.Progress(l.resource, n)
		}
		if cont == "" {
			return nil
		}
		lo.Continue = cont
	}
}
