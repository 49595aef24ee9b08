package check

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/workload"
)

// change is what a patch does to a pod template.
type change struct {
	recursive    bool   // set seLinuxChangePolicy: Recursive
	removePolicy bool   // remove seLinuxChangePolicy
	level        string // set seLinuxOptions.level (pod and containers that set their own)
}

// templatePath is where each kind keeps its pod template; kinds whose
// template cannot be changed (Pod, Job) have none.
var templatePath = map[string]struct {
	apiVersion string
	path       []string
}{
	"Deployment":            {"apps/v1", []string{"spec", "template", "spec"}},
	"StatefulSet":           {"apps/v1", []string{"spec", "template", "spec"}},
	"DaemonSet":             {"apps/v1", []string{"spec", "template", "spec"}},
	"ReplicaSet":            {"apps/v1", []string{"spec", "template", "spec"}},
	"ReplicationController": {"v1", []string{"spec", "template", "spec"}},
	"CronJob":               {"batch/v1", []string{"spec", "jobTemplate", "spec", "template", "spec"}},
}

// patchFor builds a strategic merge patch of s's pod template.
func patchFor(s *subject, ch change) (Patch, bool) {
	tp, ok := templatePath[s.kind]
	if !ok {
		return Patch{}, false
	}
	podSpec := map[string]any{}
	sc := map[string]any{}
	switch {
	case ch.recursive:
		sc["seLinuxChangePolicy"] = string(corev1.SELinuxChangePolicyRecursive)
	case ch.removePolicy:
		sc["seLinuxChangePolicy"] = nil
	}
	if ch.level != "" {
		sc["seLinuxOptions"] = map[string]any{"level": ch.level}
		// Containers that set their own seLinuxOptions replace the pod's
		// as a whole: they need the level too.
		if s.obj != nil {
			if pods, _, ok := workload.Expand(s.obj); ok && len(pods) > 0 {
				spec := pods[0].Spec
				add := func(field string, ctrs []corev1.Container) {
					var list []any
					for _, c := range ctrs {
						if c.SecurityContext != nil && c.SecurityContext.SELinuxOptions != nil {
							list = append(list, map[string]any{"name": c.Name, "securityContext": map[string]any{"seLinuxOptions": map[string]any{"level": ch.level}}})
						}
					}
					if len(list) > 0 {
						podSpec[field] = list
					}
				}
				add("initContainers", spec.InitContainers)
				add("containers", spec.Containers)
			}
		}
	}
	podSpec["securityContext"] = sc
	var doc any = podSpec
	for i := len(tp.path) - 1; i >= 0; i-- {
		doc = map[string]any{tp.path[i]: doc}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return Patch{}, false
	}
	return Patch{
		APIVersion: tp.apiVersion, Kind: s.kind, Namespace: s.namespace, Name: s.name, Type: "strategic", Patch: string(b),
		Command: fmt.Sprintf("kubectl -n %s patch %s %s --type=strategic -p %s", shellQuote(s.namespace), strings.ToLower(s.kind), shellQuote(s.name), singleQuote(string(b))),
	}, true
}

// shellQuote returns s as one POSIX shell word: as is when it holds only
// characters a valid object name can (the usual case), else single-quoted.
// Names come from manifests nobody has validated: a name such as "x; rm -rf
// ~" must stay an argument when the command is copied into a shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == "" {
		return s
	}
	return singleQuote(s)
}

