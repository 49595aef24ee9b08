package mcsalloc

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/mcsalloc/mcs"
)

const listPage = 500

// Load rebuilds the used set from the cluster: the levels on every namespace,
// and the retired levels in the ledger that are still quarantined. It prunes
// ledger entries that are no longer needed and records ahead of time the level
// of every namespace that has a retained PersistentVolume, so a deletion the
// controller misses is still covered. With force false it does nothing once
// the allocator is loaded. Ensure calls it with force false.
func (a *Allocator) Load(ctx context.Context, force bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loaded && !force {
		return nil
	}
	return a.loadLocked(ctx)
}

func (a *Allocator) loadLocked(ctx context.Context) error {
	var used mcs.Bitmap
	levels := map[string]mcs.Pair{} // namespace -> its pair, where it has one
	opts := metav1.ListOptions{Limit: listPage}
	for {
		list, err := a.client.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			return fmt.Errorf("mcsalloc: list namespaces: %w", err)
		}
		for i := range list.Items {
			ns := &list.Items[i]
			// An invalid value is reported by Ensure for that namespace.
			for _, l := range levelsOf(ns) {
				for _, p := range mcs.Covered(l) {
					used.Set(p.Index())
				}
			}
			if l, ok, err := LevelOf(ns); err == nil && ok {
				if p, ok := mcs.PairOf(l); ok {
					levels[ns.Name] = p
				}
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	retained, err := a.retainedNamespaces(ctx, "")
	if err != nil {
		return err
	}
	lap, err := a.syncLedger(ctx, func(data map[string]string) bool {
		changed := false
		for k, ns := range data {
			p, ok := parseRetiredKey(k)
			if !ok {
				continue
			}
			if retained[ns] {
				used.Set(p.Index())
				continue
			}
			delete(data, k) // no retained PV of that namespace is left
			changed = true
		}
		for ns := range retained {
			if p, ok := levels[ns]; ok {
				k := retiredKey(p)
				if data[k] != ns {
					data[k] = ns
					changed = true
				}
			}
		}
		return changed
	})
	if err != nil {
		return err
	}
	// Keep what this allocator has handed out and not yet seen persisted.
	for i := a.lo; i < a.hi; i++ {
		if a.used.Has(i) {
			used.Set(i)
		}
	}
	used.Seek(a.used.Cursor())
	a.used = used
	a.lap = lap
	a.loaded = true
	return nil
}

// retainedNamespaces returns the namespaces named in the claimRef of a
// PersistentVolume whose reclaim policy is Retain (only, if only != "").
func (a *Allocator) retainedNamespaces(ctx context.Context, only string) (map[string]bool, error) {
	out := map[string]bool{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		list, err := a.client.CoreV1().PersistentVolumes().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("mcsalloc: list PersistentVolumes: %w", err)
		}
		for i := range list.Items {
			pv := &list.Items[i]
			if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || pv.Spec.ClaimRef == nil {
				continue
			}
			if ns := pv.Spec.ClaimRef.Namespace; ns != "" && (only == "" || ns == only) {
				out[ns] = true
			}
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// syncLedger applies edit to the ledger's data and writes it back when edit
// reports a change, retrying on conflict. It returns the cursor's lap.
func (a *Allocator) syncLedger(ctx context.Context, edit func(map[string]string) bool) (int, error) {
	for range maxRetries {
		cm, err := a.ledger(ctx)
		if err != nil {
			return 0, err
		}
		cm = cm.DeepCopy()
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		lap := atoi(cm.Data[keyLap])
		if !edit(cm.Data) {
			return lap, nil
		}
		_, err = a.client.CoreV1().ConfigMaps(a.opts.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
		if err == nil {
			return lap, nil
		}
		if !apierrors.IsConflict(err) {
			return 0, fmt.Errorf("mcsalloc: update ledger ConfigMap %s/%s: %w", a.opts.Namespace, a.opts.LedgerName, err)
		}
	}
	return 0, fmt.Errorf("mcsalloc: ledger ConfigMap %s/%s: still conflicting after %d attempts", a.opts.Namespace, a.opts.LedgerName, maxRetries)
}

// retiredKey is the ledger key of a retired pair: "retired.<A>.<B>".
func retiredKey(p mcs.Pair) string {
	return retiredPfx + strconv.Itoa(p.A) + "." + strconv.Itoa(p.B)
}

func parseRetiredKey(k string) (mcs.Pair, bool) {
	rest, ok := strings.CutPrefix(k, retiredPfx)
	if !ok {
		return mcs.Pair{}, false
	}
	as, bs, ok := strings.Cut(rest, ".")
	if !ok {
		return mcs.Pair{}, false
	}
	x, err1 := strconv.Atoi(as)
	y, err2 := strconv.Atoi(bs)
	if err1 != nil || err2 != nil || x < 0 || x >= y || y >= mcs.Categories {
		return mcs.Pair{}, false
	}
	return mcs.Pair{A: x, B: y}, true
}

// Retire is called when namespace ns has been deleted (the last state of the
// object, as an informer's delete event gives it). If a PersistentVolume with
// reclaim policy Retain still names ns in its claimRef, the namespace's level
// is recorded in the ledger, so it stays reserved across restarts for as long
// as such a volume exists. Retire never frees a level: the cursor walks all
// 523,776 levels before it comes back, and the next Load recomputes the used
// set from the cluster (so a level another namespace still shares stays used).
func (a *Allocator) Retire(ctx context.Context, ns *corev1.Namespace) error {
	var pairs []mcs.Pair
	for _, l := range levelsOf(ns) {
		if p, ok := mcs.PairOf(l); ok {
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	retained, err := a.retainedNamespaces(ctx, ns.Name)
	if err != nil {
		return err
	}
	if !retained[ns.Name] {
		return nil
	}
	_, err = a.syncLedger(ctx, func(data map[string]string) bool {
		changed := false
		for _, p := range pairs {
			if data[retiredKey(p)] != ns.Name {
				data[retiredKey(p)] = ns.Name
				changed = true
			}
		}
		return changed
	})
	return err
}
