//go:build unix

package manifest_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/manifest"
)

// readWithin runs fn and fails the test if it does not return within a
// few seconds: reading must never hang.
func readWithin(t *testing.T, fn func() manifest.Result) manifest.Result {
	t.Helper()
	done := make(chan manifest.Result, 1)
	go func() { done <- fn() }()
	select {
	case res := <-done:
		return res
	case <-time.After(20 * time.Second):
		t.Fatal("reading hung")
		return manifest.Result{}
	}
}

func podNames(objs []manifest.Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Obj.(*corev1.Pod).Name)
	}
	return out
}

func TestReadDirectorySkipsFIFOsAndReportsThem(t *testing.T) {
	root := writeTree(t, map[string]string{"a.yaml": pod("a"), "z.yaml": pod("z")})
	fifo := filepath.Join(root, "m.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	res := readWithin(t, func() manifest.Result { return manifest.ReadAll([]string{root}, nil, nil) })
	if got, want := podNames(res.Objects), []string{"a", "z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	want := []string{fifo + ": a FIFO (named pipe), not read: in a directory only regular files are read (name it with -f to read it)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestReadDirectorySkipsDevices(t *testing.T) {
	root := writeTree(t, map[string]string{"a.yaml": pod("a")})
	// A link named *.yaml to a character device that never ends.
	link := filepath.Join(root, "zero.yaml")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	res := readWithin(t, func() manifest.Result { return manifest.ReadAll([]string{root}, nil, nil) })
	if got, want := podNames(res.Objects), []string{"a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	want := []string{link + ": a character device, not read: in a directory only regular files are read (name it with -f to read it)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestReadFIFONamedExplicitly(t *testing.T) {
	// -f <(helm template ...) hands selmount a pipe: it is read.
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = io.WriteString(w, pod("piped"))
		w.Close()
	}()
	res := readWithin(t, func() manifest.Result { return manifest.ReadAll([]string{fifo}, nil, nil) })
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %q", messages(res.Errors))
	}
	if got, want := podNames(res.Objects), []string{"piped"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
}

func TestReadEndlessInputIsBounded(t *testing.T) {
	root := writeTree(t, map[string]string{"after.yaml": pod("after")})
	opt := &manifest.Options{MaxInputBytes: 1 << 20}
	res := readWithin(t, func() manifest.Result {
		return manifest.ReadAll([]string{"/dev/zero", filepath.Join(root, "after.yaml")}, nil, opt)
	})
	want := []string{"/dev/zero: input too large: more than 1 MiB in one run (the input limit; nothing after it is read)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	if !errors.Is(res.Errors[0], manifest.ErrTooLarge) {
		t.Error("the error is not ErrTooLarge")
	}
	if len(res.Objects) != 0 {
		t.Errorf("read %d objects after the limit", len(res.Objects))
	}
}

func TestReadStdinIsBounded(t *testing.T) {
	opt := &manifest.Options{MaxInputBytes: 4096}
	// A stream that never ends, as `yes | selmount check -f -`.
	endless := io.MultiReader(strings.NewReader(pod("a")), infinite{})
	res := readWithin(t, func() manifest.Result { return manifest.ReadAll([]string{"-"}, endless, opt) })
	want := []string{"standard input: input too large: more than 4 KiB in one run (the input limit; nothing after it is read)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	// Exactly at the limit is accepted.
	in := pod("a")
	res = manifest.ReadAll([]string{"-"}, strings.NewReader(in), &manifest.Options{MaxInputBytes: int64(len(in))})
	if len(res.Errors) != 0 || len(res.Objects) != 1 {
		t.Errorf("input at the limit: %d objects, errors %q", len(res.Objects), messages(res.Errors))
	}
}

type infinite struct{}

func (infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'y'
	}
	return len(p), nil
}

func TestReadInputLimitCountsEveryPath(t *testing.T) {
	root := writeTree(t, map[string]string{"a.yaml": pod("a"), "b.yaml": pod("b"), "c.yaml": pod("c")})
	limit := 2*len(pod("a")) + 10
	opt := &manifest.Options{MaxInputBytes: int64(limit)}
	res := manifest.ReadAll([]string{root}, nil, opt)
	if got, want := podNames(res.Objects), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	want := []string{fmt.Sprintf("%s: input too large: more than %d bytes in one run (the input limit; nothing after it is read)", filepath.Join(root, "c.yaml"), limit)}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestDecodeObjectLimit(t *testing.T) {
	big := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  annotations: {a: " + strings.Repeat("x", 5000) + "}\n"
	opt := &manifest.Options{MaxObjectBytes: 4096}
	res := manifest.DecodeAll("f.yaml", []byte(pod("a")+"---\n"+big+"---\n"+pod("b")), opt)
	if got, want := podNames(res.Objects), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	want := []string{"f.yaml: document 2 (Pod big): object too large: 5.0 KiB as JSON, more than 4 KiB (the API server refuses larger requests)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	// A List is bounded per item, not as a whole: kubectl get -o yaml of a
	// whole cluster is one document.
	var list strings.Builder
	list.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := range 100 {
		fmt.Fprintf(&list, "- {apiVersion: v1, kind: Pod, metadata: {name: p%d}}\n", i)
	}
	fmt.Fprintf(&list, "- {apiVersion: v1, kind: Pod, metadata: {name: big, annotations: {a: %s}}}\n", strings.Repeat("x", 5000))
	res = manifest.DecodeAll("l.yaml", []byte(list.String()), opt)
	if len(res.Objects) != 100 {
		t.Errorf("got %d objects from the List, want 100", len(res.Objects))
	}
	want = []string{"l.yaml: document 1, item 101 (Pod big): object too large: 5.0 KiB as JSON, more than 4 KiB (the API server refuses larger requests)"}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestDecodeDefaultObjectLimit(t *testing.T) {
	// The default follows the API server: 3 MiB per object.
	over := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\n  annotations: {a: " + strings.Repeat("x", 3<<20) + "}\n"
	_, errs := manifest.Decode("f.yaml", []byte(over))
	if len(errs) != 1 || !errors.Is(errs[0], manifest.ErrTooLarge) {
		t.Errorf("errors %q, want one ErrTooLarge", messages(errs))
	}
}

func TestReadUnreadableEntriesDoNotStopTheRest(t *testing.T) {
	// Tests run as root, for whom a chmod 000 file is still readable: a
	// dangling link and a link loop give the same kind of error (stat
	// fails) without depending on permissions. A subdirectory that cannot
	// be listed is simulated in read_internal_test.go.
	root := writeTree(t, map[string]string{"a.yaml": pod("a"), "sub/b.yaml": pod("b"), "z.yaml": pod("z")})
	dangling := filepath.Join(root, "sub", "dangling.yaml")
	if err := os.Symlink(filepath.Join(root, "nowhere.yaml"), dangling); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(root, "loop.yaml")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	// A link to a directory above is not followed: no loop.
	if err := os.Symlink(root, filepath.Join(root, "sub", "up")); err != nil {
		t.Fatal(err)
	}
	// A link to a regular file is read.
	if err := os.Symlink(filepath.Join(root, "a.yaml"), filepath.Join(root, "sub", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	res := readWithin(t, func() manifest.Result { return manifest.ReadAll([]string{root}, nil, nil) })
	if got, want := podNames(res.Objects), []string{"a", "b", "a", "z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("objects %q, want %q", got, want)
	}
	want := []string{
		loop + ": too many levels of symbolic links",
		dangling + " does not exist",
	}
	if got := messages(res.Errors); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}
