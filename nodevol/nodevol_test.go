package nodevol

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
)

var (
	l12      = label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	l12other = label.MustParse("system_u:object_r:container_file_t:s0:c2,c1") // the same label, written in another order
	l89      = label.MustParse("system_u:object_r:container_file_t:s0:c8,c9")
	vol      = Volume{ID: "pvc-1", Source: "/dev/sdb", FSType: "ext4", Options: []string{"noatime"}}
	bg       = context.Background()
)

func newTracker(t *testing.T, f *ctxmount.FakeMounter, root string) *Tracker {
	t.Helper()
	tr, err := New(root, &Options{Mount: ctxmount.Options{Mounter: f}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func publish(t *testing.T, tr *Tracker, pod string, c label.Context) string {
	t.Helper()
	p, err := tr.Publish(bg, vol, pod, c)
	if err != nil {
		t.Fatalf("Publish(%s): %v", pod, err)
	}
	return p
}

// globalMounts returns the log lines that mounted the global mount.
func globalMounts(f *ctxmount.FakeMounter) []string {
	var out []string
	for _, l := range f.Log() {
		if strings.HasPrefix(l, "mount /dev/sdb ") {
			out = append(out, l[strings.LastIndex(l, " ")+1:])
		}
	}
	return out
}

// checkInvariants verifies that the state agrees with the mount table:
// every tracked volume is mounted with its context, and every user has a
// bind mount showing it.
func checkInvariants(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, v := range tr.Volumes() {
		got, err := ctxmount.Verify(v.Path, v.Context, &tr.opt)
		if err != nil || !v.Context.IsZero() && got.Context != v.Context {
			t.Errorf("volume %s: global mount %+v, %v", v.ID, got, err)
		}
		for _, pod := range v.Users {
			got, err := ctxmount.Verify(tr.PodPath(pod, v.ID), v.Context, &tr.opt)
			if err != nil || got.Dev == "" {
				t.Errorf("volume %s pod %s: %+v, %v", v.ID, pod, got, err)
			}
		}
	}
}

func TestFirstPodDecidesContextAndSameLabelShares(t *testing.T) {
	// Arrange
	f := ctxmount.NewFakeMounter()
	tr := newTracker(t, f, t.TempDir())

	// Act
	pa := publish(t, tr, "pod-a", l12)
	pb := publish(t, tr, "pod-b", l12other)
	again := publish(t, tr, "pod-a", l12)

	// Assert
	if got := globalMounts(f); !reflect.DeepEqual(got, []string{`noatime,context="system_u:object_r:container_file_t:s0:c1,c2"`}) {
		t.Errorf("global mounts %q: want exactly one, with the first pod's label", got)
	}
	if pa == pb || again != pa {
		t.Errorf("pod paths %s %s %s", pa, pb, again)
	}
	vols := tr.Volumes()
	if len(vols) != 1 || vols[0].Context != l12 || !reflect.DeepEqual(vols[0].Users, []string{"pod-a", "pod-b"}) || vols[0].Origin != OriginMount {
		t.Errorf("state %+v", vols)
	}
	checkInvariants(t, tr)
}

func TestPodWithAnotherLabelWaits(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first label.Context
		next  label.Context
		msg   string
	}{
		{"another label", l12, l89, `waiting for unmount of volume "pvc-1", because it is already mounted with context system_u:object_r:container_file_t:s0:c1,c2 for pods pod-a and pod pod-b needs context system_u:object_r:container_file_t:s0:c8,c9`},
		{"no label (Recursive or no seLinuxOptions)", l12, label.Context{}, `waiting for unmount of volume "pvc-1", because it is already mounted with context system_u:object_r:container_file_t:s0:c1,c2 for pods pod-a and pod pod-b needs no context`},
		{"label on a mount without context", label.Context{}, l12, `waiting for unmount of volume "pvc-1", because it is already mounted with no context for pods pod-a and pod pod-b needs context system_u:object_r:container_file_t:s0:c1,c2`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := ctxmount.NewFakeMounter()
			tr := newTracker(t, f, t.TempDir())
			publish(t, tr, "pod-a", tt.first)
			f.ResetLog()

			_, err := tr.Publish(bg, vol, "pod-b", tt.next)

			if !errors.Is(err, ErrWaitForUnmount) {
				t.Fatalf("got %v", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
			var ce *ConflictError
			if !errors.As(err, &ce) || ce.Mounted != tt.first || ce.Want != tt.next || !reflect.DeepEqual(ce.Users, []string{"pod-a"}) {
				t.Errorf("ConflictError %+v", ce)
			}
			if len(f.Log()) != 0 {
				t.Errorf("a waiting pod must not mount anything: %q", f.Log())
			}
			if v := tr.Volumes()[0]; !reflect.DeepEqual(v.Waiting, []string{"pod-b"}) || v.Context != tt.first {
				t.Errorf("state %+v", v)
			}
			checkInvariants(t, tr)
		})
	}
}

func TestRemountAfterEveryOldUserIsGone(t *testing.T) {
	f := ctxmount.NewFakeMounter()
	tr := newTracker(t, f, t.TempDir())
	publish(t, tr, "pod-a", l12)
	publish(t, tr, "pod-b", l12)
	if _, err := tr.Publish(bg, vol, "pod-c", l89); !errors.Is(err, ErrWaitForUnmount) {
		t.Fatal(err)
	}

	// One old user leaves: pod-c still waits, nothing is unmounted.
	rel, err := tr.Unpublish(bg, vol.ID, "pod-a")
	if err != nil || rel.Unmounted || !reflect.DeepEqual(rel.Waiting, []string{"pod-c"}) {
		t.Fatalf("Unpublish(pod-a) = %+v, %v", rel, err)
	}
	if _, err := tr.Publish(bg, vol, "pod-c", l89); !errors.Is(err, ErrWaitForUnmount) {
		t.Fatalf("pod-c must still wait: %v", err)
	}

	// The last old user leaves: the volume is unmounted.
	rel, err = tr.Unpublish(bg, vol.ID, "pod-b")
	if err != nil || !rel.Unmounted || !reflect.DeepEqual(rel.Waiting, []string{"pod-c"}) {
		t.Fatalf("Unpublish(pod-b) = %+v, %v", rel, err)
	}
	if len(f.MountPoints()) != 0 {
		t.Errorf("mounts left: %q", f.MountPoints())
	}
	if _, err := os.Stat(tr.recordPath(vol.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record left behind: %v", err)
	}

	// Now pod-c mounts it again with its own context.
	publish(t, tr, "pod-c", l89)
	got := globalMounts(f)
	want := []string{`noatime,context="system_u:object_r:container_file_t:s0:c1,c2"`, `noatime,context="system_u:object_r:container_file_t:s0:c8,c9"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("global mounts %q, want %q", got, want)
	}
	if v := tr.Volumes()[0]; v.Context != l89 || v.Waiting != nil {
		t.Errorf("state %+v", v)
	}
	checkInvariants(t, tr)
}

func TestStaleMountWithoutUsersIsRemounted(t *testing.T) {
	// After a restart a volume can be mounted with nobody using it; a pod
	// with another label then remounts it at once.
	f := ctxmount.NewFakeMounter()
	root := t.TempDir()
	tr := newTracker(t, f, root)
	publish(t, tr, "pod-a", l12)
	f.Unmount(tr.PodPath("pod-a", vol.ID)) // pod-a went away while we were down

	tr2 := newTracker(t, f, root)
	if _, err := tr2.Reconstruct(bg); err != nil {
		t.Fatal(err)
	}
	if v := tr2.Volumes(); len(v) != 1 || v[0].Users != nil {
		t.Fatalf("state %+v", v)
	}
	publish(t, tr2, "pod-b", l89)
	if v := tr2.Volumes()[0]; v.Context != l89 {
		t.Errorf("state %+v", v)
	}
	checkInvariants(t, tr2)
}

func TestRecordIsPersistedNextToTheMount(t *testing.T) {
	f := ctxmount.NewFakeMounter()
	tr := newTracker(t, f, t.TempDir())
	publish(t, tr, "pod-a", l12)
	data, err := os.ReadFile(tr.recordPath(vol.ID))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "selmount.io/v1alpha1", "kind": "VolumeRecord", "volumeID": "pvc-1", "source": "/dev/sdb",
		"fsType": "ext4", "options": []any{"noatime"}, "seLinuxMountContext": "system_u:object_r:container_file_t:s0:c1,c2",
		"pods": []any{"pod-a"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("record %v\nwant %v", r, want)
	}
}

func TestConflictDetectedAfterRestart(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(t *testing.T, tr *Tracker)
		origin Origin
		note   string
	}{
		{"from the record", nil, OriginRecord, ""},
		{"from mountinfo, record missing", func(t *testing.T, tr *Tracker) {
			os.Remove(tr.recordPath(vol.ID))
		}, OriginMountinfo, "volume pvc-1: no record, context taken from the mount table"},
		{"from mountinfo, record unreadable", func(t *testing.T, tr *Tracker) {
			os.WriteFile(tr.recordPath(vol.ID), []byte("{"), 0o600)
		}, OriginMountinfo, "volume pvc-1: unreadable record: unexpected end of JSON input"},
		{"record disagrees with the mount", func(t *testing.T, tr *Tracker) {
			data, _ := os.ReadFile(tr.recordPath(vol.ID))
			os.WriteFile(tr.recordPath(vol.ID), []byte(strings.ReplaceAll(string(data), "c1,c2", "c8,c9")), 0o600)
		}, OriginRecord, "volume pvc-1: record says context system_u:object_r:container_file_t:s0:c8,c9, the mount has context system_u:object_r:container_file_t:s0:c1,c2; using the mount's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Arrange: pod-a uses the volume, then the tracker restarts.
			f := ctxmount.NewFakeMounter()
			root := t.TempDir()
			tr := newTracker(t, f, root)
			publish(t, tr, "pod-a", l12)
			if tt.mangle != nil {
				tt.mangle(t, tr)
			}

			// Act
			tr2 := newTracker(t, f, root)
			notes, err := tr2.Reconstruct(bg)
			if err != nil {
				t.Fatal(err)
			}

			// Assert
			if tt.note == "" && notes != nil || tt.note != "" && !reflect.DeepEqual(notes, []string{tt.note}) {
				t.Errorf("notes %q, want %q", notes, tt.note)
			}
			v := tr2.Volumes()
			if len(v) != 1 || v[0].Context != l12 || !reflect.DeepEqual(v[0].Users, []string{"pod-a"}) || v[0].Origin != tt.origin {
				t.Fatalf("reconstructed %+v", v)
			}
			// The record is rewritten from the reconstructed state (checked
			// before any Publish, which would write it anyway).
			if r, err := tr2.readRecord(vol.ID); err != nil || r.SELinuxMountContext != l12.String() {
				t.Errorf("record after reconstruction %+v, %v", r, err)
			}
			if _, err := tr2.Publish(bg, vol, "pod-b", l89); !errors.Is(err, ErrWaitForUnmount) {
				t.Errorf("conflict after restart: %v", err)
			}
			f.ResetLog()
			publish(t, tr2, "pod-c", l12) // the same label still shares
			if got := globalMounts(f); got != nil {
				t.Errorf("sharing must not mount again: %q", got)
			}
			checkInvariants(t, tr2)
		})
	}
}

func TestReconstructRemovesStaleRecord(t *testing.T) {
	f := ctxmount.NewFakeMounter()
	root := t.TempDir()
	tr := newTracker(t, f, root)
	publish(t, tr, "pod-a", l12)
	// Everything was unmounted behind the tracker's back (a node reboot).
	f.Unmount(tr.PodPath("pod-a", vol.ID))
	f.Unmount(tr.GlobalPath(vol.ID))

	tr2 := newTracker(t, f, root)
	notes, err := tr2.Reconstruct(bg)
	if err != nil || !reflect.DeepEqual(notes, []string{"volume pvc-1: record without mount, removed"}) {
		t.Fatalf("notes %q, err %v", notes, err)
	}
	if len(tr2.Volumes()) != 0 {
		t.Errorf("state %+v", tr2.Volumes())
	}
	publish(t, tr2, "pod-b", l89) // free to mount with any label
}

func TestUnpublishUnknownIsNoop(t *testing.T) {
	tr := newTracker(t, ctxmount.NewFakeMounter(), t.TempDir())
	if rel, err := tr.Unpublish(bg, "nothing", "pod"); err != nil || rel.Unmounted {
		t.Errorf("%+v, %v", rel, err)
	}
}

func TestBadIDs(t *testing.T) {
	tr := newTracker(t, ctxmount.NewFakeMounter(), t.TempDir())
	for _, id := range []string{"", ".", "..", "a/b", "x\x00"} {
		if _, err := tr.Publish(bg, Volume{ID: id, Source: "/dev/sdb", FSType: "ext4"}, "pod", l12); !errors.Is(err, ErrBadID) {
			t.Errorf("volume %q: %v", id, err)
		}
		if _, err := tr.Publish(bg, vol, id, l12); !errors.Is(err, ErrBadID) {
			t.Errorf("pod %q: %v", id, err)
		}
	}
}

func TestMountFailureLeavesNoState(t *testing.T) {
	f := ctxmount.NewFakeMounter()
	f.InvalidLabels = []label.Context{l89}
	tr := newTracker(t, f, t.TempDir())
	if _, err := tr.Publish(bg, vol, "pod-a", l89); !errors.Is(err, ctxmount.ErrInvalidLabel) {
		t.Fatalf("got %v", err)
	}
	if len(tr.Volumes()) != 0 {
		t.Errorf("state %+v", tr.Volumes())
	}
	publish(t, tr, "pod-b", l12)
}
