package fixdir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/selmount/selmount/check"
)

func patch(kind, ns, name string) check.Patch {
	body := `{"spec":{"template":{"spec":{"securityContext":{"seLinuxChangePolicy":"Recursive"}}}}}`
	return check.Patch{APIVersion: "apps/v1", Kind: kind, Namespace: ns, Name: name, Type: "strategic", Patch: body,
		Command: "kubectl -n " + ns + " patch " + strings.ToLower(kind) + " " + name + " --type=strategic -p '" + body + "'"}
}

// files lists every file under dir, relative, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fixes") // created by Write
	r := check.Report{Findings: []check.Finding{
		{Type: check.TypeConflict, Property: check.PropertyLabel, Message: "two\nlines", Patches: []check.Patch{patch("Deployment", "ns", "web"), patch("StatefulSet", "ns", "db")}},
		{Type: check.TypeSlowPath, Property: check.PropertyRecursivePolicy, Patches: []check.Patch{patch("Deployment", "ns", "web")}}, // the same patch: once
	}}
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"apply-patches.sh",
		"cluster-optout-kyverno.yaml",
		"cluster-optout-mutatingadmissionpolicy.yaml",
		"patches/ns.deployment.web.1-1.yaml",
		"patches/ns.statefulset.db.1-2.yaml",
	}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "patches/ns.deployment.web.1-1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantPatch := `# Deployment ns/web (Conflict/SELinuxLabel): two lines
# kubectl -n ns patch deployment web --type=strategic --patch-file patches/ns.deployment.web.1-1.yaml
spec:
  template:
    spec:
      securityContext:
        seLinuxChangePolicy: Recursive
`
	if string(b) != wantPatch {
		t.Errorf("patch file:\n%s\nwant:\n%s", b, wantPatch)
	}
	script, err := os.ReadFile(filepath.Join(dir, "apply-patches.sh"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(script)), "\n")
	if n := len(lines); n != 6 || !strings.HasPrefix(lines[0], "#!/bin/sh") ||
		lines[4] != `kubectl -n ns patch deployment web --type=strategic --patch-file "$(dirname "$0")/patches/ns.deployment.web.1-1.yaml"` {
		t.Errorf("apply-patches.sh:\n%s", script)
	}
	if fi, err := os.Stat(filepath.Join(dir, "apply-patches.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("apply-patches.sh is not executable: %v %v", fi, err)
	}
}

// TestWriteRefusesNamesThatLeaveTheDirectory: names come from manifests
// nobody validated. A name with a path or a shell command in it must not
// write outside the directory nor reach the script; the other patches are
// still written.
func TestWriteRefusesNamesThatLeaveTheDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "fixes")
	r := check.Report{Findings: []check.Finding{{Type: check.TypeConflict, Patches: []check.Patch{
		patch("Deployment", "ns", "../../../escaped"),
		patch("Deployment", "..", "x"),
		patch("Deployment", "ns", "x;touch pwned"),
		patch("Deployment", "ns/../..", "y"),
		patch("Dep/loyment", "ns", "z"),
		patch("Deployment", "ns", "fine"),
	}}}}
	err := Write(dir, r)
	if err == nil {
		t.Fatal("no error for invalid names")
	}
	for _, want := range []string{`Deployment ns/../../../escaped not written: name "../../../escaped"`, `namespace ".."`, `name "x;touch pwned"`, `namespace "ns/../.."`, `kind "Dep/loyment" is not a kind`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s:\n%v", want, err)
		}
	}
	if got := files(t, root); !slices.Equal(got, []string{
		"fixes/apply-patches.sh", "fixes/cluster-optout-kyverno.yaml", "fixes/cluster-optout-mutatingadmissionpolicy.yaml", "fixes/patches/ns.deployment.fine.1-6.yaml",
	}) {
		t.Errorf("files under the parent: %v", got)
	}
	script, _ := os.ReadFile(filepath.Join(dir, "apply-patches.sh"))
	if strings.Contains(string(script), "pwned") || strings.Contains(string(script), "..") {
		t.Errorf("the script names a refused object:\n%s", script)
	}
}

func TestWriteReportsAnUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(file, check.Report{})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Write into a file: %v, want an error naming it", err)
	}
}
