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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/selmount/selmount/internal/parallel"
	"github.com/selmount/selmount/manifest/internal/fastyaml"
	"github.com/selmount/selmount/manifest/internal/strictjson"
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
// objects it could decode and the errors of the bad documents (one per
// problem) and unreadable paths; a bad document does not stop the others.
func Read(paths []string, stdin io.Reader) ([]Object, []error) {
	return ReadWith(paths, stdin, nil)
}

// Options tune ReadWith. The zero value (or nil) reads as Read does.
type Options struct {
	// Transform is called on every decoded object as soon as it is decoded,
	// from several goroutines at once, before the next documents are read
	// into memory: check.Slim there keeps large inputs small.
	Transform func(obj any)
	// Discard lists, per kind ("Pod", "PersistentVolume", ...), fields that
	// are checked as strictly as the others but not kept: they are zero in
	// the decoded objects, which are smaller and faster to decode. A path
	// is JSON field names from the object down; lists, maps and pointers
	// are transparent: "spec.containers.env" is the env of every container.
	Discard map[string][]string
	// Standard decodes with sigs.k8s.io/yaml and sigs.k8s.io/json alone,
	// as the API machinery does, instead of selmount's fast paths (which
	// give the same objects and errors): for side-by-side benchmarks, and
	// to rule the fast paths out when a result looks wrong.
	Standard bool
}

// reader is what decoding needs from Options.
type reader struct {
	transform func(any)
	skips     map[string]*strictjson.Skip // by kind
	standard  bool
}

func newReader(opt *Options) *reader {
	r := &reader{}
	if opt == nil {
		return r
	}
	r.transform, r.standard = opt.Transform, opt.Standard
	for kind, paths := range opt.Discard {
		if r.skips == nil {
			r.skips = map[string]*strictjson.Skip{}
		}
		r.skips[kind] = compiledSkip(kind, paths)
	}
	return r
}

// skipCache keeps one compiled Skip per kind and path list: decoding plans
// are cached per Skip, so repeated reads with the same options share them.
var skipCache sync.Map // string -> *strictjson.Skip

func compiledSkip(kind string, paths []string) *strictjson.Skip {
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	key := kind + "\x00" + strings.Join(sorted, "\x00")
	if s, ok := skipCache.Load(key); ok {
		return s.(*strictjson.Skip)
	}
	s, _ := skipCache.LoadOrStore(key, strictjson.NewSkip(sorted...))
	return s.(*strictjson.Skip)
}

// ReadWith is Read with options.
func ReadWith(paths []string, stdin io.Reader, opt *Options) ([]Object, []error) {
	r := newReader(opt)
	var objs []Object
	var errs []error
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading standard input: %w", err))
				continue
			}
			o, e := decode("-", data, r)
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
			o, e := decode(f, data, r)
			if objs == nil {
				objs = o // no copy of a large first file
			} else {
				objs = append(objs, o...)
			}
			errs = append(errs, e...)
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
	return decode(file, data, &reader{})
}

func decode(file string, data []byte, r *reader) ([]Object, []error) {
	docs, validJSON := splitDocuments(data, !r.standard)
	return collect(len(docs), func(i int) ([]Object, []error) {
		src := Source{File: file, Doc: i + 1, Item: -1}
		var objs []Object
		var errs []error
		if validJSON && docs[i][0] == '{' {
			objs, errs = r.jsonDocument(src, docs[i]) // checked JSON objects
		} else {
			objs, errs = r.document(src, docs[i])
		}
		if r.transform != nil {
			for _, o := range objs {
				r.transform(o.Obj)
			}
		}
		return objs, errs
	})
}

// collect decodes n independent documents or items in parallel and returns
// their objects and errors in order.
func collect(n int, decode func(i int) ([]Object, []error)) ([]Object, []error) {
	type result struct {
		objs []Object
		errs []error
	}
	results := make([]result, n)
	parallel.For(n, func(i int) {
		o, e := decode(i)
		results[i] = result{o, e}
	})
	no, ne := 0, 0
	for _, r := range results {
		no, ne = no+len(r.objs), ne+len(r.errs)
	}
	var objs []Object
	var errs []error
	if no > 0 {
		objs = make([]Object, 0, no)
	}
	if ne > 0 {
		errs = make([]error, 0, ne)
	}
	for _, r := range results {
		objs, errs = append(objs, r.objs...), append(errs, r.errs...)
	}
	return objs, errs
}

