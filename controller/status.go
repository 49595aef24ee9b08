package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	"github.com/selmount/selmount/check"
)

// The status objects: one cluster-scoped ClusterSELinuxReport "cluster",
// and one SELinuxReport "report" in each namespace with findings.
const (
	Group             = "selmount.io"
	Version           = "v1alpha1"
	ClusterReportName = "cluster"
	ReportName        = "report"
	FieldManager      = "selmount-controller"
)

// Resources of the status objects.
var (
	ClusterReportResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "clusterselinuxreports"}
	ReportResource        = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "selinuxreports"}
)

// statusWriter writes the status objects; verify asks it to check that
// they still exist even when their content did not change.
type statusWriter interface {
	write(ctx context.Context, s *State, verify bool) error
}

// maxNamespaceFindings bounds a namespace's report (an object is at most
// 1.5 MB in etcd); the count says how many there are.
const maxNamespaceFindings = 200

// dynamicStatus writes with server-side apply, only when the content
// changed (or the object is gone).
type dynamicStatus struct {
	client dynamic.Interface
	// hashes of the content last written, by namespace ("" for the
	// cluster object), and when each condition last changed.
	written     map[string][32]byte
	transitions map[string]metav1.Time
	prevConds   map[string]metav1.ConditionStatus
	// The generation of the snapshot last written in full (see
	// State.snapshotGen): a write of the same one, unless it verifies, has
	// nothing to do, and renders nothing (each namespace's report, a few
	// MB for 10,000 conflicting pods).
	wroteGen uint64
	wrote    bool
}

func (d *dynamicStatus) write(ctx context.Context, s *State, verify bool) error {
	snap, gen, ok := s.snapshotGen()
	if !ok || d.wrote && d.wroteGen == gen && !verify {
		return nil
	}
	if d.written == nil {
		// The reports a previous run left: each is rewritten, or deleted
		// when its namespace has no finding any more.
		list, err := d.client.Resource(ReportResource).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing the SELinuxReports: %w", err)
		}
		d.written, d.transitions, d.prevConds = map[string][32]byte{}, map[string]metav1.Time{}, map[string]metav1.ConditionStatus{}
		for _, u := range list.Items {
			if u.GetName() == ReportName {
				d.written[u.GetNamespace()] = [32]byte{} // no content hashes to zero
			}
		}
	}
	now := metav1.NewTime(snap.Computed.UTC().Truncate(time.Second))
	content := ClusterStatus(snap)
	conds := conditions(snap)
	for i := range conds {
		c := &conds[i]
		if d.prevConds[c.Type] != c.Status {
			d.transitions[c.Type] = now
			d.prevConds[c.Type] = c.Status
		}
		c.LastTransitionTime = d.transitions[c.Type]
	}
	content["conditions"] = conds
	if err := d.apply(ctx, ClusterReportResource, "", ClusterReportName, "ClusterSELinuxReport", content, now, verify); err != nil {
		return err
	}
	// The namespaced reports: written for namespaces with findings,
	// deleted when a namespace has none left.
	for ns, fs := range snap.Namespaces {
		if err := d.apply(ctx, ReportResource, ns, ReportName, "SELinuxReport", NamespaceStatus(snap, fs), now, verify); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				klog.FromContext(ctx).V(1).Info("Cannot write a namespace's report", "namespace", ns, "err", err)
				continue // a namespace being deleted
			}
			return err
		}
	}
	for ns := range d.written {
		if _, ok := snap.Namespaces[ns]; ok || ns == "" {
			continue
		}
		err := d.client.Resource(ReportResource).Namespace(ns).Delete(ctx, ReportName, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting the SELinuxReport of namespace %s: %w", ns, err)
		}
		delete(d.written, ns)
	}
	d.wroteGen, d.wrote = gen, true
	return nil
}

