package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	admissioninformers "k8s.io/client-go/informers/admissionregistration/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Defaults of ManagerOptions.
const (
	DefaultCAValidity    = 10 * 365 * 24 * time.Hour
	DefaultCertValidity  = 365 * 24 * time.Hour
	DefaultCheckInterval = 30 * time.Second
	// DefaultClusterDomain is the cluster DNS suffix of the longest name.
	DefaultClusterDomain = "cluster.local"
)

// retryDelay is how soon a failed sync is tried again (at most
// CheckInterval).
const retryDelay = 5 * time.Second

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Namespace and SecretName say where the CA and serving certificate
	// live. Both required.
	Namespace, SecretName string
	// ServiceName is the webhook's Service, in Namespace. The serving
	// certificate names svc, svc.ns, svc.ns.svc and svc.ns.svc.DOMAIN.
	// Required unless ExtraDNSNames is set.
	ServiceName string
	// ClusterDomain is DOMAIN above; "" means DefaultClusterDomain.
	ClusterDomain string
	// ExtraDNSNames are added to the serving certificate; one that is an IP
	// address (a webhook configuration with a url on 127.0.0.1, in tests)
	// becomes an IP SAN.
	ExtraDNSNames []string
	// ValidatingWebhooks and MutatingWebhooks name the configurations whose
	// webhooks get the CA bundle as caBundle. Empty: none.
	ValidatingWebhooks, MutatingWebhooks []string
	// Leading reports whether this replica may write (the Secret and the
	// caBundles). nil means always.
	Leading func() bool

	// CAValidity and CertValidity are the lifetimes of a new CA and serving
	// certificate; each is renewed two thirds into its life. 0 means
	// DefaultCAValidity and DefaultCertValidity.
	CAValidity, CertValidity time.Duration
	// CheckInterval is how often everything is checked besides the watch
	// events; 0 means DefaultCheckInterval.
	CheckInterval time.Duration
	// Clock is for tests; nil means the real clock.
	Clock clock.WithTicker
}

// Manager keeps a self-signed CA and a serving certificate in a Secret. See
// the package documentation for what it writes and when. It is safe for
// concurrent use.
type Manager struct {
	client kubernetes.Interface
	opts   ManagerOptions
	names  []string // the serving certificate's DNS names

	cert   atomic.Pointer[tls.Certificate]
	bundle atomic.Pointer[[]byte]

	secrets    cache.SharedIndexInformer
	validating []cache.SharedIndexInformer
	mutating   []cache.SharedIndexInformer
	kick       chan struct{}

	lastErr string // the last error Run logged, to log each once
}

var _ Source = (*Manager)(nil)

