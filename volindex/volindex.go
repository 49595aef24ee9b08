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
type Index[K cmp.Ordered] struct {
	mu        sync.RWMutex
	users     map[K]map[string]Use // the reverse index: user -> volume -> use
	volumes   map[string]*volume[K]
	conflicts map[string]bool // volumes with more than one label
}

// volume is the state of one volume.
type volume[K cmp.Ordered] struct {
	uses     map[K]Use
	groups   map[Group]map[K]struct{}
	labels   map[string]int // label -> number of groups with it
	upstream map[classKey]map[K]struct{}
}

// classKey is one upstream view: the users the controller sees alike.
type classKey struct{ volume, label, policy string }

// New returns an empty index.
func New[K cmp.Ordered]() *Index[K] {
	return &Index[K]{users: map[K]map[string]Use{}, volumes: map[string]*volume[K]{}, conflicts: map[string]bool{}}
}

// Set replaces every use of user by uses and returns the volumes whose
// users changed, sorted. A user that uses one volume twice keeps the last
// use. Uses with an empty Volume are ignored. Set costs O(len(uses)) plus
// the user's previous uses.
func (x *Index[K]) Set(user K, uses []Use) []string {
	next := make(map[string]Use, len(uses))
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
		next[u.Volume] = u
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	prev := x.users[user]
	var touched []string
	for key, u := range prev {
		if n, ok := next[key]; ok && n == u {
			continue
		}
		x.drop(user, u)
		touched = append(touched, key)
	}
	for key, u := range next {
		if p, ok := prev[key]; ok && p == u {
			continue
		}
		x.add(user, u)
		if _, ok := prev[key]; !ok {
			touched = append(touched, key)
		}
	}
	if len(next) == 0 {
		delete(x.users, user)
	} else {
		x.users[user] = next
	}
	slices.Sort(touched)
	return touched
}

// Remove drops every use of user and returns the volumes it used, sorted.
// Removing an unknown user does nothing.
func (x *Index[K]) Remove(user K) []string { return x.Set(user, nil) }

func (x *Index[K]) add(user K, u Use) {
	v := x.volumes[u.Volume]
	if v == nil {
		v = &volume[K]{uses: map[K]Use{}, groups: map[Group]map[K]struct{}{}, labels: map[string]int{}, upstream: map[classKey]map[K]struct{}{}}
		x.volumes[u.Volume] = v
	}
	v.uses[user] = u
	if !u.MultipleLabels {
		g := v.groups[u.Group]
		if g == nil {
			g = map[K]struct{}{}
			v.groups[u.Group] = g
			v.labels[u.Group.Label]++
		}
		g[user] = struct{}{}
	}
	if u.Upstream.Seen {
		k := classOf(u)
		c := v.upstream[k]
		if c == nil {
			c = map[K]struct{}{}
			v.upstream[k] = c
		}
		c[user] = struct{}{}
	}
	x.mark(u.Volume, v)
}

func (x *Index[K]) drop(user K, u Use) {
	v := x.volumes[u.Volume]
	if v == nil {
		return
	}
	delete(v.uses, user)
	if !u.MultipleLabels {
		if g := v.groups[u.Group]; g != nil {
			delete(g, user)
			if len(g) == 0 {
				delete(v.groups, u.Group)
				if v.labels[u.Group.Label]--; v.labels[u.Group.Label] == 0 {
					delete(v.labels, u.Group.Label)
				}
			}
		}
	}
	if u.Upstream.Seen {
		k := classOf(u)
		if c := v.upstream[k]; c != nil {
			delete(c, user)
			if len(c) == 0 {
				delete(v.upstream, k)
			}
		}
	}
	if len(v.uses) == 0 {
		delete(x.volumes, u.Volume)
		delete(x.conflicts, u.Volume)
		return
	}
	x.mark(u.Volume, v)
}

func (x *Index[K]) mark(key string, v *volume[K]) {
	if len(v.labels) > 1 {
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

// Volumes returns the keys of every volume with a user, sorted.
func (x *Index[K]) Volumes() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.volumes)
}

// Conflicts returns the keys of the volumes whose groups carry more than
// one label, sorted.
func (x *Index[K]) Conflicts() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.conflicts)
}

