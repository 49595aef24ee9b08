package label_test

import (
	"errors"
	"testing"

	"github.com/selmount/selmount/label"
)

func mustProfile(t *testing.T, name string) label.Defaults {
	t.Helper()
	d, ok := label.Profile(name)
	if !ok {
		t.Fatalf("Profile(%q) not found", name)
	}
	return d
}

// TestFileLabelKubelet reproduces what the kubelet computes through
// go-selinux InitLabels on a node with the Fedora (container-selinux)
// defaults.
func TestFileLabelKubelet(t *testing.T) {
	fedora := mustProfile(t, "fedora")
	tests := []struct {
		name   string
		opts   *label.Options
		raw    string
		random bool
	}{
		{"nil", nil, "", false},
		{"empty", &label.Options{}, "", false},
		{"level only",
			&label.Options{Level: "s0:c1,c2"},
			"system_u:object_r:container_file_t:s0:c1,c2", false},
		{"process role and type do not reach the file label",
			&label.Options{User: "system_u", Role: "system_r", Type: "container_t", Level: "s0:c1,c2"},
			"system_u:object_r:container_file_t:s0:c1,c2", false},
		{"spc_t",
			&label.Options{Type: "spc_t", Level: "s0:c1,c2"},
			"system_u:object_r:container_file_t:s0:c1,c2", false},
		{"user is copied",
			&label.Options{User: "foo_u", Level: "s0"},
			"foo_u:object_r:container_file_t:s0", false},
		{"level kept as written",
			&label.Options{Level: "s0:c2,c1"},
			"system_u:object_r:container_file_t:s0:c2,c1", false},
		{"range kept as written",
			&label.Options{Level: "s0-s0:c0.c1023"},
			"system_u:object_r:container_file_t:s0-s0:c0.c1023", false},
		{"type without level",
			&label.Options{Type: "container_t"},
			"system_u:object_r:container_file_t:s0:<random>", true},
		{"role without level",
			&label.Options{Role: "system_r"},
			"system_u:object_r:container_file_t:s0:<random>", true},
		{"user without level",
			&label.Options{User: "foo_u"},
			"foo_u:object_r:container_file_t:s0:<random>", true},
	}
	for _, tt := range tests {
		fl, err := fedora.FileLabel(tt.opts)
		if err != nil {
			t.Errorf("%s: FileLabel(%+v): %v", tt.name, tt.opts, err)
			continue
		}
		checkFileLabel(t, tt.name, fl, tt.raw, tt.random, false)
	}
}

// checkFileLabel checks the fields of fl. Context must be Raw parsed, or
// zero when there is no label or the level is random.
func checkFileLabel(t *testing.T, name string, fl label.FileLabel, raw string, random, ignored bool) {
	t.Helper()
	if fl.Raw != raw {
		t.Errorf("%s: Raw = %q, want %q", name, fl.Raw, raw)
	}
	if fl.String() != fl.Raw {
		t.Errorf("%s: String() = %q, Raw = %q", name, fl.String(), fl.Raw)
	}
	if fl.RandomLevel != random {
		t.Errorf("%s: RandomLevel = %v, want %v", name, fl.RandomLevel, random)
	}
	if fl.OptionsIgnored != ignored {
		t.Errorf("%s: OptionsIgnored = %v, want %v", name, fl.OptionsIgnored, ignored)
	}
	var want label.Context
	if raw != "" && !random {
		want = label.MustParse(raw)
	}
	if fl.Context != want {
		t.Errorf("%s: Context = %q, want %q", name, fl.Context, want)
	}
	if hazard := fl.Hazard(); (hazard != "") != (random || ignored) {
		t.Errorf("%s: Hazard() = %q", name, hazard)
	}
}

// TestFileLabelRawVersusContext: the kubelet compares the raw strings, so two
// spellings of one level give different Raw values but equal Contexts.
func TestFileLabelRawVersusContext(t *testing.T) {
	fedora := mustProfile(t, "fedora")
	a, err := fedora.FileLabel(&label.Options{Level: "s0:c2,c1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fedora.FileLabel(&label.Options{Level: "s0:c1,c2"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Raw == b.Raw {
		t.Errorf("Raw %q == %q; the written order must be kept", a.Raw, b.Raw)
	}
	if a.Context != b.Context {
		t.Errorf("Context %q != %q; the parsed labels must be equal", a.Context, b.Context)
	}
	if a.Context.String() != b.Raw {
		t.Errorf("Context.String() = %q, want the canonical %q", a.Context, b.Raw)
	}
}

func TestFileLabelError(t *testing.T) {
	fedora := mustProfile(t, "fedora")
	tests := []struct {
		name string
		opts label.Options
		want string
	}{
		{"category out of range", label.Options{Level: "s0:c1024"},
			`label.ParseLevel("s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 4)`},
		{"categories without sensitivity", label.Options{Level: "c1,c2"},
			`label.ParseLevel("c1,c2"): sensitivity: must start with 's', found 'c' (at offset 0)`},
		{"range not dominating", label.Options{Type: "spc_t", Level: "s0:c1,c2-s0:c1"},
			`label.ParseLevel("s0:c1,c2-s0:c1"): level: high level "s0:c1" does not dominate low level "s0:c1,c2" (at offset 9)`},
		{"bad user", label.Options{User: "foo u", Level: "s0"},
			`label.FileLabel("foo u"): user: bad character ' ' (at offset 3)`},
		{"user with colon", label.Options{User: "a:b"},
			`label.FileLabel("a:b"): user: bad character ':' (at offset 1)`},
	}
	for _, tt := range tests {
		fl, err := fedora.FileLabel(&tt.opts)
		if err == nil {
			t.Errorf("%s: FileLabel(%+v) = %+v, want error", tt.name, tt.opts, fl)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s: error:\n got  %s\n want %s", tt.name, err, tt.want)
		}
		var pe *label.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %T is not a *ParseError", tt.name, err)
		}
		if fl != (label.FileLabel{}) {
			t.Errorf("%s: FileLabel returned %+v with an error", tt.name, fl)
		}
	}
}

