package check

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/decide"
	"github.com/selmount/selmount/internal/parallel"
	"github.com/selmount/selmount/volindex"
	"github.com/selmount/selmount/workload"
)

// Base is a check kept between changes: the analysis of every object,
// updated per changed object by Update, for a caller that watches a cluster.
// Its reports are those Run gives for the same objects in the order
// Objects.Sort puts them in: pods by creation time, then namespace and
// name; the other kinds by namespace and name.
//
// An Update costs the changed objects, the objects that read them (the
// pods of a changed claim, the pods of a changed ReplicaSet or Job), the
// first user of a volume that gets a second one (a volume's only user
// keeps just the name and label of its use, and is decided again then) and
// the volumes they use, plus assembling the report, which is proportional
// to the findings. No pair of users is ever built: the users of each volume
// with several live in a volindex.Index updated in place (a volume's only
// user is noted beside it, out of the index), and the findings of a volume
// are recomputed only when one of its users changes.
//
// A Base is not safe for concurrent use (Update, Apply, Report); its Users
// may be read while it is updated.
type Base struct {
	in  Input // settings; Objects holds the kinds Update does not change
	cfg decide.Config
	cur *decide.Config // nil when the current version is unknown
	mcs map[string]string

	// The objects Update changes, by namespace/name. Given claims and
	// volumes are kept packed (see Packed), decoded when an entry is built
	// or decided, then dropped; a pod is kept packed by its entry (a pod
	// without one, a finished pod, is read again only when it changes).
	workloads [numWorkloadKinds]map[string]any
	store     storage                                             // the claims and volumes
	synth     map[string]map[string]*corev1.PersistentVolumeClaim // claim -> template entry key -> claim
	synthOf   map[string][]string                                 // template entry key -> its claims

	entries map[string]*baseEntry
	// What report reads, kept by attach, detach and subject so that a
	// report costs the findings, not the pods: the entries with input
	// errors or findings of their own, the running pods among the entries,
	// and the subjects that are workloads.
	noted            map[string]bool
	invalid          map[string][]*decide.InputError // entry key -> its pod's input errors, when any
	runningPods      int
	workloadSubjects int
	entryOf          map[objRef]string       // object -> the key of its entry
	subjects         map[string]*baseSubject // by key(); bare pods' are their entries' alone
	byOwner          readerIndex             // "ReplicaSet/ns/name" -> pod entries
	byClaim          readerIndex             // claim -> entries that read it
	index            *volindex.Index[string]
	// The volumes with one user whose use is slimmed (see slim), by key:
	// the index does not hold them, as most volumes have one user and
	// nothing compares its use until another comes.
	solo       map[string]string // volume key -> the entry key of its user
	perVolume  map[string][]Finding
	used       map[string]int                       // CSI driver -> volumes (driversUsed)
	byPV       readerIndex                          // PersistentVolume -> entries whose claims are bound to it
	blocks     map[string]*Finding                  // CSI driver with seLinuxMount -> its shared-superblock finding
	superblock map[string]map[string]superblockNote // CSI driver -> PersistentVolume -> its note

	// The users, read by Users under mu: a volume's are its users in the
	// index, a user's entry is found through entryOf (see volumesOf), its
	// volumes in its results.
	mu        sync.RWMutex
	withUsers int // entries with a volume in the index

	// Pods that Pack refused (a name or resource version longer than a
	// Packed holds, which the API server never gives), by namespace/name:
	// kept as given, so that they are built again as the others.
	unpacked map[string]any
}

// podObject returns the pod of entry be as given: packed, or typed when it
// could not be packed.
func (b *Base) podObject(be *baseEntry) any {
	if be.obj != nil {
		return be.obj
	}
	return b.unpacked[be.refKey]
}

// objRef names an object Update changes: its kind and namespace/name.
type objRef struct{ kind, key string }

// baseEntry is one entry with everything computed from it alone. There is
// one per pod and template, so it is kept small (128 bytes): its input
// errors are in Base.invalid, the names it refers to share one slice, its
// object's kind is a byte and its owner's name a handle.
type baseEntry struct {
	e       *entry       // nil when dropped with bs (see dropSubjectIfQuiet)
	bs      *baseSubject // e's subject; nil when dropped (see dropSubjectIfQuiet)
	obj     *Packed      // a pod's packed object (see podObject); nil for a template
	key     string       // in the volume index; keys sort in input order
	refKey  string       // its object's namespace/name (see ref)
	results []useResult
	// refs are the claims its pod reads (claimKeys), the
	// PersistentVolumes they are bound to, when decided (pvNames), and the
	// CSI drivers it counts (driverNames, see driversOf), in this order:
	// one slice rather than three, as most pods read one claim.
	refs        []string
	owner       unique.Handle[string] // a pod's controller, "ReplicaSet/ns/name" or "Job/ns/name"; zero for none
	claims, pvs int32                 // where the claims and the volumes end in refs
	kind        refKind
	bare        bool // a pod without a controller: its own subject's object
	running     bool // e.running, kept when e is dropped
}

// refKind is the kind of an entry's object: podRef, or workload kind k as
// k+1.
type refKind uint8

const podRef refKind = 0

func refKindOf(kind string) refKind {
	if kind == "Pod" {
		return podRef
	}
	return refKind(workloadKinds[kind]) + 1
}

// workload is the workload kind of a template's entry.
func (k refKind) workload() workloadKind { return workloadKind(k - 1) }

// workloadKindNames are the names of workloadKinds, by kind.
var workloadKindNames = func() (names [numWorkloadKinds]string) {
	for name, k := range workloadKinds {
		names[k] = name
	}
	return names
}()

// ref names be's object.
func (be *baseEntry) ref() objRef {
	if be.kind == podRef {
		return objRef{"Pod", be.refKey}
	}
	return objRef{workloadKindNames[be.kind.workload()], be.refKey}
}

