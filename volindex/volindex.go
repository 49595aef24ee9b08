// Package volindex is an incremental index of the users of shared volumes,
// grouped the way the kubelet compares them, so that conflicts between
// thousands of users of one volume are found and reported without ever
// building the pairs of users.
//
// A user is a pod or a workload's pod template, named by a key of the
// caller's choice (K). Each of its uses of a volume carries the label the
// kubelet compares for it and the change policy it honours (a Group), and
// how the upstream selinux-warning-controller of kube-controller-manager
// sees it (an Upstream view). Set replaces all uses of one user and Remove
// drops them, each in time proportional to the user's own volumes, never to
// the number of other users of those volumes.
//
// A volume has a conflict when its users' groups carry more than one label:
// the kubelet mounts a volume with one label per node, and a Recursive pod
// or a pod without seLinuxOptions has the empty label. The policy is part of
// the group so that a report can tell a pod that opted out from one that
// sets nothing; two groups that differ only in policy do not conflict.
//
// The upstream controller's view, one report per ordered pair of pods, is
// computed on demand from groups of identical upstream views: counts by
// arithmetic over the groups, and the pairs themselves through an iterator
// that the caller stops when it has seen enough.
//
// An Index is safe for concurrent use. Reads return snapshots (View) that
// stay valid and consistent while the index changes.
//
// The package is pure: no client, no filesystem.
package volindex

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Policies as the kubelet and the upstream controller name them.
const (
	MountOption = "MountOption"
	Recursive   = "Recursive"
)

// Group is what the kubelet compares between the users of a volume: the
// mount label ("" for none, for Recursive pods and for plugins without
// context mounts) and, for reports, the change policy it honours.
type Group struct {
	Label  string
	Policy string
}

// Upstream is how the upstream selinux-warning-controller sees one use.
// The zero value is a use it does not see (a template, a pod whose claim
// is not bound, a pod whose containers disagree about the volume).
type Upstream struct {
	// Seen is true when the controller adds this use to its cache.
	Seen bool
	// Volume is the controller's volume name (the kubelet's unique volume
	// name). It compares only users of the same name; "" means the index's
	// volume key.
	Volume string
	// Label is the raw seLinuxOptions joined as "user:role:type:level"
	// ("" for none or Recursive), Policy the policy after its
	// normalisation (Recursive when the label is empty or the plugin has no
	// support).
	Label  string
	Policy string
}

// Use is one user's use of one volume.
type Use struct {
	// Volume identifies the volume (see VolumeKey); "" is not indexed.
	Volume string
	// Group is what the kubelet compares.
	Group Group
	// MultipleLabels is true when the user's containers translate to
	// different labels for this volume: the kubelet refuses the pod (or
	// only warns) and compares it with no other user, so it joins no group.
	MultipleLabels bool
	// Node is the node a running pod is bound to; "" for templates and
	// pods not scheduled yet.
	Node string
	// Created orders the pods of one node: the kubelet keeps the label of
	// the pod admitted first. Ties go to the smaller key.
	Created time.Time
	// Upstream is the upstream controller's view.
	Upstream Upstream
}

// Index holds the users of every volume. The zero value is not usable; call
// New.
//
// Memory is what a cluster of 100,000 pods can afford: each use is stored
// once, in its volume; a volume whose users share one label keeps no map.
type Index[K cmp.Ordered] struct {
	mu        sync.RWMutex
	users     map[K][]slot // the reverse index: user -> its volumes and positions
	volumes   map[string]*volume[K]
	conflicts map[string]bool // volumes with more than one label
	// The most users and volumes the maps held since they were made:
	// Go's maps keep their room when entries go, so shrink makes them
	// anew once they are down to a quarter.
	peakUsers, peakVolumes int
}

// slot is where a user's use of a volume is: its position in the volume's
// entries. Kept in the user's own list, which is short, rather than in a
// map of (volume, user) pairs, which would cost a map entry per use.
type slot struct {
	volume string
	pos    int
}

// volume is the state of one volume: its uses, and how many grouped uses
// carry each label (one label without a map, the common case).
type volume[K cmp.Ordered] struct {
	entries []entry[K]
	label   string         // the label while there is one
	n       int            // grouped uses with label
	labels  map[string]int // every label's grouped uses, once there are two
}

// entry is one user's use of a volume, as it is stored: the volume's key
// is the volume's, and what only some uses carry (a node, a creation time,
// the upstream view) is apart, so that a use with only its group (a
// template's, a pod's not scheduled yet) takes 64 bytes, not 168.
type entry[K cmp.Ordered] struct {
	user     K
	group    Group
	multiple bool
	more     *useMore // nil when the use has none of it
}

