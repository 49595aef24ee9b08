package certs_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/admission/certs"
)

// A webhook server whose certificate selmount manages: every replica
// serves the Secret's certificate; the leader (here a flag a leader-election
// callback would set) creates and renews it and writes the caBundle.
func ExampleNewManager() {
	var client kubernetes.Interface // from rest.InClusterConfig
	var leading atomic.Bool         // set in leaderelection's OnStartedLeading
	m, err := certs.NewManager(client, certs.ManagerOptions{
		Namespace:          "selmount-system",
		SecretName:         "selmount-webhook-cert",
		ServiceName:        "selmount-webhook",
		ValidatingWebhooks: []string{"selmount-webhook"},
		MutatingWebhooks:   []string{"selmount-webhook"},
		Leading:            leading.Load,
	})
	if err != nil {
		panic(err) // only in an example
	}
	ctx := context.Background()
	go func() { _ = m.Run(ctx) }()
	srv := &http.Server{
		Addr:              ":9443",
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: m.GetCertificate},
	}
	_ = srv.ListenAndServeTLS("", "") // m.Ready() backs /readyz
}

// A webhook server with the certificate cert-manager keeps in a mounted
// Secret.
func ExampleNewDirSource() {
	src, err := certs.NewDirSource("/etc/selmount/webhook-certs")
	if err != nil {
		panic(err) // the error names the file that is missing or invalid
	}
	go func() { _ = src.Run(context.Background()) }() // rereads renewed files
	srv := &http.Server{
		Addr:              ":9443",
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: src.GetCertificate},
	}
	_ = srv.ListenAndServeTLS("", "")
}
