package cli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/internal/cli"
	"github.com/selmount/selmount/kubever"
)

// update rewrites the golden files: go test ./internal/cli/ -run Explain -update
// Other test files of this package share it rather than define their own.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type result struct {
	stdout, stderr string
	err            error
	code           int
}

// run runs `selmount <args>` in-process, as main does.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := cli.NewRootCmd("selmount", strings.NewReader(stdin), &stdout, &stderr)
	root.SetArgs(args)
	err := root.Execute()
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err, code: cli.ExitCode(err)}
}

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli/ -run Explain -update to create it)", err)
	}
	if got == string(want) {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("output differs from %s at line %d (rerun with -update if the change is intended):\n got: %q\nwant: %q", path, i+1, gl, wl)
			return
		}
	}
}

func TestExplainGolden(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"examples 1.37 text", []string{"--kube-version", "1.37"}, "explain-1.37.golden"},
		{"examples 1.36 text", []string{"--kube-version", "1.36"}, "explain-1.36.golden"},
		{"examples 1.37 json", []string{"--kube-version", "1.37", "-o", "json"}, "explain-1.37.json.golden"},
		{"examples 1.29 yaml", []string{"--kube-version", "1.29", "-o", "yaml"}, "explain-1.29.yaml.golden"},
		{"SELinux disabled", []string{"--kube-version", "1.37", "--selinux=false"}, "explain-selinux-disabled.golden"},
		{"Debian node defaults", []string{"--kube-version", "1.37", "--node-defaults", "debian"}, "explain-debian.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"explain"}, tt.args...)...)
			if r.code != cli.ExitOK || r.err != nil {
				t.Fatalf("exit code %d, error %v, stderr:\n%s", r.code, r.err, r.stderr)
			}
			if r.stderr != "" {
				t.Errorf("unexpected stderr:\n%s", r.stderr)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

func TestExplainDefaultVersionIsLatest(t *testing.T) {
	def := run(t, "", "explain")
	latest := run(t, "", "explain", "--kube-version", kubever.Latest.String())
	if def.code != 0 || def.stdout != latest.stdout {
		t.Errorf("explain without --kube-version (exit %d) differs from --kube-version %s", def.code, kubever.Latest)
	}
}

func TestExplainBadInputs(t *testing.T) {
	r := run(t, "", "explain", "--kube-version", "1.37", "-f", "testdata/bad")
	if r.code != cli.ExitError {
		t.Errorf("exit code %d, want %d", r.code, cli.ExitError)
	}
	if !cli.IsSilent(r.err) {
		t.Errorf("error %v should be silent: the command already printed why", r.err)
	}
	golden(t, "explain-bad.golden", r.stdout)
	golden(t, "explain-bad.stderr.golden", r.stderr)

	// Independently of the golden files: the valid documents are explained
	// and every error says where it comes from.
	for _, want := range []string{"Pod bad/valid-before on node node-a: admitted", "Pod bad/valid-after, no node (admitted alone): admitted", "Pod bad/lost-claim", "Pod bad/bad-level"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	for _, want := range []string{
		"error: testdata/bad/01-malformed-next-to-valid.yaml: document 2: malformed YAML: ",
		"error: testdata/bad/01-malformed-next-to-valid.yaml: document 4 (Pod bad/misspelt): spec.containers[0].volumeMountz: unknown field\n",
		"error: testdata/bad/01-malformed-next-to-valid.yaml: document 5 (Pod bad/typed-wrong): spec.nodeName: cannot use number value as string\n",
		"error: testdata/bad/02-skipped-and-invalid.yaml: document 3 (Pod bad/lowercase-policy): spec.securityContext.seLinuxChangePolicy: Unsupported value: \"recursive\": supported values: \"MountOption\", \"Recursive\"\n",
		"error: testdata/bad/03-missing-pvc.yaml: document 1: pod bad/lost-claim: volume \"data\": PersistentVolumeClaim bad/nosuch not found\n",
		"error: testdata/bad/04-invalid-level.yaml: document 4: pod bad/bad-level: volume \"data\": spec.securityContext.seLinuxOptions.level: ",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "Service") || strings.Contains(r.stderr, "Widget") {
		t.Error("the Service and the Widget in 02-skipped-and-invalid.yaml should be skipped, not errors")
	}
	if !strings.Contains(r.stdout, "\n2 objects of kinds explain does not analyse skipped (--show-skipped lists them).\n") {
		t.Error("stdout does not count the skipped objects")
	}
	if n := strings.Count(r.stderr, "error: "); n != 6 {
		t.Errorf("got %d errors on stderr, want 6:\n%s", n, r.stderr)
	}
}

func TestExplainBadInputsJSON(t *testing.T) {
	r := run(t, "", "explain", "-f", "testdata/bad", "-o", "json")
	if r.code != cli.ExitError {
		t.Errorf("exit code %d, want %d", r.code, cli.ExitError)
	}
	var e decide.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("stdout is not an Explanation: %v", err)
	}
	if len(e.Errors) != 6 || len(e.Pods) != 4 {
		t.Errorf("got %d errors and %d pods, want 6 and 4", len(e.Errors), len(e.Pods))
	}
	for _, p := range e.Pods {
		for _, v := range p.Volumes {
			if v.MountOptions == nil || v.Conditions == nil {
				t.Errorf("%s volume %s: mountOptions or conditions is null", p.Pod, v.Name)
			}
		}
	}
}

func TestExplainStdin(t *testing.T) {
	in, err := os.ReadFile("testdata/bad/02-skipped-and-invalid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pod := "---\napiVersion: v1\nkind: Pod\nmetadata: {name: piped}\nspec: {containers: [{name: app, image: app:1}]}\n"
	r := run(t, string(in)+pod, "explain", "-f", "-", "--show-skipped")
	if r.code != cli.ExitError {
		t.Errorf("exit code %d, want %d", r.code, cli.ExitError)
	}
	want := "error: -: document 3 (Pod bad/lowercase-policy): spec.securityContext.seLinuxChangePolicy: Unsupported value: \"recursive\": supported values: \"MountOption\", \"Recursive\"\n"
	if r.stderr != want {
		t.Errorf("stderr:\n got %q\nwant %q", r.stderr, want)
	}
	if !strings.Contains(r.stdout, "Pod default/piped, no node (admitted alone): admitted\n  (no volumes used by its containers)\n") {
		t.Errorf("the piped pod is not explained:\n%s", r.stdout)
	}
	skipped := "\n2 objects of kinds explain does not analyse skipped:\n  -: document 1: example.com/v1 Widget bad/gadget\n  -: document 2: v1 Service bad/web\n"
	if !strings.Contains(r.stdout, skipped) {
		t.Errorf("--show-skipped does not list the skipped objects:\n%s", r.stdout)
	}
}

func TestExplainFeatureGatesAsTheKubelet(t *testing.T) {
	// AllAlpha, AllBeta and gates selmount does not model are accepted as
	// the kubelet accepts them; those that change nothing are named.
	r := run(t, "", "explain", "--kube-version", "1.32", "--feature-gates", "AllAlpha=true,CPUManager=true,AllBeta=true", "-o", "json")
	if r.code != cli.ExitOK {
		t.Fatalf("exit code %d, stderr %s", r.code, r.stderr)
	}
	var e decide.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatal(err)
	}
	if !e.FeatureGates["SELinuxMount"] || !e.FeatureGates["SELinuxChangePolicy"] {
		t.Errorf("AllAlpha=true left alpha gates off: %v", e.FeatureGates)
	}
	if _, ok := e.FeatureGatesWithoutEffect["CPUManager"]; !ok || len(e.FeatureGatesWithoutEffect) != 2 {
		t.Errorf("featureGatesWithoutEffect = %v, want CPUManager and AllBeta (SELinuxMountReadWriteOncePod is on by default)", e.FeatureGatesWithoutEffect)
	}
	text := run(t, "", "explain", "--feature-gates", "CPUManager=true")
	if !strings.Contains(text.stdout, "Feature gate CPUManager changes nothing here: ") {
		t.Errorf("text output does not name the gate that changes nothing:\n%s", text.stdout)
	}
}

func TestExplainFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{
			name:    "version too old",
			args:    []string{"--kube-version", "1.24"},
			wantErr: `--kube-version: unsupported Kubernetes version "1.24": selmount models 1.25 to 1.38 (SELinux mount support starts in 1.25)`,
		},
		{
			name:    "version not a version",
			args:    []string{"--kube-version", "latest"},
			wantErr: `--kube-version: invalid Kubernetes version "latest": want MAJOR.MINOR, e.g. 1.37`,
		},
		{
			name:    "locked gate",
			args:    []string{"--kube-version", "1.38", "--feature-gates", "SELinuxMount=false"},
			wantErr: `--feature-gates: cannot set feature gate SELinuxMount to false, feature is locked to true (GA in Kubernetes 1.38)`,
		},
		{
			name:    "gate the version does not have",
			args:    []string{"--kube-version", "1.29", "--feature-gates", "SELinuxMount=true"},
			wantErr: `--feature-gates: unrecognized feature gate: SELinuxMount (Kubernetes 1.29 has no such gate)`,
		},
		{
			name:    "a typo of a modelled gate",
			args:    []string{"--feature-gates", "SELinuxMuont=true"},
			wantErr: `--feature-gates: unrecognized feature gate: SELinuxMuont (did you mean SELinuxMount?)`,
		},
		{
			name:    "gate without a value",
			args:    []string{"--feature-gates", "SELinuxMount"},
			wantErr: `--feature-gates: missing bool value for feature gate "SELinuxMount" (want NAME=true|false)`,
		},
		{
			name:    "gate with a bad value",
			args:    []string{"--feature-gates", "SELinuxMount=maybe"},
			wantErr: `--feature-gates: "SELinuxMount=maybe": want true or false`,
		},
		{
			name:    "unknown output format",
			args:    []string{"-o", "xml"},
			wantErr: `--output "xml": want text, json or yaml`,
		},
		{
			name:    "unknown node defaults",
			args:    []string{"--node-defaults", "nosuch"},
			wantErr: `--node-defaults "nosuch": neither a profile ([centos coreos debian fcos fedora openshift rhcos rhel ubuntu]) nor a directory`,
		},
		{
			name:    "unknown flag",
			args:    []string{"--kube-versoin", "1.37"},
			wantErr: `unknown flag: --kube-versoin`,
		},
		{
			name:    "bad boolean",
			args:    []string{"--selinux=maybe"},
			wantErr: `--selinux "maybe": want true or false`,
		},
		{
			name:    "positional argument",
			args:    []string{"pod.yaml"},
			wantErr: `unexpected argument "pod.yaml"; to read a file use -f pod.yaml`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", append([]string{"explain"}, tt.args...)...)
			if r.code != cli.ExitError {
				t.Errorf("exit code %d, want %d", r.code, cli.ExitError)
			}
			if r.err == nil || r.err.Error() != tt.wantErr {
				t.Errorf("error:\n got %v\nwant %s", r.err, tt.wantErr)
			}
			if cli.IsSilent(r.err) {
				t.Error("a flag error must not be silent: main prints it")
			}
			if r.stdout != "" {
				t.Errorf("a flag error printed an explanation:\n%s", r.stdout)
			}
		})
	}
}