// ownerName is be's pod's controller ("" for none).
func (be *baseEntry) ownerName() string {
	if be.owner == (unique.Handle[string]{}) {
		return ""
	}
	return be.owner.Value()
}

func (be *baseEntry) claimKeys() []string   { return be.refs[:be.claims] }
func (be *baseEntry) pvNames() []string     { return be.refs[be.claims:be.pvs] }
func (be *baseEntry) driverNames() []string { return be.refs[be.pvs:] }

// decision is what decide gives a built entry, until its uses are
// computed.
type decision struct {
	target, current *decide.Pod // current: nil when the current version is unknown
	errs            []*decide.InputError
}

// baseSubject is a subject and its entries.
type baseSubject struct {
	s       subject
	entries keySet
}

// Change is one changed object for Base.Update: its kind, namespace and
// name, and its new state, nil when it was deleted.
type Change struct {
	// Kind is "Pod", a workload kind ("Deployment", "StatefulSet",
	// "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")
	// "PersistentVolumeClaim" or "PersistentVolume" (Namespace empty).
	Kind      string
	Namespace string
	Name      string
	// Object is a pointer to the typed object as it is now (as in Objects),
	// or a pod's, claim's or volume's *Packed; nil when deleted.
	Object any
}

// IncompleteError is Update's error for a change it cannot apply: a
// StorageClass, CSIDriver, Namespace or Node (each can
// change the decision of any number of pods, and Nodes the versions
// checked), or an unknown kind. The Base is left as it was: the caller runs
// RunBase again over every object.
type IncompleteError struct {
	Kind, Namespace, Name string
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("check: a change of %s %s cannot be applied incrementally: run the whole check again", e.Kind, nsName(e.Namespace, e.Name))
}

// workloadKinds maps kind names to the workload fields of Objects.
var workloadKinds = map[string]workloadKind{
	"Deployment": kindDeployment, "StatefulSet": kindStatefulSet, "DaemonSet": kindDaemonSet,
	"ReplicaSet": kindReplicaSet, "Job": kindJob, "CronJob": kindCronJob, "ReplicationController": kindReplicationController,
}

// Incremental reports whether Update applies changes of kind; it refuses
// the others with an IncompleteError.
func Incremental(kind string) bool {
	_, ok := workloadKinds[kind]
	return ok || kind == "Pod" || kind == "PersistentVolumeClaim" || kind == "PersistentVolume"
}

// RunBase checks in like Run and returns the state Update changes, with
// the report of Run over in's objects in the order Sort gives them. The
// objects are read, never modified, and must not be modified later.
func RunBase(in Input) (*Base, Report) {
	return RunBaseWithStorage(in, nil)
}

// Storage gives a Base the claims and PersistentVolumes it decides with,
// when its caller keeps them already (the controller, in its informers'
// caches): each as its *Packed or typed object, nil (untyped) when there is
// none. The Base then keeps no copy of them. Changes of claims and volumes
// must still be given to Update, once the Storage has them, so that the
// pods that read them are decided again.
type Storage interface {
	Claim(namespace, name string) any
	Volume(name string) any
}

// RunBaseWithStorage is RunBase reading claims and volumes from st, not
// from copies it keeps (st nil: as RunBase). The claims and volumes of in
// and of later changes must be st's.
func RunBaseWithStorage(in Input, st Storage) (*Base, Report) {
	var store storage = ownStore{claims: map[string]any{}, pvs: map[string]any{}}
	if st != nil {
		store = callerStore{st}
	}
	b := &Base{
		cfg: decide.Config{Gates: in.Target, SELinuxEnabled: in.SELinuxEnabled, Defaults: in.Defaults, Lean: true},
		mcs: map[string]string{}, store: store,
		synth: map[string]map[string]*corev1.PersistentVolumeClaim{}, synthOf: map[string][]string{},
		entries: map[string]*baseEntry{}, entryOf: map[objRef]string{}, subjects: map[string]*baseSubject{}, noted: map[string]bool{},
		invalid: map[string][]*decide.InputError{},
		byOwner: newReaderIndex(), byClaim: newReaderIndex(), index: volindex.New[string](), solo: map[string]string{},
		perVolume: map[string][]Finding{}, used: map[string]int{}, blocks: map[string]*Finding{},
		byPV: newReaderIndex(), superblock: map[string]map[string]superblockNote{}, unpacked: map[string]any{},
	}
	for k := range b.workloads {
		b.workloads[k] = map[string]any{}
	}
	if in.Current != nil {
		cc := b.cfg
		cc.Gates = *in.Current
		b.cur = &cc
	}
	o := &in.Objects
	for _, n := range o.Namespaces {
		if n.Annotations[openshiftMCS] != "" {
			b.mcs[n.Name] = n.Annotations[openshiftMCS]
		}
	}
	b.in = in
	b.in.Objects = Objects{StorageClasses: o.StorageClasses, CSIDrivers: o.CSIDrivers,
		Namespaces: o.Namespaces, Nodes: o.Nodes, NodePlugins: o.NodePlugins}
	for _, pv := range o.PVs {
		b.setVolume(pv.Name, pv)
	}
	var packed []Change
	for _, p := range o.Packed {
		switch p.Kind() {
		case "PersistentVolume":
			b.setVolume(p.Name(), p)
		default:
			packed = append(packed, Change{Kind: p.Kind(), Namespace: p.Namespace(), Name: p.Name(), Object: p})
		}
	}
	for _, d := range o.CSIDrivers {
		b.block(d.Name)
	}
	changes := slices.Concat(packed, changesOf("Pod", o.Pods),
		changesOf("Deployment", o.Deployments), changesOf("StatefulSet", o.StatefulSets),
		changesOf("DaemonSet", o.DaemonSets), changesOf("ReplicaSet", o.ReplicaSets),
		changesOf("Job", o.Jobs), changesOf("CronJob", o.CronJobs),
		changesOf("ReplicationController", o.ReplicationControllers),
		changesOf("PersistentVolumeClaim", o.PVCs))
	r, _ := b.Update(changes) // every kind given is incremental
	return b, r
}

