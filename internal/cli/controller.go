package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"

	"github.com/selmount/selmount/admission/mutate"
	"github.com/selmount/selmount/clusterread"
	"github.com/selmount/selmount/controller"
	"github.com/selmount/selmount/controller/metricsauth"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/mcsalloc"
)

func init() {
	register(newControllerCmd)
	register(newStatusCmd)
}

// LeaseName is the Lease the controller replicas elect a leader with.
const LeaseName = "selmount-controller"

type controllerOptions struct {
	config *genericclioptions.ConfigFlags
	// disableCompression is --disable-compression (see addFlags).
	disableCompression bool
	leaderElect        bool
	leNamespace        string
	metricsAddr        string
	metricsSecure      bool
	profiling          bool
	metricsCertDir     string
	probeAddr          string
	workers            int
	targetVersion      string
	nsLabel            bool
	logFormat          string
	verbosity          int
	ownNamespace       string
	allocate           bool
}

// namespace is selmount's own namespace: --selmount-namespace, else
// $POD_NAMESPACE, else selmount-system.
func (o *controllerOptions) namespace() string {
	for _, ns := range []string{o.ownNamespace, os.Getenv("POD_NAMESPACE")} {
		if ns != "" {
			return ns
		}
	}
	return "selmount-system"
}

// serviceConfigFlags are the kubectl connection flags of the long-running
// commands (controller, webhook) but --disable-compression, which addFlags
// defines itself, true by default: see controllerOptions.disableCompression.
// (ConfigFlags' own flag, set to true, is an override that makes client-go
// skip the in-cluster configuration.)
func serviceConfigFlags() *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true)
	f.DisableCompression = nil
	return f
}