// NewManager manages a self-signed CA and serving certificate stored in a Secret,
// rotates them before expiry, and injects the CA bundle into the named
// Validating/MutatingWebhookConfigurations. Writes (Secret, caBundle) happen
// only on the leader (opts.Leading), every replica serves the Secret's cert.
// Nothing is read before Run.
func NewManager(client kubernetes.Interface, opts ManagerOptions) (*Manager, error) {
	switch {
	case client == nil:
		return nil, errors.New("certs.NewManager: nil client")
	case opts.Namespace == "":
		return nil, errors.New("certs.NewManager: ManagerOptions.Namespace is empty")
	case opts.SecretName == "":
		return nil, errors.New("certs.NewManager: ManagerOptions.SecretName is empty")
	case opts.ServiceName == "" && len(opts.ExtraDNSNames) == 0:
		return nil, errors.New("certs.NewManager: ManagerOptions.ServiceName and ExtraDNSNames are empty: the certificate would name nothing")
	case opts.CAValidity < 0 || opts.CertValidity < 0 || opts.CheckInterval < 0:
		return nil, errors.New("certs.NewManager: negative validity or check interval")
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = DefaultClusterDomain
	}
	if opts.CAValidity == 0 {
		opts.CAValidity = DefaultCAValidity
	}
	if opts.CertValidity == 0 {
		opts.CertValidity = DefaultCertValidity
	}
	if opts.CertValidity > opts.CAValidity {
		return nil, fmt.Errorf("certs.NewManager: CertValidity %v is longer than CAValidity %v", opts.CertValidity, opts.CAValidity)
	}
	if opts.CheckInterval == 0 {
		opts.CheckInterval = DefaultCheckInterval
	}
	if opts.Leading == nil {
		opts.Leading = func() bool { return true }
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	m := &Manager{client: client, opts: opts, names: dnsNames(opts), kick: make(chan struct{}, 1)}

	byName := func(name string) func(*metav1.ListOptions) {
		sel := fields.OneTermEqualSelector("metadata.name", name).String()
		return func(o *metav1.ListOptions) { o.FieldSelector = sel }
	}
	m.secrets = coreinformers.NewFilteredSecretInformer(client, opts.Namespace, 0, nil, byName(opts.SecretName))
	for _, n := range opts.ValidatingWebhooks {
		m.validating = append(m.validating, admissioninformers.NewFilteredValidatingWebhookConfigurationInformer(client, 0, nil, byName(n)))
	}
	for _, n := range opts.MutatingWebhooks {
		m.mutating = append(m.mutating, admissioninformers.NewFilteredMutatingWebhookConfigurationInformer(client, 0, nil, byName(n)))
	}
	return m, nil
}

// dnsNames returns the serving certificate's names, without duplicates.
func dnsNames(o ManagerOptions) []string {
	var names []string
	if s, ns := o.ServiceName, o.Namespace; s != "" {
		names = append(names, s, s+"."+ns, s+"."+ns+".svc", s+"."+ns+".svc."+o.ClusterDomain)
	}
	for _, n := range o.ExtraDNSNames {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// GetCertificate returns the serving certificate last read from the Secret.
// It is tls.Config.GetCertificate.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.cert.Load()
	if c == nil {
		return nil, fmt.Errorf("no serving certificate yet from Secret %s/%s", m.opts.Namespace, m.opts.SecretName)
	}
	return c, nil
}

// Ready reports whether a serving certificate is loaded.
func (m *Manager) Ready() bool { return m.cert.Load() != nil }

// CABundle returns the CA bundle last read from or written to the Secret
// (PEM, the current CA first), or nil before that.
func (m *Manager) CABundle() []byte {
	if b := m.bundle.Load(); b != nil {
		return slices.Clone(*b)
	}
	return nil
}

// Run watches the Secret and the webhook configurations and keeps them right
// until ctx is done; it returns nil then. Errors of one round are logged and
// the round is tried again shortly. Call it once.
func (m *Manager) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("secret", klog.KRef(m.opts.Namespace, m.opts.SecretName))
	ctx = klog.NewContext(ctx, logger)
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.trigger() },
		UpdateFunc: func(any, any) { m.trigger() },
		DeleteFunc: func(any) { m.trigger() },
	}
	informers := slices.Concat([]cache.SharedIndexInformer{m.secrets}, m.validating, m.mutating)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	synced := make([]cache.InformerSynced, 0, len(informers))
	for _, inf := range informers {
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return fmt.Errorf("certs: add event handler: %w", err)
		}
		synced = append(synced, reg.HasSynced)
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	logger.V(2).Info("Certificate manager started", "dnsNames", m.names)

	ticker := m.opts.Clock.NewTicker(m.opts.CheckInterval)
	defer ticker.Stop()
	var retry <-chan time.Time
	for {
		if err := m.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			m.logOnce(logger, err)
			retry = m.opts.Clock.After(min(retryDelay, m.opts.CheckInterval))
		} else {
			m.logOnce(logger, nil)
			retry = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
		case <-ticker.C():
		case <-retry:
		}
	}
}

// trigger asks Run for a sync soon; it never blocks.
func (m *Manager) trigger() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// logOnce logs err unless it is the same as the last one; nil resets. Only
// Run calls it.
func (m *Manager) logOnce(logger klog.Logger, err error) {
	if err == nil {
		m.lastErr = ""
		return
	}
	if err.Error() != m.lastErr {
		logger.Error(err, "Webhook certificate not in order; retrying")
	}
	m.lastErr = err.Error()
}