type named interface {
	GetNamespace() string
	GetName() string
}

// changesOf returns objs as Changes of kind.
func changesOf[T named](kind string, objs []T) []Change {
	out := make([]Change, len(objs))
	for i, obj := range objs {
		out[i] = Change{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Object: obj}
	}
	return out
}

// Update applies changes and returns the report of the objects as they are
// now: Apply, then Report. A change of a kind it cannot apply returns an
// *IncompleteError and leaves the Base unchanged. Several changes of one
// object: the last wins.
func (b *Base) Update(changes []Change) (Report, error) {
	if _, _, err := b.apply(changes); err != nil {
		return Report{}, err
	}
	return b.Report(), nil
}

// Apply applies changes, as Update does, and returns the conflicts of the
// volumes whose users they changed, before any report is assembled: a
// caller that writes events can write a new conflict's at once, at a cost
// that does not grow with the cluster. Each is among the findings of the
// next Report, its subjects' running pods and nodes as they are now.
func (b *Base) Apply(changes []Change) ([]Finding, error) {
	volumes, subjects, err := b.apply(changes)
	if err != nil {
		return nil, err
	}
	return b.conflictsOf(volumes, subjects), nil
}

// apply applies changes and returns the volumes whose users changed and the
// subjects whose entries changed.
func (b *Base) apply(changes []Change) ([]string, map[*baseSubject]bool, error) {
	for _, ch := range changes {
		if !Incremental(ch.Kind) {
			return nil, nil, &IncompleteError{Kind: ch.Kind, Namespace: ch.Namespace, Name: ch.Name}
		}
	}
	// The lock covers the changes to what Users reads; the findings and
	// the report after it only read (a Base is never used concurrently),
	// so readers of Users do not wait for them.
	b.mu.Lock()
	locked := true
	defer func() {
		if locked {
			b.mu.Unlock()
		}
	}()
	dirty := map[objRef]bool{}
	readers := func(claim string) {
		for ek := range b.byClaim.of(claim) {
			dirty[b.entries[ek].ref()] = true
		}
	}
	drivers := map[string]bool{} // whose shared-superblock notes changed
	pods := map[string]any{}     // the pods given, packed; nil when deleted
	for _, ch := range changes {
		key := ns(ch.Namespace) + "/" + ch.Name
		switch ch.Kind {
		case "PersistentVolume":
			key = ch.Name
			for _, d := range b.setVolume(key, ch.Object) {
				drivers[d] = true
			}
			for ek := range b.byPV.of(key) {
				dirty[b.entries[ek].ref()] = true
			}
			continue // not an entry
		case "Pod":
			pods[key] = pack(ch.Object)
		case "PersistentVolumeClaim":
			b.store.putClaim(key, ch.Object)
			readers(key)
			continue // not an entry
		default:
			k := workloadKinds[ch.Kind]
			if ch.Object != nil && !isNil(ch.Object) {
				b.workloads[k][key] = ch.Object
			} else {
				delete(b.workloads[k], key)
			}
			// Its template's claims.
			tk := templateKey(k, key)
			for _, c := range b.synthOf[tk] {
				delete(b.synth[c], tk)
				if len(b.synth[c]) == 0 {
					delete(b.synth, c)
				}
				readers(c)
			}
			delete(b.synthOf, tk)
			if obj, ok := b.workloads[k][key]; ok {
				for _, c := range templateClaims(obj) {
					ck := ns(c.Namespace) + "/" + c.Name
					if b.synth[ck] == nil {
						b.synth[ck] = map[string]*corev1.PersistentVolumeClaim{}
					}
					b.synth[ck][tk] = c
					b.synthOf[tk] = append(b.synthOf[tk], ck)
					readers(ck)
				}
			}
			if k == kindReplicaSet || k == kindJob {
				// Its pods are reported under its owner, or under it.
				for ek := range b.byOwner.of(ch.Kind + "/" + key) {
					dirty[b.entries[ek].ref()] = true
				}
			}
		}
		dirty[objRef{ch.Kind, key}] = true
	}

	for d := range drivers {
		b.block(d)
	}

	// Drop the entries of changed objects, then build them again. An
	// entry that was alone on a volume kept only that use's name and label
	// (see slim): when another user joins, it is built again, in a second
	// round, so that the volume's findings can read its use.
	touched := map[string]bool{}
	subjects := map[*baseSubject]bool{}
	for len(dirty) > 0 {
		refill := map[objRef]bool{}
		b.rebuild(dirty, pods, touched, subjects, refill)
		dirty = refill
	}
	for k := range touched { // those with one user now, built or left alone
		if b.index.NumUsers(k) == 1 {
			b.slim(b.entries[b.index.UsersOf(k)[0]])
		}
	}
	var moved []*baseSubject
	for bs := range subjects {
		if bs.s.kind == "Pod" && bs.entries.len() == 1 { // a bare pod's, built now
			for ek := range bs.entries.all() {
				b.dropSubjectIfQuiet(b.entries[ek])
			}
		}
		if b.settle(bs, touched) {
			moved = append(moved, bs)
		}
	}
	locked = false
	b.mu.Unlock()

	// The findings of the volumes whose users changed.
	keys := make([]string, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	perVolume := make([][]Finding, len(keys))
	parallel.For(len(keys), func(i int) {
		if view, ok := b.index.Volume(keys[i]); ok && len(view.Users()) > 1 {
			perVolume[i] = conflictFindings(volumeUsers{view: view, use: b.useOf(keys[i])}, b.in)
		}
	})
	for i, k := range keys {
		if len(perVolume[i]) > 0 {
			b.perVolume[k] = perVolume[i]
		} else {
			delete(b.perVolume, k)
		}
	}
	for _, bs := range moved {
		b.refresh(bs)
	}
	return keys, subjects, nil
}

// rebuild detaches the entries of the objects in dirty and builds, decides
// and attaches them again (a pod from pods when given, else from what its
// entry kept), noting in refill the entries to build again because a
// volume they were alone on has a new user.
func (b *Base) rebuild(dirty map[objRef]bool, pods map[string]any, touched map[string]bool, subjects map[*baseSubject]bool, refill map[objRef]bool) {
	refs := make([]objRef, 0, len(dirty))
	for ref := range dirty {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b objRef) int { return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.key, b.key)) })
	for _, ref := range refs {
		if ek, ok := b.entryOf[ref]; ok {
			if _, given := pods[ref.key]; ref.kind == "Pod" && !given {
				pods[ref.key] = b.podObject(b.entries[ek]) // built again from what it kept
			}
			b.detach(ek, touched, subjects)
		}
	}
	var built []*baseEntry
	for _, ref := range refs {
		if be := b.build(ref, pods); be != nil {
			built = append(built, be)
		}
	}
	decisions := b.decide(built)
	parallel.For(len(built), func(i int) {
		be, d := built[i], decisions[i]
		be.results = entryUses(be.e, be.key, d.target, d.current, b.in)
		for _, name := range driversOf(d.target) {
			be.refs = append(be.refs, intern(name))
		}
		be.refs = slices.Clone(be.refs) // without the room left by appending
		// Decided: what was decoded for it goes (b keeps it packed), and
		// of the decision what the uses of volumes it may share read.
		if be.e.running {
			be.e.pod = nil
		}
		be.results = keptResults(be.results)
	})
	for i, be := range built {
		b.attach(be, decisions[i].errs, touched, subjects, refill)
	}
}

