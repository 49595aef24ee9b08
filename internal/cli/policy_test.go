package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestAdmissionPolicyCommand: both formats hold the policy and its binding,
// named by --name, the binding pointing at the policy.
func TestAdmissionPolicyCommand(t *testing.T) {
	type object struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			PolicyName string `json:"policyName"`
		} `json:"spec"`
	}
	run := func(args ...string) string {
		var out, errb bytes.Buffer
		root := NewRootCmd("selmount", strings.NewReader(""), &out, &errb)
		root.SetArgs(append([]string{"admission-policy"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatalf("admission-policy %v: %v (%s)", args, err, errb.String())
		}
		return out.String()
	}
	checkPair := func(what string, objs []object) {
		t.Helper()
		if len(objs) != 2 {
			t.Fatalf("%s: %d objects, want 2", what, len(objs))
		}
		p, b := objs[0], objs[1]
		if p.Kind != "MutatingAdmissionPolicy" || b.Kind != "MutatingAdmissionPolicyBinding" ||
			p.APIVersion != "admissionregistration.k8s.io/v1" || b.APIVersion != p.APIVersion {
			t.Errorf("%s: kinds %s %s %s, %s %s", what, p.APIVersion, p.Kind, b.Kind, b.APIVersion, b.Kind)
		}
		if p.Metadata.Name != "custom" || b.Metadata.Name != "custom" || b.Spec.PolicyName != "custom" {
			t.Errorf("%s: names %q %q, binding to %q; want custom", what, p.Metadata.Name, b.Metadata.Name, b.Spec.PolicyName)
		}
	}

	var list struct {
		Kind  string   `json:"kind"`
		Items []object `json:"items"`
	}
	if err := json.Unmarshal([]byte(run("--name", "custom", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" {
		t.Errorf("-o json: kind %q, want List", list.Kind)
	}
	checkPair("-o json", list.Items)

	var objs []object
	for _, doc := range strings.Split(run("--name", "custom"), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("yaml document %q: %v", doc, err)
		}
		objs = append(objs, o)
	}
	checkPair("-o yaml", objs)
}
