package volindex

import (
	"cmp"
	"iter"
	"slices"
	"strings"
)

// View is a snapshot of one volume's users. It does not change when the
// index does, and its methods take no lock.
type View[K cmp.Ordered] struct {
	Key string
	// Groups are the kubelet's groups, sorted by label and policy; the
	// users of each are sorted.
	Groups  []GroupUsers[K]
	uses    map[K]Use
	classes []class[K] // upstream views, sorted
}

// GroupUsers is one group and its users.
type GroupUsers[K cmp.Ordered] struct {
	Group Group
	Users []K
}

// class is the users the upstream controller sees alike.
type class[K cmp.Ordered] struct {
	key   classKey
	parts [4]string
	users []K
}

// Conflict reports whether the groups carry more than one label.
func (v View[K]) Conflict() bool {
	for _, g := range v.Groups[min(1, len(v.Groups)):] {
		if g.Group.Label != v.Groups[0].Group.Label {
			return true
		}
	}
	return false
}

// Users returns every user of the volume, sorted, including those whose
// containers disagree (in no group).
func (v View[K]) Users() []K { return sortedKeys(v.uses) }

// Node is what one node holds of the volume.
type Node[K cmp.Ordered] struct {
	Name string
	// First is the user admitted first on the node (by Created, then key):
	// the kubelet mounts the volume there with its label, and users of
	// other labels wait until it is gone.
	First K
	// Groups are the groups of the users on the node, sorted.
	Groups []Group
}