// slim drops the uses of the volumes be is alone on, keeping their names
// and labels (for Users), and trims them in the volume index to their
// groups: nothing compares them until another user comes, and then attach
// has be built again. Most volumes have one user, and a use with its
// decision is about 350 bytes, its index entry with a node, a time and an
// upstream view 200 more.
func (b *Base) slim(be *baseEntry) {
	for _, k := range be.volumeKeys() {
		if b.index.NumUsers(k) != 1 {
			continue
		}
		held := false
		for i := range be.results {
			if res := &be.results[i]; res.key == k && res.u != nil {
				res.name, res.label = volumeName(res.u.target), res.u.target.KubeletLabel
				res.u = nil
				held = true
			}
		}
		if held { // be's use is the index's one use of k
			b.index.Drop(be.key, k)
			b.solo[k] = be.key
		}
	}
	b.dropSubjectIfQuiet(be)
}

// dropSubjectIfQuiet drops the subject of be, and its entry, if be is a
// bare pod's with nothing to report and no use that another user's
// findings read (every use slimmed): nothing reads them but Users, which
// needs only the pod's namespace and name, and they cost about 270 bytes
// per pod. When the pod, its claims or volumes change, or another user
// joins one of its volumes, the entry is built again, with both.
func (b *Base) dropSubjectIfQuiet(be *baseEntry) {
	if be.bs == nil || !be.bare || b.noted[be.key] {
		return
	}
	for _, res := range be.results {
		if res.u != nil {
			return
		}
	}
	be.bs.entries.remove(be.key)
	be.bs, be.e = nil, nil // the entry too: what Users reads of it, its ref has
}

// user returns the user be stands for (see userOf).
func (be *baseEntry) user() User {
	if be.e != nil {
		return userOf(be.e)
	}
	namespace, name, _ := strings.Cut(be.refKey, "/") // a dropped entry is a pod's: namespace (defaulted) and name
	return User{Kind: "Pod", Namespace: namespace, Name: name}
}

// conflictsOf returns, sorted, the conflicts of volumes and the conflicts
// within one pod (its containers disagree) of subjects, as the report keeps
// them: the first entry of a subject with a finding hides the same one of
// later entries, so removing an entry can bring out another's.
func (b *Base) conflictsOf(volumes []string, subjects map[*baseSubject]bool) []Finding {
	var out []Finding
	for _, k := range volumes {
		out = append(out, b.perVolume[k]...)
	}
	for bs := range subjects {
		var noted []string
		for ek := range bs.entries.all() {
			if b.noted[ek] {
				noted = append(noted, ek)
			}
		}
		slices.Sort(noted)
		once := findingSet{}
		for _, ek := range noted {
			for _, res := range b.entries[ek].results {
				for _, f := range once.append(nil, res.findings...) {
					if f.Type == TypeConflict {
						out = append(out, f)
					}
				}
			}
		}
	}
	sortFindings(out)
	return out
}

// setVolume keeps the PersistentVolume name as obj (typed or packed; nil:
// deleted) and its shared-superblock note (see superblockNoteOf), and
// returns the drivers whose notes changed: its old one and its new one.
// The shared-superblock findings are left to block.
func (b *Base) setVolume(name string, obj any) []string {
	var drivers []string
	for d, notes := range b.superblock { // a few drivers
		if _, ok := notes[name]; ok {
			drivers = append(drivers, d)
			if delete(notes, name); len(notes) == 0 {
				delete(b.superblock, d)
			}
		}
	}
	b.store.putVolume(name, obj)
	if obj == nil || isNil(obj) {
		return drivers
	}
	pv, err := Unpacked[*corev1.PersistentVolume](obj) // decoded only when given packed
	if err != nil {
		return drivers
	}
	if d, n, ok := superblockNoteOf(pv); ok {
		if b.superblock[d] == nil {
			b.superblock[d] = map[string]superblockNote{}
		}
		b.superblock[d][name] = n
		drivers = append(drivers, d)
	}
	return drivers
}

// block brings the shared-superblock finding of driver up to date (see
// sharedSuperblock; the volumes in name order, as Objects.Sort puts them).
func (b *Base) block(driver string) {
	delete(b.blocks, driver)
	if !slices.ContainsFunc(b.in.Objects.CSIDrivers, func(d *storagev1.CSIDriver) bool {
		return d.Name == driver && d.Spec.SELinuxMount != nil && *d.Spec.SELinuxMount
	}) {
		return
	}
	m := b.superblock[driver]
	notes := make([]superblockNote, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		notes = append(notes, m[name])
	}
	if f, ok := superblockFinding(driver, notes, b.in.Objects.StorageClasses); ok {
		b.blocks[driver] = &f
	}
}

