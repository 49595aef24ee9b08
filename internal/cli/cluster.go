package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud and OIDC credential plugins, as kubectl has them

	"github.com/selmount/selmount/check"
)

// clusterOptions are the kubectl-style flags for reading a live cluster.
type clusterOptions struct {
	config        *genericclioptions.ConfigFlags
	allNamespaces bool
	pageSize      int64
}

func newClusterOptions() *clusterOptions {
	return &clusterOptions{config: genericclioptions.NewConfigFlags(true), pageSize: 500}
}

func (o *clusterOptions) addFlags(cmd *cobra.Command) {
	o.config.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "read every namespace (default: the namespace of the current context, or -n)")
}

type clusterResult struct {
	objects          []any
	serverVersion    string
	daemonSetsListed bool
	warnings         []string
}

// lister lists one resource type page by page.
type lister struct {
	name       string
	namespaced bool
	list       func(ctx context.Context, ns string, opts metav1.ListOptions) (items []any, cont string, err error)
}

func (o *clusterOptions) load(cmd *cobra.Command) (*clusterResult, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster (use -f to check manifests instead): %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	// Built-in types only: protobuf decodes several times faster than JSON
	// on large lists (kubectl does the same), with JSON as the fallback.
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	res := &clusterResult{}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("cannot reach the API server: %w", err)
	}
	res.serverVersion = v.GitVersion

	ns := ""
	if !o.allNamespaces {
		ns, _, err = o.config.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return nil, err
		}
	}
	progress := newProgress(cmd.ErrOrStderr())
	defer progress.done()
	for _, l := range listers(cs) {
		scope := ns
		if !l.namespaced {
			scope = ""
		}
		// Slimmed page by page: a large cluster is never held whole.
		err := o.listAll(ctx, l, scope, func(obj any) { check.Slim(obj); res.objects = append(res.objects, obj) }, progress)
		if err != nil {
			if apierrors.IsForbidden(err) {
				res.warnings = append(res.warnings, fmt.Sprintf("cannot list %s: forbidden by RBAC; they are left out of the check", l.name))
				continue
			}
			return nil, fmt.Errorf("listing %s: %w", l.name, err)
		}
	}
	// Node plugin DaemonSets live in driver namespaces: list them cluster-wide
	// for the readiness check, without checking them as workloads.
	if ns != "" {
		dsl := daemonSetLister(cs)
		err := o.listAll(ctx, dsl, "", func(obj any) { res.objects = append(res.objects, nodePluginCandidate{obj}) }, progress)
		switch {
		case err == nil:
			res.daemonSetsListed = true
		case apierrors.IsForbidden(err):
			res.warnings = append(res.warnings, "cannot list DaemonSets in all namespaces: CSI node plugins are not checked")
		default:
			return nil, fmt.Errorf("listing daemonsets: %w", err)
		}
	} else {
		res.daemonSetsListed = true
	}
	return res, nil
}

// nodePluginCandidate wraps a DaemonSet outside the checked namespaces: it
// is read for CSI driver readiness only.
type nodePluginCandidate struct{ obj any }

func (o *clusterOptions) listAll(ctx context.Context, l lister, ns string, add func(any), p *progress) error {
	opts := metav1.ListOptions{Limit: o.pageSize}
	n := 0
	for {
		items, cont, err := l.list(ctx, ns, opts)
		if err != nil {
			return err
		}
		for _, it := range items {
			add(it)
		}
		n += len(items)
		p.update(l.name, n)
		if cont == "" {
			return nil
		}
		opts.Continue = cont
	}
}

// progress prints a live line on stderr when it is a terminal.
type progress struct {
	w    io.Writer
	on   bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(what string, n int) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[Klisting %s: %d", what, n)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
