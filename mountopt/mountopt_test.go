package mountopt

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/selmount/selmount/label"
)

const (
	l12 = "system_u:object_r:container_file_t:s0:c1,c2"
	l89 = "system_u:object_r:container_file_t:s0:c8,c9"
)

func TestBuild(t *testing.T) {
	lbl := label.MustParse(l12)
	q := `context="` + l12 + `"`
	tests := []struct {
		name   string
		fstype string
		opts   []string
		lbl    label.Context
		want   []string
	}{
		{"no options", "ext4", nil, lbl, []string{q}},
		{"order kept, context last", "ext4", []string{"noexec", "noatime"}, lbl, []string{"noexec", "noatime", q}},
		{"nfs gets nosharecache", "nfs", []string{"vers=4.1"}, lbl, []string{"vers=4.1", "nosharecache", q}},
		{"nfs4 gets nosharecache", "nfs4", nil, lbl, []string{"nosharecache", q}},
		{"nosharecache not doubled", "nfs", []string{"nosharecache", "hard"}, lbl, []string{"nosharecache", "hard", q}},
		{"cifs gets nosharesock", "cifs", []string{"vers=3.1.1"}, lbl, []string{"vers=3.1.1", "nosharesock", q}},
		{"smb3 gets nosharesock", "smb3", nil, lbl, []string{"nosharesock", q}},
		{"ceph needs nothing", "ceph", nil, lbl, []string{q}},
		{"zero label: unchanged", "nfs", []string{"ro", "hard"}, label.Context{}, []string{"ro", "hard"}},
		{"zero label keeps an existing context", "ext4", []string{q}, label.Context{}, []string{q}},
		{"same context dropped and put last", "ext4", []string{q, "ro"}, lbl, []string{"ro", q}},
		{"same context written differently", "ext4", []string{`context="system_u:object_r:container_file_t:s0:c2,c1"`, "ro"}, lbl, []string{"ro", q}},
		{"same defcontext dropped", "ext4", []string{"defcontext=" + `"` + l12 + `"`}, lbl, []string{q}},
		{"same fscontext kept", "ext4", []string{`fscontext="` + l12 + `"`}, lbl, []string{`fscontext="` + l12 + `"`, q}},
		{"same rootcontext kept", "ext4", []string{`rootcontext="` + l12 + `"`}, lbl, []string{`rootcontext="` + l12 + `"`, q}},
		{"unquoted context split on its comma is joined", "tmpfs", []string{"context=system_u:object_r:container_file_t:s0:c1", "c2", "size=1m"}, lbl, []string{"size=1m", q}},
		{"unquoted run", "tmpfs", []string{"context=system_u:object_r:container_file_t:s0:c0", "c3.c5"}, label.MustParse("system_u:object_r:container_file_t:s0:c0,c3.c5"), []string{`context="system_u:object_r:container_file_t:s0:c0,c3.c5"`}},
		{"empty items dropped", "ext4", []string{"", "ro", ""}, lbl, []string{"ro", q}},
		{"no level", "ext4", nil, label.MustParse("system_u:object_r:container_file_t"), []string{`context="system_u:object_r:container_file_t"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), tt.opts...)
			got, err := Build(tt.fstype, tt.opts, tt.lbl)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Build = %q, want %q", got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.opts) {
				t.Error("Build modified its input")
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	lbl := label.MustParse(l12)
	tests := []struct {
		name   string
		fstype string
		opts   []string
		msg    string
		is     error
	}{
		{"other context", "ext4", []string{`context="` + l89 + `"`}, `mount option context="` + l89 + `" conflicts with label ` + l12 + `: it asks for label ` + l89, ErrConflict},
		{"other fscontext", "ext4", []string{"fscontext=system_u:object_r:nfs_t:s0"}, `mount option fscontext=system_u:object_r:nfs_t:s0 conflicts with label ` + l12 + `: it asks for label system_u:object_r:nfs_t:s0`, ErrConflict},
		{"other defcontext", "ext4", []string{"defcontext=system_u:object_r:container_file_t:s0"}, "", ErrConflict},
		{"other rootcontext", "ext4", []string{`rootcontext="` + l89 + `"`}, "", ErrConflict},
		{"sharecache on nfs", "nfs", []string{"sharecache"}, "mount option sharecache conflicts with label " + l12 + ": NFS mounts of one server share a superblock with sharecache, so they cannot carry different labels; remove it", ErrConflict},
		{"bad label", "ext4", []string{`context="system_u:object_r"`}, `mount option context="system_u:object_r": label.Parse("system_u:object_r"): type: missing`, ErrInvalidLabel},
		{"empty label", "ext4", []string{`context=""`}, "", ErrInvalidLabel},
		{"context without value", "ext4", []string{"context"}, "", ErrInvalidLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.fstype, tt.opts, lbl)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tt.is)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
	var ce *ConflictError
	_, err := Build("ext4", []string{`context="` + l89 + `"`}, lbl)
	if !errors.As(err, &ce) || ce.Have != label.MustParse(l89) || ce.Want != lbl || ce.Key != Context {
		t.Errorf("ConflictError fields: %+v", ce)
	}
	var le *LabelError
	_, err = Build("ext4", []string{`context="x"`}, lbl)
	var pe *label.ParseError
	if !errors.As(err, &le) || !errors.As(err, &pe) || !errors.Is(err, label.ErrSyntax) {
		t.Errorf("LabelError must wrap the label.ParseError: %v", err)
	}
}

func TestFromFlags(t *testing.T) {
	q := `context="` + l12 + `"`
	tests := []struct {
		name   string
		fstype string
		flags  []string
		want   Plan
	}{
		// What the kubelet sends: the PV's mountOptions, then context="...".
		{"kubelet flags", "ext4", []string{"noexec", "noatime", q}, Plan{Options: []string{"noexec", "noatime", q}, Label: label.MustParse(l12)}},
		{"nfs from kubelet", "nfs", []string{"hard", q}, Plan{Options: []string{"hard", "nosharecache", q}, Label: label.MustParse(l12)}},
		{"no context: unchanged", "nfs", []string{"hard"}, Plan{Options: []string{"hard"}}},
		{"nil flags", "ext4", nil, Plan{Options: []string{}}},
		{"context twice, same label", "ext4", []string{q, `context="system_u:object_r:container_file_t:s0:c2,c1"`}, Plan{Options: []string{q}, Label: label.MustParse(l12)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromFlags(tt.fstype, tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromFlags = %+v, want %+v", got, tt.want)
			}
		})
	}
	_, err := FromFlags("ext4", []string{`context="` + l12 + `"`, `context="` + l89 + `"`})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "two different context= labels") {
		t.Errorf("two labels: %v", err)
	}
}

func TestSplitJoin(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"ro", []string{"ro"}},
		{"ro,,noatime,", []string{"ro", "noatime"}},
		{`ro,context="` + l12 + `",noexec`, []string{"ro", `context="` + l12 + `"`, "noexec"}},
		{`a="x,y`, []string{`a="x,y`}},
	}
	for _, tt := range tests {
		got := Split(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	opts := []string{"ro", `context="` + l12 + `"`}
	if got := Split(Join(opts)); !reflect.DeepEqual(got, opts) {
		t.Errorf("Split(Join) = %q", got)
	}
}

func TestLabelOf(t *testing.T) {
	got, err := LabelOf([]string{"ro", `context="` + l89 + `"`})
	if err != nil || got != label.MustParse(l89) {
		t.Errorf("LabelOf = %v, %v", got, err)
	}
	got, err = LabelOf([]string{"ro"})
	if err != nil || !got.IsZero() {
		t.Errorf("LabelOf without context = %v, %v", got, err)
	}
}

func TestShareOption(t *testing.T) {
	for fs, want := range map[string]string{"nfs": "nosharecache", "nfs4": "nosharecache", "cifs": "nosharesock", "smb3": "nosharesock", "ext4": "", "ceph": "", "glusterfs": ""} {
		if got := ShareOption(fs); got != want {
			t.Errorf("ShareOption(%q) = %q, want %q", fs, got, want)
		}
	}
}

// FuzzBuild checks that Build never panics, never drops a non-SELinux option,
// and puts exactly one context= last.
func FuzzBuild(f *testing.F) {
	// fstype, comma-separated options, label.
	f.Add("ext4", "noexec,noatime", l12)
	f.Add("nfs", "hard,"+`context="`+l12+`"`, l12)
	f.Add("cifs", "context=system_u:object_r:container_file_t:s0:c1,c2", l12)
	f.Add("tmpfs", `context="`+l89+`"`, l12) // conflict
	f.Add("ext4", `fscontext="x`, l12)       // unbalanced quote
	f.Fuzz(func(t *testing.T, fstype, opts, lbl string) {
		c, err := label.Parse(lbl)
		if err != nil {
			return
		}
		in := Split(opts)
		out, err := Build(fstype, in, c)
		if err != nil {
			return
		}
		if len(out) == 0 || out[len(out)-1] != c.MountOption() {
			t.Fatalf("Build(%q, %q) = %q: context not last", fstype, in, out)
		}
		n := 0
		for _, o := range out {
			if strings.HasPrefix(o, "context=") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("Build(%q) = %q: %d context options", in, out, n)
		}
		if again, err := Build(fstype, out, c); err != nil || !reflect.DeepEqual(again, out) {
			t.Fatalf("Build is not idempotent: %q -> %q (%v)", out, again, err)
		}
	})
}