// keptResults returns what a Base keeps of an entry's results: the uses
// of volumes it may share (a key), each copied out of the entry's uses (each
// use has its own copy of its volume's decision, decided), so that the other
// uses can go; of the other results, the findings.
func keptResults(results []useResult) []useResult {
	var out []useResult
	for _, res := range results {
		switch {
		case res.key != "":
			u := *res.u
			keep(u.target) // the use's own copy
			res.u = &u
		case len(res.findings) > 0:
			res.u = nil
		default:
			continue
		}
		out = append(out, res)
	}
	return out
}

// keep readies a decision for a Base to keep, once entryUses has read it:
// it drops the claim when bound to a volume named (volumeName and the
// upstream text read only unbound ones), and interns the strings that
// thousands of uses repeat (labels, reasons, drivers, levels), which the
// decoder gave each use a copy of. The Base decodes its objects for each
// decision, so each would otherwise be a copy kept per entry.
func keep(v *decided) {
	if v.Claim != nil && claimBound(v.Claim) && v.PersistentVolume != "" {
		v.Claim = nil
	}
	v.CSIDriver, v.Kind, v.Level = intern(v.CSIDriver), intern(v.Kind), intern(v.Level)
	v.KubeletLabel, v.EligibleReason = intern(v.KubeletLabel), intern(v.EligibleReason)
	if v.SpecName == v.PersistentVolume {
		v.SpecName = v.PersistentVolume // one string, not two equal ones
	}
}

// pack returns a pod, claim or volume packed (see Packed), obj itself if it
// is packed already or cannot be packed, nil for nil.
func pack(obj any) any {
	if obj == nil || isNil(obj) {
		return nil
	}
	if _, ok := obj.(*Packed); ok {
		return obj
	}
	if p, err := Pack(obj); err == nil {
		return p
	}
	return obj
}

// isNil reports whether obj is a typed nil pointer.
func isNil(obj any) bool {
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// templateKey is the entry key of a workload's template: templates come
// before pods, by kind in the order of the fields of Objects, then by
// namespace and name.
func templateKey(k workloadKind, nsName string) string {
	return "0" + string(rune('a'+k)) + strings.Replace(nsName, "/", "\x00", 1)
}

// podEntryKey is the entry key of a pod: by creation time, then namespace and
// name. The time is in binary, big-endian (12 bytes where hexadecimal took
// 24: one key per pod).
func podEntryKey(p *corev1.Pod) string {
	t := p.CreationTimestamp.Time
	namespace := ns(p.Namespace)
	var k strings.Builder
	k.Grow(1 + 12 + len(namespace) + 1 + len(p.Name))
	k.WriteByte('1')
	var when [12]byte
	binary.BigEndian.PutUint64(when[:8], uint64(t.Unix())+1<<62)
	binary.BigEndian.PutUint32(when[8:], uint32(t.Nanosecond()))
	k.Write(when[:])
	k.WriteString(namespace)
	k.WriteByte(0)
	k.WriteString(p.Name)
	return k.String()
}

// owned reports whether obj is a ReplicaSet or Job that a controller owns:
// its owner's template stands for it.
func owned(obj any) bool {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		_, _, ok := controllerOf(o.OwnerReferences)
		return ok
	case *batchv1.Job:
		_, _, ok := controllerOf(o.OwnerReferences)
		return ok
	}
	return false
}

// templateClaims are the claims a workload's template makes (a
// StatefulSet's), as the collector takes them.
func templateClaims(obj any) []*corev1.PersistentVolumeClaim {
	if owned(obj) {
		return nil
	}
	tpl, claims, ok := workload.Expand(obj)
	if !ok || len(tpl) == 0 {
		return nil
	}
	return claims
}

// claim resolves a claim as decide does over workload.Claims: a given one
// wins, else the template's that comes last.
func (b *Base) claim(key string) *corev1.PersistentVolumeClaim {
	if packed := b.store.claim(key); packed != nil {
		if c, err := Unpacked[*corev1.PersistentVolumeClaim](packed); err == nil { // cannot fail: Pack encoded it
			return workload.Claims([]*corev1.PersistentVolumeClaim{c}, nil)[0] // namespace defaulted
		}
	}
	last := ""
	for tk := range b.synth[key] {
		last = max(last, tk)
	}
	return b.synth[key][last]
}

// build makes the entry of ref's object as the collector would, without
// its decision; nil when the object has none. A pod's object is in pods
// (by namespace/name), packed.
func (b *Base) build(ref objRef, pods map[string]any) *baseEntry {
	be := &baseEntry{refKey: ref.key, kind: refKindOf(ref.kind)}
	if ref.kind == "Pod" {
		packed := pods[ref.key]
		if packed == nil {
			return nil
		}
		p, err := Unpacked[*corev1.Pod](packed) // cannot fail: Pack encoded it
		if err != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			return nil
		}
		if pp, ok := packed.(*Packed); ok {
			be.obj = pp
		} else {
			b.unpacked[ref.key] = packed // see podObject
		}
		ps, _, _ := workload.Expand(p)
		pod := ps[0]
		kind, name := "Pod", pod.Name
		k, n, ok := controllerOf(pod.OwnerReferences)
		be.bare = !ok
		if ok {
			kind, name = k, n
			if k == "ReplicaSet" || k == "Job" {
				be.owner = unique.Make(k + "/" + pod.Namespace + "/" + n) // one copy for the pods of a ReplicaSet
				if top, ok := b.workloads[workloadKinds[k]][pod.Namespace+"/"+n].(metav1.Object); ok {
					if tk, tn, ok := controllerOf(top.GetOwnerReferences()); ok {
						kind, name = tk, tn
					}
				}
			}
		}
		be.key = podEntryKey(p)
		be.bs = b.subject(kind, pod.Namespace, name)
		be.e = newEntry(&be.bs.s, pod, true)
	} else {
		k, ok := workloadKinds[ref.kind]
		if !ok {
			return nil
		}
		obj := b.workloads[k][ref.key]
		if obj == nil || owned(obj) {
			return nil
		}
		tpl, _, ok := workload.Expand(obj)
		if !ok || len(tpl) == 0 {
			return nil
		}
		if lvl := b.mcs[tpl[0].Namespace]; lvl != "" {
			applySCCLevel(tpl[0], lvl)
		}
		r := tpl[0].OwnerReferences[0]
		be.key = templateKey(k, ref.key)
		be.bs = b.subject(r.Kind, tpl[0].Namespace, r.Name)
		be.e = newEntry(&be.bs.s, tpl[0], false)
	}
	pod := be.e.pod
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			be.refs = append(be.refs, pod.Namespace+"/"+v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			be.refs = append(be.refs, pod.Namespace+"/"+pod.Name+"-"+v.Name)
		}
	}
	be.claims = int32(len(be.refs))
	be.pvs = be.claims
	return be
}

