package mountinfo

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func parseFile(t *testing.T, name string) []Mount {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return mounts
}

func mustLookup(t *testing.T, mounts []Mount, mp string) Mount {
	t.Helper()
	m, ok := Lookup(mounts, mp)
	if !ok {
		t.Fatalf("no mount at %q", mp)
	}
	return m
}

func TestParseHostEscapes(t *testing.T) {
	mounts := parseFile(t, "host-debian12-escapes.txt")
	if len(mounts) != 22 {
		t.Errorf("got %d mounts, want 22", len(mounts))
	}

	root := mustLookup(t, mounts, "/")
	want := Mount{
		ID: 27, ParentID: 1, Major: 254, Minor: 0, Root: "/", MountPoint: "/",
		Options: Options{"rw", "relatime"}, FSType: "ext4", Source: "/dev/vda",
		SuperOptions: Options{"rw", "discard", "resv_strict", "resuid=65534", "resgid=65534"},
	}
	if !reflect.DeepEqual(root, want) {
		t.Errorf("root mount:\n got %#v\nwant %#v", root, want)
	}

	sp := mustLookup(t, mounts, "/tmp/cap/with space")
	if sp.Source != `src with\ttab` {
		t.Errorf("source = %q, want the decoded backslash", sp.Source)
	}
	if v, _ := sp.SuperOptions.Get("size"); v != "1024k" {
		t.Errorf("size = %q", v)
	}

	shared := mustLookup(t, mounts, "/tmp/cap/shared")
	if v, ok := shared.OptionalField("shared"); !ok || v != "1" {
		t.Errorf("shared field = %q, %v", v, ok)
	}
	slave := mustLookup(t, mounts, "/tmp/cap/slave")
	if v, ok := slave.OptionalField("master"); !ok || v != "1" {
		t.Errorf("master field = %q, %v", v, ok)
	}
	if _, ok := slave.OptionalField("shared"); ok {
		t.Error("slave mount has no shared field")
	}
	if slave.Dev() != shared.Dev() {
		t.Errorf("bind mount device %s != %s", slave.Dev(), shared.Dev())
	}
	if _, ok := root.SELinuxContext(); ok {
		t.Error("no context on a kernel without SELinux")
	}
}

func TestParseSELinuxNode(t *testing.T) {
	mounts := parseFile(t, "fedora-kubelet-node.txt")
	const label = "system_u:object_r:container_file_t:s0:c314,c894"

	global := mustLookup(t, mounts, "/var/lib/kubelet/plugins/kubernetes.io/csi/ebs.csi.aws.com/0a2f4f4b1c0e6e1d/globalmount")
	if got := global.SuperOptions; !reflect.DeepEqual(got, Options{"rw", `context="` + label + `"`}) {
		t.Errorf("super options %q: the quoted comma must not split the option", got)
	}
	if got, ok := global.SELinuxContext(); !ok || got != label {
		t.Errorf("SELinuxContext() = %q, %v; want %q", got, ok, label)
	}
	if global.Seclabel() {
		t.Error("a context mount has no seclabel")
	}
	if v, _ := global.OptionalField("shared"); v != "150" {
		t.Errorf("shared = %q", v)
	}

	relabeled := mustLookup(t, mounts, "/var/lib/kubelet/pods/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/volumes/kubernetes.io~csi/pvc-relabeled/mount")
	if !relabeled.Seclabel() {
		t.Error("seclabel not found")
	}
	if _, ok := relabeled.SELinuxContext(); ok {
		t.Error("unexpected context")
	}

	nfs := mustLookup(t, mounts, "/var/lib/kubelet/pods/6d2c9a3e-1b7e-4f0b-a2b1-0f5d0c1f1e2a/volumes/kubernetes.io~nfs/shared data")
	if nfs.Source != "nfs.example.com:/exports/team a" || nfs.FSType != "nfs4" {
		t.Errorf("nfs source/type = %q %q", nfs.Source, nfs.FSType)
	}
	if !nfs.HasOption("nosharecache") {
		t.Error("nosharecache missing")
	}
	if v, _ := nfs.SELinuxContext(); v != "system_u:object_r:container_file_t:s0:c1,c2" {
		t.Errorf("nfs context %q", v)
	}
	if v, _ := nfs.OptionalField("master"); v != "2" {
		t.Errorf("master = %q", v)
	}

	shm := mustLookup(t, mounts, "/run/containers/storage/overlay-containers/abc/userdata/shm")
	if len(shm.SuperOptions) != 4 || shm.SuperOptions[1] != `context="system_u:object_r:container_file_t:s0:c5,c700"` {
		t.Errorf("shm options %q", shm.SuperOptions)
	}

	ns := mustLookup(t, mounts, "/run/netns/cni-1")
	if ns.Root != "/net:[4026531840]" {
		t.Errorf("nsfs root %q", ns.Root)
	}

	loop := mustLookup(t, mounts, "/mnt/loop image")
	if !loop.ReadOnly() || !loop.Seclabel() || loop.Optional[0] != "unbindable" {
		t.Errorf("loop mount %+v", loop)
	}
	if _, ok := loop.OptionalField("unbindable"); !ok {
		t.Error("unbindable")
	}
}

