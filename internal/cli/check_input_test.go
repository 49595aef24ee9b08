package cli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/internal/cli"
)

// A chart's output: a CRD, its custom resource, a Service and a Deployment.
const chart = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec: {group: monitoring.coreos.com, names: {kind: ServiceMonitor, plural: servicemonitors}, scope: Namespaced}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: prod}
spec: {endpoints: [{port: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: prod}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {seLinuxOptions: {level: "s0:c1,c2"}}
      containers: [{name: web, image: web:1}]
`

func TestCheckSkipsCustomResources(t *testing.T) {
	// helm template ... | selmount check -f - must not fail on a CRD.
	r := run(t, chart, "check", "-f", "-", "-o", "json")
	if r.code != cli.ExitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.stderr)
	}
	var rep check.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Skipped != 3 || len(rep.Skipped) != 0 || rep.Summary.Workloads != 1 {
		t.Errorf("summary %+v, skipped list %v; want 3 skipped, not listed, 1 workload", rep.Summary, rep.Skipped)
	}
	r = run(t, chart, "check", "-f", "-", "--show-skipped")
	want := "3 objects of kinds check does not analyse skipped:\n" +
		"  -: document 1: apiextensions.k8s.io/v1 CustomResourceDefinition servicemonitors.monitoring.coreos.com\n" +
		"  -: document 2: monitoring.coreos.com/v1 ServiceMonitor prod/web\n" +
		"  -: document 3: v1 Service prod/web\n"
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, want) {
		t.Errorf("exit code %d, stdout lacks the listing %q:\n%s", r.code, want, r.stdout)
	}
}

func TestCheckInputErrorsOnceAndCounted(t *testing.T) {
	in, err := os.ReadFile("testdata/bad/04-invalid-level.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := string(in) + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: bad}\nspec: {securityContext: {seLinuxChangePolicy: recursive}, containers: [{name: c}]}\n"
	for _, format := range []string{"table", "json"} {
		r := run(t, bad, "check", "-f", "-", "-o", format)
		if r.code != cli.ExitError {
			t.Errorf("-o %s: exit code %d, want %d", format, r.code, cli.ExitError)
		}
		wantErrs := []string{
			`error: -: document 4: pod bad/bad-level: volume "data": spec.securityContext.seLinuxOptions.level: `,
			`error: -: document 5 (Pod bad/p): spec.securityContext.seLinuxChangePolicy: Unsupported value: "recursive"`,
		}
		for _, w := range wantErrs {
			if strings.Count(r.stderr, w) != 1 {
				t.Errorf("-o %s: stderr has %q %d times, want once:\n%s", format, w, strings.Count(r.stderr, w), r.stderr)
			}
			msg := strings.TrimPrefix(w, "error: ")
			if strings.Contains(r.stdout, "warning: "+msg) {
				t.Errorf("-o %s: the problem is printed again as a warning on stdout", format)
			}
		}
		if format == "table" && !strings.Contains(r.stdout, "2 input errors (listed on standard error)") {
			t.Errorf("the table does not count the input errors:\n%s", r.stdout)
		}
		if format == "json" {
			var rep check.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Summary.InputErrors != 2 || len(rep.InputErrors) != 2 || len(rep.Warnings) != 0 {
				t.Errorf("summary %+v, inputErrors %q, warnings %q; want 2 input errors, no warnings", rep.Summary, rep.InputErrors, rep.Warnings)
			}
		}
	}
}
