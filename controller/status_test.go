package controller

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/selmount/selmount/check"
)

// TestStatusWrittenOnlyOnChange checks that the status objects are applied
// when their content changes, not at every sync, that a deleted object is
// recreated when verified, and that a namespace's report goes when its
// findings do.
func TestStatusWrittenOnlyOnChange(t *testing.T) {
	// Arrange: a fake dynamic client that records applies and answers Get
	// with NotFound while gone is set.
	_, ctx := ktesting.NewTestContext(t)
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		ClusterReportResource: "ClusterSELinuxReportList", ReportResource: "SELinuxReportList"})
	var applies []string
	var deletes []string
	gone := false
	client.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchAction)
		applies = append(applies, p.GetNamespace()+"/"+p.GetResource().Resource)
		return true, &unstructured.Unstructured{Object: map[string]any{}}, nil
	})
	client.PrependReactor("get", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if gone {
			return true, nil, apierrors.NewNotFound(ClusterReportResource.GroupResource(), ClusterReportName)
		}
		return true, &unstructured.Unstructured{Object: map[string]any{}}, nil
	})
	client.PrependReactor("delete", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		deletes = append(deletes, a.GetNamespace())
		return true, nil, nil
	})
	w := &dynamicStatus{client: client}
	s := newState()
	conflict := check.Report{TargetVersion: "1.37", Summary: check.Summary{Errors: 1}, Findings: []check.Finding{{
		Type: check.TypeConflict, Severity: check.SeverityError, Property: check.PropertyLabel, Volume: "pv", KubeletConflict: true,
		Subjects: []check.Subject{{Kind: "Deployment", Namespace: "a", Name: "web"}}}}}
	now := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)

	// Act and assert: the first write applies both objects.
	s.update(conflict, now)
	if err := w.write(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	if len(applies) != 2 {
		t.Fatalf("first write: applies %v, want the cluster object and a's report", applies)
	}
	// The same answer later: nothing written (lastComputed alone changed).
	s.update(conflict, now.Add(time.Minute))
	if err := w.write(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	if err := w.write(ctx, s, true); err != nil { // verified: still there
		t.Fatal(err)
	}
	if len(applies) != 2 {
		t.Fatalf("unchanged answer: applies %v", applies)
	}
	// Deleted: recreated on verification.
	gone = true
	if err := w.write(ctx, s, true); err != nil {
		t.Fatal(err)
	}
	if len(applies) != 4 {
		t.Fatalf("deleted objects: applies %v, want both recreated", applies)
	}
	gone = false
	// A new answer: the cluster object is applied, a's report deleted.
	s.update(check.Report{TargetVersion: "1.37"}, now.Add(2*time.Minute))
	if err := w.write(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	if len(applies) != 5 || len(deletes) != 1 || deletes[0] != "a" {
		t.Fatalf("fixed: applies %v, deletes %v", applies, deletes)
	}
	// A snapshot only touched (its time, as a sync with the same answer
	// does) is not rendered again: the write has nothing to do, even if
	// the snapshot were changed behind the State's back.
	s.touch(now.Add(3 * time.Minute))
	s.mu.Lock()
	s.snap.Errors = 7
	s.mu.Unlock()
	if err := w.write(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	if len(applies) != 5 {
		t.Fatalf("touched snapshot: applies %v", applies)
	}
	if err := w.write(ctx, s, true); err != nil { // verifying renders it
		t.Fatal(err)
	}
	if len(applies) != 6 {
		t.Fatalf("verified snapshot: applies %v, want the cluster object again", applies)
	}
}

// TestStatusDeletesReportsOfEarlierRuns checks that a report left by an
// earlier run in a namespace that has no finding now is deleted.
func TestStatusDeletesReportsOfEarlierRuns(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	stale := &unstructured.Unstructured{Object: map[string]any{"apiVersion": Group + "/" + Version, "kind": "SELinuxReport",
		"metadata": map[string]any{"name": ReportName, "namespace": "old"}}}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		ClusterReportResource: "ClusterSELinuxReportList", ReportResource: "SELinuxReportList"}, stale)
	client.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, &unstructured.Unstructured{Object: map[string]any{}}, nil
	})
	s := newState()
	s.update(check.Report{TargetVersion: "1.37"}, time.Now())
	if err := (&dynamicStatus{client: client}).write(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resource(ReportResource).Namespace("old").Get(ctx, ReportName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the report of namespace old: %v, want it deleted", err)
	}
}

// TestTopOffendersAreTheWorstTen: the status lists the ten subjects with
// the most errors (then findings), and keeps no more than those ten.
func TestTopOffendersAreTheWorstTen(t *testing.T) {
	var r check.Report
	for i := range 30 {
		sev := check.SeverityWarning
		if i%3 == 0 {
			sev = check.SeverityError
		}
		// Subject i has i%7+1 findings of severity sev.
		for range i%7 + 1 {
			r.Findings = append(r.Findings, check.Finding{Type: check.TypeConflict, Severity: sev, Property: check.PropertyLabel,
				Subjects: []check.Subject{{Kind: "Deployment", Namespace: "ns", Name: fmt.Sprintf("d%02d", i)}}})
		}
	}
	snap := Summarize(r)
	if len(snap.TopOffenders) != topOffenders || cap(snap.TopOffenders) != topOffenders {
		t.Fatalf("%d offenders listed (capacity %d), want %d", len(snap.TopOffenders), cap(snap.TopOffenders), topOffenders)
	}
	var got []string
	for _, o := range snap.TopOffenders {
		got = append(got, fmt.Sprintf("%s:%d/%d", o.Name, o.Errors, o.Findings))
	}
	// The subjects with errors are i = 0, 3, ..., 27 (i%7+1 errors each):
	// exactly ten, before every subject with warnings only.
	want := "d06:7/7 d27:7/7 d12:6/6 d18:5/5 d03:4/4 d24:4/4 d09:3/3 d15:2/2 d00:1/1 d21:1/1"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("top offenders:\n got %s\nwant %s", s, want)
	}
}

// TestTopOffendersAsASortWouldGive: with many offenders and many ties, the
// ten listed are the first ten of a full sort.
func TestTopOffendersAsASortWouldGive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var r check.Report
		count := map[[2]string][2]int{} // namespace/name -> errors, findings
		for range rng.IntN(400) {
			sub := check.Subject{Kind: "Deployment", Namespace: fmt.Sprintf("ns%d", rng.IntN(3)), Name: fmt.Sprintf("d%d", rng.IntN(60))}
			sev := check.SeverityWarning
			if rng.IntN(3) == 0 {
				sev = check.SeverityError
			}
			r.Findings = append(r.Findings, check.Finding{Type: check.TypeConflict, Severity: sev, Property: check.PropertyLabel, Subjects: []check.Subject{sub}})
			c := count[[2]string{sub.Namespace, sub.Name}]
			if sev == check.SeverityError {
				c[0]++
			}
			c[1]++
			count[[2]string{sub.Namespace, sub.Name}] = c
		}
		var all []Offender
		for k, c := range count {
			all = append(all, Offender{Kind: "Deployment", Namespace: k[0], Name: k[1], Errors: c[0], Findings: c[1]})
		}
		slices.SortFunc(all, func(a, b Offender) int {
			return cmp.Or(cmp.Compare(b.Errors, a.Errors), cmp.Compare(b.Findings, a.Findings), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		want := all[:min(len(all), topOffenders)]
		if got := Summarize(r).TopOffenders; !slices.Equal(got, want) {
			t.Fatalf("round %d: top offenders\n got %v\nwant %v", round, got, want)
		}
	}
}