// singleQuote wraps s in single quotes; a quote inside ends the quoted part,
// is escaped with a backslash, and a new quoted part begins.
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// conflictFix proposes a remedy for a conflict between the reference group
// ref (labeled, or the largest) and the other groups of the volume.
func conflictFix(ref *group, others []*group, property Property, canonicalOnly bool, in Input) (string, []Patch) {
	policyExists := in.Target.Known(kubever.SELinuxChangePolicy)
	all := append([]*group{ref}, others...)
	var otherSubjects []Subject
	unlabeled := false
	for _, g := range others {
		otherSubjects = append(otherSubjects, g.subjects()...)
		unlabeled = unlabeled || g.label == ""
	}
	patched := map[string]bool{} // a workload in two groups gets one patch
	recursiveFor := func(groups ...*group) (string, []Patch) {
		var names []string
		var patches []Patch
		var manual []string
		for _, g := range groups {
			if g.label == "" {
				continue
			}
			for _, s := range uniqueSubjects(g) {
				if patched[s.key()] {
					continue
				}
				patched[s.key()] = true
				names = append(names, s.kind+" "+s.namespace+"/"+s.name)
				if p, ok := patchFor(s, change{recursive: true}); ok {
					patches = append(patches, p)
				} else {
					manual = append(manual, s.kind+" "+s.namespace+"/"+s.name)
				}
			}
		}
		text := fmt.Sprintf("Opt %s out with seLinuxChangePolicy: Recursive: every user of the volume then has the empty label and the runtime relabels the files at start (slower, but no conflict).", namesText(names))
		if len(manual) > 0 {
			text += " Recreate " + namesText(manual) + " with the change: a running pod's security context cannot be patched."
		}
		return text, patches
	}
	switch {
	case len(others) == 0 && ref.random:
		return fmt.Sprintf("Give %s a level: one category pair for every pod that shares the volume (e.g. s0:c123,c456).", subjectsText(ref.subjects())), nil
	case property == PropertyChangePolicy || unlabeled:
		if !policyExists {
			return fmt.Sprintf("Give %s the same seLinuxOptions as %s (seLinuxChangePolicy does not exist in %s).", subjectsText(otherSubjects), subjectsText(ref.subjects()), in.Target.Version()), nil
		}
		text, patches := recursiveFor(all...)
		if property == PropertyLabel && ref.label != "" && !ref.random {
			text += fmt.Sprintf(" Alternatively give %s the label of %s, if it can run confined.", subjectsText(otherSubjects), subjectsText(ref.subjects()))
		}
		return text, patches
	}
	lvl := levelOf(ref)
	sameKind := lvl != "" && !ref.random
	for _, g := range others {
		sameKind = sameKind && prefixOf(ref.label) == prefixOf(g.label)
	}
	if sameKind {
		var patches []Patch
		var manual []string
		for _, g := range others {
			for _, s := range uniqueSubjects(g) {
				if patched[s.key()] {
					continue
				}
				patched[s.key()] = true
				if p, ok := patchFor(s, change{level: lvl}); ok {
					patches = append(patches, p)
				} else {
					manual = append(manual, s.kind+" "+s.namespace+"/"+s.name)
				}
			}
		}
		text := fmt.Sprintf("Give %s the level %q of %s: they share the data anyway.", subjectsText(otherSubjects), lvl, subjectsText(ref.subjects()))
		if canonicalOnly {
			text = fmt.Sprintf("Write the level of %s exactly as %s does: %q (the same categories, in the same order).", subjectsText(otherSubjects), subjectsText(ref.subjects()), lvl)
		}
		if len(manual) > 0 {
			text += " Recreate " + namesText(manual) + " with the change: a running pod's security context cannot be patched."
		}
		if policyExists && !canonicalOnly {
			text += " Or opt every user out with seLinuxChangePolicy: Recursive."
		}
		return text, patches
	}
	if !policyExists {
		return fmt.Sprintf("Give %s and %s the same seLinuxOptions.", subjectsText(ref.subjects()), subjectsText(otherSubjects)), nil
	}
	return recursiveFor(all...)
}

func uniqueSubjects(g *group) []*subject {
	seen := map[string]bool{}
	var out []*subject
	for _, u := range g.uses {
		if !seen[u.e.subj.key()] {
			seen[u.e.subj.key()] = true
			out = append(out, u.e.subj)
		}
	}
	return out
}

// levelOf returns the level as written by the first user of g.
func levelOf(g *group) string {
	for _, u := range g.uses {
		if l := u.target.Level; l != "" {
			return l
		}
	}
	return ""
}

// prefixOf returns user:role:type of a label string.
func prefixOf(l string) string {
	parts := strings.SplitN(l, ":", 4)
	if len(parts) < 3 {
		return l
	}
	return strings.Join(parts[:3], ":")
}

// Cluster-wide opt-out: every new pod that does not choose a policy gets
// seLinuxChangePolicy: Recursive, which restores the pre-1.37 behaviour
// (recursive relabeling, pods with different labels may share volumes).
const mapPolicy = `# Opt every new pod that sets no seLinuxChangePolicy out of context mounts
# (Kubernetes 1.36+: MutatingAdmissionPolicy is GA; for 1.34-1.35 use
# admissionregistration.k8s.io/v1beta1 and enable the feature).
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: selmount-selinux-change-policy-recursive
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  matchConditions:
  - name: policy-not-set
    expression: '!has(object.spec.securityContext) || !has(object.spec.securityContext.seLinuxChangePolicy)'
  - name: not-windows
    expression: '!has(object.spec.os) || object.spec.os.name != "windows"'
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{
          spec: Object.spec{
            securityContext: Object.spec.securityContext{
              seLinuxChangePolicy: "Recursive"
            }
          }
        }
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: selmount-selinux-change-policy-recursive
spec:
  policyName: selmount-selinux-change-policy-recursive
  matchResources:
    namespaceSelector:
      matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: NotIn
        values: ["kube-system"]
`

const kyvernoPolicy = `# Kyverno: opt every new pod that sets no seLinuxChangePolicy out of
# context mounts.
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: selmount-selinux-change-policy-recursive
  annotations:
    policies.kyverno.io/title: Default seLinuxChangePolicy to Recursive
    policies.kyverno.io/description: >-
      Kubernetes 1.37 mounts volumes with -o context, and pods that share a
      volume with different SELinux labels then fail to start. Pods that do
      not choose a policy get Recursive, the behaviour before 1.37.
spec:
  rules:
  - name: default-recursive
    match:
      any:
      - resources:
          kinds: ["Pod"]
          operations: ["CREATE"]
    exclude:
      any:
      - resources:
          namespaces: ["kube-system"]
    preconditions:
      all:
      - key: "{{ request.object.spec.os.name || '' }}"
        operator: NotEquals
        value: windows
    mutate:
      patchStrategicMerge:
        spec:
          securityContext:
            +(seLinuxChangePolicy): Recursive
`

// ClusterFixes returns the cluster-wide opt-out manifests.
func ClusterFixes() []ClusterFix {
	return []ClusterFix{
		{Name: "MutatingAdmissionPolicy", File: "cluster-optout-mutatingadmissionpolicy.yaml", Manifest: mapPolicy},
		{Name: "Kyverno ClusterPolicy", File: "cluster-optout-kyverno.yaml", Manifest: kyvernoPolicy},
	}
}