type useMore struct {
	node     string
	created  time.Time
	upstream Upstream
}

func entryOf[K cmp.Ordered](user K, u Use) entry[K] {
	e := entry[K]{user: user, group: u.Group, multiple: u.MultipleLabels}
	if u.Node != "" || !u.Created.IsZero() || u.Upstream != (Upstream{}) {
		e.more = &useMore{node: u.Node, created: u.Created, upstream: u.Upstream}
	}
	return e
}

// use returns the use e stores of the volume key.
func (e *entry[K]) use(key string) Use {
	u := Use{Volume: key, Group: e.group, MultipleLabels: e.multiple}
	if m := e.more; m != nil {
		u.Node, u.Created, u.Upstream = m.node, m.created, m.upstream
	}
	return u
}

// classKey is one upstream view: the users the controller sees alike.
type classKey struct{ volume, label, policy string }

// New returns an empty index.
func New[K cmp.Ordered]() *Index[K] {
	return &Index[K]{users: map[K][]slot{}, volumes: map[string]*volume[K]{}, conflicts: map[string]bool{}}
}

// Set replaces every use of user by uses and returns the volumes whose
// users changed, sorted. A user that uses one volume twice keeps the last
// use. Uses with an empty Volume are ignored. Set costs O(len(uses)) plus
// the user's previous uses, whatever the number of other users.
func (x *Index[K]) Set(user K, uses []Use) []string {
	var next []Use
	for _, u := range uses {
		if u.Volume == "" {
			continue
		}
		if u.Upstream.Seen && u.Upstream.Volume == "" {
			u.Upstream.Volume = u.Volume
		}
		if !u.Upstream.Seen {
			u.Upstream = Upstream{}
		}
		if i := slices.IndexFunc(next, func(n Use) bool { return n.Volume == u.Volume }); i >= 0 {
			next[i] = u // a user has few volumes
			continue
		}
		next = append(next, u)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var touched []string
	prev := x.users[user]
	slots := make([]slot, 0, len(next))
	for _, s := range prev {
		// Dropping another volume of this user moves only other users'
		// entries: s.pos still holds.
		old := x.volumes[s.volume].entries[s.pos].use(s.volume)
		if i := slices.IndexFunc(next, func(n Use) bool { return n.Volume == s.volume }); i >= 0 && next[i] == old {
			slots = append(slots, s) // unchanged
			continue
		}
		x.drop(s)
		touched = append(touched, s.volume)
	}
	for _, u := range next {
		if slices.ContainsFunc(slots, func(s slot) bool { return s.volume == u.Volume }) {
			continue // unchanged
		}
		slots = append(slots, x.add(user, u))
		if !slices.ContainsFunc(prev, func(s slot) bool { return s.volume == u.Volume }) {
			touched = append(touched, u.Volume)
		}
	}
	if len(slots) == 0 {
		delete(x.users, user)
	} else {
		x.users[user] = slots
	}
	x.shrink()
	slices.Sort(touched)
	return touched
}

// Drop removes user's use of volume alone, as Set with the user's other
// uses would, and reports whether the index held it. A caller that keeps
// many volumes with one user each (check.Base) keeps those uses itself and
// drops them from the index, which then holds only what can conflict:
// nothing compares a volume's only use until another user comes, and the
// caller then sets it again. Drop costs O(the user's volumes).
func (x *Index[K]) Drop(user K, volume string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	slots := x.users[user]
	i := slices.IndexFunc(slots, func(s slot) bool { return s.volume == volume })
	if i < 0 {
		return false
	}
	x.drop(slots[i])
	// x.drop moved only other users' entries: the rest of slots holds.
	if slots = slices.Delete(slots, i, i+1); len(slots) == 0 {
		delete(x.users, user)
	} else {
		x.users[user] = slots
	}
	x.shrink()
	return true
}

// shrink makes the maps of users and volumes anew when they hold a quarter
// of their peak: a caller that keeps most volumes out of the index (see
// Drop) would otherwise keep the room of every user it ever had (3 MB for
// 50,000). Each copy costs the entries left, a quarter of the removals that
// led to it.
func (x *Index[K]) shrink() {
	x.peakUsers, x.peakVolumes = max(x.peakUsers, len(x.users)), max(x.peakVolumes, len(x.volumes))
	if x.peakUsers >= 1024 && len(x.users) < x.peakUsers/4 {
		x.users, x.peakUsers = remake(x.users), len(x.users)
	}
	if x.peakVolumes >= 1024 && len(x.volumes) < x.peakVolumes/4 {
		x.volumes, x.peakVolumes = remake(x.volumes), len(x.volumes)
	}
}

// remake copies m into a map sized for its entries (maps.Clone keeps the
// room of the original).
func remake[M ~map[K]V, K comparable, V any](m M) M {
	out := make(M, len(m))
	maps.Copy(out, m)
	return out
}

// Remove drops every use of user and returns the volumes it used, sorted.
// Removing an unknown user does nothing.
func (x *Index[K]) Remove(user K) []string { return x.Set(user, nil) }

// add files user's use u in its volume and returns where.
func (x *Index[K]) add(user K, u Use) slot {
	v := x.volumes[u.Volume]
	if v == nil {
		v = &volume[K]{}
		x.volumes[u.Volume] = v
	}
	s := slot{u.Volume, len(v.entries)}
	v.entries = append(v.entries, entryOf(user, u))
	if !u.MultipleLabels {
		v.count(u.Group.Label, 1)
	}
	x.mark(u.Volume, v)
	return s
}

// drop removes the use at s; the volume's last entry takes its place, and
// its user's slot follows it (a search of that user's few volumes). The
// caller updates the slots of the user whose use it drops.
func (x *Index[K]) drop(s slot) {
	key, i := s.volume, s.pos
	v := x.volumes[key]
	u := v.entries[i]
	last := len(v.entries) - 1
	if i != last {
		v.entries[i] = v.entries[last]
		moved := x.users[v.entries[i].user]
		moved[slices.IndexFunc(moved, func(m slot) bool { return m.volume == key })].pos = i
	}
	v.entries[last] = entry[K]{}
	v.entries = v.entries[:last]
	if !u.multiple {
		v.count(u.group.Label, -1)
	}
	if len(v.entries) == 0 {
		delete(x.volumes, key)
		delete(x.conflicts, key)
		return
	}
	if cap(v.entries) > 16 && len(v.entries) < cap(v.entries)/4 {
		v.entries = slices.Clone(v.entries) // give back what thousands of users left
	}
	x.mark(key, v)
}

// count adds d grouped uses of label l.
func (v *volume[K]) count(l string, d int) {
	switch {
	case v.labels != nil:
		v.labels[l] += d
		if v.labels[l] == 0 {
			delete(v.labels, l)
		}
		if len(v.labels) == 1 { // back to one label: no map
			for l, n := range v.labels {
				v.label, v.n = l, n
			}
			v.labels = nil
		} else if len(v.labels) == 0 {
			v.label, v.n, v.labels = "", 0, nil
		}
	case v.n == 0 || l == v.label:
		v.label = l
		v.n += d
	default:
		v.labels = map[string]int{v.label: v.n, l: d}
		v.label, v.n = "", 0
	}
}

// nLabels returns the number of distinct labels of grouped uses.
func (v *volume[K]) nLabels() int {
	if v.labels != nil {
		return len(v.labels)
	}
	if v.n > 0 {
		return 1
	}
	return 0
}

func (x *Index[K]) mark(key string, v *volume[K]) {
	if v.nLabels() > 1 {
		x.conflicts[key] = true
	} else {
		delete(x.conflicts, key)
	}
}

func classOf(u Use) classKey {
	return classKey{u.Upstream.Volume, u.Upstream.Label, u.Upstream.Policy}
}

// Len returns the number of volumes with at least one user.
func (x *Index[K]) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.volumes)
}

