package controller

import (
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
