package label_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selmount/selmount/label"
)

// writeTree creates a node root in a temporary directory with the given
// files (path relative to the root -> content) and returns the root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// checkDefaults compares d with the expected labels; "" means a zero Context.
func checkDefaults(t *testing.T, name string, d label.Defaults, process, file, roFile, source string) {
	t.Helper()
	for _, f := range []struct {
		field string
		got   label.Context
		want  string
	}{
		{"Process", d.Process, process},
		{"File", d.File, file},
		{"ROFile", d.ROFile, roFile},
	} {
		var want label.Context
		if f.want != "" {
			want = label.MustParse(f.want)
		}
		if f.got != want {
			t.Errorf("%s: %s = %q, want %q", name, f.field, f.got, f.want)
		}
	}
	if d.Source != source {
		t.Errorf("%s: Source = %q, want %q", name, d.Source, source)
	}
}

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		root                  string
		process, file, roFile string
		source                string // relative to root
	}{
		// Fedora, RHEL, CoreOS: container-selinux installs the contexts file.
		{"testdata/nodes/fedora",
			"system_u:system_r:container_t:s0", "system_u:object_r:container_file_t:s0", "system_u:object_r:container_ro_file_t:s0",
			label.ContainersContextsPath},
		// Debian: only the reference policy's lxc_contexts, found through
		// SELINUXTYPE in etc/selinux/config; it has no ro_file key.
		{"testdata/nodes/debian",
			"system_u:system_r:svirt_lxc_net_t:s0", "system_u:object_r:svirt_lxc_file_t:s0", "",
			"etc/selinux/default/contexts/lxc_contexts"},
		// Both files: the containers file wins, as in go-selinux.
		{"testdata/nodes/both",
			"system_u:system_r:container_t:s0", "system_u:object_r:container_file_t:s0", "system_u:object_r:container_ro_file_t:s0",
			label.ContainersContextsPath},
	}
	for _, tt := range tests {
		d, err := label.LoadDefaults(tt.root)
		if err != nil {
			t.Errorf("LoadDefaults(%q): %v", tt.root, err)
			continue
		}
		checkDefaults(t, tt.root, d, tt.process, tt.file, tt.roFile, filepath.Join(tt.root, tt.source))
	}
}

// TestLoadDefaultsMatchesProfiles checks that the built-in profiles are what
// the fixture nodes of the same distribution have.
func TestLoadDefaultsMatchesProfiles(t *testing.T) {
	for _, tt := range []struct{ root, profile string }{
		{"testdata/nodes/fedora", "fedora"},
		{"testdata/nodes/debian", "debian"},
	} {
		d, err := label.LoadDefaults(tt.root)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := label.Profile(tt.profile)
		if !ok {
			t.Fatalf("Profile(%q) not found", tt.profile)
		}
		if d.Process != p.Process || d.File != p.File || d.ROFile != p.ROFile {
			t.Errorf("LoadDefaults(%q) = %+v, Profile(%q) = %+v", tt.root, d, tt.profile, p)
		}
	}
}

func TestLoadDefaultsSELinuxType(t *testing.T) {
	lxc := func(typ string) string { return "etc/selinux/" + typ + "/contexts/lxc_contexts" }
	svirt := "process = \"system_u:system_r:svirt_lxc_net_t:s0\"\nfile = \"system_u:object_r:svirt_lxc_file_t:s0\"\n"
	other := "process = \"system_u:system_r:other_t:s0\"\nfile = \"system_u:object_r:other_file_t:s0\"\n"
	tests := []struct {
		name   string
		config string
		policy string // the SELINUXTYPE whose lxc_contexts should be read
	}{
		{"plain", "SELINUXTYPE=default\n", "default"},
		{"quoted", "SELINUXTYPE=\"default\"\n", "default"},
		{"spaces", "  SELINUXTYPE = default  \n", "default"},
		{"crlf", "SELINUX=enforcing\r\nSELINUXTYPE=default\r\n", "default"},
		// go-selinux (readConfig) stops at the first SELINUXTYPE line.
		{"first wins", "SELINUXTYPE=default\nSELINUXTYPE=mls\n", "default"},
		{"commented out", "#SELINUXTYPE=mls\nSELINUXTYPE=default\n", "default"},
	}
	for _, tt := range tests {
		root := writeTree(t, map[string]string{
			label.SELinuxConfigPath: tt.config,
			lxc("default"):          svirt,
			lxc("mls"):              other,
		})
		d, err := label.LoadDefaults(root)
		if err != nil {
			t.Errorf("%s: LoadDefaults: %v", tt.name, err)
			continue
		}
		if want := filepath.Join(root, lxc(tt.policy)); d.Source != want {
			t.Errorf("%s: Source = %q, want %q", tt.name, d.Source, want)
		}
	}
}