func newControllerCmd() *cobra.Command {
	o := &controllerOptions{config: serviceConfigFlags()}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Watch the cluster and report SELinux volume conflicts as events, metrics and status",
		Long: `controller runs inside the cluster (or outside it, with the kubectl connection
flags) and keeps what "check -A" finds up to date: it writes Warning events on the
workloads involved (never naming another namespace's objects), serves Prometheus
metrics, and writes the ClusterSELinuxReport "cluster" and a SELinuxReport "report"
in each namespace with findings. See docs/controller.md.

Only the leader writes events and status when --leader-elect is set. SIGTERM stops
it gracefully.`,
		Example: `  # Run outside the cluster against the current kubectl context
  selmount controller --metrics-bind-address 127.0.0.1:8080 --metrics-secure=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd, nil) },
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.allocate, "allocate-levels", false, "give every namespace labelled "+mutate.OptInLabel+"=enabled a level of its own (annotation "+mcsalloc.Annotation+") and retire deleted namespaces' levels; leader only")
	return cmd
}

// addFlags adds the controller's flags (shared with the webhook command).
func (o *controllerOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	o.config.AddFlags(f)
	// As the kube-controller-manager and the scheduler configure their
	// clients: next to the API server, gzip costs CPU on both sides and
	// saves nothing (in a profile of the controller catching up with 10,000
	// pods, where Kubernetes 1.37 compresses the informers' watch-lists,
	// the decompression was an eighth of its CPU).
	f.BoolVar(&o.disableCompression, "disable-compression", true, "ask the API server for uncompressed responses, as the kube-controller-manager does; false across a slow link")
	f.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader with a Lease "+LeaseName+"; only the leader writes events and status")
	f.StringVar(&o.ownNamespace, "selmount-namespace", "", "selmount's own namespace: the Lease, the level allocator's ledger ConfigMap, the webhook's certificate Secret (default: $POD_NAMESPACE, else selmount-system)")
	f.StringVar(&o.leNamespace, "leader-elect-namespace", "", "namespace of the Lease (default: --selmount-namespace)")
	f.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", `address of the metrics endpoint; "0" disables it`)
	f.BoolVar(&o.metricsSecure, "metrics-secure", true, "serve metrics over HTTPS to bearer tokens allowed to get /metrics (TokenReview, SubjectAccessReview); false is allowed on a loopback address only")
	f.BoolVar(&o.profiling, "profiling", false, "also serve Go's profiles (/debug/pprof/) on the metrics endpoint, to bearer tokens allowed to get /debug/pprof when --metrics-secure")
	f.StringVar(&o.metricsCertDir, "metrics-cert-dir", "", "directory with tls.crt and tls.key for the metrics endpoint (default: a self-signed certificate made at start)")
	f.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz (ready once the informers have synced)")
	f.IntVar(&o.workers, "workers", 2, "number of workers")
	f.StringVar(&o.targetVersion, "target-version", "", "Kubernetes version to check against (default: 1.37, or the cluster's version when newer)")
	f.BoolVar(&o.nsLabel, "metrics-namespace-label", false, "add a namespace label to selmount_findings (one series per namespace with findings)")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity")
}

// extension adds servers and readiness to the controller's run: the
// webhook command runs the controller and the webhook in one process,
// sharing the informers.
type extension interface {
	// validate checks the extension's flags before any connection.
	validate() error
	// start is called once the controller is built, before the informers
	// start; it registers informers and starts its servers with env.
	start(ctx context.Context, env *runEnv) error
	// ready says why the process is not ready yet; nil when it is.
	ready() error
}

// runEnv is what an extension gets to build on.
type runEnv struct {
	client     kubernetes.Interface
	factory    informers.SharedInformerFactory
	controller *controller.Controller
	leading    func() bool
	registry   *prometheus.Registry
	// allocator gives namespaces their levels; nil with --allocate-levels=false.
	allocator *mcsalloc.Allocator
	// namespace is selmount's own namespace.
	namespace string
	// goroutine runs f until ctx is done; an error it returns stops the
	// command.
	goroutine func(name string, f func() error)
}

// validate checks the flags that do not need a cluster.
func (o *controllerOptions) validate() (kubever.Version, error) {
	var target kubever.Version
	if o.logFormat != "text" && o.logFormat != "json" {
		return target, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.workers < 1 {
		return target, fmt.Errorf("--workers %d: want at least 1", o.workers)
	}
	if !o.metricsSecure && o.metricsAddr != "0" && !metricsauth.IsLoopback(o.metricsAddr) {
		return target, fmt.Errorf("--metrics-secure=false with --metrics-bind-address %q: plain HTTP is allowed on a loopback address only (such as 127.0.0.1:8080)", o.metricsAddr)
	}
	if o.targetVersion != "" {
		v, err := kubever.ParseVersion(o.targetVersion)
		if err != nil {
			return target, fmt.Errorf("--target-version: %w", err)
		}
		target = v
	}
	return target, nil
}

func (o *controllerOptions) logger(w io.Writer) logr.Logger {
	if o.logFormat == "json" {
		return funcr.NewJSON(func(obj string) { fmt.Fprintln(w, obj) }, funcr.Options{Verbosity: o.verbosity, LogTimestamp: true})
	}
	return textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.verbosity), textlogger.Output(w)))
}

func (o *controllerOptions) run(cmd *cobra.Command, ext extension) error {
	fail := func(err error) error { return &ExitCodeError{Code: ExitError, Err: err} }
	target, err := o.validate()
	if err != nil {
		return fail(err)
	}
	if ext != nil {
		if err := ext.validate(); err != nil {
			return fail(err)
		}
	}
	tuneGCService()
	logger := o.logger(cmd.ErrOrStderr())
	klog.SetLogger(logger)
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx = klog.NewContext(ctx, logger)

	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return fail(fmt.Errorf("connecting to the cluster: %w", err))
	}
	cfg.DisableCompression = o.disableCompression
	// The reads, the events and the Lease have clients (rate limiters) of
	// their own, as the kube-controller-manager's leader election has: a
	// backlog of events must never delay a lease renewal, nor the reads.
	var clients [3]kubernetes.Interface
	for i := range clients {
		if clients[i], err = clusterread.NewClient(cfg); err != nil {
			return fail(err)
		}
	}
	client, eventsClient, leaseClient := clients[0], clients[1], clients[2]
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fail(err)
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: eventsClient.EventsV1()})
	defer broadcaster.Shutdown()
	stopEvents, err := controller.WriteEvents(ctx, broadcaster, eventsClient.EventsV1())
	if err != nil {
		return fail(err)
	}
	defer stopEvents()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "selmount-controller")

	var leading atomic.Bool
	leading.Store(!o.leaderElect)
	factory := informers.NewSharedInformerFactory(client, 0)
	opts := controller.Options{Target: target, Dynamic: dyn, Recorder: recorder, Leading: leading.Load, NamespaceLabel: o.nsLabel}
	if ext != nil {
		opts.SerialSync, opts.Batch = true, controller.AdmissionBatch
	}
	c, err := controller.New(ctx, client, factory, opts)
	if err != nil {
		return fail(err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	registry := c.NewRegistry(buildVersion().Version)
	var alloc *mcsalloc.Allocator
	if o.allocate {
		if alloc, err = mcsalloc.New(client, mcsalloc.Options{Namespace: o.namespace()}); err != nil {
			return fail(err)
		}
		keeper, err := mcsalloc.NewKeeper(alloc, factory.Core().V1().Namespaces(),
			mcsalloc.KeeperOptions{OptedIn: mutate.OptedIn, Leading: leading.Load, Allocate: true})
		if err != nil {
			return fail(err)
		}
		wg.Go(func() { keeper.Run(ctx) })
	}
	if ext != nil {
		env := &runEnv{client: client, factory: factory, controller: c, leading: leading.Load, registry: registry,
			allocator: alloc, namespace: o.namespace(),
			goroutine: func(name string, f func() error) {
				wg.Go(func() {
					if err := f(); err != nil {
						errc <- fmt.Errorf("%s: %w", name, err)
						stop() // one part failing stops the command
					}
				})
			}}
		if err := ext.start(ctx, env); err != nil {
			stop()
			wg.Wait()
			return fail(err)
		}
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	serve := func(name, addr string, h http.Handler, secure bool) {
		wg.Go(func() {
			var err error
			if secure {
				cfg, cerr := metricsauth.TLSConfig(o.metricsCertDir)
				if cerr != nil {
					errc <- cerr
					return
				}
				err = metricsauth.Serve(ctx, addr, h, cfg)
			} else {
				err = metricsauth.Serve(ctx, addr, h, nil)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s server: %w", name, err)
			}
		})
	}
	if o.probeAddr != "0" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			if !c.InformersSynced() {
				http.Error(w, "informers not synced", http.StatusServiceUnavailable)
				return
			}
			if ext != nil {
				if err := ext.ready(); err != nil {
					http.Error(w, err.Error(), http.StatusServiceUnavailable)
					return
				}
			}
			fmt.Fprintln(w, "ok")
		})
		serve("health probe", o.probeAddr, mux, false)
	}
	if o.metricsAddr != "0" {
		var h http.Handler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
		if o.metricsSecure {
			h = metricsauth.NewAuthorizer(client, "/metrics").Wrap(h)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", h)
		if o.profiling {
			profiles(mux, client, o.metricsSecure)
		}
		serve("metrics", o.metricsAddr, mux, o.metricsSecure)
	}
	if o.leaderElect {
		wg.Go(func() { o.elect(ctx, leaseClient, &leading, c) })
	}
	runErr := c.Run(ctx, o.workers)
	stop()
	wg.Wait()
	close(errc)
	errs := []error{runErr}
	for err := range errc {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	return nil
}

// elect campaigns for the Lease until ctx is done; a replica that loses
// the lease stops writing and campaigns again.
func (o *controllerOptions) elect(ctx context.Context, client kubernetes.Interface, leading *atomic.Bool, c *controller.Controller) {
	logger := klog.FromContext(ctx)
	ns := o.leNamespace
	if ns == "" {
		ns = o.namespace()
	}
	host, _ := os.Hostname()
	id := host + "_" + string(uuid.NewUUID())
	lock := &resourcelock.LeaseLock{LeaseMeta: metav1.ObjectMeta{Namespace: ns, Name: LeaseName}, Client: client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id}}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, ReleaseOnCancel: true, Name: LeaseName,
			LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					logger.Info("Became the leader", "identity", id)
					leading.Store(true)
					c.Resync()
				},
				OnStoppedLeading: func() {
					leading.Store(false)
					logger.Info("Stopped leading", "identity", id)
				},
			},
		})
		if err != nil {
			logger.Error(err, "Cannot elect a leader")
			return
		}
		le.Run(ctx)
	}
}

type statusOptions struct {
	config *genericclioptions.ConfigFlags
	output string
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{config: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the cluster's SELinux readiness, as selmount controller last computed it",
		Long: `status prints the ClusterSELinuxReport "cluster" that selmount controller writes:
whether the cluster is ready for the target version, the counts of findings per type
and severity, and the workloads with most findings.`,
		Example: `  selmount status
  selmount status -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.config.AddFlags(cmd.Flags())
	addOutputFlag(cmd, &o.output, "o", formatText, formatJSON, formatYAML)
	return cmd
}