// sync loads the Secret's certificate and, on the leader, creates, repairs
// or renews the Secret and writes the caBundles.
func (m *Manager) sync(ctx context.Context) error {
	secret, err := m.cachedSecret()
	if err != nil {
		return err
	}
	if !m.opts.Leading() {
		if secret == nil {
			return nil // the leader creates it; the watch tells us
		}
		return m.load(secret)
	}
	for range 5 {
		secret, err = m.ensureSecret(ctx, secret)
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			// Another writer was first: redo the round on what it wrote.
			secret, err = m.liveSecret(ctx)
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("certs: Secret %s/%s: still conflicting after 5 attempts", m.opts.Namespace, m.opts.SecretName)
}

// ensureSecret is one leader round on secret (nil: absent): it writes what is
// missing or due and returns the Secret it ended with.
func (m *Manager) ensureSecret(ctx context.Context, secret *corev1.Secret) (*corev1.Secret, error) {
	logger := klog.FromContext(ctx)
	now := m.opts.Clock.Now()
	if secret == nil {
		st, err := m.fresh(now)
		if err != nil {
			return nil, err
		}
		created, err := m.client.CoreV1().Secrets(m.opts.Namespace).Create(ctx, st.secret(m.opts.Namespace, m.opts.SecretName), metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("certs: create Secret %s/%s: %w", m.opts.Namespace, m.opts.SecretName, err)
		}
		logger.Info("Created the webhook CA and serving certificate", "caNotAfter", st.ca.cert.NotAfter, "notAfter", st.leaf.cert.NotAfter)
		return created, m.afterWrite(ctx, created)
	}
	if secret.Type != corev1.SecretTypeTLS {
		return nil, fmt.Errorf("certs: Secret %s/%s has type %q, want %q; delete it and it will be recreated",
			m.opts.Namespace, m.opts.SecretName, secret.Type, corev1.SecretTypeTLS)
	}

	st, parseErr := m.parseSecret(secret)
	var reasons []string
	caRotated := false
	switch {
	case parseErr != nil:
		logger.Info("Replacing the webhook CA and serving certificate: the Secret's contents are invalid", "reason", parseErr.Error())
		fresh, err := m.fresh(now)
		if err != nil {
			return nil, err
		}
		st = fresh
		reasons = append(reasons, "invalid")
	default:
		prevCA := st.ca
		if !now.Before(renewAt(st.ca.cert)) {
			ca, err := newCA(now, m.opts.CAValidity)
			if err != nil {
				return nil, err
			}
			st.bundle = append([]*x509.Certificate{ca.cert}, st.bundle...)
			st.ca = ca
			caRotated = true
			reasons = append(reasons, "CA due")
		}
		// Drop CAs that expired, except the current one.
		kept := []*x509.Certificate{st.bundle[0]}
		for _, c := range st.bundle[1:] {
			if now.Before(c.NotAfter) && !slices.ContainsFunc(kept, c.Equal) {
				kept = append(kept, c)
			}
		}
		if len(kept) != len(st.bundle) {
			reasons = append(reasons, "expired CA dropped")
		}
		st.bundle = kept

		leafDue := ""
		switch {
		case !now.Before(renewAt(st.leaf.cert)):
			leafDue = "serving certificate due"
		case !sameNames(certNames(st.leaf.cert), m.names):
			leafDue = "DNS names changed"
		}
		if leafDue == "" && st.leaf.cert.CheckSignatureFrom(st.ca.cert) != nil && !caRotated {
			// Signed by an older CA of the bundle: reissue by the current one
			// once every webhook trusts it.
			injected, err := m.injected(st.bundlePEM())
			if err != nil {
				return nil, err
			}
			if injected {
				leafDue = "signed by the previous CA"
			}
		}
		if leafDue != "" {
			// Sign by a CA the webhooks already trust: the previous one
			// while it is still valid, when the CA changed in this round.
			signer := st.ca
			if caRotated && now.Before(prevCA.cert.NotAfter) {
				signer = prevCA
			}
			leaf, err := newServing(signer, now, m.opts.CertValidity, m.names)
			if err != nil {
				return nil, err
			}
			st.leaf = leaf
			reasons = append(reasons, leafDue)
		}
	}
	if len(reasons) == 0 {
		return secret, m.afterWrite(ctx, secret)
	}
	updated := secret.DeepCopy()
	updated.Data = st.secret("", "").Data
	for k, v := range secret.Data {
		if _, ours := updated.Data[k]; !ours {
			updated.Data[k] = v // keep keys that are not ours
		}
	}
	updated, err := m.client.CoreV1().Secrets(m.opts.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("certs: update Secret %s/%s: %w", m.opts.Namespace, m.opts.SecretName, err)
	}
	logger.Info("Updated the webhook certificates", "reasons", reasons, "caNotAfter", st.ca.cert.NotAfter, "notAfter", st.leaf.cert.NotAfter)
	return updated, m.afterWrite(ctx, updated)
}

// afterWrite serves the Secret's certificate and writes its ca.crt, as
// stored, into the caBundles.
func (m *Manager) afterWrite(ctx context.Context, secret *corev1.Secret) error {
	if err := m.load(secret); err != nil {
		return err
	}
	return m.inject(ctx, secret.Data[CACertKey])
}

// cachedSecret returns the Secret from the watch, or nil when absent.
func (m *Manager) cachedSecret() (*corev1.Secret, error) {
	obj, exists, err := m.secrets.GetStore().GetByKey(m.opts.Namespace + "/" + m.opts.SecretName)
	if err != nil || !exists {
		return nil, err
	}
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return nil, fmt.Errorf("certs: unexpected %T in the Secret cache", obj)
	}
	return s, nil
}

