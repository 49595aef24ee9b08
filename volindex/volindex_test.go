package volindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func use(vol, label, policy string) Use {
	return Use{Volume: vol, Group: Group{Label: label, Policy: policy}}
}

func seen(u Use, raw, policy string) Use {
	u.Upstream = Upstream{Seen: true, Label: raw, Policy: policy}
	return u
}

func mustCheck[K int | string](t *testing.T, x *Index[K]) {
	t.Helper()
	if err := x.Check(); err != nil {
		t.Fatalf("invariant: %v\n%s", err, x.Dump())
	}
}

func TestSetReplaceRemove(t *testing.T) {
	// Arrange
	x := New[string]()
	// Act: two users agree, a third disagrees, then changes its mind.
	x.Set("pod/a", []Use{use("v1", "L1", MountOption), use("v2", "L1", MountOption)})
	x.Set("pod/b", []Use{use("v1", "L1", MountOption)})
	mustCheck(t, x)
	if got := x.Conflicts(); len(got) != 0 {
		t.Fatalf("conflicts %v with one label", got)
	}
	touched := x.Set("pod/c", []Use{use("v1", "L2", MountOption)})
	mustCheck(t, x)
	// Assert
	if !slices.Equal(touched, []string{"v1"}) || !slices.Equal(x.Conflicts(), []string{"v1"}) {
		t.Fatalf("touched %v, conflicts %v", touched, x.Conflicts())
	}
	if touched := x.Set("pod/c", []Use{use("v1", "L1", MountOption)}); !slices.Equal(touched, []string{"v1"}) || len(x.Conflicts()) != 0 {
		t.Fatalf("after the fix: touched %v, conflicts %v", touched, x.Conflicts())
	}
	if touched := x.Set("pod/c", []Use{use("v1", "L1", MountOption)}); len(touched) != 0 {
		t.Errorf("setting the same uses touched %v", touched)
	}
	// Recursive ("" label) next to a label is a conflict; "" twice with two
	// policies is not.
	x.Set("pod/r", []Use{use("v2", "", Recursive)})
	x.Set("pod/n", []Use{use("v3", "", Recursive)})
	x.Set("pod/m", []Use{use("v3", "", MountOption)})
	mustCheck(t, x)
	if got := x.Conflicts(); !slices.Equal(got, []string{"v2"}) {
		t.Errorf("conflicts %v, want v2 only", got)
	}
	if v, _ := x.Volume("v3"); len(v.Groups) != 2 || v.Conflict() {
		t.Errorf("v3: %d groups, conflict %v", len(v.Groups), v.Conflict())
	}
	for key, want := range map[string][]string{"v1": {"pod/a", "pod/b", "pod/c"}, "v2": {"pod/a", "pod/r"}, "v3": {"pod/m", "pod/n"}, "v9": nil} {
		if got := x.UsersOf(key); !slices.Equal(got, want) || x.NumUsers(key) != len(want) {
			t.Errorf("%s: users %v (%d), want %v", key, got, x.NumUsers(key), want)
		}
	}
	for _, u := range []string{"pod/a", "pod/b", "pod/c", "pod/r", "pod/n", "pod/m", "pod/unknown"} {
		x.Remove(u)
		mustCheck(t, x)
	}
	if x.Len() != 0 || x.Dump() != "" {
		t.Errorf("not empty after removing everyone:\n%s", x.Dump())
	}
}

func TestDump(t *testing.T) {
	x := New[string]()
	x.Set("b", []Use{seen(use("v", "L2", MountOption), ":::s0:c2", MountOption)})
	x.Set("a", []Use{seen(use("v", "L1", MountOption), ":::s0:c1", MountOption), {Volume: "w", MultipleLabels: true}})
	want := `volume v (conflict)
  group label="L1" policy="MountOption": [a]
  group label="L2" policy="MountOption": [b]
  upstream volume=v label=":::s0:c1" policy="MountOption": [a]
  upstream volume=v label=":::s0:c2" policy="MountOption": [b]
volume w
  multiple labels: [a]
`
	if got := x.Dump(); got != want {
		t.Errorf("dump:\n%s\nwant:\n%s", got, want)
	}
}

func TestNodesKeepTheFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	x := New[int]()
	on := func(u Use, node string, at time.Duration) Use { u.Node, u.Created = node, t0.Add(at); return u }
	x.Set(3, []Use{on(use("v", "L1", MountOption), "n1", time.Hour)})
	x.Set(2, []Use{on(use("v", "L2", MountOption), "n1", 0)})
	x.Set(1, []Use{on(use("v", "L1", MountOption), "n2", time.Hour)})
	x.Set(0, []Use{on(use("v", "L2", MountOption), "n2", time.Hour)}) // same time: the smaller key
	x.Set(4, []Use{use("v", "L3", MountOption)})                      // a template: no node
	v, _ := x.Volume("v")
	got := fmt.Sprint(v.Nodes())
	want := "[{n1 2 [{L1 MountOption} {L2 MountOption}]} {n2 0 [{L1 MountOption} {L2 MountOption}]}]"
	if got != want {
		t.Errorf("nodes %s, want %s", got, want)
	}
}

func TestUpstreamCountsAndPairs(t *testing.T) {
	x := New[string]()
	// The kubelet sees a and typed alike; the controller compares raw
	// options and reports type; the Recursive pod conflicts by policy and,
	// its level being empty, by label too (both properties).
	x.Set("a", []Use{seen(use("v", "L1", MountOption), ":::s0:c1,c2", MountOption)})
	x.Set("typed", []Use{seen(use("v", "L1", MountOption), "system_u::spc_t:s0:c1,c2", MountOption)})
	x.Set("other", []Use{seen(use("v", "L1", MountOption), "system_u::container_t:s0:c1,c2", MountOption)})
	x.Set("rec", []Use{seen(use("v", "", Recursive), "", Recursive)})
	x.Set("tpl", []Use{use("v", "L2", MountOption)}) // not seen
	v, _ := x.Volume("v")
	c := v.UpstreamCounts()
	// policy: rec with each of 3; label: rec with each of 3 (level), typed-other (type).
	if c.Policy != 3 || c.Label != 4 || c.Reports() != 14 {
		t.Errorf("counts %+v (%d reports)", c, c.Reports())
	}
	var pairs []string
	for p := range v.UpstreamConflicts() {
		pairs = append(pairs, fmt.Sprintf("%s %s=%q %s=%q", p.Property, p.User, p.UserValue, p.Other, p.OtherValue))
	}
	if len(pairs) != c.Reports() {
		t.Fatalf("iterator gave %d, counts %d:\n%v", len(pairs), c.Reports(), pairs)
	}
	want := `SELinuxChangePolicy rec="Recursive" a="MountOption"`
	if !slices.Contains(pairs, want) {
		t.Errorf("no %s in %v", want, pairs)
	}
	// A bounded sample stops the iteration.
	n := 0
	for range v.UpstreamConflicts() {
		if n++; n == 3 {
			break
		}
	}
	ag := v.Agreement()
	if !slices.Equal(ag.UpstreamOnly, []string{"other", "typed"}) {
		t.Errorf("upstream-only users %v", ag.UpstreamOnly)
	}
}