func TestParseVMCapture(t *testing.T) {
	mounts := parseFile(t, "vm-selinux-enforcing.txt")
	var ctx, seclabel int
	for _, m := range mounts {
		if v, ok := m.SELinuxContext(); ok {
			ctx++
			if strings.Contains(v, `"`) {
				t.Errorf("%s: quotes left in %q", m.MountPoint, v)
			}
			if m.Seclabel() {
				t.Errorf("%s: context mount with seclabel", m.MountPoint)
			}
		}
		if m.Seclabel() {
			seclabel++
		}
	}
	if ctx < 3 || seclabel < 1 {
		t.Errorf("want at least 3 context mounts and 1 seclabel mount, got %d and %d", ctx, seclabel)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		in   string
		want Options
	}{
		{"", nil},
		{"rw", Options{"rw"}},
		{"rw,relatime", Options{"rw", "relatime"}},
		{`rw,context="a:b:c:s0:c1,c2",seclabel`, Options{"rw", `context="a:b:c:s0:c1,c2"`, "seclabel"}},
		{`context="a:b:c:s0:c1,c2"`, Options{`context="a:b:c:s0:c1,c2"`}},
		{`a,"b,c`, Options{"a", `"b,c`}},      // unbalanced quote: the rest is one option
		{`x=a\054b,y`, Options{"x=a,b", "y"}}, // an escaped comma is part of the value
		{`p=/a\040b`, Options{"p=/a b"}},
		{",", Options{"", ""}},
	}
	for _, tt := range tests {
		got := ParseOptions(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOptions(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := ParseOptions(got.String()); !reflect.DeepEqual(again, got) {
			t.Errorf("ParseOptions(%q.String()=%q) = %q", got, got.String(), again)
		}
	}
}

func TestOptionsGet(t *testing.T) {
	o := Options{"rw", "size=1m", `context="u:r:t:s0:c1,c2"`, "size=2m", "seclabel", `lone="`}
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"rw", "", true},
		{"size", "2m", true}, // the last one wins
		{"context", "u:r:t:s0:c1,c2", true},
		{"seclabel", "", true},
		{"lone", `"`, true}, // a single quote is not a pair
		{"ro", "", false},
		{"con", "", false},
	}
	for _, tt := range tests {
		got, ok := o.Get(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBadLines(t *testing.T) {
	tests := []struct {
		name, line, msg string
	}{
		{"empty fields", "1 2 3", "3 fields, want at least 10"},
		{"no separator", "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 x ext3 /dev/root rw", `no " - " separator after the sixth field`},
		{"separator too early", "36 35 98:0 /mnt1 - ext3 /dev/root rw a b", `no " - " separator after the sixth field`},
		{"too few after separator", "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root", "2 fields after the separator, want 3 (type, source, super options)"},
		{"too many after separator", "36 35 98:0 / /mnt rw - ext3 /dev/root rw extra", "4 fields after the separator, want 3 (type, source, super options)"},
		{"ID not a number", "x 35 98:0 / /mnt rw - ext3 /dev/root rw", `mount ID "x" is not a number`},
		{"negative ID", "-1 35 98:0 / /mnt rw - ext3 /dev/root rw", `mount ID "-1" is not a number`},
		{"signed ID", "+1 35 98:0 / /mnt rw - ext3 /dev/root rw", `mount ID "+1" is not a number`},
		{"parent not a number", "36 3.5 98:0 / /mnt rw - ext3 /dev/root rw", `parent ID "3.5" is not a number`},
		{"device without colon", "36 35 980 / /mnt rw - ext3 /dev/root rw", `device "980" is not major:minor`},
		{"bad major", "36 35 a:0 / /mnt rw - ext3 /dev/root rw", `device "a:0": bad major number`},
		{"bad minor", "36 35 98: / /mnt rw - ext3 /dev/root rw", `device "98:": bad minor number`},
		{"minor overflow", "36 35 98:4294967296 / /mnt rw - ext3 /dev/root rw", `device "98:4294967296": bad minor number`},
		{"empty root", "36 35 98:0  /mnt rw - ext3 /dev/root rw", "empty root"},
		{"empty mount point", "36 35 98:0 /  rw - ext3 /dev/root rw", "empty mount point"},
		{"empty fs type", "36 35 98:0 / /mnt rw -  /dev/root rw", "empty filesystem type"},
		{"tabs are not separators", "36\t35\t98:0\t/\t/mnt\trw\t-\text3\t/dev/root\trw", "1 fields, want at least 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLine(tt.line)
			if err == nil {
				t.Fatalf("ParseLine(%q) succeeded", tt.line)
			}
			want := "mountinfo: " + tt.msg + ": " + strconv.Quote(tt.line)
			if err.Error() != want {
				t.Errorf("error\n got %s\nwant %s", err, want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Error("errors.Is(err, ErrMalformed) is false")
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Text != tt.line {
				t.Errorf("errors.As: %#v", pe)
			}
		})
	}
}

func TestParseReportsLineNumber(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n\nbroken line\n"
	mounts, err := Parse(strings.NewReader(in))
	if len(mounts) != 1 {
		t.Errorf("got %d mounts before the error, want 1", len(mounts))
	}
	want := `mountinfo: line 3: 2 fields, want at least 10: "broken line"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestParseWithoutTrailingNewlineAndEmptySource(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n23 27 0:22 / /x rw - tmpfs  rw"
	mounts, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 2 || mounts[1].Source != "" || mounts[1].FSType != "tmpfs" {
		t.Errorf("got %+v", mounts)
	}
}

func TestParseLongLine(t *testing.T) {
	lower := strings.Repeat("/var/lib/containers/storage/overlay/l/ABCDEFGHIJKLMNOPQRSTUVWXYZ:", 3000) // ~200 KB
	line := "331 22 0:71 / /merged rw - overlay overlay rw,lowerdir=" + lower
	mounts, err := Parse(strings.NewReader(line + "\n"))
	if err != nil || len(mounts) != 1 {
		t.Fatalf("Parse: %v, %d mounts", err, len(mounts))
	}
	if v, _ := mounts[0].SuperOptions.Get("lowerdir"); v != lower {
		t.Error("lowerdir value was cut")
	}
}

func TestRoundTripTestdata(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		mounts := parseFile(t, filepath.Base(name))
		var lines []string
		for _, m := range mounts {
			lines = append(lines, m.String())
		}
		// The kernel's text comes back byte for byte.
		if got, want := strings.Join(lines, "\n")+"\n", string(data); got != want {
			t.Errorf("%s: String() does not reproduce the file", name)
		}
	}
}

func TestLookupAndContaining(t *testing.T) {
	mounts := []Mount{
		{ID: 1, MountPoint: "/"},
		{ID: 2, MountPoint: "/var"},
		{ID: 3, MountPoint: "/var/lib"},
		{ID: 4, MountPoint: "/var/lib/kubelet/x"},
		{ID: 5, MountPoint: "/var/lib"}, // hides 3
		{ID: 6, MountPoint: "/var/library"},
	}
	if m, _ := Lookup(mounts, "/var/lib"); m.ID != 5 {
		t.Errorf("Lookup picked %d, want the later mount 5", m.ID)
	}
	if _, ok := Lookup(mounts, "/nope"); ok {
		t.Error("Lookup found a missing mount point")
	}
	tests := []struct {
		path string
		id   int
	}{
		{"/", 1},
		{"/etc/passwd", 1},
		{"/var", 2},
		{"/var/lib/kubelet", 5},
		{"/var/lib/kubelet/x", 4},
		{"/var/lib/kubelet/x/y", 4},
		{"/var/lib/kubelet/xy", 5},
		{"/var/library/a", 6},
		{"/var/li", 2},
	}
	for _, tt := range tests {
		m, ok := Containing(mounts, tt.path)
		if !ok || m.ID != tt.id {
			t.Errorf("Containing(%q) = %d, %v; want %d", tt.path, m.ID, ok, tt.id)
		}
	}
	if _, ok := Containing(nil, "/x"); ok {
		t.Error("Containing on an empty table")
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a\040b`, "a b"},
		{`\011\012\134\043`, "\t\n\\#"},
		{`a\04`, `a\04`},         // too short
		{`a\08b`, `a\08b`},       // not octal
		{`\777`, `\777`},         // above 255: kept
		{`\\040`, `\ `},          // a literal backslash followed by an escape
		{`tail\`, `tail\`},       // trailing backslash
		{`\101\102C`, "ABC"},     // any octal byte
		{"plain", "plain"},       // no escapes
		{`\0400`, " 0"},          // exactly three digits
		{`x\134040`, `x\040`},    // an escaped backslash does not start a new escape
		{`\000`, "\x00"},         // NUL
		{`\377`, "\xff"},         // highest byte
		{`\400`, `\400`},         // 256: kept
		{`a\040b\040c`, "a b c"}, // several
	}
	for _, tt := range tests {
		if got := Unescape(tt.in); got != tt.want {
			t.Errorf("Unescape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range []string{"a b", "\t\n\\", "plain", `\040`} {
		if got := Unescape(Escape(s)); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
}

// slowParseLine is a readable reference parser written with a regular
// expression: the fast parser must agree with it on every valid line.
var slowLine = regexp.MustCompile(`^([0-9]+) ([0-9]+) ([0-9]+):([0-9]+) ([^ ]+) ([^ ]+) ([^ ]*)((?: [^ ]*)*?) - ([^ ]+) ([^ ]*) ([^ ]*)$`)

func slowParseLine(line string) (Mount, bool) {
	g := slowLine.FindStringSubmatch(line)
	if g == nil || len(g[1]) > 18 || len(g[2]) > 18 {
		return Mount{}, false
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	u32 := func(s string) (uint32, bool) { n, err := strconv.ParseUint(s, 10, 32); return uint32(n), err == nil }
	maj, ok1 := u32(g[3])
	min, ok2 := u32(g[4])
	if !ok1 || !ok2 {
		return Mount{}, false
	}
	m := Mount{ID: num(g[1]), ParentID: num(g[2]), Major: maj, Minor: min,
		Root: Unescape(g[5]), MountPoint: Unescape(g[6]), FSType: Unescape(g[9]), Source: Unescape(g[10])}
	m.Options = slowOptions(g[7])
	if g[8] != "" {
		for _, o := range strings.Split(g[8][1:], " ") {
			m.Optional = append(m.Optional, Unescape(o))
		}
	}
	m.SuperOptions = slowOptions(g[11])
	return m, true
}

// slowOptions splits on commas outside quotes by scanning bytes one by one.
func slowOptions(s string) Options {
	if s == "" {
		return nil
	}
	var out Options
	cur := []byte{}
	in := false
	for _, r := range []byte(s) {
		if r == '"' {
			in = !in
		}
		if r == ',' && !in {
			out = append(out, Unescape(string(cur)))
			cur = cur[:0]
			continue
		}
		cur = append(cur, r)
	}
	return append(out, Unescape(string(cur)))
}

func TestAgreesWithSlowParser(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, name := range files {
		data, _ := os.ReadFile(name)
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			fast, err := ParseLine(line)
			slow, ok := slowParseLine(line)
			if err != nil || !ok {
				t.Errorf("%s: %q: fast err %v, slow ok %v", name, line, err, ok)
				continue
			}
			if !reflect.DeepEqual(normalize(fast), normalize(slow)) {
				t.Errorf("%s: parsers disagree on %q:\nfast %#v\nslow %#v", name, line, fast, slow)
			}
		}
	}
}

// normalize makes nil and empty optional-field slices compare equal.
func normalize(m Mount) Mount {
	if len(m.Optional) == 0 {
		m.Optional = nil
	}
	return m
}

func TestParseVMCaptureDetails(t *testing.T) {
	mounts := parseFile(t, "vm-selinux-enforcing.txt")
	tests := []struct {
		mp, ctx  string
		seclabel bool
	}{
		{"/mnt/vol with space", "system_u:object_r:container_file_t:s0:c314,c894", false},
		{"/mnt/ctx", "system_u:object_r:container_file_t:s0:c0.c3,c9", false},
		{"/mnt/plain", "", true},
		{"/mnt/shared", "system_u:object_r:container_file_t:s0:c5", false}, // no quotes without a comma
		{"/mnt/bind", "system_u:object_r:container_file_t:s0:c5", false},
		{"/sys/fs/selinux", "", false},
	}
	for _, tt := range tests {
		m := mustLookup(t, mounts, tt.mp)
		got, _ := m.SELinuxContext()
		if got != tt.ctx || m.Seclabel() != tt.seclabel {
			t.Errorf("%s: context %q seclabel %v; want %q %v", tt.mp, got, m.Seclabel(), tt.ctx, tt.seclabel)
		}
	}
	if v, _ := mustLookup(t, mounts, "/mnt/bind").OptionalField("master"); v != "1" {
		t.Errorf("master = %q", v)
	}
}
