// Package mcsalloc gives every opted-in namespace an MCS level of its own,
// the way OpenShift's namespace-security-allocation controller does, for
// clusters that have none. A pod-level level is what lets the kubelet mount a
// volume with -o context instead of relabeling it file by file.
//
// API for callers (the pod mutation, the controller):
//
//	a, err := mcsalloc.New(client, mcsalloc.Options{Namespace: "selmount-system"})
//	level, err := a.Ensure(ctx, "team-a") // label.Level, e.g. s0:c3,c7
//	err = a.Retire(ctx, deletedNamespace) // a deleted namespace's level stays reserved
//
//	// Or let a Keeper do both from the namespace informer (leader only):
//	k, err := mcsalloc.NewKeeper(a, factory.Core().V1().Namespaces(),
//		mcsalloc.KeeperOptions{OptedIn: mutate.OptedIn, Leading: leading, Allocate: true})
//	go k.Run(ctx)
//
// Ensure returns the namespace's level, allocating one and persisting it in
// the Annotation (selmount.io/mcs-level) when it has none. It reads the
// namespace with one Get; a caller in an admission path should read
// LevelOf(namespace) from its informer cache first and call Ensure only when
// that reports no level. An existing selmount.io/mcs-level (set by selmount
// or an admin) or openshift.io/sa.scc.mcs is returned as it is and never
// replaced; a value that does not parse is an *InvalidLevelError.
//
// Levels are the 523,776 pairs of categories c0..c1023 at s0, written
// canonically ascending ("s0:c1,c2"). The pure core (pairs, their rank, the
// pairs a level covers, and the used-set bitmap with a moving cursor:
// amortised O(1) per allocation, about 45 ns at 100,000 used) is package
// mcsalloc/mcs, which imports no client.
// The Allocator puts the core behind a mutex and keeps its state in the
// cluster, so it survives restarts and leader changes:
//
//   - the used set is rebuilt from the namespaces' annotations (Load, on first
//     use): every pair an honoured level covers counts as used, so a level
//     with more categories also blocks the pairs it can read;
//   - the ledger ConfigMap (Options.Namespace/Options.LedgerName) holds a
//     shared cursor; each allocator claims blocks of Options.BlockSize pair
//     indexes from it with resourceVersion-checked updates, so two allocators
//     running at once never hand out the same level; the namespace update
//     carries the namespace's resourceVersion, so two writers to one
//     namespace cannot both win;
//   - the ledger also holds retired levels ("retired.<A>.<B>": namespace):
//     the level of a namespace with a PersistentVolume whose reclaim policy
//     is Retain and whose claimRef names it stays reserved, after the
//     namespace is deleted, for as long as such a PV exists.
//
// See docs/mcs-allocation.md for the rules and why.
package mcsalloc