func TestVolumeKey(t *testing.T) {
	csi := func(driver, handle string, attrs map[string]string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle, VolumeAttributes: attrs}}}}
	}
	nfs := &corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{
		NFS: &corev1.NFSVolumeSource{Server: "srv", Path: "/exports/./a/"}}}}
	tests := []struct {
		name string
		pv   *corev1.PersistentVolume
		uniq string
		want string
	}{
		{"csi", csi("rbd", "h1", nil), "kubernetes.io/csi/rbd^h1", "csi://rbd^h1"},
		{"csi nfs attributes", csi("nfs.csi.k8s.io", "srv#a", map[string]string{"server": "srv", "share": "/exports/", "subDir": "a"}), "", "nfs://srv/exports/a"},
		{"in-tree nfs", nfs, "kubernetes.io/nfs/pv", "nfs://srv/exports/a"},
		{"iscsi", &corev1.PersistentVolume{}, "kubernetes.io/iscsi/1.2.3.4:iqn:0", "kubernetes.io/iscsi/1.2.3.4:iqn:0"},
		{"per pod", nil, "", ""},
	}
	for _, tc := range tests {
		if got := VolumeKey(tc.pv, tc.uniq); got != tc.want {
			t.Errorf("%s: VolumeKey = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestCostDoesNotGrowWithUsers: adding and removing one user of a volume
// that has 10 or 10,000 users allocates the same (no pass over the others).
func TestCostDoesNotGrowWithUsers(t *testing.T) {
	allocs := func(n int) float64 {
		x := New[int]()
		for i := range n {
			x.Set(i, []Use{seen(use("v", fmt.Sprint("L", i), MountOption), fmt.Sprintf(":::s0:c%d", i), MountOption)})
		}
		uses := []Use{seen(use("v", "Lnew", MountOption), ":::s0:cnew", MountOption)}
		return testing.AllocsPerRun(100, func() {
			x.Set(-1, uses)
			x.Remove(-1)
		})
	}
	small, large := allocs(10), allocs(10000)
	if large > small+2 {
		t.Errorf("one Set and Remove allocate %v with 10 users and %v with 10,000", small, large)
	}
}

// Reference: the same answers by materialising every pair, slowly.

func reference(uses map[int]Use) (conflict bool, counts UpstreamCounts, missed [numCauses][]int, only []int, reported bool) {
	var users []int
	for k := range uses {
		users = append(users, k)
	}
	slices.Sort(users)
	m := [numCauses]map[int]bool{{}, {}, {}}
	o := map[int]bool{}
	for i, a := range users {
		for _, b := range users[i+1:] {
			ua, ub := uses[a], uses[b]
			kubelet := !ua.MultipleLabels && !ub.MultipleLabels && ua.Group.Label != ub.Group.Label
			conflict = conflict || kubelet
			both := ua.Upstream.Seen && ub.Upstream.Seen
			sameVol := both && ua.Upstream.Volume == ub.Upstream.Volume
			policy := sameVol && ua.Upstream.Policy != ub.Upstream.Policy
			label := sameVol && labelsConflict(parseLabel(ua.Upstream.Label), parseLabel(ub.Upstream.Label))
			if policy {
				counts.Policy++
			}
			if label {
				counts.Label++
			}
			reported = reported || kubelet && (policy || label)
			if kubelet && both && !policy && !label {
				cause := OtherVolume
				if sameVol {
					cause = EmptyFields
					if parseLabel(ua.Upstream.Label)[3] == "" {
						cause = RandomLevel
					}
				}
				m[cause][a], m[cause][b] = true, true
			}
			if both && (policy || label) && !ua.MultipleLabels && !ub.MultipleLabels && ua.Group.Label == ub.Group.Label {
				o[a], o[b] = true, true
			}
		}
	}
	for i := range m {
		missed[i] = sortedKeys(m[i])
	}
	return conflict, counts, missed, sortedKeys(o), reported
}

// TestAgainstPairs: random users, set, replaced and removed; after each
// step the index's answers equal those computed over every pair.
func TestAgainstPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1710, 37))
	labels := []string{"", "L1", "L2", "L3"}
	raws := []string{"", ":::s0:c1", ":::s0:c2", "u1:::s0:c1", "u2:::s0:c1", "::t1:", "::t2:", "u1::t1:"}
	policies := []string{MountOption, Recursive}
	vols := []string{"v1", "v2"}
	x := New[int]()
	state := map[int][]Use{}
	for step := range 3000 {
		user := rng.IntN(40)
		if rng.IntN(5) == 0 {
			x.Remove(user)
			delete(state, user)
		} else {
			var uses []Use
			for _, v := range vols {
				if rng.IntN(2) == 0 {
					continue
				}
				u := Use{Volume: v, Group: Group{labels[rng.IntN(len(labels))], policies[rng.IntN(2)]}, MultipleLabels: rng.IntN(4) == 0}
				if rng.IntN(4) != 0 {
					u.Upstream = Upstream{Seen: true, Label: raws[rng.IntN(len(raws))], Policy: policies[rng.IntN(2)], Volume: v + []string{"", "", "-alias"}[rng.IntN(3)]}
				}
				uses = append(uses, u)
			}
			x.Set(user, uses)
			state[user] = uses
		}
		if err := x.Check(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if step%10 != 0 {
			continue
		}
		for _, vol := range vols {
			per := map[int]Use{}
			for u, uses := range state {
				for _, us := range uses {
					if us.Volume == vol {
						if us.Upstream.Seen && us.Upstream.Volume == "" {
							us.Upstream.Volume = vol
						}
						per[u] = us
					}
				}
			}
			v, ok := x.Volume(vol)
			if ok != (len(per) > 0) {
				t.Fatalf("step %d: volume %s present %v with %d users", step, vol, ok, len(per))
			}
			conflict, counts, missed, only, reported := reference(per)
			if v.Conflict() != conflict || slices.Contains(x.Conflicts(), vol) != conflict {
				t.Fatalf("step %d: %s conflict %v, pairs say %v\n%s", step, vol, v.Conflict(), conflict, x.Dump())
			}
			if got := v.UpstreamCounts(); got != counts {
				t.Fatalf("step %d: %s counts %+v, pairs say %+v\n%s", step, vol, got, counts, x.Dump())
			}
			n := 0
			for range v.UpstreamConflicts() {
				n++
			}
			if n != counts.Reports() {
				t.Fatalf("step %d: iterator %d, want %d", step, n, counts.Reports())
			}
			ag := v.Agreement()
			for c := range numCauses {
				if fmt.Sprint(ag.Missed[c]) != fmt.Sprint(missed[c]) {
					t.Fatalf("step %d: %s missed[%d] %v, pairs say %v\n%s", step, vol, c, ag.Missed[c], missed[c], x.Dump())
				}
			}
			if ag.Reported != reported {
				t.Fatalf("step %d: %s reported %v, pairs say %v\n%s", step, vol, ag.Reported, reported, x.Dump())
			}
			if fmt.Sprint(ag.UpstreamOnly) != fmt.Sprint(only) {
				t.Fatalf("step %d: %s upstream-only %v, pairs say %v\n%s", step, vol, ag.UpstreamOnly, only, x.Dump())
			}
		}
	}
}

// TestConcurrent: writers and readers at once (run with -race).
func TestConcurrent(t *testing.T) {
	x := New[int]()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				user := w*1000 + i%50
				x.Set(user, []Use{seen(use("v", fmt.Sprint("L", i%3), MountOption), fmt.Sprintf(":::s0:c%d", i%3), MountOption)})
				if i%7 == 0 {
					x.Remove(user)
				}
			}
		})
		wg.Go(func() {
			for range 200 {
				for _, k := range x.Conflicts() {
					if v, ok := x.Volume(k); ok {
						_ = v.UpstreamCounts()
						_ = v.Agreement()
					}
				}
				_ = x.Dump()
			}
		})
	}
	wg.Wait()
	mustCheck(t, x)
}