// UsersOf returns the users of the volume key, sorted; none when it has
// none. It costs O(its users · log).
func (x *Index[K]) UsersOf(key string) []K {
	x.mu.RLock()
	defer x.mu.RUnlock()
	v := x.volumes[key]
	if v == nil {
		return nil
	}
	out := make([]K, len(v.entries))
	for i, e := range v.entries {
		out[i] = e.user
	}
	slices.Sort(out)
	return out
}

// NumUsers returns the number of users of the volume key.
func (x *Index[K]) NumUsers(key string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if v := x.volumes[key]; v != nil {
		return len(v.entries)
	}
	return 0
}

// Volumes returns the keys of every volume with a user, sorted.
func (x *Index[K]) Volumes() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.volumes)
}

// Shared returns the keys of the volumes with more than one user, sorted:
// the only ones that can hold a conflict.
func (x *Index[K]) Shared() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for k, v := range x.volumes {
		if len(v.entries) > 1 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Conflicts returns the keys of the volumes whose groups carry more than
// one label, sorted.
func (x *Index[K]) Conflicts() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.conflicts)
}

// Volume returns a snapshot of one volume, in O(its users · log).
func (x *Index[K]) Volume(key string) (View[K], bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	v := x.volumes[key]
	if v == nil {
		return View[K]{}, false
	}
	view := View[K]{Key: key, uses: make(map[K]Use, len(v.entries))}
	groups := map[Group][]K{}
	classes := map[classKey][]K{}
	for _, e := range v.entries {
		u := e.use(key)
		view.uses[e.user] = u
		if !u.MultipleLabels {
			groups[u.Group] = append(groups[u.Group], e.user)
		}
		if u.Upstream.Seen {
			k := classOf(u)
			classes[k] = append(classes[k], e.user)
		}
	}
	for g, members := range groups {
		slices.Sort(members)
		view.Groups = append(view.Groups, GroupUsers[K]{Group: g, Users: members})
	}
	slices.SortFunc(view.Groups, func(a, b GroupUsers[K]) int { return compareGroups(a.Group, b.Group) })
	for k, members := range classes {
		slices.Sort(members)
		view.classes = append(view.classes, class[K]{key: k, parts: parseLabel(k.label), users: members})
	}
	slices.SortFunc(view.classes, func(a, b class[K]) int {
		return cmp.Or(strings.Compare(a.key.volume, b.key.volume), strings.Compare(a.key.label, b.key.label), strings.Compare(a.key.policy, b.key.policy))
	})
	return view, true
}