// splitDocuments splits a YAML stream at "---" lines (and after "..."), and
// a stream of JSON values into one document per value. Empty documents (only
// comments or blanks) are dropped but still counted, so document numbers
// match what an editor shows between separators. The documents share data's
// memory unless data has carriage returns. validJSON is true when every
// document is a valid JSON value without surrounding blanks.
func splitDocuments(data []byte, fast bool) (docs [][]byte, validJSON bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		if fast {
			if docs, ok := splitValidJSON(data); ok {
				return docs, true
			}
		}
		if docs, ok := splitJSON(data); ok {
			return docs, false
		}
	}
	if bytes.IndexByte(data, '\r') >= 0 {
		return splitLinesCopy(data), false
	}
	start := 0     // where the current document starts
	ended := false // the last marker was "...", which already ended the document
	for off := 0; off < len(data); {
		next := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := bytes.TrimSuffix(data[off:next], []byte("\n"))
		if !isMarkerCandidate(line) {
			off = next
			continue
		}
		if isDocumentEnd(string(line)) {
			// The YAML parser would silently ignore what follows "...".
			docs = append(docs, data[start:off])
			start, ended = next, true
		} else if content, ok := separator(string(line)); ok {
			if cur := data[start:off]; !ended || !isEmptyDoc(cur) {
				docs = append(docs, cur)
			}
			ended = false
			start = next
			if content != "" {
				start = off + bytes.Index(line, []byte(content))
			}
		}
		off = next
	}
	docs = append(docs, data[start:])
	// Drop a leading empty document (a file that starts with ---).
	if len(docs) > 1 && isEmptyDoc(docs[0]) {
		docs = docs[1:]
	}
	return docs, false
}

// isMarkerCandidate is a cheap test for lines that may be "---" or "...".
func isMarkerCandidate(line []byte) bool {
	return len(line) >= 3 && (line[0] == '-' && line[1] == '-' && line[2] == '-' || line[0] == '.' && line[1] == '.' && line[2] == '.')
}

// splitLinesCopy is splitDocuments for streams with CRLF line ends: it
// builds each document anew without the carriage returns.
func splitLinesCopy(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	ended := false
	// bytes.Lines rather than a bufio.Scanner, which stops silently at a
	// line longer than its buffer.
	for l := range bytes.Lines(data) {
		line := strings.TrimSuffix(strings.TrimSuffix(string(l), "\n"), "\r")
		if isDocumentEnd(line) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			ended = true
			continue
		}
		if content, ok := separator(line); ok {
			if !ended || !isEmptyDoc(cur.Bytes()) {
				docs = append(docs, append([]byte(nil), cur.Bytes()...))
			}
			ended = false
			cur.Reset()
			if content != "" {
				cur.WriteString(content)
				cur.WriteByte('\n')
			}
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	if len(docs) > 1 && isEmptyDoc(docs[0]) {
		docs = docs[1:]
	}
	return docs
}

// splitValidJSON splits a stream of JSON values when every one of them is
// valid: the values as subslices of data, found by a scan and checked by
// strictjson.Valid, without the copy json.Decoder makes of each (a List of
// 100,000 objects is 70 MB). ok is false otherwise, for splitJSON.
func splitValidJSON(data []byte) (docs [][]byte, ok bool) {
	for i := skipWS(data, 0); i < len(data); i = skipWS(data, i) {
		j := skipValue(data, i)
		if j < 0 || !strictjson.Valid(data[i:j]) {
			return nil, false
		}
		docs, i = append(docs, data[i:j]), j
	}
	return docs, len(docs) > 0
}

// splitJSON splits a stream of JSON values (as jq -c prints them) into one
// document each. ok is false when data does not start with a JSON value (a
// YAML flow mapping, say); a JSON error after the first value leaves the
// rest as one document, for the YAML parser to report.
func splitJSON(data []byte) (docs [][]byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, true
		}
		if err != nil {
			if len(docs) == 0 {
				return nil, false
			}
			return append(docs, data[start:]), true
		}
		docs = append(docs, raw)
	}
}

// separator reports whether line is a YAML document marker: "---" alone,
// or followed by blanks, a comment or the start of the document's content,
// which it returns.
func separator(line string) (content string, ok bool) {
	rest, ok := strings.CutPrefix(line, "---")
	if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false // "---foo" is a plain scalar
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "#") {
		rest = ""
	}
	return rest, true
}

// isDocumentEnd reports whether line is the YAML document end marker
// "...", alone or followed by blanks or a comment.
func isDocumentEnd(line string) bool {
	rest, ok := strings.CutPrefix(line, "...")
	if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return false // "...foo" is a plain scalar
	}
	rest = strings.TrimSpace(rest)
	return rest == "" || strings.HasPrefix(rest, "#")
}

func isEmptyDoc(doc []byte) bool {
	for line := range bytes.Lines(doc) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Metadata and Items are decoded separately, so that a mistyped
	// metadata.name or items is reported by strict decoding with its field
	// path, not as "not a Kubernetes object".
	Metadata json.RawMessage `json:"metadata"`
	Items    json.RawMessage `json:"items"`
}

type objectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

func (r *reader) document(src Source, doc []byte) ([]Object, []error) {
	if isEmptyDoc(doc) {
		return nil, nil
	}
	// JSON is YAML, but the YAML parser is many times slower than the JSON
	// one on it: a document that starts as a JSON object skips it.
	if t := bytes.TrimLeft(doc, " \t\r\n"); len(t) > 0 && t[0] == '{' && r.valid(t) {
		return r.jsonDocument(src, t)
	}
	// sigs.k8s.io/yaml builds a tree of interface values per document, too
	// slow for 100,000-pod inputs; fastyaml converts the block-style subset
	// manifests are written in directly, and says when it cannot.
	if !r.standard {
		buf := jsonBuffers.Get().(*[]byte)
		defer jsonBuffers.Put(buf)
		if js, ok := fastyaml.ToJSON((*buf)[:0], doc); ok {
			*buf = js // keep the grown buffer
			return r.jsonDocument(src, js)
		}
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, []error{&Error{Source: src, Err: fmt.Errorf("malformed YAML: %w", err)}}
	}
	return r.jsonDocument(src, js)
}