func BenchmarkSetOnSharedVolume(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n, "users"), func(b *testing.B) {
			x := New[int]()
			for i := range n {
				x.Set(i, []Use{seen(use("v", fmt.Sprint("L", i%2), MountOption), fmt.Sprintf(":::s0:c%d", i%2), MountOption)})
			}
			uses := []Use{seen(use("v", "L9", MountOption), ":::s0:c9", MountOption)}
			for b.Loop() {
				x.Set(-1, uses)
				x.Remove(-1)
			}
		})
	}
}

func BenchmarkUpstreamCounts(b *testing.B) {
	x := New[int]()
	for i := range 2000 {
		x.Set(i, []Use{seen(use("v", fmt.Sprint("L", i), MountOption), fmt.Sprintf(":::s0:c%d", i), MountOption)})
	}
	v, _ := x.Volume("v")
	for b.Loop() {
		_ = v.UpstreamCounts()
		_ = v.Agreement()
	}
}

func TestDropRemovesOneUse(t *testing.T) {
	// Arrange: pod/a on v1, v2 and v3 (v2 beside pod/b with another label,
	// v3 beside pod/c and pod/d), so that dropping a use moves other
	// users' entries.
	x := New[string]()
	x.Set("pod/c", []Use{use("v3", "L1", MountOption)})
	x.Set("pod/a", []Use{use("v1", "L1", MountOption), use("v2", "L2", MountOption), use("v3", "L1", MountOption)})
	x.Set("pod/b", []Use{use("v2", "L3", MountOption)})
	x.Set("pod/d", []Use{use("v3", "L1", MountOption)})

	// Act and assert: each drop keeps the index whole.
	for _, tc := range []struct {
		user, volume string
		held         bool
		conflicts    []string
		users        []string // of v3
	}{
		{"pod/a", "v9", false, []string{"v2"}, []string{"pod/a", "pod/c", "pod/d"}}, // not a volume of pod/a
		{"pod/z", "v1", false, []string{"v2"}, []string{"pod/a", "pod/c", "pod/d"}}, // not a user
		{"pod/c", "v3", true, []string{"v2"}, []string{"pod/a", "pod/d"}},           // pod/c's only use: pod/c goes
		{"pod/a", "v2", true, nil, []string{"pod/a", "pod/d"}},                      // the conflict goes with it
		{"pod/a", "v2", false, nil, []string{"pod/a", "pod/d"}},                     // dropped already
		{"pod/a", "v3", true, nil, []string{"pod/d"}},
	} {
		if held := x.Drop(tc.user, tc.volume); held != tc.held {
			t.Errorf("Drop(%s, %s) = %v, want %v", tc.user, tc.volume, held, tc.held)
		}
		mustCheck(t, x)
		if got := x.Conflicts(); !slices.Equal(got, tc.conflicts) {
			t.Errorf("after Drop(%s, %s): conflicts %v, want %v", tc.user, tc.volume, got, tc.conflicts)
		}
		if got := x.UsersOf("v3"); !slices.Equal(got, tc.users) {
			t.Errorf("after Drop(%s, %s): users of v3 %v, want %v", tc.user, tc.volume, got, tc.users)
		}
	}
	// pod/a keeps v1, and a Set of its three uses again touches v2 and v3.
	if touched := x.Set("pod/a", []Use{use("v1", "L1", MountOption), use("v2", "L2", MountOption), use("v3", "L1", MountOption)}); !slices.Equal(touched, []string{"v2", "v3"}) {
		t.Errorf("touched %v, want v2 and v3", touched)
	}
	mustCheck(t, x)
	if x.Len() != 3 {
		t.Errorf("%d volumes, want 3", x.Len())
	}
}