// Dump writes the whole index in a stable order, for debugging and tests.
func (x *Index[K]) Dump() string {
	var b strings.Builder
	for _, key := range x.Volumes() {
		v, ok := x.Volume(key)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "volume %s", key)
		if v.Conflict() {
			b.WriteString(" (conflict)")
		}
		b.WriteString("\n")
		for _, g := range v.Groups {
			fmt.Fprintf(&b, "  group label=%q policy=%q: %v\n", g.Group.Label, g.Group.Policy, g.Users)
		}
		var multiple []K
		for _, k := range sortedKeys(v.uses) {
			if v.uses[k].MultipleLabels {
				multiple = append(multiple, k)
			}
		}
		if len(multiple) > 0 {
			fmt.Fprintf(&b, "  multiple labels: %v\n", multiple)
		}
		for _, c := range v.classes {
			fmt.Fprintf(&b, "  upstream volume=%s label=%q policy=%q: %v\n", c.key.volume, c.key.label, c.key.policy, c.users)
		}
	}
	return b.String()
}

// Check verifies the index's invariants: the reverse index, the positions
// and the volumes agree, no volume is empty, the label counts are those of
// the uses, and the conflict set is exactly the volumes with more than one
// label. For tests; O(uses).
func (x *Index[K]) Check() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for user, slots := range x.users {
		if len(slots) == 0 {
			return fmt.Errorf("user %v has an empty entry", user)
		}
		for j, s := range slots {
			n++
			key, i := s.volume, s.pos
			if slices.ContainsFunc(slots[:j], func(o slot) bool { return o.volume == key }) {
				return fmt.Errorf("user %v holds %s twice", user, key)
			}
			v := x.volumes[key]
			if v == nil {
				return fmt.Errorf("user %v uses %s, which is not indexed", user, key)
			}
			if i < 0 || i >= len(v.entries) || v.entries[i].user != user {
				return fmt.Errorf("user %v of %s: no entry at position %d", user, key, i)
			}
		}
	}
	m := 0
	for key, v := range x.volumes {
		if len(v.entries) == 0 {
			return fmt.Errorf("volume %s has no user", key)
		}
		m += len(v.entries)
		labels := map[string]int{}
		for i, e := range v.entries {
			if !slices.Contains(x.users[e.user], slot{key, i}) {
				return fmt.Errorf("volume %s: entry %d (user %v) is not in the reverse index", key, i, e.user)
			}
			if !e.multiple {
				labels[e.group.Label]++
			}
		}
		have := v.labels
		if have == nil && v.n > 0 {
			have = map[string]int{v.label: v.n}
		}
		if v.labels != nil && len(v.labels) < 2 {
			return fmt.Errorf("volume %s: a label map with %d labels", key, len(v.labels))
		}
		if fmt.Sprint(labels) != fmt.Sprint(have) {
			return fmt.Errorf("volume %s: label counts %v, uses give %v", key, have, labels)
		}
		if x.conflicts[key] != (len(labels) > 1) {
			return fmt.Errorf("volume %s: conflict mark %v with %d labels", key, x.conflicts[key], len(labels))
		}
	}
	if n != m {
		return fmt.Errorf("users hold %d uses, volumes %d", n, m)
	}
	for key := range x.conflicts {
		if x.volumes[key] == nil {
			return fmt.Errorf("conflict mark on unknown volume %s", key)
		}
	}
	return nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