func TestFileLabelDebian(t *testing.T) {
	debian := mustProfile(t, "debian")
	tests := []struct {
		name   string
		opts   label.Options
		raw    string
		random bool
	}{
		{"level", label.Options{Level: "s0:c1,c2"}, "system_u:object_r:svirt_lxc_file_t:s0:c1,c2", false},
		{"container_t is not a file type", label.Options{Type: "container_t", Level: "s0:c1,c2"}, "system_u:object_r:svirt_lxc_file_t:s0:c1,c2", false},
		{"no level", label.Options{Type: "svirt_lxc_net_t"}, "system_u:object_r:svirt_lxc_file_t:s0:<random>", true},
	}
	for _, tt := range tests {
		fl, err := debian.FileLabel(&tt.opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkFileLabel(t, tt.name, fl, tt.raw, tt.random, false)
	}

	// The same from the fixture node rather than the built-in profile.
	d, err := label.LoadDefaults("testdata/nodes/debian")
	if err != nil {
		t.Fatal(err)
	}
	fl, err := d.FileLabel(&label.Options{Level: "s0:c1,c2"})
	if err != nil {
		t.Fatal(err)
	}
	checkFileLabel(t, "debian node", fl, "system_u:object_r:svirt_lxc_file_t:s0:c1,c2", false, false)
}

// TestFileLabelNoProcess: without a process label go-selinux skips the
// options entirely and returns the default file label.
func TestFileLabelNoProcess(t *testing.T) {
	d, err := label.ParseContextsFile("contexts", []byte(`file = "system_u:object_r:container_file_t:s0"`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts *label.Options
		raw  string
	}{
		// The kubelet returns "" before it calls go-selinux.
		{"nil", nil, ""},
		{"empty", &label.Options{}, ""},
		{"level", &label.Options{Level: "s0:c1,c2"}, "system_u:object_r:container_file_t:s0"},
		{"user and type", &label.Options{User: "foo_u", Type: "spc_t"}, "system_u:object_r:container_file_t:s0"},
		// The options are not even parsed.
		{"invalid level", &label.Options{Level: "s0:c1024"}, "system_u:object_r:container_file_t:s0"},
	}
	for _, tt := range tests {
		fl, err := d.FileLabel(tt.opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkFileLabel(t, tt.name, fl, tt.raw, false, tt.raw != "")
	}
}

// TestFileLabelNoMLS: a process label without level (MLS disabled in the
// contexts file) gets no random level; a level from the options is still
// copied.
func TestFileLabelNoMLS(t *testing.T) {
	d, err := label.ParseContextsFile("contexts", []byte(
		"process = \"system_u:system_r:container_t\"\nfile = \"system_u:object_r:container_file_t\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts label.Options
		raw  string
	}{
		{"type", label.Options{Type: "spc_t"}, "system_u:object_r:container_file_t"},
		{"user", label.Options{User: "foo_u"}, "foo_u:object_r:container_file_t"},
		{"level", label.Options{Level: "s0:c1,c2"}, "system_u:object_r:container_file_t:s0:c1,c2"},
	}
	for _, tt := range tests {
		fl, err := d.FileLabel(&tt.opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkFileLabel(t, tt.name, fl, tt.raw, false, false)
	}
}

func TestOptionsIsEmpty(t *testing.T) {
	tests := []struct {
		o    label.Options
		want bool
	}{
		{label.Options{}, true},
		{label.Options{User: "u"}, false},
		{label.Options{Role: "r"}, false},
		{label.Options{Type: "t"}, false},
		{label.Options{Level: "s0"}, false},
	}
	for _, tt := range tests {
		if got := tt.o.IsEmpty(); got != tt.want {
			t.Errorf("%+v.IsEmpty() = %v, want %v", tt.o, got, tt.want)
		}
	}
}