// Nodes returns, for every node that runs users of the volume that are in
// a group, the user the kubelet keeps there, sorted by node name. O(users).
func (v View[K]) Nodes() []Node[K] {
	byNode := map[string]*Node[K]{}
	for user, u := range v.uses {
		if u.Node == "" || u.MultipleLabels {
			continue
		}
		n := byNode[u.Node]
		if n == nil {
			byNode[u.Node] = &Node[K]{Name: u.Node, First: user, Groups: []Group{u.Group}}
			continue
		}
		if f := v.uses[n.First]; u.Created.Before(f.Created) || u.Created.Equal(f.Created) && user < n.First {
			n.First = user
		}
		if !slices.Contains(n.Groups, u.Group) {
			n.Groups = append(n.Groups, u.Group)
		}
	}
	out := make([]Node[K], 0, len(byNode))
	for _, n := range byNode {
		slices.SortFunc(n.Groups, compareGroups)
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b Node[K]) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func compareGroups(a, b Group) int {
	return cmp.Or(strings.Compare(a.Label, b.Label), strings.Compare(a.Policy, b.Policy))
}

// Upstream properties, as the controller names them in events and metrics.
const (
	PropertyLabel        = "SELinuxLabel"
	PropertyChangePolicy = "SELinuxChangePolicy"
)

// UpstreamCounts is how many conflicts the upstream controller reports on a
// volume. It reports each conflicting pair of pods twice, once per
// direction (one metric series and one event each), and a pair whose
// policies and labels both differ under both properties.
type UpstreamCounts struct {
	// Label and Policy count unordered pairs of pods per property.
	Label, Policy int
}

// Reports returns the number of ordered pairs the controller reports:
// metric series of selinux_warning_controller_selinux_volume_conflict.
func (c UpstreamCounts) Reports() int { return 2 * (c.Label + c.Policy) }

// UpstreamCounts counts the controller's conflicts without building pairs:
// pairs that differ in policy or in level by arithmetic over the groups,
// and only groups of one level and policy compared with each other.
func (v View[K]) UpstreamCounts() UpstreamCounts {
	var c UpstreamCounts
	for _, same := range v.upstreamVolumes() {
		n := 0
		byPolicy := map[string]int{}
		byLevel := map[string][]class[K]{}
		nLevel := map[string]int{}
		for _, cl := range same {
			k := len(cl.users)
			n += k
			byPolicy[cl.key.policy] += k
			byLevel[cl.parts[3]] = append(byLevel[cl.parts[3]], cl)
			nLevel[cl.parts[3]] += k
		}
		c.Policy += pairsAcross(n, byPolicy)
		c.Label += pairsAcross(n, nLevel)
		for _, cls := range byLevel {
			for i := range cls {
				for j := i + 1; j < len(cls); j++ {
					if prefixConflicts(cls[i].parts, cls[j].parts) {
						c.Label += len(cls[i].users) * len(cls[j].users)
					}
				}
			}
		}
	}
	return c
}

// pairsAcross returns the number of unordered pairs of n items whose
// buckets differ, given the bucket sizes.
func pairsAcross(n int, buckets map[string]int) int {
	same := 0
	for _, k := range buckets {
		same += k * k
	}
	return (n*n - same) / 2
}

// upstreamVolumes splits the classes by the controller's volume name: it
// compares only pods of one name.
func (v View[K]) upstreamVolumes() [][]class[K] {
	var out [][]class[K]
	for i := 0; i < len(v.classes); {
		j := i + 1
		for j < len(v.classes) && v.classes[j].key.volume == v.classes[i].key.volume {
			j++
		}
		out = append(out, v.classes[i:j])
		i = j
	}
	return out
}

// UpstreamConflict is one conflict the upstream controller reports, from
// User's side: an event on User and one metric series.
type UpstreamConflict[K cmp.Ordered] struct {
	Property    string
	User, Other K
	// UserValue and OtherValue are the compared values: the policies, or
	// the raw labels.
	UserValue, OtherValue string
}

// UpstreamConflicts yields the controller's conflicts one ordered pair at a
// time, in a stable order: per pair of pods the policy conflict both ways,
// then the label conflict both ways. Stop early for a sample; the whole
// sequence has UpstreamCounts().Reports() items.
func (v View[K]) UpstreamConflicts() iter.Seq[UpstreamConflict[K]] {
	return func(yield func(UpstreamConflict[K]) bool) {
		for _, same := range v.upstreamVolumes() {
			for i := range same {
				for j := i + 1; j < len(same); j++ {
					a, b := same[i], same[j]
					policy := a.key.policy != b.key.policy
					label := labelsConflict(a.parts, b.parts)
					if !policy && !label {
						continue
					}
					for _, ua := range a.users {
						for _, ub := range b.users {
							if policy && !(yield(conflict(PropertyChangePolicy, ua, ub, a, b)) && yield(conflict(PropertyChangePolicy, ub, ua, b, a))) {
								return
							}
							if label && !(yield(conflict(PropertyLabel, ua, ub, a, b)) && yield(conflict(PropertyLabel, ub, ua, b, a))) {
								return
							}
						}
					}
				}
			}
		}
	}
}

func conflict[K cmp.Ordered](property string, u, o K, a, b class[K]) UpstreamConflict[K] {
	c := UpstreamConflict[K]{Property: property, User: u, Other: o}
	if property == PropertyChangePolicy {
		c.UserValue, c.OtherValue = a.key.policy, b.key.policy
	} else {
		c.UserValue, c.OtherValue = a.key.label, b.key.label
	}
	return c
}

// parseLabel splits a raw label as the controller does: "" is four empty
// parts; the level keeps any further colons.
func parseLabel(l string) [4]string {
	var p [4]string
	if l == "" {
		return p
	}
	copy(p[:], strings.SplitN(l, ":", 4))
	return p
}

// labelsConflict is the controller's comparison (since kubernetes#133425):
// user, role and type conflict when both are set and differ; the level is
// always compared, so "" and "s0:c1,c2" conflict.
// differ reports whether some label of x differs from some label of y.
func differ[K any](x, y map[string][]K) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	if len(x) > 1 || len(y) > 1 {
		return true
	}
	for lx := range x {
		for ly := range y {
			return lx != ly
		}
	}
	return false
}

func labelsConflict(a, b [4]string) bool {
	return a[3] != b[3] || prefixConflicts(a, b)
}

func prefixConflicts(a, b [4]string) bool {
	for i := range 3 {
		if a[i] != "" && b[i] != "" && a[i] != b[i] {
			return true
		}
	}
	return false
}

// Cause is why the upstream controller misses a conflict the kubelet has
// between two users it sees.
type Cause int

const (
	// RandomLevel: neither sets a level. The kubelet draws a random level
	// for each, so their labels differ; the controller compares the two
	// empty levels as equal.
	RandomLevel Cause = iota
	// EmptyFields: the raw options leave a field empty that node defaults
	// fill (the user); the controller finds empty fields incomparable.
	EmptyFields
	// OtherVolume: the controller names the two volumes differently (two
	// PersistentVolumes of one NFS export) and never compares them.
	OtherVolume
	numCauses
)

// Agreement compares the kubelet's conflicts with the controller's among
// the users the controller sees.
type Agreement[K cmp.Ordered] struct {
	// Missed lists, per Cause, the users with a kubelet conflict that the
	// controller does not report although it sees both sides; sorted.
	Missed [numCauses][]K
	// UpstreamOnly lists the users in a conflict the controller reports
	// with a user of the same kubelet label (nothing fails); sorted.
	UpstreamOnly []K
	// Reported is true when the controller reports at least one pair that
	// the kubelet also has in conflict.
	Reported bool
}

