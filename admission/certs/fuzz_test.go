package certs

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// FuzzParseSecret: whatever a Secret holds, parsing it never panics; what
// the leader accepts, every replica can serve; and what it accepts is
// consistent (the keys match, a CA of the bundle signed the certificate).
func FuzzParseSecret(f *testing.F) {
	m, err := NewManager(fake.NewClientset(), testOptions())
	if err != nil {
		f.Fatal(err)
	}
	good, err := m.fresh(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	other, err := m.fresh(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: a valid Secret, one with another CA's key, keys swapped,
	// truncated PEM, and empty values.
	f.Add(good.leaf.certPEM, good.leaf.keyPEM, good.bundlePEM(), good.ca.keyPEM)
	f.Add(good.leaf.certPEM, good.leaf.keyPEM, good.bundlePEM(), other.ca.keyPEM)
	f.Add(good.leaf.keyPEM, good.leaf.certPEM, good.ca.keyPEM, good.bundlePEM())
	f.Add(good.leaf.certPEM[:40], good.leaf.keyPEM, append(good.bundlePEM(), other.bundlePEM()...), good.ca.keyPEM)
	f.Add([]byte{}, []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, tlsCrt, tlsKey, caCrt, caKey []byte) {
		s := &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{
			TLSCertKey: tlsCrt, TLSKeyKey: tlsKey, CACertKey: caCrt, CAKeyKey: caKey,
		}}
		st, err := m.parseSecret(s)
		if err != nil {
			return
		}
		if !publicKeyEqual(st.leaf.cert, st.leaf.key) || !publicKeyEqual(st.ca.cert, st.ca.key) {
			t.Fatal("accepted a key that does not match its certificate")
		}
		if !st.ca.cert.Equal(st.bundle[0]) {
			t.Fatal("the current CA is not the bundle's first certificate")
		}
		if err := m.load(s); err != nil {
			t.Fatalf("accepted by the leader, refused to serve: %v", err)
		}
	})
}
