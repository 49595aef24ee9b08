package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// DefaultDirPollInterval is how often a DirSource rereads its files.
const DefaultDirPollInterval = 5 * time.Second

// DirSource serves the certificate in tls.crt and tls.key of a directory, as
// a mounted kubernetes.io/tls Secret or cert-manager provides them, and
// reloads them when they change. It is safe for concurrent use.
type DirSource struct {
	certFile, keyFile string
	// Interval is how often Run rereads the files; set it before Run.
	// 0 means DefaultDirPollInterval.
	Interval time.Duration

	cert atomic.Pointer[tls.Certificate]

	mu               sync.Mutex // guards the bytes last loaded
	lastCert, lastKy []byte
}

var _ Source = (*DirSource)(nil)

// NewDirSource serves tls.crt/tls.key from dir (as cert-manager or a mounted
// Secret provides them), reloading them when they change. It loads them once
// before it returns: an unreadable or invalid file is an error that names it.
func NewDirSource(dir string) (*DirSource, error) {
	if dir == "" {
		return nil, errors.New("certs.NewDirSource: empty directory")
	}
	s := &DirSource{
		certFile: filepath.Join(dir, TLSCertKey),
		keyFile:  filepath.Join(dir, TLSKeyKey),
	}
	if _, err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// GetCertificate returns the last valid certificate loaded. It is
// tls.Config.GetCertificate.
func (s *DirSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.cert.Load()
	if c == nil {
		return nil, fmt.Errorf("no serving certificate loaded from %s", s.certFile)
	}
	return c, nil
}

// Ready reports whether a certificate is loaded.
func (s *DirSource) Ready() bool { return s.cert.Load() != nil }

// Run rereads the files every Interval until ctx is done, and swaps the
// certificate when they changed and are valid. An invalid change is logged
// and the previous certificate kept. It returns nil when ctx is done.
func (s *DirSource) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("dir", filepath.Dir(s.certFile))
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultDirPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changed, err := s.reload()
		switch {
		case err != nil:
			if err.Error() != lastErr {
				logger.Error(err, "Cannot reload the serving certificate; keeping the previous one")
			}
			lastErr = err.Error()
		case changed:
			lastErr = ""
			logger.Info("Reloaded the serving certificate", "notAfter", s.cert.Load().Leaf.NotAfter)
		}
	}
}

// reload reads both files and, when their bytes differ from the last load
// and form a valid pair, installs the new certificate.
func (s *DirSource) reload() (changed bool, err error) {
	certPEM, err := os.ReadFile(s.certFile)
	if err != nil {
		return false, fmt.Errorf("read serving certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(s.keyFile)
	if err != nil {
		return false, fmt.Errorf("read serving key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(certPEM, s.lastCert) && bytes.Equal(keyPEM, s.lastKy) {
		return false, nil
	}
	c, err := loadServing(certPEM, keyPEM, s.certFile, s.keyFile)
	if err != nil {
		return false, err
	}
	s.cert.Store(c)
	s.lastCert, s.lastKy = certPEM, keyPEM
	return true, nil
}
