//go:build linux

package nodevol

import (
	"os"
	"reflect"
	"testing"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
)

// TestRealMountsAndReconstruction runs the tracker with mount(2) on tmpfs.
// On a kernel without SELinux the volume carries no context; the SELinux
// cases run in hack/selinux-vm.
func TestRealMountsAndReconstruction(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to call mount(2); run the tests as root to include it")
	}
	var want label.Context
	if h, _ := ctxmount.CheckHost(); h.SELinuxEnabled {
		want = l12
	}
	root := t.TempDir()
	v := Volume{ID: "tmp-1", Source: "selmount-nodevol", FSType: "tmpfs", Options: []string{"size=1m"}}
	tr, err := New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tr.Unpublish(bg, v.ID, "pod-a")
		tr.Unpublish(bg, v.ID, "pod-b")
	})
	pa, err := tr.Publish(bg, v, "pod-a", want)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Publish(bg, v, "pod-b", want); err != nil {
		t.Fatal(err)
	}
	// Both pods see the same filesystem.
	if err := os.WriteFile(pa+"/shared", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tr.PodPath("pod-b", v.ID) + "/shared"); err != nil {
		t.Errorf("pod-b does not see pod-a's file: %v", err)
	}

	tr2, _ := New(root, nil)
	notes, err := tr2.Reconstruct(bg)
	if err != nil || notes != nil {
		t.Fatalf("Reconstruct: %q, %v", notes, err)
	}
	got := tr2.Volumes()
	if len(got) != 1 || got[0].Context != want || !reflect.DeepEqual(got[0].Users, []string{"pod-a", "pod-b"}) || got[0].Origin != OriginRecord {
		t.Fatalf("reconstructed %+v", got)
	}
	tr = tr2
	if rel, err := tr.Unpublish(bg, v.ID, "pod-a"); err != nil || rel.Unmounted {
		t.Fatalf("%+v %v", rel, err)
	}
	if rel, err := tr.Unpublish(bg, v.ID, "pod-b"); err != nil || !rel.Unmounted {
		t.Fatalf("%+v %v", rel, err)
	}
	if _, err := ctxmount.Verify(tr.GlobalPath(v.ID), label.Context{}, nil); err == nil {
		t.Error("the global mount is still there")
	}
}
