package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestControllerFlagErrors checks the flags refused before any connection.
func TestControllerFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-secure=false"}, `--metrics-secure=false with --metrics-bind-address ":8443": plain HTTP is allowed on a loopback address only`},
		{[]string{"--metrics-secure=false", "--metrics-bind-address", "0.0.0.0:8080"}, "loopback address only"},
		{[]string{"--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"--workers", "0"}, "--workers 0: want at least 1"},
		{[]string{"--target-version", "banana"}, "--target-version"},
	} {
		var out bytes.Buffer
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &out)
		root.SetArgs(append([]string{"controller", "--kubeconfig", "/nonexistent"}, tc.args...))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("controller %v: error %v, want %q", tc.args, err, tc.want)
		}
		if ExitCode(err) != ExitError {
			t.Errorf("controller %v: exit %d, want %d", tc.args, ExitCode(err), ExitError)
		}
	}
}

// TestControllerDefaults pins the flag defaults of the deploy contract.
func TestControllerDefaults(t *testing.T) {
	cmd := newControllerCmd()
	for name, want := range map[string]string{
		"leader-elect": "false", "leader-elect-namespace": "", "metrics-bind-address": ":8443", "metrics-secure": "true",
		"health-probe-bind-address": ":8081", "workers": "2", "target-version": "", "metrics-namespace-label": "false",
		"log-format": "text", "v": "0", "kubeconfig": "", "context": "", "metrics-cert-dir": "",
		"allocate-levels": "false", "selmount-namespace": "", "disable-compression": "true",
	} {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			t.Errorf("no --%s", name)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s defaults to %q, want %q", name, f.DefValue, want)
		}
	}
}

// TestServicesDisableCompression: the long-running commands ask for no gzip
// unless told otherwise, the one-shot ones keep kubectl's default.
func TestServicesDisableCompression(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		want string
	}{{[]string{"controller"}, "true"}, {[]string{"webhook"}, "true"}, {[]string{"check"}, "false"}, {[]string{"status"}, "false"}} {
		root := NewRootCmd("selmount", strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		cmd, _, err := root.Find(tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if f := cmd.Flags().Lookup("disable-compression"); f == nil || f.DefValue != tc.want {
			t.Errorf("%s --disable-compression: %v, want the default %s", tc.cmd[0], f, tc.want)
		}
	}
}

// TestWebhookFlagErrors checks the webhook's flags refused before any
// connection.
func TestWebhookFlagErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no serving certificate: give --cert-dir"},
		{[]string{"--cert-dir", empty}, "--cert-dir: "},
		{[]string{"--cert-dir", empty}, filepath.Join(empty, "tls.crt")},
		{[]string{"--cert-dir", empty, "--workers", "0"}, "--workers 0"},
		{[]string{"--cert-dir", empty, "--cert-secret-name", "s"}, "--cert-dir takes the certificate from files; it excludes --cert-secret-name"},
		{[]string{"--cert-dir", empty, "--validating-webhook-configuration", "v"}, "it excludes"},
		{[]string{"--cert-secret-name", "s"}, "--cert-secret-name needs --webhook-service-name"},
	} {
		var out bytes.Buffer
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &out)
		root.SetArgs(append([]string{"webhook", "--kubeconfig", "/nonexistent"}, tc.args...))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("webhook %v: error %v, want %q", tc.args, err, tc.want)
		}
		if ExitCode(err) != ExitError {
			t.Errorf("webhook %v: exit %d, want %d", tc.args, ExitCode(err), ExitError)
		}
	}
	cmd := newWebhookCmd()
	for name, want := range map[string]string{"webhook-bind-address": ":9443", "deny": "false", "allocate-levels": "true", "leader-elect": "false",
		"cert-dir": "", "cert-secret-name": "", "selmount-namespace": ""} {
		if f := cmd.Flags().Lookup(name); f == nil || f.DefValue != want {
			t.Errorf("--%s: %+v, want default %q", name, f, want)
		}
	}
}
