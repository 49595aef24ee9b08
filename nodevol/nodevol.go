// Package nodevol tracks which volume is mounted where on a node, with which
// SELinux context, following the kubelet's rules for KEP-1710 context mounts:
//
//   - A volume has one global mount per node, and the context of that mount
//     is the context of every pod that uses it: each pod gets a bind mount of
//     the global mount, which shows the same label.
//   - The first pod decides the context. A pod that needs the volume with the
//     same label (compared canonically) shares the mount. A pod that needs
//     another label, or no label where the mount has one (a Recursive pod,
//     a pod without seLinuxOptions), gets a *ConflictError matching
//     ErrWaitForUnmount and must wait.
//   - When every user of the old mount is gone, the volume is unmounted; the
//     waiting pod's next Publish mounts it again with its own context.
//   - The context of each global mount is persisted in a record next to it,
//     and Reconstruct rebuilds the state after a restart from that record,
//     or from the mount table when the record is missing, so conflicts are
//     still detected after a restart. Users are the pods whose bind mounts
//     are in the mount table.
//
// Unlike the kubelet, labels are compared canonically: "s0:c2,c1" and
// "s0:c1,c2" are the same context for the kernel, so they share a mount here
// and do not force an unmount.
//
// Layout below the tracker's root directory:
//
//	volumes/<volume>/mount         the global mount
//	volumes/<volume>/volume.json   its record (context, source, type, options, pods)
//	pods/<pod>/<volume>            a pod's bind mount of it
//
// Mounts go through ctxmount, so each of them is verified; a
// *ctxmount.FakeMounter in the options gives unit tests without root.
package nodevol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/selmount/selmount/apiversion"
	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

// Volume is what the tracker mounts.
type Volume struct {
	ID      string   // unique on the node; used as a directory name
	Source  string   // device, image file, "server:/export", ...
	FSType  string   // "ext4", "tmpfs", "nfs", ...
	Options []string // the PersistentVolume's mount options, in order
}

// Options configure a Tracker. A nil *Options means the defaults.
type Options struct {
	// Mount is passed to every ctxmount call: the Mounter (nil: mount(2)),
	// SkipHostCheck, ...
	Mount ctxmount.Options
}

// ErrWaitForUnmount is matched by *ConflictError.
var ErrWaitForUnmount = errors.New("waiting for unmount")

// ErrBadID is returned for a volume or pod ID that cannot be a directory
// name.
var ErrBadID = errors.New("invalid ID")

// ConflictError tells a pod that the volume is mounted with another context
// for other pods: it must wait until they are gone.
type ConflictError struct {
	Volume  string
	Pod     string
	Mounted label.Context // the context of the mount; zero for none
	Want    label.Context // what the pod needs; zero for none
	Users   []string      // the pods using the mount, sorted
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("waiting for unmount of volume %q, because it is already mounted with %s for pods %s and pod %s needs %s",
		e.Volume, describe(e.Mounted), strings.Join(e.Users, ", "), e.Pod, describe(e.Want))
}

// Is makes errors.Is(err, ErrWaitForUnmount) true.
func (e *ConflictError) Is(target error) bool { return target == ErrWaitForUnmount }

func describe(c label.Context) string {
	if c.IsZero() {
		return "no context"
	}
	return "context " + c.String()
}

// Origin says where the tracker learnt a volume's context.
type Origin string

const (
	OriginMount     Origin = "mount"     // this tracker mounted it
	OriginRecord    Origin = "record"    // reconstructed from volume.json
	OriginMountinfo Origin = "mountinfo" // reconstructed from the mount table, the record missing
)

// VolumeState is a snapshot of one tracked volume (tracked volumes are
// mounted).
type VolumeState struct {
	ID      string        `json:"id"`
	Path    string        `json:"path"`             // the global mount
	Context label.Context `json:"context,omitzero"` // zero: mounted without context
	Users   []string      `json:"users,omitempty"`
	Waiting []string      `json:"waiting,omitempty"` // pods that got a ConflictError
	Origin  Origin        `json:"origin"`
}

// Release is the outcome of Unpublish.
type Release struct {
	// Unmounted is true when the pod was the last user and the global
	// mount is gone.
	Unmounted bool
	// Waiting are the pods that were refused because of the old context;
	// with Unmounted set they can Publish now.
	Waiting []string
}

// Tracker tracks and performs the mounts of a node's volumes. It is safe for
// concurrent use; operations are serialized.
type Tracker struct {
	root string
	opt  ctxmount.Options

	mu   sync.Mutex
	vols map[string]*volState
}

type volState struct {
	vol     Volume
	context label.Context
	users   map[string]bool
	waiting map[string]bool
	origin  Origin
}

// New returns a tracker rooted at root, creating the directory. It starts
// empty; call Reconstruct to pick up mounts made before a restart.
func New(root string, opt *Options) (*Tracker, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	t := &Tracker{root: abs, vols: map[string]*volState{}}
	if opt != nil {
		t.opt = opt.Mount
	}
	return t, nil
}

