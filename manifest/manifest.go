// Package manifest reads Kubernetes manifests (YAML or JSON, multi-document
// files, List kinds, whole directory trees, standard input) into typed API
// objects, with errors that name the file, the document and the field.
//
// Kinds selmount analyses are decoded strictly: an unknown or mistyped field is
// an error, as with kubectl's strict field validation. Other built-in kinds
// (Services, ConfigMaps, RBAC, ...) are skipped; a kind that is not built into
// Kubernetes is an error, since selmount cannot know whether it creates pods.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Object is one decoded API object and where it came from.
type Object struct {
	Source Source
	GVK    schema.GroupVersionKind
	Obj    any // a pointer to the typed object, e.g. *corev1.Pod
}

// Source locates a document: the file ("-" for standard input), its
// 1-based position among the file's documents and, inside a List, the
// 0-based item index (-1 outside Lists).
type Source struct {
	File string
	Doc  int
	Item int
}

func (s Source) String() string {
	out := fmt.Sprintf("%s: document %d", s.File, s.Doc)
	if s.Item >= 0 {
		out += fmt.Sprintf(", item %d", s.Item)
	}
	return out
}

// Error is a problem with one document.
type Error struct {
	Source Source
	Object string // "Pod prod/web", when known
	Field  string // JSON path of the bad field, when known
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source.String())
	if e.Object != "" {
		b.WriteString(" (" + e.Object + ")")
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKind is wrapped by errors for kinds that are not built into
// Kubernetes.
var ErrUnknownKind = errors.New("unknown kind")

// Read reads every path: a file, a directory (walked recursively for .yaml,
// .yml and .json files, in lexical order) or "-" for stdin. It returns the
// objects it could decode and one error per bad document or unreadable
// path; a bad document does not stop the others.
func Read(paths []string, stdin io.Reader) ([]Object, []error) {
	var objs []Object
	var errs []error
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading standard input: %w", err))
				continue
			}
			o, e := Decode("-", data)
			objs, errs = append(objs, o...), append(errs, e...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			o, e := Decode(f, data)
			objs, errs = append(objs, o...), append(errs, e...)
		}
	}
	return objs, errs
}

func expand(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in directory", p)
	}
	return files, err
}

// Decode splits data into documents and decodes each. file names the input
// in errors.
func Decode(file string, data []byte) ([]Object, []error) {
	var objs []Object
	var errs []error
	for i, doc := range splitDocuments(data) {
		src := Source{File: file, Doc: i + 1, Item: -1}
		o, e := decodeDocument(src, doc)
		objs, errs = append(objs, o...), append(errs, e...)
	}
	return objs, errs
}

// splitDocuments splits a YAML stream at "---" lines. A JSON document is one
// document. Empty documents (only comments or blanks) are dropped but still
// counted, so document numbers match what an editor shows between
// separators.
func splitDocuments(data []byte) [][]byte {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return [][]byte{data}
	}
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if isSeparator(line) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	// Drop a leading empty document (a file that starts with ---).
	if len(docs) > 1 && isEmptyDoc(docs[0]) {
		docs = docs[1:]
	}
	return docs
}

// isSeparator reports whether line is a YAML document marker: "---" alone
// or followed by blanks or a comment.
func isSeparator(line string) bool {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok {
		return false
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || strings.HasPrefix(rest, "#")
}

func isEmptyDoc(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   struct{ Name, Namespace string } `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

func decodeDocument(src Source, doc []byte) ([]Object, []error) {
	if isEmptyDoc(doc) {
		return nil, nil
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, []error{&Error{Source: src, Err: fmt.Errorf("malformed YAML: %w", err)}}
	}
	return decodeJSON(src, js)
}

func decodeJSON(src Source, js []byte) ([]Object, []error) {
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, []error{&Error{Source: src, Err: fmt.Errorf("not a Kubernetes object: %w", err)}}
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		missing := "kind"
		if tm.Kind != "" {
			missing = "apiVersion"
		}
		return nil, []error{&Error{Source: src, Field: missing, Err: errors.New("missing: not a Kubernetes object")}}
	}
	if tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		var objs []Object
		var errs []error
		for i, item := range tm.Items {
			s := src
			s.Item = i
			o, e := decodeJSON(s, item)
			objs, errs = append(objs, o...), append(errs, e...)
		}
		return objs, errs
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, []error{&Error{Source: src, Field: "apiVersion", Err: err}}
	}
	gvk := gv.WithKind(tm.Kind)
	what := tm.Kind + " " + qualified(tm.Metadata.Namespace, tm.Metadata.Name)
	newObj, analysed := kinds[gvk]
	if !analysed {
		if scheme.Scheme.Recognizes(gvk) {
			return nil, nil // a built-in kind that has no bearing on volume labels
		}
		return nil, []error{&Error{Source: src, Object: what, Err: fmt.Errorf("%w %s (apiVersion %s): selmount reads Pods, workloads, PersistentVolumeClaims, PersistentVolumes, StorageClasses and CSIDrivers", ErrUnknownKind, tm.Kind, tm.APIVersion)}}
	}
	obj := newObj()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
			err = fmt.Errorf("cannot use %s value as %s", te.Value, te.Type)
		} else if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			err = fmt.Errorf("unknown field %s", f)
		}
		return nil, []error{&Error{Source: src, Object: what, Field: field, Err: err}}
	}
	return []Object{{Source: src, GVK: gvk, Obj: obj}}, nil
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
