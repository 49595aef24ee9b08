package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/admission/webhook"
	"github.com/selmount/selmount/controller/metricsauth"
	"github.com/selmount/selmount/mcsalloc"
)

func init() {
	register(newWebhookCmd)
}

type webhookOptions struct {
	addr      string
	certDir   string
	deny      bool
	namespace string
	allocate  bool
	certs     *dirCert
}

func newWebhookCmd() *cobra.Command {
	o := &controllerOptions{config: genericclioptions.NewConfigFlags(true)}
	w := &webhookOptions{}
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Run the controller and the admission webhook (warn about, or deny, conflicts; per-namespace SELinux defaults)",
		Long: `webhook runs everything "selmount controller" does and, in the same process and on
the same informers, serves an admission webhook over HTTPS:

  /validate  on CREATE and UPDATE of Pods and workloads, warns (admission warnings)
             when the object would conflict with the current users of its volumes,
             as of the controller's last sync; in namespaces labelled
             selmount.io/enforce=deny (or everywhere with --deny) it rejects an
             object that conflicts with a running user the kubelet keeps.
  /mutate    on CREATE of a Pod in a namespace labelled
             selmount.io/selinux-defaults=enabled, fills the pod-level SELinux level
             and seLinuxChangePolicy from the namespace, allocating the namespace's
             level on its first pod (--allocate-levels).

No API call is made while answering, except that allocation. Until the caches have
synced every request is allowed unchanged. /readyz is ready once the informers have
synced and a serving certificate is loaded. The webhook configurations (URL or
Service, caBundle, failurePolicy Ignore) are installed separately. See
docs/admission.md.`,
		Example: `  # Serve with a certificate from a mounted Secret
  selmount webhook --cert-dir /tmp/k8s-webhook-server/serving-certs --leader-elect`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, w) },
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&w.addr, "webhook-bind-address", ":9443", "address of the webhook's HTTPS endpoint (/validate, /mutate)")
	f.StringVar(&w.certDir, "cert-dir", "", "directory with the serving certificate tls.crt and key tls.key (reloaded when they change); required")
	f.BoolVar(&w.deny, "deny", false, "reject conflicting objects in every namespace, not only in namespaces labelled selmount.io/enforce=deny")
	f.StringVar(&w.namespace, "webhook-namespace", "", "namespace of the level allocator's ledger ConfigMap (default: $POD_NAMESPACE, else selmount-system)")
	f.BoolVar(&w.allocate, "allocate-levels", true, "allocate a level for an opted-in namespace that has none, at its first pod")
	return cmd
}

func (w *webhookOptions) validate() error {
	if w.certDir == "" {
		return errors.New("--cert-dir is required: a directory with tls.crt and tls.key")
	}
	c, err := newDirCert(w.certDir)
	if err != nil {
		return err
	}
	w.certs = c
	return nil
}

func (w *webhookOptions) ready() error {
	if !w.certs.Ready() {
		return errors.New("no serving certificate loaded")
	}
	return nil
}

func (w *webhookOptions) start(ctx context.Context, env *runEnv) error {
	logger := klog.FromContext(ctx)
	opts := webhook.Options{Deny: w.deny, Registerer: env.registry}
	var alloc *mcsalloc.Allocator
	if w.allocate {
		ns := w.namespace
		if ns == "" {
			ns = os.Getenv("POD_NAMESPACE")
		}
		if ns == "" {
			ns = "selmount-system"
		}
		var err error
		if alloc, err = mcsalloc.New(env.client, mcsalloc.Options{Namespace: ns}); err != nil {
			return err
		}
		opts.Allocator = alloc
		// A deleted namespace's level stays reserved while a retained
		// volume may hold its files (the leader records it).
		_, err = env.factory.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				ns, ok := obj.(*corev1.Namespace)
				if !ok || !env.leading() {
					return
				}
				if err := alloc.Retire(ctx, ns); err != nil {
					logger.Error(err, "Cannot record the retired level of a deleted namespace", "namespace", ns.Name)
				}
			},
		})
		if err != nil {
			return fmt.Errorf("adding the namespace handler: %w", err)
		}
	}
	h, err := webhook.New(env.controller, opts)
	if err != nil {
		return err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: w.certs.GetCertificate}
	env.goroutine("webhook server", func() error {
		logger.Info("Serving the admission webhook", "address", w.addr)
		if err := metricsauth.Serve(ctx, w.addr, h, cfg); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// dirCert serves tls.crt and tls.key of a directory (a mounted Secret,
// cert-manager's), reloading them when their modification time changes, at
// most every few seconds.
type dirCert struct {
	dir     string
	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time
	checked time.Time
}

func newDirCert(dir string) (*dirCert, error) {
	c := &dirCert{dir: dir}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *dirCert) load() error {
	crt, key := filepath.Join(c.dir, "tls.crt"), filepath.Join(c.dir, "tls.key")
	st, err := os.Stat(crt)
	if err != nil {
		return fmt.Errorf("--cert-dir %s: %w", c.dir, err)
	}
	if st.ModTime().Equal(c.mod) && c.cert != nil {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return fmt.Errorf("--cert-dir %s: %w", c.dir, err)
	}
	c.cert, c.mod = &pair, st.ModTime()
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *dirCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) > 10*time.Second {
		c.checked = time.Now()
		if err := c.load(); err != nil {
			klog.Background().Error(err, "Cannot reload the serving certificate; serving the last one")
		}
	}
	return c.cert, nil
}

// Ready reports whether a certificate is loaded.
func (c *dirCert) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert != nil
}
