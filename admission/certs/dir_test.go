package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPair writes a CA-signed serving certificate for dnsName into dir and
// returns the CA's pool.
func testPair(t *testing.T, dir, dnsName string) *x509.CertPool {
	t.Helper()
	now := time.Now()
	ca, err := newCA(now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := newServing(ca, now, time.Hour, []string{dnsName})
	if err != nil {
		t.Fatal(err)
	}
	// Write the way the kubelet's atomic writer does: new files, then rename.
	for name, data := range map[string][]byte{TLSCertKey: leaf.certPEM, TLSKeyKey: leaf.keyPEM} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// handshake connects to a TLS server using src and returns the name in the
// certificate it presented, verified against roots.
func handshake(t *testing.T, src Source, roots *x509.CertPool, serverName string) (string, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: src.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.(*tls.Conn).Handshake()
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
		&tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].DNSNames[0], nil
}

func TestDirSourceServesAndReloads(t *testing.T) {
	dir := t.TempDir()
	roots1 := testPair(t, dir, "one.example")
	s, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Ready() {
		t.Fatal("Ready() = false after a successful NewDirSource")
	}
	if got, err := handshake(t, s, roots1, "one.example"); err != nil || got != "one.example" {
		t.Fatalf("first certificate: got %q, %v", got, err)
	}

	s.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	roots2 := testPair(t, dir, "two.example")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := handshake(t, s, roots2, "two.example")
		if err == nil && got == "two.example" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rewritten certificate was not served: got %q, %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// An invalid rewrite keeps the last good certificate.
	if err := os.WriteFile(filepath.Join(dir, TLSKeyKey), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if got, err := handshake(t, s, roots2, "two.example"); err != nil || got != "two.example" {
		t.Fatalf("after an invalid key: got %q, %v; want the previous certificate", got, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
}

func TestNewDirSourceErrors(t *testing.T) {
	valid := t.TempDir()
	testPair(t, valid, "ok.example")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(valid, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherDir := t.TempDir()
	testPair(t, otherDir, "other.example")
	otherKey, err := os.ReadFile(filepath.Join(otherDir, TLSKeyKey))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		files map[string][]byte // nil value: file absent
		want  []string          // substrings of the error
	}{
		{"no cert", map[string][]byte{TLSKeyKey: read(TLSKeyKey)}, []string{"read serving certificate", TLSCertKey, "no such file"}},
		{"no key", map[string][]byte{TLSCertKey: read(TLSCertKey)}, []string{"read serving key", TLSKeyKey, "no such file"}},
		{"empty cert", map[string][]byte{TLSCertKey: {}, TLSKeyKey: read(TLSKeyKey)}, []string{TLSCertKey + ": empty"}},
		{"garbage cert", map[string][]byte{TLSCertKey: []byte("hello"), TLSKeyKey: read(TLSKeyKey)}, []string{TLSCertKey + ": not PEM"}},
		{"key as cert", map[string][]byte{TLSCertKey: read(TLSKeyKey), TLSKeyKey: read(TLSKeyKey)}, []string{TLSCertKey + `: PEM block "PRIVATE KEY", want CERTIFICATE`}},
		{"garbage key", map[string][]byte{TLSCertKey: read(TLSCertKey), TLSKeyKey: []byte("x")}, []string{TLSKeyKey + ": not PEM"}},
		{"mismatched key", map[string][]byte{TLSCertKey: read(TLSCertKey), TLSKeyKey: otherKey}, []string{TLSCertKey + " and ", TLSKeyKey, "private key does not match public key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := NewDirSource(dir)
			if err == nil {
				t.Fatalf("NewDirSource = %v, nil; want an error", s)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory %s", err, dir)
			}
		})
	}
	if _, err := NewDirSource(""); err == nil || !strings.Contains(err.Error(), "empty directory") {
		t.Errorf("NewDirSource(\"\") = %v, want an empty-directory error", err)
	}
}
