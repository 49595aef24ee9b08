package mutate

import (
	"fmt"
	"regexp"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// levelPattern is the syntax of a level both Pod and the generated policy
// accept (RE2, as CEL's matches() uses). Pod also parses the level with
// label.ParseLevel, which rejects what a regular expression cannot see (a
// category above c1023, a range whose high level is below its low level);
// the policy cannot, so on such a namespace it would set the level that Pod
// refuses. Allocated levels never have that shape.
const levelPattern = `^s[0-9]+(-s[0-9]+)?(:c[0-9]+([.,]c[0-9]+)*)?$`

var policyLevelRE = regexp.MustCompile(levelPattern)

// Policy returns, as YAML, a MutatingAdmissionPolicy
// (admissionregistration.k8s.io/v1, GA in Kubernetes 1.36) and its binding
// that apply the same rules as Pod on pod CREATE in namespaces labelled
// OptInLabel=OptInValue. The policy reads the namespace through CEL's
// namespaceObject, so it needs no parameter resource. It cannot emit
// warnings: an invalid level or change-policy label is silently skipped.
func Policy(opts Options) []byte {
	p, b := PolicyObjects(opts)
	return append(append(mustYAML(p), "---\n"...), mustYAML(b)...)
}

// PolicyObjects returns the objects Policy renders, for callers that apply
// them through a client.
func PolicyObjects(opts Options) (*admissionv1.MutatingAdmissionPolicy, *admissionv1.MutatingAdmissionPolicyBinding) {
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	ignore := admissionv1.Ignore
	match := &admissionv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{OptInLabel: OptInValue}},
		ResourceRules: []admissionv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			},
		}},
	}
	p := admissionv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints:   match,
			FailurePolicy:      &ignore,
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			MatchConditions: []admissionv1.MatchCondition{
				{Name: "not-windows", Expression: `!has(object.spec.os) || object.spec.os.name != "windows"`},
				{Name: "no-privileged-or-own-level-container", Expression: "" +
					`!(has(object.spec.initContainers) && object.spec.initContainers.exists(c, ` + containerSkip + `)) && ` +
					`!object.spec.containers.exists(c, ` + containerSkip + `) && ` +
					`!(has(object.spec.ephemeralContainers) && object.spec.ephemeralContainers.exists(c, ` + containerSkip + `))`},
			},
			Variables: []admissionv1.Variable{
				{Name: "level", Expression: fmt.Sprintf(`!has(namespaceObject.metadata.annotations) ? "" : %[1]q in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations[%[1]q] : %[2]q in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations[%[2]q] : ""`, OpenShiftLevelAnnotation, LevelAnnotation)},
				{Name: "policy", Expression: fmt.Sprintf(`has(namespaceObject.metadata.labels) && %[1]q in namespaceObject.metadata.labels ? namespaceObject.metadata.labels[%[1]q] : ""`, ChangePolicyLabel)},
				{Name: "podLevelEmpty", Expression: `!has(object.spec.securityContext) || !has(object.spec.securityContext.seLinuxOptions) || !has(object.spec.securityContext.seLinuxOptions.level) || object.spec.securityContext.seLinuxOptions.level == ""`},
				{Name: "policyUnset", Expression: `!has(object.spec.securityContext) || !has(object.spec.securityContext.seLinuxChangePolicy)`},
			},
			Mutations: []admissionv1.Mutation{
				{PatchType: admissionv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: fmt.Sprintf(
					`variables.podLevelEmpty && variables.level.matches(%q) ? Object{spec: Object.spec{securityContext: Object.spec.securityContext{seLinuxOptions: Object.spec.securityContext.seLinuxOptions{level: variables.level}}}} : Object{}`, levelPattern)}},
				{PatchType: admissionv1.PatchTypeApplyConfiguration, ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: `variables.policyUnset && (variables.policy == "Recursive" || variables.policy == "MountOption") ? Object{spec: Object.spec{securityContext: Object.spec.securityContext{seLinuxChangePolicy: variables.policy}}} : Object{}`}},
			},
		},
	}
	b := admissionv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     name,
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: match.NamespaceSelector.DeepCopy()},
		},
	}
	return &p, &b
}

// containerSkip is true for a container that Pod's skipPod rejects.
const containerSkip = `has(c.securityContext) && ((has(c.securityContext.privileged) && c.securityContext.privileged) || (has(c.securityContext.seLinuxOptions) && has(c.securityContext.seLinuxOptions.level) && c.securityContext.seLinuxOptions.level != ""))`

func mustYAML(v any) []byte {
	out, err := yaml.Marshal(v)
	if err != nil { // fixed, well-typed input
		panic(fmt.Sprintf("mutate: marshal: %v", err))
	}
	return out
}
