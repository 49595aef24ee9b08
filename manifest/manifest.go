// Package manifest reads Kubernetes manifests (YAML or JSON, multi-document
// files, List kinds, whole directory trees, standard input) into typed API
// objects, with errors that name the file, the document and the field.
//
// Kinds selmount analyses are decoded strictly: an unknown or mistyped field is
// an error, as with kubectl's strict field validation. Other kinds are
// skipped and listed (Result.Skipped): built-in ones (Services, ConfigMaps,
// RBAC, ...), CustomResourceDefinitions and custom resources, so that the
// output of any Helm chart can be read. A custom resource may make an
// operator create pods, which selmount cannot see: the listing says what
// was left out. A workload kind under a built-in API group that does not
// serve it (apps/v1beta2 Deployment) is an error: skipping it would hide
// its pods.
//
// Documents and the items of a List are both numbered from 1 ("f.yaml:
// document 3, item 2"); see Source.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
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

// Source locates a document: the file ("-" for standard input), the
// document's position among the file's documents and, inside a List, the
// item's position among the List's items. Both count from 1, as an editor
// counts lines: "f.yaml: document 3, item 2" is the second item of the
// third document. Item is 0 outside Lists.
type Source struct {
	File string
	Doc  int
	Item int
}

func (s Source) String() string {
	out := fmt.Sprintf("%s: document %d", s.File, s.Doc)
	if s.Item > 0 {
		out += fmt.Sprintf(", item %d", s.Item)
	}
	return out
}

// Skipped is an object of a kind selmount does not analyse (a Service, a
// Secret, a CustomResourceDefinition, a custom resource such as a
// ServiceMonitor): it is read, checked to be a Kubernetes object, and left
// out. A custom resource may create pods through its operator; selmount
// cannot see those, and lists the object so that nobody assumes it did.
type Skipped struct {
	Source     Source
	APIVersion string
	Kind       string
	Name       string // "namespace/name", or "name" for cluster-scoped objects
}

// Result is everything a read produced, in input order.
type Result struct {
	Objects []Object
	// Errors are the problems of bad documents and unreadable paths, one
	// per problem; a bad document or path does not stop the others.
	Errors []error
	// Skipped are the objects of kinds selmount does not analyse.
	Skipped []Skipped
}