// Agreement computes the comparison from the groups. A missed pair needs
// one policy and one level upstream (or two upstream names), so only
// groups of the same upstream policy and level are compared with each
// other; the cost is O(users) plus the square of the number of distinct
// raw options that share a level.
func (v View[K]) Agreement() Agreement[K] {
	var a Agreement[K]
	missed := [numCauses]map[K]bool{}
	for i := range missed {
		missed[i] = map[K]bool{}
	}
	only := map[K]bool{}
	label := func(u K) (string, bool) {
		use := v.uses[u]
		return use.Group.Label, !use.MultipleLabels
	}
	// labelsOf returns the distinct kubelet labels of users (grouped ones).
	labelsOf := func(users []K) map[string][]K {
		m := map[string][]K{}
		for _, u := range users {
			if l, ok := label(u); ok {
				m[l] = append(m[l], u)
			}
		}
		return m
	}
	// conflictsAcross marks the users of x whose label differs from some
	// label of y, and the reverse.
	conflictsAcross := func(x, y map[string][]K, mark map[K]bool) {
		for lx, ux := range x {
			for ly := range y {
				if lx != ly {
					for _, u := range ux {
						mark[u] = true
					}
					break
				}
			}
		}
		for ly, uy := range y {
			for lx := range x {
				if lx != ly {
					for _, u := range uy {
						mark[u] = true
					}
					break
				}
			}
		}
	}
	vols := v.upstreamVolumes()
	if len(vols) > 1 {
		per := make([]map[string][]K, len(vols))
		total := map[string]int{}
		for i, same := range vols {
			var users []K
			for _, c := range same {
				users = append(users, c.users...)
			}
			per[i] = labelsOf(users)
			for l, us := range per[i] {
				total[l] += len(us)
			}
		}
		for i := range vols {
			others := map[string]bool{}
			for l, n := range total {
				if n > len(per[i][l]) {
					others[l] = true
				}
			}
			for l, us := range per[i] {
				if len(others) > 1 || len(others) == 1 && !others[l] {
					for _, u := range us {
						missed[OtherVolume][u] = true
					}
				}
			}
		}
	}
	for _, same := range vols {
		// Upstream-only: within one kubelet label, classes the controller
		// finds in conflict.
		byLabel := map[string][]int{}
		for i, c := range same {
			for l := range labelsOf(c.users) {
				byLabel[l] = append(byLabel[l], i)
			}
		}
		for l, idx := range byLabel {
			for x := range idx {
				for y := x + 1; y < len(idx); y++ {
					cx, cy := same[idx[x]], same[idx[y]]
					if cx.key.policy == cy.key.policy && !labelsConflict(cx.parts, cy.parts) {
						continue
					}
					for _, c := range []class[K]{cx, cy} {
						for _, u := range c.users {
							if ul, ok := label(u); ok && ul == l {
								only[u] = true
							}
						}
					}
				}
			}
		}
		// Missed: classes of one policy and level, compared.
		type bucket struct{ policy, level string }
		buckets := map[bucket][]class[K]{}
		for _, c := range same {
			b := bucket{c.key.policy, c.parts[3]}
			buckets[b] = append(buckets[b], c)
		}
		// Reported: users of two labels in two buckets always are (one
		// label in one bucket, another elsewhere, or both in one bucket and
		// the first elsewhere); within a bucket, classes whose user, role
		// or type conflict.
		labelsSeen := map[string]bool{}
		grouped := map[bucket]bool{}
		for _, c := range same {
			for l := range labelsOf(c.users) {
				labelsSeen[l] = true
				grouped[bucket{c.key.policy, c.parts[3]}] = true
			}
		}
		if len(grouped) > 1 && len(labelsSeen) > 1 {
			a.Reported = true
		}
		for b, cls := range buckets {
			cause := EmptyFields
			if b.level == "" {
				cause = RandomLevel
			}
			sets := make([]map[string][]K, len(cls))
			for i, c := range cls {
				sets[i] = labelsOf(c.users)
				if len(sets[i]) > 1 {
					conflictsAcross(sets[i], sets[i], missed[cause])
				}
			}
			for i := range cls {
				for j := i + 1; j < len(cls); j++ {
					if !prefixConflicts(cls[i].parts, cls[j].parts) {
						conflictsAcross(sets[i], sets[j], missed[cause])
					} else if !a.Reported && differ(sets[i], sets[j]) {
						a.Reported = true
					}
				}
			}
		}
	}
	for i := range missed {
		a.Missed[i] = sortedKeys(missed[i])
	}
	a.UpstreamOnly = sortedKeys(only)
	return a
}