// GlobalPath returns where a volume's global mount goes.
func (t *Tracker) GlobalPath(volume string) string {
	return filepath.Join(t.root, "volumes", volume, "mount")
}

// PodPath returns where a pod's bind mount of a volume goes.
func (t *Tracker) PodPath(pod, volume string) string {
	return filepath.Join(t.root, "pods", pod, volume)
}

func (t *Tracker) recordPath(volume string) string {
	return filepath.Join(t.root, "volumes", volume, "volume.json")
}

func checkID(kind, id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 255 || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("%w: %s %q", ErrBadID, kind, id)
	}
	return nil
}

// Publish makes vol available to pod with label want (zero: no context) at
// PodPath(pod, vol.ID) and returns that path. See the package documentation
// for the rules; a pod that must wait gets a *ConflictError. Publishing a
// pod twice returns the same path.
func (t *Tracker) Publish(ctx context.Context, vol Volume, pod string, want label.Context) (string, error) {
	if err := checkID("volume", vol.ID); err != nil {
		return "", err
	}
	if err := checkID("pod", pod); err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.vols[vol.ID]
	var waiting map[string]bool
	if st != nil && st.context != want {
		if len(st.users) > 0 {
			st.waiting[pod] = true
			return "", &ConflictError{Volume: vol.ID, Pod: pod, Mounted: st.context, Want: want, Users: sortedKeys(st.users)}
		}
		// Nobody uses the old mount any more: unmount it, mount it again.
		if err := t.unmountGlobal(st); err != nil {
			return "", err
		}
		delete(t.vols, vol.ID)
		waiting, st = st.waiting, nil
	}
	if st == nil {
		var err error
		if st, err = t.mountGlobal(ctx, vol, want); err != nil {
			return "", err
		}
		for p := range waiting {
			st.waiting[p] = true
		}
		t.vols[vol.ID] = st
	}
	podPath := t.PodPath(pod, vol.ID)
	if st.users[pod] {
		return podPath, nil
	}
	if err := os.MkdirAll(podPath, 0o750); err != nil {
		return "", err
	}
	// The bind mount shows the global mount's label; Mount verifies it.
	_, err := ctxmount.Mount(ctx, ctxmount.Request{Source: t.GlobalPath(vol.ID), Target: podPath, Options: []string{"bind"}, Label: want}, &t.opt)
	if err != nil {
		return "", err
	}
	st.users[pod] = true
	delete(st.waiting, pod)
	return podPath, t.writeRecord(st)
}

func (t *Tracker) mountGlobal(ctx context.Context, vol Volume, want label.Context) (*volState, error) {
	path := t.GlobalPath(vol.ID)
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, err
	}
	opts := slices.Clone(vol.Options)
	_, err := ctxmount.Mount(ctx, ctxmount.Request{Source: vol.Source, Target: path, FSType: vol.FSType, Options: opts, Label: want}, &t.opt)
	if err != nil {
		return nil, err
	}
	st := &volState{vol: vol, context: want, users: map[string]bool{}, waiting: map[string]bool{}, origin: OriginMount}
	if err := t.writeRecord(st); err != nil {
		ctxmount.Unmount(path, &t.opt)
		return nil, err
	}
	return st, nil
}