// apply writes one object when its content changed, or when verify finds
// it gone.
func (d *dynamicStatus) apply(ctx context.Context, res schema.GroupVersionResource, ns, name, kind string, content map[string]any, now metav1.Time, verify bool) error {
	raw, err := json.Marshal(content)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	ri := d.client.Resource(res)
	var r dynamic.ResourceInterface = ri
	if ns != "" {
		r = ri.Namespace(ns)
	}
	if prev, ok := d.written[ns]; ok && prev == sum {
		if !verify {
			return nil
		}
		_, err := r.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("reading %s %s: %w", kind, name, err)
		}
		klog.FromContext(ctx).Info("Status object was deleted; recreating it", "kind", kind, "namespace", ns)
	}
	status := map[string]any{}
	for k, v := range content {
		status[k] = v
	}
	status["lastComputed"] = now.UTC().Format(time.RFC3339)
	obj := map[string]any{"apiVersion": Group + "/" + Version, "kind": kind,
		"metadata": map[string]any{"name": name}, "status": status}
	if ns != "" {
		obj["metadata"].(map[string]any)["namespace"] = ns
	}
	u := &unstructured.Unstructured{}
	// Through JSON: the content holds typed values (conditions).
	raw, err = json.Marshal(obj)
	if err != nil {
		return err
	}
	if err := u.UnmarshalJSON(raw); err != nil {
		return err
	}
	if _, err := r.Apply(ctx, name, u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("applying %s %s: %w", kind, name, err)
	}
	d.written[ns] = sum
	return nil
}

// ClusterStatus returns the status of the ClusterSELinuxReport, without
// its conditions and lastComputed.
func ClusterStatus(snap Snapshot) map[string]any {
	counts := make([]map[string]any, 0, len(snap.Counts))
	for _, c := range snap.Counts {
		counts = append(counts, map[string]any{"type": string(c.Type), "severity": string(c.Severity), "property": string(c.Property), "count": c.Count})
	}
	offenders := make([]map[string]any, 0, len(snap.TopOffenders))
	for _, o := range snap.TopOffenders {
		offenders = append(offenders, map[string]any{"kind": o.Kind, "namespace": o.Namespace, "name": o.Name, "errors": o.Errors, "findings": o.Findings})
	}
	return map[string]any{
		"targetVersion":      snap.TargetVersion,
		"currentVersion":     snap.CurrentVersion,
		"ready":              snap.Errors == 0,
		"errors":             snap.Errors,
		"warnings":           snap.Warnings,
		"infos":              snap.Infos,
		"inputErrors":        snap.InputErrors,
		"conflictingVolumes": snap.ConflictingVolumes,
		"counts":             counts,
		"topOffenders":       offenders,
	}
}

// NamespaceStatus returns the status of a namespace's SELinuxReport.
func NamespaceStatus(snap Snapshot, fs []NamespaceFinding) map[string]any {
	errs, warns := 0, 0
	for _, f := range fs {
		switch f.Severity {
		case check.SeverityError:
			errs++
		case check.SeverityWarning:
			warns++
		}
	}
	shown := slices.Clone(fs[:min(len(fs), maxNamespaceFindings)])
	list := make([]map[string]any, 0, len(shown))
	for _, f := range shown {
		list = append(list, map[string]any{"type": string(f.Type), "severity": string(f.Severity), "property": string(f.Property),
			"volume": f.Volume, "subjects": f.Subjects, "message": f.Message()})
	}
	return map[string]any{
		"targetVersion": snap.TargetVersion,
		"errors":        errs,
		"warnings":      warns,
		"findingsTotal": len(fs),
		"findings":      list,
	}
}

func conditions(snap Snapshot) []metav1.Condition {
	ready := metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "NoErrors",
		Message: fmt.Sprintf("No finding of severity error for %s.", snap.TargetVersion)}
	if snap.Errors > 0 {
		ready.Status, ready.Reason = metav1.ConditionFalse, "ErrorsFound"
		ready.Message = fmt.Sprintf("%d findings of severity error for %s; see topOffenders and the SELinuxReport of each namespace.", snap.Errors, snap.TargetVersion)
	}
	conflicts := metav1.Condition{Type: "ConflictsPresent", Status: metav1.ConditionFalse, Reason: "NoConflicts", Message: "No volume has users with different SELinux labels."}
	if snap.ConflictingVolumes > 0 {
		conflicts.Status, conflicts.Reason = metav1.ConditionTrue, "ConflictsFound"
		conflicts.Message = fmt.Sprintf("%d volumes have users with different SELinux labels.", snap.ConflictingVolumes)
	}
	return []metav1.Condition{ready, conflicts}
}