// liveSecret reads the Secret from the API server; nil when absent.
func (m *Manager) liveSecret(ctx context.Context) (*corev1.Secret, error) {
	s, err := m.client.CoreV1().Secrets(m.opts.Namespace).Get(ctx, m.opts.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("certs: get Secret %s/%s: %w", m.opts.Namespace, m.opts.SecretName, err)
	}
	return s, nil
}

// load installs the Secret's serving certificate and CA bundle.
func (m *Manager) load(secret *corev1.Secret) error {
	where := "Secret " + m.opts.Namespace + "/" + m.opts.SecretName
	c, err := loadServing(secret.Data[TLSCertKey], secret.Data[TLSKeyKey], where+" key "+TLSCertKey, where+" key "+TLSKeyKey)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	m.cert.Store(c)
	b := slices.Clone(secret.Data[CACertKey])
	m.bundle.Store(&b)
	return nil
}

// state is the parsed contents of the Secret.
type state struct {
	ca     keyPair             // the current CA, with its key
	bundle []*x509.Certificate // the current CA first, then older ones
	leaf   keyPair
}

func (st *state) bundlePEM() []byte { return encodeCerts(st.bundle) }

func (st *state) secret(ns, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns,
			Name:      name,
			Labels: map[string]string{
				"app.kubernetes.io/name":       "selmount",
				"app.kubernetes.io/component":  "webhook-certificate",
				"app.kubernetes.io/managed-by": "selmount",
			},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			TLSCertKey: st.leaf.certPEM,
			TLSKeyKey:  st.leaf.keyPEM,
			CACertKey:  st.bundlePEM(),
			CAKeyKey:   st.ca.keyPEM,
		},
	}
}

// fresh makes a new CA and serving certificate.
func (m *Manager) fresh(now time.Time) (*state, error) {
	ca, err := newCA(now, m.opts.CAValidity)
	if err != nil {
		return nil, err
	}
	leaf, err := newServing(ca, now, m.opts.CertValidity, m.names)
	if err != nil {
		return nil, err
	}
	return &state{ca: ca, bundle: []*x509.Certificate{ca.cert}, leaf: leaf}, nil
}

// parseSecret checks everything the leader relies on. The error names the
// Secret and the key at fault.
func (m *Manager) parseSecret(secret *corev1.Secret) (*state, error) {
	bad := func(key string, err error) error {
		return fmt.Errorf("Secret %s/%s key %s: %w", m.opts.Namespace, m.opts.SecretName, key, err)
	}
	bundle, err := parseCerts(secret.Data[CACertKey])
	if err != nil {
		return nil, bad(CACertKey, err)
	}
	for _, c := range bundle {
		if !c.IsCA {
			return nil, bad(CACertKey, fmt.Errorf("certificate %q is not a CA", c.Subject.CommonName))
		}
	}
	caKey, err := parseKey(secret.Data[CAKeyKey])
	if err != nil {
		return nil, bad(CAKeyKey, err)
	}
	if !publicKeyEqual(bundle[0], caKey) {
		return nil, bad(CAKeyKey, errors.New("does not match the first certificate of "+CACertKey))
	}
	leafs, err := parseCerts(secret.Data[TLSCertKey])
	if err != nil {
		return nil, bad(TLSCertKey, err)
	}
	leafKey, err := parseKey(secret.Data[TLSKeyKey])
	if err != nil {
		return nil, bad(TLSKeyKey, err)
	}
	if !publicKeyEqual(leafs[0], leafKey) {
		return nil, bad(TLSKeyKey, errors.New("does not match the certificate in "+TLSCertKey))
	}
	if !slices.ContainsFunc(bundle, func(ca *x509.Certificate) bool { return leafs[0].CheckSignatureFrom(ca) == nil }) {
		return nil, bad(TLSCertKey, errors.New("not signed by a CA in "+CACertKey))
	}
	return &state{
		ca:     keyPair{cert: bundle[0], certPEM: encodeCerts(bundle[:1]), key: caKey, keyPEM: secret.Data[CAKeyKey]},
		bundle: bundle,
		leaf:   keyPair{cert: leafs[0], certPEM: secret.Data[TLSCertKey], key: leafKey, keyPEM: secret.Data[TLSKeyKey]},
	}, nil
}