func TestExplainMissingFile(t *testing.T) {
	r := run(t, "", "explain", "-f", "testdata/nosuch.yaml")
	if r.code != cli.ExitError {
		t.Errorf("exit code %d, want %d", r.code, cli.ExitError)
	}
	if want := "error: testdata/nosuch.yaml does not exist\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
}

// explainJSON runs explain -o json on the examples and decodes the document.
func explainJSON(t *testing.T, args ...string) (decide.Explanation, []byte) {
	t.Helper()
	r := run(t, "", append([]string{"explain", "-o", "json"}, args...)...)
	if r.code != cli.ExitOK {
		t.Fatalf("exit code %d, error %v, stderr:\n%s", r.code, r.err, r.stderr)
	}
	var e decide.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("not an Explanation: %v", err)
	}
	return e, []byte(r.stdout)
}

func findVolume(t *testing.T, e decide.Explanation, pod, volume string) (decide.Pod, decide.Volume) {
	t.Helper()
	for _, p := range e.Pods {
		if p.Pod != pod {
			continue
		}
		for _, v := range p.Volumes {
			if v.Name == volume {
				return p, v
			}
		}
	}
	t.Fatalf("no volume %s in pod %s", volume, pod)
	return decide.Pod{}, decide.Volume{}
}

// TestExplainJSONInvariants checks the JSON document of every modelled
// version against facts that hold whatever the version.
func TestExplainJSONInvariants(t *testing.T) {
	for _, v := range kubever.Versions() {
		for _, selinux := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/selinux=%v", v, selinux), func(t *testing.T) {
				e, raw := explainJSON(t, "--kube-version", v.String(), fmt.Sprintf("--selinux=%v", selinux))
				if e.APIVersion != apiversion.Current || e.Kind != "Explanation" || e.KubernetesVersion != v.String() || e.SELinuxEnabled != selinux {
					t.Errorf("header: %s %s %s selinux=%v", e.APIVersion, e.Kind, e.KubernetesVersion, e.SELinuxEnabled)
				}
				if len(e.Errors) != 0 {
					t.Errorf("errors for the bundled examples: %q", e.Errors)
				}
				if len(e.Pods) != 12 {
					t.Errorf("got %d pods, want 12", len(e.Pods))
				}

				// mountOptions is [] rather than null, in the raw document.
				var doc struct {
					Pods []struct {
						Pod     string
						Volumes []map[string]json.RawMessage
					}
				}
				if err := json.Unmarshal(raw, &doc); err != nil {
					t.Fatal(err)
				}
				for _, p := range doc.Pods {
					for _, vol := range p.Volumes {
						if mo := string(vol["mountOptions"]); mo == "" || mo == "null" {
							t.Errorf("%s volume %s: mountOptions is %q, want a list", p.Pod, vol["name"], mo)
						}
					}
				}

				for _, p := range e.Pods {
					if p.Admission.Admitted != (p.Admission.Error == "") {
						t.Errorf("%s: admitted=%v with error %q", p.Pod, p.Admission.Admitted, p.Admission.Error)
					}
					for _, vol := range p.Volumes {
						where := p.Pod + " volume " + vol.Name
						switch vol.Method {
						case decide.MountOption, decide.Recursive, decide.None:
						default:
							t.Errorf("%s: method %q", where, vol.Method)
						}
						hasContext := slices.ContainsFunc(vol.MountOptions, func(o string) bool { return strings.HasPrefix(o, "context=") })
						if hasContext != (vol.Method == decide.MountOption) {
							t.Errorf("%s: method %s with mount options %q", where, vol.Method, vol.MountOptions)
						}
						if vol.RuntimeRelabel != (vol.Method == decide.Recursive) {
							t.Errorf("%s: method %s with runtimeRelabel %v", where, vol.Method, vol.RuntimeRelabel)
						}
						if !selinux && vol.Method != decide.None {
							t.Errorf("%s: method %s with SELinux disabled", where, vol.Method)
						}
						if vol.Reason == "" {
							t.Errorf("%s: no reason", where)
						}
					}
				}
			})
		}
	}
}

