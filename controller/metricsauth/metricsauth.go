// Package metricsauth protects the controller's metrics endpoint as
// kubebuilder projects do: HTTPS, and a bearer token that the API server
// authenticates (TokenReview) and authorizes for a GET of the
// non-resource URL /metrics (SubjectAccessReview).
package metricsauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/klog/v2"
)

// cacheTTL is how long an answer for a token is reused: a scrape every 15
// to 60 s costs two API requests at most once per TTL.
const cacheTTL = time.Minute

// maxCache bounds the number of tokens remembered.
const maxCache = 256

// Authorizer checks bearer tokens with the API server.
type Authorizer struct {
	client kubernetes.Interface
	path   string
	mu     sync.Mutex
	cache  map[string]answer
}

type answer struct {
	ok      bool
	expires time.Time
}

// NewAuthorizer returns an Authorizer that allows a GET of path (such as
// "/metrics") to the users allowed it by RBAC.
func NewAuthorizer(client kubernetes.Interface, path string) *Authorizer {
	return &Authorizer{client: client, path: path, cache: map[string]answer{}}
}

// Wrap returns next behind the token check: 401 without a valid token,
// 403 when the user may not get the path.
func (a *Authorizer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			http.Error(w, "Unauthorized: a bearer token is required", http.StatusUnauthorized)
			return
		}
		allowed, err := a.allowed(r.Context(), token)
		switch {
		case errors.Is(err, errUnauthenticated):
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		case err != nil:
			klog.FromContext(r.Context()).Error(err, "Cannot check a metrics client's token")
			http.Error(w, "cannot check the token", http.StatusInternalServerError)
			return
		case !allowed:
			http.Error(w, "Forbidden: get "+a.path+" is not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var errUnauthenticated = errors.New("the token is not valid")

func (a *Authorizer) allowed(ctx context.Context, token string) (bool, error) {
	a.mu.Lock()
	if ans, ok := a.cache[token]; ok && time.Now().Before(ans.expires) {
		a.mu.Unlock()
		return ans.ok, nil
	}
	a.mu.Unlock()
	tr, err := a.client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		return false, errUnauthenticated
	}
	u := tr.Status.User
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: a.path, Verb: "get"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	a.mu.Lock()
	if len(a.cache) >= maxCache {
		clear(a.cache)
	}
	a.cache[token] = answer{ok: sar.Status.Allowed, expires: time.Now().Add(cacheTTL)}
	a.mu.Unlock()
	return sar.Status.Allowed, nil
}

// TLSConfig returns the server's TLS configuration: the key pair
// tls.crt/tls.key of certDir when certDir is set, else a self-signed
// certificate made in memory.
func TLSConfig(certDir string) (*tls.Config, error) {
	if certDir != "" {
		crt, key := filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key")
		if _, err := os.Stat(crt); err != nil {
			return nil, fmt.Errorf("--metrics-cert-dir %s: %w", certDir, err)
		}
		pair, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			return nil, fmt.Errorf("--metrics-cert-dir %s: %w", certDir, err)
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, nil
	}
	host, _ := os.Hostname()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(cmpOr(host, "selmount-controller"), nil, []string{"localhost"})
	if err != nil {
		return nil, fmt.Errorf("generating a self-signed certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// IsLoopback reports whether addr ("host:port") listens on a loopback
// address only.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Serve serves h on addr (with TLS when cfg is set) until ctx is done,
// then shuts down gracefully. It returns when the server has stopped.
func Serve(ctx context.Context, addr string, h http.Handler, cfg *tls.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h, cfg)
}

// ServeListener is Serve on a listener.
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler, cfg *tls.Config) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: cfg}
	errc := make(chan error, 1)
	go func() {
		if cfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