func sameNames(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// webhookPatch is a strategic merge patch setting caBundle on named webhooks.
type webhookPatch struct {
	Webhooks []webhookCABundle `json:"webhooks"`
}

type webhookCABundle struct {
	Name         string `json:"name"`
	ClientConfig struct {
		CABundle []byte `json:"caBundle"`
	} `json:"clientConfig"`
}

// configs returns the named configurations present in the caches, each as
// its kind, name and the caBundle of every webhook by name.
func (m *Manager) configs() ([]webhookConfig, error) {
	var out []webhookConfig
	for i, inf := range m.validating {
		obj, ok, err := inf.GetStore().GetByKey(m.opts.ValidatingWebhooks[i])
		if err != nil {
			return nil, err
		}
		if c, isType := obj.(*admissionregistrationv1.ValidatingWebhookConfiguration); ok && isType {
			wc := webhookConfig{kind: "ValidatingWebhookConfiguration", name: c.Name}
			for _, w := range c.Webhooks {
				wc.webhooks = append(wc.webhooks, w.Name)
				wc.bundles = append(wc.bundles, w.ClientConfig.CABundle)
			}
			out = append(out, wc)
		}
	}
	for i, inf := range m.mutating {
		obj, ok, err := inf.GetStore().GetByKey(m.opts.MutatingWebhooks[i])
		if err != nil {
			return nil, err
		}
		if c, isType := obj.(*admissionregistrationv1.MutatingWebhookConfiguration); ok && isType {
			wc := webhookConfig{kind: "MutatingWebhookConfiguration", name: c.Name}
			for _, w := range c.Webhooks {
				wc.webhooks = append(wc.webhooks, w.Name)
				wc.bundles = append(wc.bundles, w.ClientConfig.CABundle)
			}
			out = append(out, wc)
		}
	}
	return out, nil
}

type webhookConfig struct {
	kind, name string
	webhooks   []string
	bundles    [][]byte
}

// stale returns the webhooks whose caBundle differs from bundle.
func (c webhookConfig) stale(bundle []byte) []string {
	var out []string
	for i, w := range c.webhooks {
		if !bytes.Equal(c.bundles[i], bundle) {
			out = append(out, w)
		}
	}
	return out
}

// injected reports whether every webhook of the configurations that exist
// has a caBundle that includes the first certificate of bundle.
func (m *Manager) injected(bundle []byte) (bool, error) {
	cs, err := m.configs()
	if err != nil {
		return false, err
	}
	first, err := parseCerts(bundle)
	if err != nil {
		return false, err
	}
	for _, c := range cs {
		for _, b := range c.bundles {
			got, err := parseCerts(b)
			if err != nil || !slices.ContainsFunc(got, first[0].Equal) {
				return false, nil
			}
		}
	}
	return true, nil
}

// inject patches every webhook whose caBundle differs from bundle.
func (m *Manager) inject(ctx context.Context, bundle []byte) error {
	cs, err := m.configs()
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		stale := c.stale(bundle)
		if len(stale) == 0 {
			continue
		}
		var p webhookPatch
		for _, w := range stale {
			wb := webhookCABundle{Name: w}
			wb.ClientConfig.CABundle = bundle
			p.Webhooks = append(p.Webhooks, wb)
		}
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		switch c.kind {
		case "ValidatingWebhookConfiguration":
			_, err = m.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx, c.name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
		default:
			_, err = m.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Patch(ctx, c.name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("certs: set caBundle in %s %s: %w", c.kind, c.name, err))
			continue
		}
		klog.FromContext(ctx).Info("Set the caBundle", "kind", c.kind, "name", c.name, "webhooks", stale)
	}
	return errors.Join(errs...)
}
