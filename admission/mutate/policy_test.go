package mutate

import (
	"bytes"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

func TestPolicy(t *testing.T) {
	out := Policy(Options{Name: "custom"})
	docs := bytes.Split(out, []byte("---\n"))
	if len(docs) != 2 {
		t.Fatalf("want 2 YAML documents, got %d:\n%s", len(docs), out)
	}
	var p admissionv1.MutatingAdmissionPolicy
	var b admissionv1.MutatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict(docs[0], &p); err != nil {
		t.Fatalf("policy: %v", err)
	}
	if err := yaml.UnmarshalStrict(docs[1], &b); err != nil {
		t.Fatalf("binding: %v", err)
	}
	if p.APIVersion != "admissionregistration.k8s.io/v1" || p.Kind != "MutatingAdmissionPolicy" || p.Name != "custom" {
		t.Errorf("policy header: %s %s %s", p.APIVersion, p.Kind, p.Name)
	}
	if b.Kind != "MutatingAdmissionPolicyBinding" || b.Spec.PolicyName != "custom" {
		t.Errorf("binding: %s policyName %q", b.Kind, b.Spec.PolicyName)
	}
	if p.Spec.FailurePolicy == nil || *p.Spec.FailurePolicy != admissionv1.Ignore {
		t.Errorf("failurePolicy = %v, want Ignore", p.Spec.FailurePolicy)
	}
	rules := p.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || len(rules[0].Operations) != 1 || rules[0].Operations[0] != admissionv1.Create || rules[0].Resources[0] != "pods" {
		t.Errorf("matchConstraints: %+v", rules)
	}
	for _, sel := range []map[string]string{p.Spec.MatchConstraints.NamespaceSelector.MatchLabels, b.Spec.MatchResources.NamespaceSelector.MatchLabels} {
		if len(sel) != 1 || sel[OptInLabel] != OptInValue {
			t.Errorf("namespaceSelector = %v, want %s=%s", sel, OptInLabel, OptInValue)
		}
	}
	// The OpenShift annotation is read before selmount's.
	if v := p.Spec.Variables[0].Expression; strings.Index(v, OpenShiftLevelAnnotation) > strings.Index(v, LevelAnnotation) {
		t.Errorf("level variable reads %s after %s: %s", OpenShiftLevelAnnotation, LevelAnnotation, v)
	}
	if d := Policy(Options{}); !bytes.Contains(d, []byte("name: "+DefaultName)) {
		t.Errorf("default name missing:\n%s", d)
	}
}

func TestLevelPatternAgreesWithParse(t *testing.T) {
	for _, l := range []string{"s0", "s0:c1,c2", "s0:c0.c5", "s0-s0:c0.c1023", "s0:c26,c5"} {
		if !policyLevelRE.MatchString(l) {
			t.Errorf("pattern rejects valid level %q", l)
		}
	}
	for _, l := range []string{"", "bogus", "s0:", "s0:c1,", "s0:c1 ", "S0:c1"} {
		if policyLevelRE.MatchString(l) {
			t.Errorf("pattern accepts %q", l)
		}
	}
}