// valid is json.Valid, the fast way unless r.standard.
func (r *reader) valid(js []byte) bool {
	if r.standard {
		return json.Valid(js)
	}
	return strictjson.Valid(js)
}

// jsonBuffers recycles the JSON that YAML documents are converted to:
// nothing decoded keeps a reference to it (strings are copied).
var jsonBuffers = sync.Pool{New: func() any { return new([]byte) }}

func (r *reader) jsonDocument(src Source, js []byte) ([]Object, []error) {
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	var tm typeMeta
	if av, k, items, ok := peekTypeMeta(js); ok && !r.standard {
		tm.APIVersion, tm.Kind, tm.Items = av, k, items
		// Case-sensitive, as the API server: "Kind:" is not "kind:".
	} else if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
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
		items, ok := splitArray(tm.Items) // subslices: no copy of a large List
		if !ok && tm.Items != nil && string(bytes.TrimSpace(tm.Items)) != "null" {
			return nil, []error{&Error{Source: src, Object: tm.Kind, Field: "items", Err: errors.New("not a list of objects")}}
		}
		return collect(len(items), func(i int) ([]Object, []error) {
			s := src
			s.Item = i
			return r.jsonDocument(s, items[i])
		})
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, []error{&Error{Source: src, Field: "apiVersion", Err: err}}
	}
	gvk := gv.WithKind(tm.Kind)
	// The object's name, for errors only: read when one occurs.
	what := func() string {
		var m struct {
			Metadata objectMeta `json:"metadata"`
		}
		_ = sigsjson.UnmarshalCaseSensitivePreserveInts(js, &m) // best effort; "Metadata" is not metadata
		return strings.TrimSpace(tm.Kind + " " + qualified(m.Metadata.Namespace, m.Metadata.Name))
	}
	newObj, analysed := kinds[gvk]
	if !analysed {
		if scheme.Scheme.Recognizes(gvk) {
			if served, ok := servedVersion(tm.Kind); ok {
				// apps/v1beta2 Deployment, batch/v1beta1 CronJob, ...:
				// skipping them would hide their pods.
				return nil, []error{&Error{Source: src, Object: what(), Field: "apiVersion", Err: fmt.Errorf("%s no longer serves %s (removed before Kubernetes 1.25): use %s", tm.APIVersion, tm.Kind, served)}}
			}
			return nil, nil // a built-in kind that has no bearing on volume labels
		}
		return nil, []error{&Error{Source: src, Object: what(), Err: fmt.Errorf("%w %s (apiVersion %s): selmount reads Pods, workloads, PersistentVolumeClaims, PersistentVolumes, StorageClasses and CSIDrivers", ErrUnknownKind, tm.Kind, tm.APIVersion)}}
	}
	// Strict decoding as the API server does it (sigs.k8s.io/json): field
	// names match case-sensitively and unknown fields are reported with
	// their full path, e.g. spec.containers[0].volumeMountz. (Duplicate keys
	// never get here: the YAML to JSON conversion keeps the last one.)
	obj := newObj()
	skip := r.skips[tm.Kind]
	if !r.standard && strictjson.DecodeSkip(js, obj, skip) {
		// The same result as below, several times faster; anything it does
		// not reproduce exactly (every error among them) takes the strict
		// decoder on a fresh object.
		return []Object{{Source: src, GVK: gvk, Obj: obj}}, nil
	}
	obj = newObj()
	strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowUnknownFields)
	if err != nil {
		// sigs.k8s.io/json's type errors are internal types; encoding/json
		// fails on the same value with an error that names the field.
		if e := json.Unmarshal(js, newObj()); e != nil {
			err = e
		}
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
			err = fmt.Errorf("cannot use %s value as %s", te.Value, te.Type)
		}
		return nil, []error{&Error{Source: src, Object: what(), Field: field, Err: err}}
	}
	if len(strict) > 0 {
		errs := make([]error, len(strict))
		for i, se := range strict {
			e := &Error{Source: src, Object: what(), Err: se}
			if fe, ok := se.(interface{ FieldPath() string }); ok {
				// "unknown field \"a.b\"" becomes field a.b, "unknown field".
				e.Field = fe.FieldPath()
				e.Err = errors.New(strings.TrimSuffix(se.Error(), " "+strconv.Quote(e.Field)))
			}
			errs[i] = e
		}
		return nil, errs
	}
	if skip != nil {
		skip.Clear(obj) // as the fast path would have left it
	}
	return []Object{{Source: src, GVK: gvk, Obj: obj}}, nil
}

// servedVersion returns the apiVersion under which selmount reads kind.
func servedVersion(kind string) (string, bool) {
	for gvk := range kinds {
		if gvk.Kind == kind {
			return gvk.GroupVersion().String(), true
		}
	}
	return "", false
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