func (t *Tracker) unmountGlobal(st *volState) error {
	path := t.GlobalPath(st.vol.ID)
	if err := ctxmount.Unmount(path, &t.opt); err != nil && !errors.Is(err, ctxmount.ErrNotMounted) {
		return err
	}
	if err := os.Remove(t.recordPath(st.vol.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Unpublish removes pod's bind mount of a volume. When it was the last user,
// the global mount is unmounted too. Unpublishing a pod that does not use the
// volume is not an error.
func (t *Tracker) Unpublish(ctx context.Context, volume, pod string) (Release, error) {
	if err := checkID("volume", volume); err != nil {
		return Release{}, err
	}
	if err := checkID("pod", pod); err != nil {
		return Release{}, err
	}
	if err := ctx.Err(); err != nil {
		return Release{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.vols[volume]
	if st == nil {
		return Release{}, nil
	}
	delete(st.waiting, pod)
	if st.users[pod] {
		podPath := t.PodPath(pod, volume)
		if err := ctxmount.Unmount(podPath, &t.opt); err != nil && !errors.Is(err, ctxmount.ErrNotMounted) {
			return Release{}, err
		}
		os.Remove(podPath)
		os.Remove(filepath.Dir(podPath)) // the pod's directory, if now empty
		delete(st.users, pod)
	}
	rel := Release{Waiting: sortedKeys(st.waiting)}
	if len(st.users) > 0 {
		return rel, t.writeRecord(st)
	}
	if err := t.unmountGlobal(st); err != nil {
		return rel, err
	}
	delete(t.vols, volume)
	rel.Unmounted = true
	return rel, nil
}

// Volumes returns the tracked volumes, sorted by ID.
func (t *Tracker) Volumes() []VolumeState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]VolumeState, 0, len(t.vols))
	for id, st := range t.vols {
		out = append(out, VolumeState{ID: id, Path: t.GlobalPath(id), Context: st.context,
			Users: sortedKeys(st.users), Waiting: sortedKeys(st.waiting), Origin: st.origin})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// KindVolumeRecord identifies a volume record (apiVersion
// apiversion.Current).
const KindVolumeRecord = "VolumeRecord"

// record is volume.json.
type record struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	VolumeID   string   `json:"volumeID"`
	Source     string   `json:"source"`
	FSType     string   `json:"fsType,omitempty"`
	Options    []string `json:"options,omitempty"`
	// SELinuxMountContext is the context of the global mount, "" for none:
	// the key the kubelet uses in vol_data.json.
	SELinuxMountContext string   `json:"seLinuxMountContext"`
	Pods                []string `json:"pods,omitempty"`
}

func (t *Tracker) writeRecord(st *volState) error {
	r := record{APIVersion: apiversion.Current, Kind: KindVolumeRecord, VolumeID: st.vol.ID, Source: st.vol.Source,
		FSType: st.vol.FSType, Options: st.vol.Options, SELinuxMountContext: st.context.String(), Pods: sortedKeys(st.users)}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := t.recordPath(st.vol.ID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Reconstruct rebuilds the state from the records and the mount table after
// a restart, replacing what the tracker knew. For each volume directory:
//
//   - if the global mount is in the mount table, the volume is tracked; its
//     context comes from the record, or from the mount's context= option
//     when the record is missing or unreadable; when both exist and differ,
//     the mount table wins (it is what the kernel applies) and the record is
//     rewritten;
//   - its users are the pods whose bind mounts are in the mount table;
//   - a record without a mount is stale and removed.
//
// The notes say what was repaired.
func (t *Tracker) Reconstruct(ctx context.Context) (notes []string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mounts, err := ctxmount.MountTable(&t.opt)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(t.root, "volumes"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	vols := map[string]*volState{}
	for _, e := range entries {
		id := e.Name()
		if !e.IsDir() || checkID("volume", id) != nil {
			continue
		}
		rec, recErr := t.readRecord(id)
		m, mounted := mountinfo.Lookup(mounts, t.GlobalPath(id))
		if !mounted {
			if recErr == nil {
				notes = append(notes, fmt.Sprintf("volume %s: record without mount, removed", id))
				os.Remove(t.recordPath(id))
			}
			continue
		}
		st := &volState{users: map[string]bool{}, waiting: map[string]bool{}}
		var mountCtx label.Context
		raw, has := m.SELinuxContext()
		if has {
			if mountCtx, err = label.Parse(raw); err != nil {
				notes = append(notes, fmt.Sprintf("volume %s: mount has context %q that does not parse: %v", id, raw, err))
			}
		}
		switch {
		case recErr == nil:
			st.vol = Volume{ID: id, Source: rec.Source, FSType: rec.FSType, Options: rec.Options}
			st.origin = OriginRecord
			recCtx, perr := label.Parse(rec.SELinuxMountContext)
			if rec.SELinuxMountContext == "" {
				recCtx, perr = label.Context{}, nil
			}
			if perr != nil || recCtx != mountCtx {
				notes = append(notes, fmt.Sprintf("volume %s: record says %s, the mount has %s; using the mount's", id, describeRaw(rec.SELinuxMountContext), describe(mountCtx)))
			}
			st.context = mountCtx
		default:
			if !errors.Is(recErr, os.ErrNotExist) {
				notes = append(notes, fmt.Sprintf("volume %s: unreadable record: %v", id, recErr))
			} else {
				notes = append(notes, fmt.Sprintf("volume %s: no record, context taken from the mount table", id))
			}
			st.vol = Volume{ID: id, Source: m.Source, FSType: m.FSType}
			st.origin = OriginMountinfo
			st.context = mountCtx
		}
		vols[id] = st
	}
	// Users: the pods' bind mounts.
	podsDir := filepath.Join(t.root, "pods") + "/"
	for _, m := range mounts {
		rest, ok := strings.CutPrefix(m.MountPoint, podsDir)
		if !ok {
			continue
		}
		pod, vol, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(vol, "/") {
			continue
		}
		if st := vols[vol]; st != nil {
			st.users[pod] = true
		}
	}
	for _, st := range vols {
		if err := t.writeRecord(st); err != nil {
			return notes, err
		}
	}
	t.vols = vols
	return notes, nil
}

func describeRaw(raw string) string {
	if raw == "" {
		return "no context"
	}
	return "context " + raw
}

func (t *Tracker) readRecord(id string) (record, error) {
	var r record
	data, err := os.ReadFile(t.recordPath(id))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, err
	}
	if r.Kind != KindVolumeRecord || r.VolumeID != id {
		return r, fmt.Errorf("%s: not a %s for volume %s", t.recordPath(id), KindVolumeRecord, id)
	}
	return r, nil
}
