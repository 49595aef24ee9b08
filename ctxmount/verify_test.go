package ctxmount

import (
	"errors"
	"os"
	"testing"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

func readTestdata(t *testing.T, name string) []mountinfo.Mount {
	t.Helper()
	f, err := os.Open("../mountinfo/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts, err := mountinfo.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return mounts
}

func TestVerifyMounts(t *testing.T) {
	mounts := readTestdata(t, "fedora-kubelet-node.txt")
	const (
		global    = "/var/lib/kubelet/plugins/kubernetes.io/csi/ebs.csi.aws.com/0a2f4f4b1c0e6e1d/globalmount"
		relabeled = "/var/lib/kubelet/pods/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/volumes/kubernetes.io~csi/pvc-relabeled/mount"
	)
	want := label.MustParse("system_u:object_r:container_file_t:s0:c314,c894")
	// The same label with its categories written in another order.
	same := label.MustParse("system_u:object_r:container_file_t:s0:c894,c314")
	other := label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	tests := []struct {
		name           string
		target         string
		want           label.Context
		enabled        bool
		kind           error
		match, relabel bool
		summary        string
	}{
		{"context as expected", global, want, true, nil, true, false, "mounted with context=system_u:object_r:container_file_t:s0:c314,c894 as expected: every file shows the label, nothing to relabel"},
		{"compared canonically", global, same, true, nil, true, false, ""},
		{"other label", global, other, true, ErrContextMismatch, false, false, "mounted with context=system_u:object_r:container_file_t:s0:c314,c894, want system_u:object_r:container_file_t:s0:c1,c2"},
		{"report only", global, label.Context{}, true, nil, true, false, "mounted with context=system_u:object_r:container_file_t:s0:c314,c894: every file shows the label, nothing to relabel"},
		{"seclabel, runtime relabels", relabeled, label.Context{}, true, nil, true, true, "mounted without context=; the filesystem stores labels per file (seclabel): the container runtime would relabel every file"},
		{"SELinux off", relabeled, label.Context{}, false, nil, true, false, "mounted without context=; SELinux is not enabled, so nothing is labeled or relabeled"},
		{"context missing", relabeled, want, true, ErrContextMissing, false, true, "mounted without context=, want system_u:object_r:container_file_t:s0:c314,c894; the container runtime would relabel every file"},
		{"no labels at all", "/proc", label.Context{}, true, nil, true, false, "mounted without context= and without seclabel: the filesystem cannot store labels and nothing is relabeled"},
		{"not mounted", "/var/lib/kubelet/nothing", want, true, ErrNotMounted, false, false, "/var/lib/kubelet/nothing is not a mount point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := VerifyMounts(mounts, tt.target, tt.want, tt.enabled)
			if tt.kind == nil && err != nil || tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if v.Match != tt.match || v.RuntimeRelabel != tt.relabel {
				t.Errorf("match %v relabel %v, want %v %v", v.Match, v.RuntimeRelabel, tt.match, tt.relabel)
			}
			if tt.summary != "" && v.Summary != tt.summary {
				t.Errorf("summary\n got %s\nwant %s", v.Summary, tt.summary)
			}
			if v.Target != tt.target || v.Expected != tt.want {
				t.Errorf("target/expected not filled in: %+v", v)
			}
		})
	}
}

func TestVerifyMountsUnparsableContext(t *testing.T) {
	m, err := mountinfo.ParseLine(`1 1 0:5 / /m rw - tmpfs tmpfs rw,context="weird"`)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyMounts([]mountinfo.Mount{m}, "/m", l12, true)
	if !errors.Is(err, ErrContextMismatch) || v.RawContext != "weird" || !v.Context.IsZero() {
		t.Errorf("v %+v, err %v", v, err)
	}
}
