package cli_test

import (
	"strings"
	"testing"
)

// TestMountNamesABadContextOption: an invalid context= in -o is reported as
// such, not as a missing label, and nothing is mounted (exit 2).
func TestMountNamesABadContextOption(t *testing.T) {
	r := run(t, "", "mount", "-t", "tmpfs", "-o", `context="nope"`, "tmpfs", t.TempDir())
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), `context="nope"`) {
		t.Errorf("exit %d, error %v: want 2 and an error naming the option", r.code, r.err)
	}
	r = run(t, "", "mount", "-t", "tmpfs", "-o", "noatime", "tmpfs", t.TempDir())
	if r.code != 2 || r.err == nil || !strings.Contains(r.err.Error(), "is required") {
		t.Errorf("exit %d, error %v: want 2 and the missing-label error", r.code, r.err)
	}
}
