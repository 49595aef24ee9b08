package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/admission/certs"
	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/admission/webhook"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/controller/metricsauth"
	"github.com/selmount/selmount/mcsalloc"
)

func init() {
	register(newWebhookCmd)
}

type webhookOptions struct {
	addr        string
	deny        bool
	certDir     string
	secretName  string
	serviceName string
	extraNames  []string
	validating  []string
	mutating    []string

	dir    *certs.DirSource             // set by validate, with --cert-dir
	source atomic.Pointer[certs.Source] // set by start
	synced atomic.Pointer[controller.Controller]
}

func newWebhookCmd() *cobra.Command {
	o := &controllerOptions{config: serviceConfigFlags()}
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
             and seLinuxChangePolicy from the namespace. With --allocate-levels (the
             default) every opted-in namespace gets a level of its own when it opts
             in, or at its first pod if that comes first.

No API call is made while answering, except that allocation. Until the caches have
synced every request is allowed unchanged. /readyz is ready once the informers have
synced, the first analysis of the cluster is done and a serving certificate is
loaded.

The serving certificate comes from --cert-dir (tls.crt and tls.key, as cert-manager
or a mounted Secret provides them; reloaded when they change), or selmount manages
it (--cert-secret-name): a self-signed CA and serving certificate in that Secret in
--selmount-namespace, renewed before expiry, the CA written as caBundle into the
webhook configurations named by --validating-webhook-configuration and
--mutating-webhook-configuration. Only the leader writes. See docs/admission.md.`,
		Example: `  # Serve with a certificate from a mounted Secret (cert-manager)
  selmount webhook --cert-dir /tmp/k8s-webhook-server/serving-certs --leader-elect

  # Manage the certificate and the caBundles, as the Helm chart does by default
  selmount webhook --leader-elect --cert-secret-name selmount-webhook-cert \
    --webhook-service-name selmount-webhook \
    --validating-webhook-configuration selmount-webhook \
    --mutating-webhook-configuration selmount-webhook`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, w) },
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.allocate, "allocate-levels", true, "give every namespace labelled "+mutate.OptInLabel+"=enabled a level of its own (annotation "+mcsalloc.Annotation+"), at the latest at its first pod, and retire deleted namespaces' levels")
	f.StringVar(&w.addr, "webhook-bind-address", ":9443", "address of the webhook's HTTPS endpoint (/validate, /mutate)")
	f.BoolVar(&w.deny, "deny", false, "reject conflicting objects in every namespace, not only in namespaces labelled selmount.io/enforce=deny")
	f.StringVar(&w.certDir, "cert-dir", "", "directory with the serving certificate tls.crt and key tls.key (reloaded when they change); or use --cert-secret-name")
	f.StringVar(&w.secretName, "cert-secret-name", "", "manage a self-signed CA and serving certificate in this Secret of --selmount-namespace; or use --cert-dir")
	f.StringVar(&w.serviceName, "webhook-service-name", "", "the webhook's Service in --selmount-namespace, named by the managed certificate")
	f.StringSliceVar(&w.extraNames, "cert-extra-names", nil, "more DNS names (or IP addresses) for the managed certificate")
	f.StringSliceVar(&w.validating, "validating-webhook-configuration", nil, "ValidatingWebhookConfiguration whose caBundle the managed certificate's CA is written to (repeatable)")
	f.StringSliceVar(&w.mutating, "mutating-webhook-configuration", nil, "MutatingWebhookConfiguration whose caBundle the managed certificate's CA is written to (repeatable)")
	return cmd
}

func (w *webhookOptions) validate() error {
	managed := w.secretName != "" || w.serviceName != "" || len(w.extraNames) > 0 || len(w.validating) > 0 || len(w.mutating) > 0
	switch {
	case w.certDir != "" && managed:
		return errors.New("--cert-dir takes the certificate from files; it excludes --cert-secret-name, --webhook-service-name, --cert-extra-names and the webhook configuration flags")
	case w.certDir == "" && w.secretName == "":
		return errors.New("no serving certificate: give --cert-dir (a directory with tls.crt and tls.key) or --cert-secret-name (selmount manages one)")
	case w.secretName != "" && w.serviceName == "" && len(w.extraNames) == 0:
		return errors.New("--cert-secret-name needs --webhook-service-name (or --cert-extra-names): the certificate must name the address the apiserver calls")
	}
	if w.certDir != "" {
		// Read before connecting, so that a wrong directory fails at once.
		d, err := certs.NewDirSource(w.certDir)
		if err != nil {
			return fmt.Errorf("--cert-dir: %w", err)
		}
		w.dir = d
	}
	return nil
}

func (w *webhookOptions) start(ctx context.Context, env *runEnv) error {
	logger := klog.FromContext(ctx)
	var src certs.Source
	if w.dir != nil {
		src = w.dir
	} else {
		m, err := certs.NewManager(env.client, certs.ManagerOptions{
			Namespace: env.namespace, SecretName: w.secretName, ServiceName: w.serviceName,
			ExtraDNSNames: w.extraNames, ValidatingWebhooks: w.validating, MutatingWebhooks: w.mutating,
			Leading: env.leading,
		})
		if err != nil {
			return err
		}
		src = m
	}
	w.source.Store(&src)
	w.synced.Store(env.controller)
	env.goroutine("serving certificate", func() error { return src.Run(ctx) })

	opts := webhook.Options{Deny: w.deny, Registerer: env.registry}
	if env.allocator != nil { // a nil *Allocator in the interface would not be nil
		opts.Allocator = env.allocator
	}
	h, err := webhook.New(env.controller, opts)
	if err != nil {
		return err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: src.GetCertificate}
	env.goroutine("webhook server", func() error {
		logger.Info("Serving the admission webhook", "address", w.addr)
		if err := metricsauth.Serve(ctx, w.addr, h, cfg); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// ready: a serving certificate, and the first sync done, so that the
// answers come from an index of the whole cluster (until then every request
// is allowed without a word, and the Service should send it elsewhere).
func (w *webhookOptions) ready() error {
	if src := w.source.Load(); src == nil || !(*src).Ready() {
		return errors.New("no serving certificate loaded")
	}
	if c := w.synced.Load(); c == nil || !c.HasSynced() {
		return errors.New("the first analysis of the cluster is not done")
	}
	return nil
}
