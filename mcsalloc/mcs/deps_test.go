package mcs

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure fails if the core starts depending on a client or the system.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "golang.org/x/sys") {
			t.Errorf("mcsalloc/mcs imports %s; the core must stay pure", dep)
		}
	}
}