func TestLoadDefaultsError(t *testing.T) {
	const lxcContent = "process = \"system_u:system_r:svirt_lxc_net_t:s0\"\nfile = \"system_u:object_r:svirt_lxc_file_t:s0\"\n"
	tests := []struct {
		name  string
		files map[string]string
		// want is the error with "ROOT" standing for the root directory.
		want      string
		noDefault bool // errors.Is(err, ErrNoDefaults)
	}{
		{
			name:      "empty node",
			files:     nil,
			want:      "no container SELinux defaults found below ROOT: usr/share/containers/selinux/contexts does not exist and etc/selinux/config does not exist to name the policy",
			noDefault: true,
		},
		{
			name:      "config without lxc_contexts",
			files:     map[string]string{label.SELinuxConfigPath: "SELINUXTYPE=targeted\n"},
			want:      "no container SELinux defaults found below ROOT: neither usr/share/containers/selinux/contexts nor ROOT/etc/selinux/targeted/contexts/lxc_contexts exists",
			noDefault: true,
		},
		{
			name:  "config without SELINUXTYPE",
			files: map[string]string{label.SELinuxConfigPath: "SELINUX=enforcing\n", "etc/selinux/contexts/lxc_contexts": lxcContent},
			want:  "ROOT/etc/selinux/config: no valid SELINUXTYPE= line",
		},
		{
			name:  "empty SELINUXTYPE",
			files: map[string]string{label.SELinuxConfigPath: "SELINUXTYPE=\nSELINUXTYPE=default\n", "etc/selinux/default/contexts/lxc_contexts": lxcContent},
			want:  "ROOT/etc/selinux/config: no valid SELINUXTYPE= line",
		},
		{
			name:  "SELINUXTYPE escapes",
			files: map[string]string{label.SELinuxConfigPath: "SELINUXTYPE=../../x\n", "x/contexts/lxc_contexts": lxcContent},
			want:  "ROOT/etc/selinux/config: no valid SELINUXTYPE= line",
		},
		{
			name:  "SELINUXTYPE dot-dot",
			files: map[string]string{label.SELinuxConfigPath: "SELINUXTYPE=..\n", "etc/contexts/lxc_contexts": lxcContent},
			want:  "ROOT/etc/selinux/config: no valid SELINUXTYPE= line",
		},
		{
			name:  "no file key",
			files: map[string]string{label.ContainersContextsPath: "process = \"system_u:system_r:container_t:s0\"\n"},
			want:  `ROOT/usr/share/containers/selinux/contexts: no file = "..." line`,
		},
	}
	for _, tt := range tests {
		root := writeTree(t, tt.files)
		d, err := label.LoadDefaults(root)
		if err == nil {
			t.Errorf("%s: LoadDefaults = %+v, want error", tt.name, d)
			continue
		}
		if want := strings.ReplaceAll(tt.want, "ROOT", root); err.Error() != want {
			t.Errorf("%s: LoadDefaults error:\n got  %s\n want %s", tt.name, err, want)
		}
		if got := errors.Is(err, label.ErrNoDefaults); got != tt.noDefault {
			t.Errorf("%s: errors.Is(err, ErrNoDefaults) = %v, want %v", tt.name, got, tt.noDefault)
		}
	}
}

func TestLoadDefaultsBrokenLabel(t *testing.T) {
	const root = "testdata/nodes/broken"
	_, err := label.LoadDefaults(root)
	want := `testdata/nodes/broken/usr/share/containers/selinux/contexts:3: file: label.Parse("system_u:object_r:container_file_t:s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 39)`
	if err == nil || err.Error() != want {
		t.Fatalf("LoadDefaults(%q) error:\n got  %v\n want %s", root, err, want)
	}
	if !errors.Is(err, label.ErrSyntax) {
		t.Errorf("errors.Is(err, ErrSyntax) = false")
	}
	var pe *label.ParseError
	if !errors.As(err, &pe) || pe.Part != "category" {
		t.Errorf("errors.As(err, *ParseError) = %+v", pe)
	}
	if errors.Is(err, label.ErrNoDefaults) {
		t.Errorf("a broken file is reported as ErrNoDefaults")
	}
}

func TestParseContextsFile(t *testing.T) {
	const (
		ct  = "system_u:system_r:container_t:s0"
		cft = "system_u:object_r:container_file_t:s0"
	)
	tests := []struct {
		name                  string
		data                  string
		process, file, roFile string
	}{
		{"minimal", "file = \"" + cft + "\"\n", "", cft, ""},
		{"no quotes, no spaces", "process=" + ct + "\nfile=" + cft, ct, cft, ""},
		{"comments and blank lines",
			"# comment\n; also a comment\n\n   \n# file = \"a:b:c\"\nprocess = \"" + ct + "\"\nfile = \"" + cft + "\"\n",
			ct, cft, ""},
		{"crlf and tabs", "\tprocess\t=\t\"" + ct + "\"\r\nfile = \"" + cft + "\"\r\n", ct, cft, ""},
		{"unknown keys and lines without '=' are ignored",
			"kvm_process = \"not a label\"\ncontent = x\ngarbage\nfile = \"" + cft + "\"\n",
			"", cft, ""},
		{"last line for a key wins",
			"file = \"system_u:object_r:old_t:s0\"\nfile = \"" + cft + "\"\n",
			"", cft, ""},
		{"empty value counts as absent",
			"process = \"" + ct + "\"\nprocess = \"\"\nfile = \"" + cft + "\"\n",
			"", cft, ""},
		{"ro_file",
			"file = \"" + cft + "\"\nro_file=\"system_u:object_r:container_ro_file_t:s0\"\n",
			"", cft, "system_u:object_r:container_ro_file_t:s0"},
		{"label with categories is canonicalised",
			"process = \"system_u:system_r:container_t:s0:c2,c1\"\nfile = \"" + cft + "\"\n",
			"system_u:system_r:container_t:s0:c1,c2", cft, ""},
	}
	for _, tt := range tests {
		d, err := label.ParseContextsFile("ctx", []byte(tt.data))
		if err != nil {
			t.Errorf("%s: ParseContextsFile: %v", tt.name, err)
			continue
		}
		checkDefaults(t, tt.name, d, tt.process, tt.file, tt.roFile, "ctx")
	}
}

