package check

import "slices"

// User is an object whose pods use volumes: a Pod, or a workload (its pod
// template). It is the object as it is stored, not the subject a finding
// names: a Deployment's running pods are users of kind Pod.
type User struct {
	Kind, Namespace, Name string
}

// UserVolume is one user's use of a shared volume: the volume's key
// (volindex.VolumeKey), its name as this user's report names it (the
// PersistentVolume bound to the user's claim, or the claim), and the label
// the kubelet mounts it with for this user ("" for none or Recursive).
type UserVolume struct {
	Key, Name, Label string
}

// Users records which objects use which volumes, as one check saw them:
// for each volume key its users, and for each user its volumes. It holds no
// pairs: its memory is proportional to the uses. A Users from RunUsers is
// read-only once built; one from Base.Users follows the Base's updates.
// Both are safe for concurrent use.
type Users struct {
	users    []User
	volumes  [][]UserVolume   // per user
	byVolume map[string][]int // volume key -> users
	index    map[User]int
	base     *Base // when set, the users are the Base's, as they are now
}

// Of returns the users of the volume with key key, in input order.
func (u *Users) Of(key string) []User {
	if u == nil {
		return nil
	}
	if u.base != nil {
		return u.base.usersOf(key)
	}
	ids := u.byVolume[key]
	out := make([]User, len(ids))
	for i, id := range ids {
		out[i] = u.users[id]
	}
	return out
}

// VolumesOf returns the shared volumes user uses (nil when none or when
// user is unknown).
func (u *Users) VolumesOf(user User) []UserVolume {
	if u == nil {
		return nil
	}
	if u.base != nil {
		return u.base.volumesOf(user)
	}
	if id, ok := u.index[user]; ok {
		return slices.Clip(u.volumes[id])
	}
	return nil
}

// Len returns the number of users with at least one shared volume.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	if u.base != nil {
		n, _ := u.base.usersLen()
		return n
	}
	return len(u.users)
}

// Volumes returns the number of volume keys.
func (u *Users) Volumes() int {
	if u == nil {
		return 0
	}
	if u.base != nil {
		_, n := u.base.usersLen()
		return n
	}
	return len(u.byVolume)
}

// userOf is the stored object behind an entry.
func userOf(e *entry) User {
	if e.running {
		return User{Kind: "Pod", Namespace: e.namespace, Name: e.name}
	}
	return User{Kind: e.subj.kind, Namespace: e.subj.namespace, Name: e.subj.name}
}

// add records e's use of the volume key, seen under name with label l.
func (u *Users) add(e *entry, key, name, l string) {
	user := userOf(e)
	id, ok := u.index[user]
	if !ok {
		id = len(u.users)
		u.index[user] = id
		u.users = append(u.users, user)
		u.volumes = append(u.volumes, nil)
	}
	for _, v := range u.volumes[id] {
		if v.Key == key {
			return // a pod that mounts one volume twice
		}
	}
	u.volumes[id] = append(u.volumes[id], UserVolume{Key: key, Name: name, Label: l})
	u.byVolume[key] = append(u.byVolume[key], id)
}

func newUsers() *Users {
	return &Users{byVolume: map[string][]int{}, index: map[User]int{}}
}
