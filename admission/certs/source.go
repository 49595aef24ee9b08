package certs

import (
	"context"
	"crypto/tls"
)

// Source supplies the webhook server's serving certificate.
type Source interface {
	// GetCertificate is tls.Config.GetCertificate.
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Ready reports whether a certificate is loaded (used by /readyz).
	Ready() bool
	// Run keeps the certificate fresh until ctx is done (rotation, reload,
	// caBundle injection); it returns nil on ctx cancellation.
	Run(ctx context.Context) error
}