// subject returns the subject kind/namespace/name, made when new. A bare
// pod's, made anew for each entry of the pod, is that entry's alone: it is
// not kept in subjects (a map entry and a key for each of 100,000 pods),
// and refresh finds it through the entry.
func (b *Base) subject(kind, namespace, name string) *baseSubject {
	if kind == "Pod" {
		return &baseSubject{s: subject{kind: kind, namespace: namespace, name: name, nodes: []string{}}}
	}
	k := kind + "/" + namespace + "/" + name
	bs := b.subjects[k]
	if bs == nil {
		bs = &baseSubject{s: subject{kind: kind, namespace: namespace, name: name, nodes: []string{}}}
		b.subjects[k] = bs
		b.workloadSubjects++
	}
	return bs
}

// detach removes the entry ek, noting the volumes and subjects it touched.
func (b *Base) detach(ek string, touched map[string]bool, subjects map[*baseSubject]bool) {
	be := b.entries[ek]
	delete(b.entries, ek)
	delete(b.entryOf, be.ref())
	if be.kind == podRef {
		delete(b.unpacked, be.refKey)
	}
	delete(b.noted, ek)
	delete(b.invalid, ek)
	if be.running {
		b.runningPods--
	}
	if bs := be.bs; bs != nil { // nil: dropped (see dropSubjectIfQuiet)
		bs.entries.remove(ek)
		subjects[bs] = true
	}
	for _, c := range be.claimKeys() {
		b.byClaim.unlink(c, ek)
	}
	for _, pv := range be.pvNames() {
		b.byPV.unlink(pv, ek)
	}
	if owner := be.ownerName(); owner != "" {
		b.byOwner.unlink(owner, ek)
	}
	for _, res := range be.results {
		if res.key != "" {
			touched[res.key] = true
			if res.u == nil && b.solo[res.key] == ek {
				delete(b.solo, res.key)
			}
		}
	}
	for _, k := range b.index.Remove(ek) {
		touched[k] = true
	}
	addDrivers(b.used, be.driverNames(), -1)
	if len(be.volumeKeys()) > 0 {
		b.withUsers--
	}
}

// attach adds the built entry be, noting the volumes and subjects it
// touches, and in refill the user whose use of a volume be joins was
// slimmed (see slim).
func (b *Base) attach(be *baseEntry, errs []*decide.InputError, touched map[string]bool, subjects map[*baseSubject]bool, refill map[objRef]bool) {
	b.entries[be.key] = be
	b.entryOf[be.ref()] = be.key
	be.running = be.e.running
	if be.running {
		b.runningPods++
	}
	if len(errs) > 0 {
		b.invalid[be.key] = errs
	}
	if len(errs) > 0 || slices.ContainsFunc(be.results, func(r useResult) bool { return len(r.findings) > 0 }) {
		b.noted[be.key] = true
	}
	bs := be.bs
	bs.entries.add(be.key)
	subjects[bs] = true
	for _, c := range be.claimKeys() {
		b.byClaim.link(c, be.key)
	}
	for _, pv := range be.pvNames() {
		b.byPV.link(pv, be.key)
	}
	if owner := be.ownerName(); owner != "" {
		b.byOwner.link(owner, be.key)
	}
	addDrivers(b.used, be.driverNames(), 1)
	var uses []volindex.Use
	for _, res := range be.results {
		if res.key == "" {
			continue
		}
		touched[res.key] = true
		uses = append(uses, indexUse(res.key, res.u))
	}
	keys := be.volumeKeys()
	for _, k := range keys {
		if other, ok := b.solo[k]; ok && other != be.key { // its one user was slimmed
			refill[b.entries[other].ref()] = true
		}
	}
	for _, k := range b.index.Set(be.key, uses) {
		touched[k] = true
	}
	if len(keys) > 0 {
		b.withUsers++
	}
}

// settle recomputes what a subject gathers from its entries: its running
// pods, their nodes and its object, and reports whether its pods or nodes
// changed. When its object changes, the volumes of all its entries are
// touched (their fixes patch the object); its pods and nodes only show in
// the subjects of findings, which refresh brings up to date.
func (b *Base) settle(bs *baseSubject, touched map[string]bool) bool {
	s := &bs.s
	if bs.entries.len() == 0 {
		if s.kind != "Pod" {
			delete(b.subjects, s.key())
			b.workloadSubjects--
		}
		return false
	}
	running := 0
	nodes := map[string]bool{}
	var obj, bare any
	for ek := range bs.entries.all() {
		be := b.entries[ek]
		switch {
		case !be.e.running:
			obj = b.workloads[be.kind.workload()][be.refKey]
		default:
			running++
			if n := be.e.node; n != "" {
				nodes[n] = true
			}
			if be.bare {
				bare = b.podObject(be)
			}
		}
	}
	if bare != nil {
		obj = bare
	}
	moved := s.running != running
	s.running = running
	list := slices.AppendSeq([]string{}, maps.Keys(nodes)) // never nil: a subject's nodes are a list
	slices.Sort(list)
	if !slices.Equal(list, s.nodes) {
		s.nodes, moved = list, true
	}
	if obj != s.obj {
		s.obj = obj
		for ek := range bs.entries.all() {
			for _, res := range b.entries[ek].results {
				if res.key != "" {
					touched[res.key] = true
				}
			}
		}
	}
	return moved
}

