package deploy_test

import (
	"io"
	"strings"
	"testing"

	"github.com/selmount/selmount/internal/cli"
)

// TestManifestFlagsExist: every flag the manifests may pass (the tables
// parseArgs holds them to) exists on the real command, with the same
// boolean-ness, so a renamed flag fails here and not in a crash-looping pod.
func TestManifestFlagsExist(t *testing.T) {
	root := cli.NewRootCmd("selmount", strings.NewReader(""), io.Discard, io.Discard)
	check := func(t *testing.T, sub string, tables ...map[string]bool) {
		cmd, _, err := root.Find([]string{sub})
		if err != nil || cmd == root {
			t.Skipf("no `selmount %s` command in this build", sub)
		}
		for _, flags := range tables {
			for name, isBool := range flags {
				f := cmd.Flag(name)
				if f == nil {
					t.Errorf("selmount %s has no --%s (the manifests may pass it)", sub, name)
					continue
				}
				if got := f.Value.Type() == "bool"; got != isBool {
					t.Errorf("selmount %s --%s: boolean %v, the manifests treat it as boolean %v", sub, name, got, isBool)
				}
			}
		}
	}
	t.Run("controller", func(t *testing.T) { check(t, "controller", contractFlags) })
	// Skipped until `selmount webhook` is in the build.
	t.Run("webhook", func(t *testing.T) { check(t, "webhook", contractFlags, webhookFlags) })
}