func (o *statusOptions) run(cmd *cobra.Command) error {
	fail := func(err error) error { return &ExitCodeError{Code: ExitError, Err: err} }
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return fail(fmt.Errorf("connecting to the cluster: %w", err))
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fail(err)
	}
	u, err := dyn.Resource(controller.ClusterReportResource).Get(ctx, controller.ClusterReportName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fail(fmt.Errorf("no ClusterSELinuxReport %q: is selmount controller running (and its CRDs installed)?", controller.ClusterReportName))
	}
	if err != nil {
		return fail(fmt.Errorf("reading ClusterSELinuxReport %q: %w", controller.ClusterReportName, err))
	}
	obj := u.Object
	delete(obj["metadata"].(map[string]any), "managedFields")
	return writeOutput(cmd.OutOrStdout(), o.output, obj, func(w io.Writer) error { return writeStatusText(w, obj) })
}

// writeStatusText prints a ClusterSELinuxReport for people.
func writeStatusText(w io.Writer, obj map[string]any) error {
	st, _ := obj["status"].(map[string]any)
	str := func(m map[string]any, k string) string { return fmt.Sprint(orEmpty(m[k])) }
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s%s", "Target version:", str(st, "targetVersion"))
	if cur := str(st, "currentVersion"); cur != "" {
		fmt.Fprintf(&b, " (the cluster runs %s)", cur)
	}
	b.WriteString("\n")
	conds, _ := st["conditions"].([]any)
	for _, c := range conds {
		m, _ := c.(map[string]any)
		fmt.Fprintf(&b, "%-18s%s: %s\n", str(m, "type")+":", str(m, "status"), str(m, "message"))
	}
	fmt.Fprintf(&b, "%-18s%s errors, %s warnings, %s infos; %s conflicting volumes; %s input errors\n", "Findings:",
		str(st, "errors"), str(st, "warnings"), str(st, "infos"), str(st, "conflictingVolumes"), str(st, "inputErrors"))
	fmt.Fprintf(&b, "%-18s%s\n", "Computed:", str(st, "lastComputed"))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if counts, _ := st["counts"].([]any); len(counts) > 0 {
		fmt.Fprintln(tw, "\nTYPE\tSEVERITY\tPROPERTY\tCOUNT")
		for _, c := range counts {
			m, _ := c.(map[string]any)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", str(m, "type"), str(m, "severity"), str(m, "property"), str(m, "count"))
		}
	}
	if offenders, _ := st["topOffenders"].([]any); len(offenders) > 0 {
		fmt.Fprintln(tw, "\nKIND\tNAMESPACE\tNAME\tERRORS\tFINDINGS")
		for _, c := range offenders {
			m, _ := c.(map[string]any)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", str(m, "kind"), str(m, "namespace"), str(m, "name"), str(m, "errors"), str(m, "findings"))
		}
	}
	return tw.Flush()
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// profiles serves Go's profiles under /debug/pprof/ on mux, as the
// kube-controller-manager does with --profiling: to bearer tokens allowed to
// get the non-resource URL /debug/pprof when secure.
func profiles(mux *http.ServeMux, client kubernetes.Interface, secure bool) {
	wrap := func(h http.HandlerFunc) http.Handler { return h }
	if secure {
		auth := metricsauth.NewAuthorizer(client, "/debug/pprof")
		wrap = func(h http.HandlerFunc) http.Handler { return auth.Wrap(h) }
	}
	mux.Handle("/debug/pprof/", wrap(pprof.Index)) // the named profiles: heap, goroutine, allocs...
	mux.Handle("/debug/pprof/cmdline", wrap(pprof.Cmdline))
	mux.Handle("/debug/pprof/profile", wrap(pprof.Profile))
	mux.Handle("/debug/pprof/symbol", wrap(pprof.Symbol))
	mux.Handle("/debug/pprof/trace", wrap(pprof.Trace))
}