func (r *Result) add(o Result) {
	if r.Objects == nil {
		r.Objects = o.Objects // no copy of a large first file
	} else {
		r.Objects = append(r.Objects, o.Objects...)
	}
	r.Errors = append(r.Errors, o.Errors...)
	r.Skipped = append(r.Skipped, o.Skipped...)
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

// ErrTooLarge is wrapped by the errors for an object or an input larger
// than the limits of Options.
var ErrTooLarge = errors.New("too large")

// Decode splits data into documents and decodes each. file names the input
// in errors. Objects of kinds selmount does not analyse are left out;
// DecodeAll lists them.
func Decode(file string, data []byte) ([]Object, []error) {
	res := DecodeAll(file, data, nil)
	return res.Objects, res.Errors
}

// DecodeAll is Decode with options (their size limit for objects applies;
// the input limit does not), and the skipped objects listed.
func DecodeAll(file string, data []byte, opt *Options) Result {
	return decode(file, data, newReader(opt))
}

func decode(file string, data []byte, r *reader) Result {
	docs, validJSON := splitDocuments(data, !r.standard)
	return collect(len(docs), func(i int) Result {
		src := Source{File: file, Doc: i + 1}
		var res Result
		if validJSON && docs[i][0] == '{' {
			res = r.jsonDocument(src, docs[i]) // checked JSON objects
		} else {
			res = r.document(src, docs[i])
		}
		if r.transform != nil {
			for _, o := range res.Objects {
				r.transform(o.Obj)
			}
		}
		return res
	})
}

// collect decodes n independent documents or items in parallel and returns
// their objects and errors in order.
func collect(n int, decode func(i int) Result) Result {
	results := make([]Result, n)
	parallel.For(n, func(i int) { results[i] = decode(i) })
	no, ne, ns := 0, 0, 0
	for _, r := range results {
		no, ne, ns = no+len(r.Objects), ne+len(r.Errors), ns+len(r.Skipped)
	}
	var out Result
	if no > 0 {
		out.Objects = make([]Object, 0, no)
	}
	if ne > 0 {
		out.Errors = make([]error, 0, ne)
	}
	if ns > 0 {
		out.Skipped = make([]Skipped, 0, ns)
	}
	for _, r := range results {
		out.Objects = append(out.Objects, r.Objects...)
		out.Errors = append(out.Errors, r.Errors...)
		out.Skipped = append(out.Skipped, r.Skipped...)
	}
	return out
}

func fail(errs ...error) Result { return Result{Errors: errs} }

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

func (r *reader) document(src Source, doc []byte) Result {
	if isEmptyDoc(doc) {
		return Result{}
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
			// fastyaml keeps the document's key order, sigs.k8s.io/yaml
			// sorts the keys, and which of two bad values the decoder
			// reports depends on the order: a document with errors is
			// decoded again the standard way, so that it reports what the
			// standard path does (errors are rare, the cost is theirs).
			if res := r.jsonDocument(src, js); len(res.Errors) == 0 {
				return res
			}
		}
	}
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fail(&Error{Source: src, Err: fmt.Errorf("malformed YAML: %w", err)})
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

func (r *reader) jsonDocument(src Source, js []byte) Result {
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return Result{}
	}
	var tm typeMeta
	if av, k, items, ok := peekTypeMeta(js); ok && !r.standard {
		tm.APIVersion, tm.Kind, tm.Items = av, k, items
		// Case-sensitive, as the API server: "Kind:" is not "kind:".
	} else if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return fail(&Error{Source: src, Err: notAnObject(js, err)})
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		missing := "kind"
		if tm.Kind != "" {
			missing = "apiVersion"
		}
		return fail(&Error{Source: src, Field: missing, Err: errors.New("missing: not a Kubernetes object")})
	}
	if tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		items, ok := splitArray(tm.Items) // subslices: no copy of a large List
		if !ok && tm.Items != nil && string(bytes.TrimSpace(tm.Items)) != "null" {
			return fail(&Error{Source: src, Object: tm.Kind, Field: "items", Err: errors.New("not a list of objects")})
		}
		return collect(len(items), func(i int) Result {
			s := src
			if s.Item == 0 {
				// The items of a List inside a List are all named by the
				// outer item that holds them.
				s.Item = i + 1
			}
			return r.jsonDocument(s, items[i])
		})
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return fail(&Error{Source: src, Field: "apiVersion", Err: err})
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
		if served, ok := servedVersion(tm.Kind); ok && scheme.Scheme.IsGroupRegistered(gvk.Group) {
			// apps/v1beta2 Deployment, batch/v1beta1 CronJob, ...:
			// skipping them would hide their pods. (A Deployment of
			// another API group is a custom resource, skipped below.)
			if scheme.Scheme.Recognizes(gvk) {
				return fail(&Error{Source: src, Object: what(), Field: "apiVersion", Err: fmt.Errorf("%s no longer serves %s (removed before Kubernetes 1.25): use %s", tm.APIVersion, tm.Kind, served)})
			}
			return fail(&Error{Source: src, Object: what(), Field: "apiVersion", Err: fmt.Errorf("%s has no %s: use %s", tm.APIVersion, tm.Kind, served)})
		}
		// A built-in kind that has no bearing on volume labels (Service,
		// Secret, RBAC), a CustomResourceDefinition or a custom resource.
		var m struct {
			Metadata objectMeta `json:"metadata"`
		}
		_ = sigsjson.UnmarshalCaseSensitivePreserveInts(js, &m) // best effort: the name is for the listing
		return Result{Skipped: []Skipped{{Source: src, APIVersion: tm.APIVersion, Kind: tm.Kind, Name: qualified(m.Metadata.Namespace, m.Metadata.Name)}}}
	}
	if len(js) > r.maxObject {
		return fail(&Error{Source: src, Object: what(), Err: fmt.Errorf("object %w: %s as JSON, more than %s (the API server refuses larger requests)", ErrTooLarge, sizeText(int64(len(js))), sizeText(int64(r.maxObject)))})
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
		return r.checked(src, gvk, obj, what)
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
			err = fmt.Errorf("cannot use %s value as %s", te.Value, jsonType(te.Type))
		}
		return fail(&Error{Source: src, Object: what(), Field: field, Err: err})
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
		return fail(errs...)
	}
	if skip != nil {
		skip.Clear(obj) // as the fast path would have left it
	}
	return r.checked(src, gvk, obj, what)
}

// checked returns obj, or the errors of the API server's validation (see
// validate): an object it would refuse is left out, as from a cluster.
func (r *reader) checked(src Source, gvk schema.GroupVersionKind, obj any, what func() string) Result {
	fes := validate(obj)
	if len(fes) == 0 {
		return Result{Objects: []Object{{Source: src, GVK: gvk, Obj: obj}}}
	}
	errs := make([]error, len(fes))
	for i, fe := range fes {
		errs[i] = &Error{Source: src, Object: what(), Field: fe.Field, Err: errors.New(fe.ErrorBody())}
	}
	return fail(errs...)
}

// notAnObject explains why js could not be read as an object, in terms of
// the input rather than of Go types ("the document is a list").
func notAnObject(js []byte, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			what := te.Value
			switch te.Value {
			case "array":
				what = "a list"
			case "string", "number", "bool":
				what = "a " + te.Value
			}
			return fmt.Errorf("not a Kubernetes object: the document is %s, not a mapping with apiVersion and kind", what)
		}
		return fmt.Errorf("not a Kubernetes object: %s is %s, not a string", te.Field, article(te.Value))
	}
	return fmt.Errorf("not a Kubernetes object: %w", err)
}

// jsonType names what a field of Go type t holds in JSON terms, not Go
// ones: "string" rather than v1.PodSELinuxChangePolicy, "object" rather than
// v1.ObjectMeta. Integers keep their OpenAPI format (int32, int64).
func jsonType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int32, reflect.Int64:
		return t.Kind().String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return t.String()
}

func article(v string) string {
	if v == "array" || v == "object" {
		return "an " + v
	}
	return "a " + v
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