// Uses returns the uses of user, sorted by volume.
func (x *Index[K]) Uses(user K) []Use {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]Use, 0, len(x.users[user]))
	for _, u := range x.users[user] {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b Use) int { return strings.Compare(a.Volume, b.Volume) })
	return out
}

// Volume returns a snapshot of one volume, in O(its users · log).
func (x *Index[K]) Volume(key string) (View[K], bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	v := x.volumes[key]
	if v == nil {
		return View[K]{}, false
	}
	view := View[K]{Key: key, uses: make(map[K]Use, len(v.uses))}
	for k, u := range v.uses {
		view.uses[k] = u
	}
	for g, members := range v.groups {
		view.Groups = append(view.Groups, GroupUsers[K]{Group: g, Users: sortedKeys(members)})
	}
	slices.SortFunc(view.Groups, func(a, b GroupUsers[K]) int {
		return cmp.Or(strings.Compare(a.Group.Label, b.Group.Label), strings.Compare(a.Group.Policy, b.Group.Policy))
	})
	for k, members := range v.upstream {
		view.classes = append(view.classes, class[K]{key: k, parts: parseLabel(k.label), users: sortedKeys(members)})
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

// Check verifies the index's invariants: the reverse index and the volumes
// agree, no group, class or volume is empty, and the conflict set is
// exactly the volumes with more than one label. For tests; O(uses).
func (x *Index[K]) Check() error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for user, uses := range x.users {
		if len(uses) == 0 {
			return fmt.Errorf("user %v has an empty entry", user)
		}
		for key, u := range uses {
			n++
			if key != u.Volume {
				return fmt.Errorf("user %v: use of %s filed under %s", user, u.Volume, key)
			}
			v := x.volumes[key]
			if v == nil {
				return fmt.Errorf("user %v uses %s, which is not indexed", user, key)
			}
			if got, ok := v.uses[user]; !ok || got != u {
				return fmt.Errorf("volume %s holds %+v for user %v, the user holds %+v", key, got, user, u)
			}
			if _, ok := v.groups[u.Group][user]; !u.MultipleLabels && !ok {
				return fmt.Errorf("user %v is missing from group %+v of %s", user, u.Group, key)
			}
			if _, ok := v.upstream[classOf(u)][user]; u.Upstream.Seen && !ok {
				return fmt.Errorf("user %v is missing from upstream class %+v of %s", user, classOf(u), key)
			}
		}
	}
	m := 0
	for key, v := range x.volumes {
		if len(v.uses) == 0 {
			return fmt.Errorf("volume %s has no user", key)
		}
		m += len(v.uses)
		labels := map[string]int{}
		grouped := 0
		for g, members := range v.groups {
			if len(members) == 0 {
				return fmt.Errorf("volume %s: empty group %+v", key, g)
			}
			labels[g.Label]++
			for user := range members {
				grouped++
				if u, ok := x.users[user][key]; !ok || u.Group != g || u.MultipleLabels {
					return fmt.Errorf("volume %s: user %v in group %+v does not use it so", key, user, g)
				}
			}
		}
		if fmt.Sprint(labels) != fmt.Sprint(v.labels) {
			return fmt.Errorf("volume %s: label counts %v, groups give %v", key, v.labels, labels)
		}
		seen := 0
		for c, members := range v.upstream {
			if len(members) == 0 {
				return fmt.Errorf("volume %s: empty upstream class %+v", key, c)
			}
			for user := range members {
				seen++
				if u, ok := x.users[user][key]; !ok || !u.Upstream.Seen || classOf(u) != c {
					return fmt.Errorf("volume %s: user %v in upstream class %+v does not use it so", key, user, c)
				}
			}
		}
		wantGrouped, wantSeen := 0, 0
		for _, u := range v.uses {
			if !u.MultipleLabels {
				wantGrouped++
			}
			if u.Upstream.Seen {
				wantSeen++
			}
		}
		if grouped != wantGrouped || seen != wantSeen {
			return fmt.Errorf("volume %s: %d grouped and %d seen users, want %d and %d", key, grouped, seen, wantGrouped, wantSeen)
		}
		if x.conflicts[key] != (len(v.labels) > 1) {
			return fmt.Errorf("volume %s: conflict mark %v with %d labels", key, x.conflicts[key], len(v.labels))
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