func TestParseContextsFileError(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", `ctx: no file = "..." line`},
		{"no file key", "process = \"system_u:system_r:container_t:s0\"\n", `ctx: no file = "..." line`},
		{"empty file value", "file = \"\"\n", `ctx: no file = "..." line`},
		{"broken process", "# header\nprocess = \"system_u:system_r\"\nfile = \"a:b:c\"\n",
			`ctx:2: process: label.Parse("system_u:system_r"): type: missing`},
		{"broken ro_file", "file = \"a:b:c\"\n\n\nro_file = \"a:b:c:s0:c5.c3\"\n",
			`ctx:4: ro_file: label.Parse("a:b:c:s0:c5.c3"): category: run "c5.c3" does not ascend (at offset 9)`},
		{"broken before missing file", "file = \"a b:c:d\"\n",
			`ctx:1: file: label.Parse("a b:c:d"): user: bad character ' ' (at offset 1)`},
	}
	for _, tt := range tests {
		d, err := label.ParseContextsFile("ctx", []byte(tt.data))
		if err == nil {
			t.Errorf("%s: ParseContextsFile = %+v, want error", tt.name, d)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%s: error:\n got  %s\n want %s", tt.name, err, tt.want)
		}
	}
}

func TestProfile(t *testing.T) {
	const (
		fedoraProcess = "system_u:system_r:container_t:s0"
		fedoraFile    = "system_u:object_r:container_file_t:s0"
		fedoraRO      = "system_u:object_r:container_ro_file_t:s0"
		debianProcess = "system_u:system_r:svirt_lxc_net_t:s0"
		debianFile    = "system_u:object_r:svirt_lxc_file_t:s0"
	)
	tests := []struct {
		name                  string
		process, file, roFile string
		source                string
	}{
		{"fedora", fedoraProcess, fedoraFile, fedoraRO, "fedora"},
		{"rhel", fedoraProcess, fedoraFile, fedoraRO, "rhel"},
		{"centos", fedoraProcess, fedoraFile, fedoraRO, "centos"},
		{"rhcos", fedoraProcess, fedoraFile, fedoraRO, "rhcos"},
		{"openshift", fedoraProcess, fedoraFile, fedoraRO, "openshift"},
		{"Fedora", fedoraProcess, fedoraFile, fedoraRO, "fedora"},
		{"debian", debianProcess, debianFile, "", "debian"},
		{"ubuntu", debianProcess, debianFile, "", "ubuntu"},
		{"UBUNTU", debianProcess, debianFile, "", "ubuntu"},
	}
	for _, tt := range tests {
		d, ok := label.Profile(tt.name)
		if !ok {
			t.Errorf("Profile(%q) not found", tt.name)
			continue
		}
		checkDefaults(t, "Profile("+tt.name+")", d, tt.process, tt.file, tt.roFile, tt.source)
	}

	for _, name := range []string{"", "arch", "fedora ", "gentoo", "rhel8"} {
		if d, ok := label.Profile(name); ok || d != (label.Defaults{}) {
			t.Errorf("Profile(%q) = %+v, %v; want zero, false", name, d, ok)
		}
	}
}

func TestProfileNames(t *testing.T) {
	names := label.ProfileNames()
	if !slices.IsSorted(names) {
		t.Errorf("ProfileNames() = %v, not sorted", names)
	}
	for _, want := range []string{"fedora", "rhel", "ubuntu", "debian"} {
		if !slices.Contains(names, want) {
			t.Errorf("ProfileNames() = %v, missing %q", names, want)
		}
	}
	for _, name := range names {
		d, ok := label.Profile(name)
		if !ok || d.File.IsZero() || d.Process.IsZero() || d.Source != name {
			t.Errorf("Profile(%q) = %+v, %v", name, d, ok)
		}
	}
	// The result is a fresh slice.
	names[0] = "changed"
	if label.ProfileNames()[0] == "changed" {
		t.Errorf("ProfileNames returns a shared slice")
	}
}