// decide decides the pods of the built entries, reading only the storage
// objects they need, and notes in each the volumes its claims are bound to.
func (b *Base) decide(built []*baseEntry) []decision {
	out := make([]decision, len(built))
	at := make(map[*baseEntry]int, len(built))
	for i, be := range built {
		at[be] = i
	}
	objs := decide.Objects{StorageClasses: b.in.Objects.StorageClasses, CSIDrivers: b.in.Objects.CSIDrivers}
	claims, pvs := map[string]*corev1.PersistentVolumeClaim{}, map[string]bool{}
	for _, be := range built {
		for _, ck := range be.claimKeys() {
			c, seen := claims[ck]
			if !seen {
				c = b.claim(ck)
				claims[ck] = c
				if c != nil {
					objs.PVCs = append(objs.PVCs, c)
				}
			}
			if c == nil {
				continue
			}
			n := c.Spec.VolumeName
			if n == "" {
				continue
			}
			be.refs = append(be.refs, n) // a change of the volume changes the decision, even of a missing one
			be.pvs++
			if !pvs[n] {
				pvs[n] = true
				if obj := b.store.volume(n); obj != nil {
					if pv, err := Unpacked[*corev1.PersistentVolume](obj); err == nil { // cannot fail: Pack encoded it
						objs.PVs = append(objs.PVs, pv)
					}
				}
			}
		}
	}
	// An input error names its pod by namespace/name, which a template and
	// a pod may share (a StatefulSet's first pod): such pods go to separate
	// batches.
	for rest := built; len(rest) > 0; {
		var batch, later []*baseEntry
		names := map[string]bool{}
		for _, be := range rest {
			k := ns(be.e.namespace) + "/" + be.e.name
			if names[k] {
				later = append(later, be)
				continue
			}
			names[k] = true
			batch = append(batch, be)
		}
		objs.Pods = make([]*corev1.Pod, len(batch))
		for i, be := range batch {
			objs.Pods[i] = be.e.pod
		}
		target := decide.Explain(objs, b.cfg)
		var current *decide.Explanation
		switch {
		case b.cur != nil && sameGates(b.cur.Gates, b.cfg.Gates):
			current = &target
		case b.cur != nil:
			e := decide.Explain(objs, *b.cur)
			current = &e
		}
		errs := map[string][]*decide.InputError{}
		for _, ie := range target.InputErrors {
			errs[ie.Pod] = append(errs[ie.Pod], ie)
		}
		for i, be := range batch {
			d := &out[at[be]]
			d.target = &target.Pods[i]
			if current != nil {
				d.current = &current.Pods[i]
			}
			d.errs = errs[ns(be.e.namespace)+"/"+be.e.name]
		}
		rest = later
	}
	return out
}

// useOf returns the use of volume key by an entry, as run's useOf does.
func (b *Base) useOf(key string) func(string) *use {
	return func(ek string) *use {
		var found *use
		for _, res := range b.entries[ek].results {
			if res.key == key {
				found = res.u
			}
		}
		return found
	}
}

// Report assembles the report of the objects as they are now from the
// entries and volumes, as Run does; it costs the findings, not the pods.
func (b *Base) Report() Report {
	in := b.in
	r := Report{APIVersion: apiversion.Current, Kind: "Report", TargetVersion: in.Target.Version().String(), Source: in.Source, Findings: []Finding{}}
	if in.Current != nil {
		r.CurrentVersion = in.Current.Version().String()
	}
	r.FeatureGatesWithoutEffect = in.Target.Inert()
	once := findingSet{}
	// The entries with something to report, in input order (entry keys
	// sort in it).
	for _, ek := range slices.Sorted(maps.Keys(b.noted)) {
		be := b.entries[ek]
		r.InvalidPods = append(r.InvalidPods, b.invalid[ek]...)
		for _, res := range be.results {
			r.Findings = once.append(r.Findings, res.findings...)
		}
	}
	r.Summary.Pods = b.runningPods
	for _, ie := range r.InvalidPods {
		r.InputErrors = append(r.InputErrors, ie.Error())
	}
	for _, k := range slices.Sorted(maps.Keys(b.perVolume)) {
		r.Findings = append(r.Findings, b.perVolume[k]...)
	}
	in.Objects.DaemonSets = nil
	for _, k := range slices.Sorted(maps.Keys(b.workloads[kindDaemonSet])) {
		in.Objects.DaemonSets = append(in.Objects.DaemonSets, b.workloads[kindDaemonSet][k].(*appsv1.DaemonSet))
	}
	superblock := func(name string) (Finding, bool) {
		if f := b.blocks[name]; f != nil {
			return *f, true
		}
		return Finding{}, false
	}
	r.Findings = append(r.Findings, driverFindings(in, in.Objects.CSIDrivers, b.used, superblock)...)
	sortFindings(r.Findings)
	r.Summary.Workloads = b.workloadSubjects
	r.Summary.Volumes = b.volumes()
	r.Summary.InputErrors = len(r.InputErrors)
	summarize(&r)
	return r
}

