package check_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/selmount/selmount/check"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/examples"
	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/manifest"
	"github.com/selmount/selmount/workload"
)

// tricky are pods on one node (node-x) around one ReadWriteMany volume,
// which SELinuxMount makes eligible in 1.37: a labeled pod admitted first,
// then a Windows pod (SELinux does not apply), a privileged hostNetwork pod
// without options (label "": a real conflict), a pod with an invalid level
// (cannot start: an input error) and a pod whose claim is missing.
const tricky = `
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: tricky.csi.example.com}
spec: {seLinuxMount: true}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-shared}
spec:
  accessModes: [ReadWriteMany]
  csi: {driver: tricky.csi.example.com, volumeHandle: shared}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: tricky}
spec: {accessModes: [ReadWriteMany], volumeName: pv-shared}
---
apiVersion: v1
kind: Pod
metadata: {name: labeled, namespace: tricky}
spec:
  nodeName: node-x
  securityContext: {seLinuxOptions: {level: "s0:c5,c6"}}
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
---
apiVersion: v1
kind: Pod
metadata: {name: windows, namespace: tricky}
spec:
  nodeName: node-x
  os: {name: windows}
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
---
apiVersion: v1
kind: Pod
metadata: {name: privileged, namespace: tricky}
spec:
  nodeName: node-x
  hostNetwork: true
  containers: [{name: app, securityContext: {privileged: true}, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
---
apiVersion: v1
kind: Pod
metadata: {name: bad-level, namespace: tricky}
spec:
  nodeName: node-x
  securityContext: {seLinuxOptions: {level: "s0:c1024"}}
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
---
apiVersion: v1
kind: Pod
metadata: {name: lost-claim, namespace: tricky}
spec:
  nodeName: node-x
  securityContext: {seLinuxOptions: {level: "s0:c5,c6"}}
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: nosuch}}]
`

// TestExplainAndCheckAgree runs explain's decision and check over the same
// objects and asserts that they never disagree about one pod.
func TestExplainAndCheckAgree(t *testing.T) {
	objs, errs := examples.Objects()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	extra, errs := manifest.Decode("tricky.yaml", []byte(tricky))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	objs = append(objs, extra...)
	typed := make([]any, len(objs))
	for i, o := range objs {
		typed[i] = o.Obj
	}
	defaults, _ := label.Profile("fedora")
	for _, minor := range []int{36, 37} {
		gates, err := kubever.NewGates(kubever.V(minor), nil)
		if err != nil {
			t.Fatal(err)
		}
		e := decide.Explain(workload.Collect(typed), decide.Config{Gates: gates, SELinuxEnabled: true, Defaults: defaults})
		var in check.Objects
		for _, o := range typed {
			in.Add(o)
		}
		r := check.Run(check.Input{Objects: in, Target: gates, SELinuxEnabled: true, Defaults: defaults, Source: "manifests"})
		t.Run(gates.Version().String(), func(t *testing.T) { agree(t, e, r) })
	}
}

func agree(t *testing.T, e decide.Explanation, r check.Report) {
	// The same input problems, each once, counted.
	got, want := slices.Clone(r.InputErrors), slices.Clone(e.Errors)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) || r.Summary.InputErrors != len(want) {
		t.Errorf("input errors: check %q (summary %d), explain %q", got, r.Summary.InputErrors, want)
	}
	for _, w := range []string{`pod tricky/bad-level: volume "data": spec.securityContext.seLinuxOptions.level: `, `pod tricky/lost-claim: volume "data": PersistentVolumeClaim tricky/nosuch not found`} {
		if !slices.ContainsFunc(r.InputErrors, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("check does not report %q", w)
		}
	}

	inFindings := func(kind, ns, name string, match func(check.Finding) bool) bool {
		for _, f := range r.Findings {
			if !match(f) {
				continue
			}
			for _, s := range f.Subjects {
				if s.Kind == kind && s.Namespace == ns && s.Name == name {
					return true
				}
			}
		}
		return false
	}
	anyFinding := func(check.Finding) bool { return true }
	for _, p := range e.Pods {
		ns, name, _ := strings.Cut(p.Pod, "/")
		kind := "Pod"
		if p.Owner != nil {
			kind, name = p.Owner.Kind, p.Owner.Name
		}
		applies, invalid := false, false
		for _, v := range p.Volumes {
			applies = applies || v.Facts.SELinux
			invalid = invalid || v.Facts.InputError != nil || strings.HasPrefix(v.Reason, "cannot be decided")
		}
		switch {
		case !applies || invalid:
			// explain: SELinux does not apply (Windows), or the pod cannot
			// be decided: check must not hold it against anyone.
			if inFindings(kind, ns, name, anyFinding) {
				t.Errorf("%s %s/%s: explain says SELinux does not apply or the pod cannot start, check has a finding with it", kind, ns, name)
			}
		case !p.Admission.Admitted && strings.Contains(p.Admission.Error, "conflicting SELinux labels"):
			// explain: the kubelet refuses the pod on its node for a label
			// conflict: check reports an error conflict it takes part in.
			now := func(f check.Finding) bool {
				return f.Type == check.TypeConflict && f.Severity == check.SeverityError && f.When == check.WhenNow
			}
			if !inFindings(kind, ns, name, now) {
				t.Errorf("%s %s/%s: explain says %q, check has no error conflict that fails now", kind, ns, name, p.Admission.Error)
			}
		case !p.Admission.Admitted && strings.Contains(p.Admission.Error, "multiple SELinux labels"):
			multiple := func(f check.Finding) bool {
				return f.Property == check.PropertyMultipleLabels && f.Severity == check.SeverityError
			}
			if !inFindings(kind, ns, name, multiple) {
				t.Errorf("%s %s/%s: explain says %q, check has no MultipleSELinuxLabels error", kind, ns, name, p.Admission.Error)
			}
		}
	}
	// And the other way: a conflict check says fails now involves a pod
	// that explain does not admit.
	notAdmitted := map[string]bool{}
	for _, p := range e.Pods {
		if !p.Admission.Admitted {
			notAdmitted[p.Pod] = true
		}
	}
	for _, f := range r.Findings {
		if f.Type != check.TypeConflict || f.When != check.WhenNow {
			continue
		}
		found := false
		for _, s := range f.Subjects {
			found = found || s.Kind == "Pod" && notAdmitted[s.Namespace+"/"+s.Name] || s.Kind != "Pod"
		}
		if !found {
			t.Errorf("check: %s, but explain admits every pod of it", f.Message)
		}
	}
}