// TestShrinkKeepsTheIndex: once most users are gone, the maps are made anew
// (see shrink), and the index is whole and answers as before.
func TestShrinkKeepsTheIndex(t *testing.T) {
	x := New[string]()
	for i := range 4000 {
		// Each user alone on its volume, and on "shared" with one of two labels.
		x.Set(fmt.Sprintf("pod/%04d", i), []Use{use(fmt.Sprintf("v%04d", i), "L1", MountOption), use("shared", fmt.Sprintf("L%d", i%2), MountOption)})
	}
	for i := range 3900 {
		if i%2 == 0 {
			x.Remove(fmt.Sprintf("pod/%04d", i))
		} else {
			x.Drop(fmt.Sprintf("pod/%04d", i), fmt.Sprintf("v%04d", i))
			x.Drop(fmt.Sprintf("pod/%04d", i), "shared")
		}
	}
	mustCheck(t, x)
	if x.peakUsers >= 1024 || x.peakVolumes >= 1024 {
		t.Errorf("peaks %d users, %d volumes: the maps were not made anew", x.peakUsers, x.peakVolumes)
	}
	if x.Len() != 101 || x.NumUsers("shared") != 100 || !slices.Equal(x.Conflicts(), []string{"shared"}) {
		t.Errorf("%d volumes, %d users of shared, conflicts %v; want 101, 100, [shared]", x.Len(), x.NumUsers("shared"), x.Conflicts())
	}
	if got := x.UsersOf("v3999"); !slices.Equal(got, []string{"pod/3999"}) {
		t.Errorf("users of v3999: %v", got)
	}
}