// refresh brings the findings that name bs up to date with its running
// pods and nodes, once they changed: those of its entries and of the
// volumes they use, the only ones that can name it. Each finding's
// subjects are copied when changed, as earlier reports share them. Findings
// computed after the change are up to date already; the others would
// otherwise be refreshed at each report (a lookup per subject of every
// finding, a quarter of a sync's time with 10,000 conflicting pods).
func (b *Base) refresh(bs *baseSubject) {
	s := &bs.s
	fix := func(fs []Finding) {
		for i := range fs {
			f := &fs[i]
			for j, sub := range f.Subjects {
				if sub.Kind != s.kind || sub.Namespace != s.namespace || sub.Name != s.name ||
					sub.Running == s.running && slices.Equal(sub.Nodes, s.nodes) {
					continue
				}
				cp := slices.Clone(f.Subjects)
				cp[j].Running, cp[j].Nodes = s.running, s.nodes
				f.Subjects = cp
			}
		}
	}
	volumes := map[string]bool{}
	for ek := range bs.entries.all() {
		for _, res := range b.entries[ek].results {
			fix(res.findings)
			if res.key != "" && !volumes[res.key] {
				volumes[res.key] = true
				fix(b.perVolume[res.key])
			}
		}
	}
}

// Users returns the users of every volume as the Base holds them now: unlike
// those of RunUsers they follow later Updates. Reading them while the Base
// is updated is safe.
func (b *Base) Users() *Users { return &Users{base: b} }

func (b *Base) usersOf(key string) []User {
	b.mu.RLock()
	defer b.mu.RUnlock()
	eks := b.index.UsersOf(key)
	if ek, ok := b.solo[key]; ok {
		eks = append(eks, ek)
		slices.Sort(eks)
	}
	out := make([]User, len(eks))
	for i, ek := range eks {
		out[i] = b.entries[ek].user()
	}
	return out
}

func (b *Base) volumesOf(user User) []UserVolume {
	b.mu.RLock()
	defer b.mu.RUnlock()
	// A pod's entry is its own; a template's is its workload's, which is
	// the subject its user names.
	ek, ok := b.entryOf[objRef{user.Kind, ns(user.Namespace) + "/" + user.Name}]
	if !ok {
		return nil
	}
	be := b.entries[ek]
	if be.user() != user {
		return nil
	}
	return be.usersVolumes()
}

// volumeKeys returns the keys of the volumes be may share, each once, in
// the order of its results.
func (be *baseEntry) volumeKeys() []string {
	var keys []string
	for _, res := range be.results {
		if res.key != "" && !slices.Contains(keys, res.key) {
			keys = append(keys, res.key)
		}
	}
	return keys
}

// usersVolumes returns be's uses of the volumes it may share as Users
// gives them: the first use of each volume key.
func (be *baseEntry) usersVolumes() []UserVolume {
	var out []UserVolume
	for _, res := range be.results {
		if res.key == "" || slices.ContainsFunc(out, func(uv UserVolume) bool { return uv.Key == res.key }) {
			continue
		}
		if res.u == nil { // slimmed
			out = append(out, UserVolume{Key: res.key, Name: res.name, Label: res.label})
		} else {
			out = append(out, UserVolume{Key: res.key, Name: volumeName(res.u.target), Label: res.u.target.KubeletLabel})
		}
	}
	return out
}

func (b *Base) usersLen() (users, volumes int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.withUsers, b.volumes()
}

// volumes returns the number of volumes with a user: those of the index and
// the solo ones, which are never both at rest.
func (b *Base) volumes() int { return b.index.Len() + len(b.solo) }

// Sort orders the objects as a Base reports them: pods by creation time,
// then namespace and name; every other kind by namespace and name (an empty
// namespace is "default"). Workloads given to Add lose their order.
func (o *Objects) Sort() {
	byName := func(a, b named) int {
		return cmp.Or(strings.Compare(ns(a.GetNamespace()), ns(b.GetNamespace())), strings.Compare(a.GetName(), b.GetName()))
	}
	slices.SortStableFunc(o.Pods, func(a, b *corev1.Pod) int {
		return cmp.Or(a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time), byName(a, b))
	})
	sortNamed(o.Deployments, byName)
	sortNamed(o.StatefulSets, byName)
	sortNamed(o.DaemonSets, byName)
	sortNamed(o.ReplicaSets, byName)
	sortNamed(o.Jobs, byName)
	sortNamed(o.CronJobs, byName)
	sortNamed(o.ReplicationControllers, byName)
	sortNamed(o.PVCs, byName)
	sortNamed(o.PVs, byName)
	o.added = nil
}

func sortNamed[T named](s []T, by func(a, b named) int) {
	slices.SortStableFunc(s, func(a, b T) int { return by(a, b) })
}

// storage holds a Base's claims (by namespace/name) and volumes (by name).
type storage interface {
	claim(key string) any
	volume(name string) any
	putClaim(key string, obj any) // obj nil: deleted
	putVolume(name string, obj any)
}

// ownStore keeps the claims and volumes packed (see Packed), or as they
// are if they cannot be packed.
type ownStore struct{ claims, pvs map[string]any }

func (s ownStore) claim(key string) any   { return s.claims[key] }
func (s ownStore) volume(name string) any { return s.pvs[name] }

func (s ownStore) putClaim(key string, obj any) { put(s.claims, key, obj) }

func (s ownStore) putVolume(name string, obj any) { put(s.pvs, name, obj) }

func put(m map[string]any, k string, obj any) {
	if p := pack(obj); p != nil {
		m[k] = p
	} else {
		delete(m, k)
	}
}

// callerStore reads a caller's Storage; what is put is the caller's
// already.
type callerStore struct{ st Storage }

func (s callerStore) claim(key string) any {
	namespace, name, _ := strings.Cut(key, "/")
	return nonNil(s.st.Claim(namespace, name))
}

func (s callerStore) volume(name string) any { return nonNil(s.st.Volume(name)) }

func (callerStore) putClaim(string, any)  {}
func (callerStore) putVolume(string, any) {}

// nonNil returns obj, or nil (untyped) for a typed nil pointer.
func nonNil(obj any) any {
	if obj == nil || isNil(obj) {
		return nil
	}
	return obj
}
