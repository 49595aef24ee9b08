// Package depcheck guards the direction of dependencies: the label model and
// the decision engine stay pure (no Kubernetes client, no syscalls), so that
// container runtimes and CSI drivers can import them cheaply.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPurePackages(t *testing.T) {
	forbidden := map[string][]string{
		"github.com/selmount/selmount/apiversion": {"k8s.io/", "golang.org/x/", "sigs.k8s.io/", "github.com/"},
		"github.com/selmount/selmount/label":      {"k8s.io/", "golang.org/x/sys", "sigs.k8s.io/"},
		"github.com/selmount/selmount/kubever":    {"k8s.io/", "golang.org/x/sys"},
		"github.com/selmount/selmount/decide":     {"k8s.io/client-go", "golang.org/x/sys", "github.com/spf13/cobra"},
		"github.com/selmount/selmount/check":      {"k8s.io/client-go", "golang.org/x/sys", "github.com/spf13/cobra"},
		"github.com/selmount/selmount/workload":   {"k8s.io/client-go", "golang.org/x/sys", "github.com/spf13/cobra"},
		"github.com/selmount/selmount/fixdir":     {"k8s.io/client-go", "golang.org/x/sys", "github.com/spf13/cobra"},
		// The reader is a library: a controller reuses it without the CLI.
		"github.com/selmount/selmount/clusterread": {"github.com/spf13/cobra", "k8s.io/cli-runtime", "github.com/selmount/selmount/internal/cli"},
		"github.com/selmount/selmount/mountinfo":   {"k8s.io/", "golang.org/x/sys"},
		"github.com/selmount/selmount/mountopt":    {"k8s.io/", "golang.org/x/sys"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				continue
			}
			for _, b := range bad {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s depends on %s (forbidden prefix %s)", pkg, dep, b)
				}
			}
		}
	}
}
