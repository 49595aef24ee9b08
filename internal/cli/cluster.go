package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // cloud and OIDC credential plugins, as kubectl has them

	"github.com/selmount/selmount/clusterread"
)

// clusterOptions are the kubectl-style flags for reading a live cluster.
type clusterOptions struct {
	config        *genericclioptions.ConfigFlags
	allNamespaces bool
	pageSize      int64
}

func newClusterOptions() *clusterOptions {
	return &clusterOptions{config: genericclioptions.NewConfigFlags(true), pageSize: clusterread.DefaultPageSize}
}

func (o *clusterOptions) addFlags(cmd *cobra.Command) {
	o.config.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "read every namespace (default: the namespace of the current context, or -n)")
}

// read reads the cluster of the kubeconfig context (see clusterread.Read).
func (o *clusterOptions) read(cmd *cobra.Command) (*clusterread.Result, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if k := o.config.KubeConfig; k != nil && *k != "" {
		if _, err := os.Stat(*k); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("--kubeconfig %s does not exist", *k)
		}
	}
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the cluster (use -f to check manifests instead): %w", err)
	}
	cs, err := clusterread.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	opt := clusterread.Options{PageSize: o.pageSize}
	if !o.allNamespaces {
		opt.Namespace, _, err = o.config.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return nil, err
		}
	}
	progress := newProgress(cmd.ErrOrStderr())
	defer progress.done()
	opt.Progress = progress.update
	return clusterread.Read(ctx, cs, opt)
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