func TestExplainJSONFacts(t *testing.T) {
	e137, _ := explainJSON(t, "--kube-version", "1.37")
	e136, _ := explainJSON(t, "--kube-version", "1.36")

	// The RWOP volume is mounted with -o context, its PV's options first.
	_, rwop := findVolume(t, e137, "demo/rwop-app", "data")
	if rwop.Method != decide.MountOption {
		t.Errorf("demo/rwop-app data: method %s, want MountOption", rwop.Method)
	}
	wantOpts := []string{"noatime", `context="system_u:object_r:container_file_t:s0:c1,c2"`}
	if !slices.Equal(rwop.MountOptions, wantOpts) {
		t.Errorf("demo/rwop-app data: mountOptions %q, want %q", rwop.MountOptions, wantOpts)
	}

	// 1.37: the second pod with another label on the shared volume waits.
	teamB, _ := findVolume(t, e137, "demo/team-b", "data")
	if teamB.Admission.Admitted {
		t.Error("1.37: demo/team-b admitted, want refused")
	}
	if m := teamB.Admission.Metric; m != "volume_manager_selinux_volume_context_mismatch_errors_total" {
		t.Errorf("1.37: demo/team-b metric %q", m)
	}
	if !strings.HasPrefix(teamB.Admission.Error, "conflicting SELinux labels of volume pv-team: ") {
		t.Errorf("1.37: demo/team-b error %q", teamB.Admission.Error)
	}

	// 1.36: the same pod is admitted and only bumps a warning metric.
	teamB, _ = findVolume(t, e136, "demo/team-b", "data")
	if !teamB.Admission.Admitted || teamB.Admission.Error != "" {
		t.Errorf("1.36: demo/team-b not admitted: %q", teamB.Admission.Error)
	}
	if m := teamB.Admission.Metric; m != "volume_manager_selinux_volume_context_mismatch_warnings_total" {
		t.Errorf("1.36: demo/team-b metric %q", m)
	}

	// The first pod on the node is admitted in both.
	for _, e := range []decide.Explanation{e136, e137} {
		teamA, _ := findVolume(t, e, "demo/team-a", "data")
		if !teamA.Admission.Admitted || teamA.Admission.Metric != "" {
			t.Errorf("%s: demo/team-a admission %+v", e.KubernetesVersion, teamA.Admission)
		}
	}

	// The ReadWriteMany volume switches to -o context with SELinuxMount GA.
	if _, v := findVolume(t, e136, "demo/rwx-app", "shared"); v.Method != decide.Recursive {
		t.Errorf("1.36: demo/rwx-app shared: %s, want Recursive", v.Method)
	}
	if _, v := findVolume(t, e137, "demo/rwx-app", "shared"); v.Method != decide.MountOption {
		t.Errorf("1.37: demo/rwx-app shared: %s, want MountOption", v.Method)
	}
}

// TestExplainYAMLMatchesJSON checks that -o yaml is the same document as -o
// json.
func TestExplainYAMLMatchesJSON(t *testing.T) {
	j := run(t, "", "explain", "--kube-version", "1.29", "-o", "json")
	y := run(t, "", "explain", "--kube-version", "1.29", "-o", "yaml")
	if j.code != 0 || y.code != 0 {
		t.Fatalf("exit codes %d, %d", j.code, y.code)
	}
	fromYAML, err := yaml.YAMLToJSON([]byte(y.stdout))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(j.stdout), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(fromYAML, &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Error("-o yaml and -o json print different documents")
	}
}
