package manifest

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// failingFS is the real filesystem, except that listing or opening the
// paths in fail fails with EACCES, as it would for a user without the
// permission (tests run as root, who has every permission).
type failingFS struct {
	osFS
	fail map[string]bool
}

func (f failingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if f.fail[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.osFS.ReadDir(name)
}

func (f failingFS) Open(name string, nonBlocking bool) (fsFile, error) {
	if f.fail[name] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.osFS.Open(name, nonBlocking)
}

func TestReadUnreadableFileAndDirectory(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a.yaml", "locked/b.yaml", "open/c.yaml", "secret.yaml"} {
		path := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: " + filepath.Base(filepath.Dir(p)) + "-" + filepath.Base(p) + "}\n"
		if err := os.WriteFile(path, []byte(pod), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	locked, secret := filepath.Join(root, "locked"), filepath.Join(root, "secret.yaml")
	fsys := failingFS{fail: map[string]bool{locked: true, secret: true}}
	res := readAll(fsys, []string{root}, nil, nil)
	var names []string
	for _, o := range res.Objects {
		names = append(names, o.Source.File[len(root)+1:])
	}
	if want := []string{"a.yaml", filepath.Join("open", "c.yaml")}; !reflect.DeepEqual(names, want) {
		t.Errorf("read %q, want %q", names, want)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	want := []string{locked + ": permission denied", secret + ": permission denied"}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("errors:\n got %q\nwant %q", msgs, want)
	}
	// The root itself unreadable: one error, no "no manifests" error.
	res = readAll(failingFS{fail: map[string]bool{root: true}}, []string{root}, nil, nil)
	if len(res.Errors) != 1 || res.Errors[0].Error() != root+": permission denied" {
		t.Errorf("unreadable root: errors %v", res.Errors)
	}
}
