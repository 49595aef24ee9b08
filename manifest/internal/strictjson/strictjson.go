// Package strictjson decodes JSON into Kubernetes API structs the way
// sigs.k8s.io/json.UnmarshalStrict(data, v, DisallowUnknownFields) does
// (case-sensitive field names, no unknown fields), several times faster.
//
// Why our own: sigs.k8s.io/json is encoding/json with strict checks, a
// reflection walk per value; on 100,000-pod inputs it was the largest cost
// of `selmount check` (see docs/benchmarks.md). This decoder builds a plan
// per Go type once (field names, offsets, element decoders) and then writes
// through pointers.
//
// It does not report errors. Decode returns false for anything it does not
// reproduce exactly: a syntax error, a type mismatch, an unknown or duplicate
// field, a string with escapes it leaves to encoding/json, a type it has no
// plan for. The caller then decodes the same bytes with sigs.k8s.io/json into
// a fresh object, which gives the real result and the real error messages.
// So a false is never wrong, only slower; a true must give exactly what
// sigs.k8s.io/json gives, which the fuzz test checks.
package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Decode decodes data into v, a non-nil pointer to a struct, and reports
// whether it did so exactly as sigs.k8s.io/json strict decoding would. After
// false, v is in an unspecified state and must not be used.
func Decode(data []byte, v any) bool { return DecodeSkip(data, v, nil) }

// DecodeSkip is Decode, except that the fields skip names are checked as
// strictly as the others but not stored: they stay zero, exactly as if they
// had been cleared after decoding, without the allocations.
func DecodeSkip(data []byte, v any, skip *Skip) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	c := codecFor(rv.Type().Elem(), skip)
	d := decoder{data: data}
	d.ws()
	if !d.value(c, rv.UnsafePointer()) {
		return false
	}
	d.ws()
	return d.pos == len(d.data)
}

// Valid reports whether data is one valid JSON value, as json.Valid does
// (a document nested deeper than maxDepth is reported invalid; the caller
// then takes the slow path). Without json.Valid's state machine it is
// several times faster, which matters for a List of 100,000 objects.
func Valid(data []byte) bool {
	d := decoder{data: data}
	d.ws()
	if !d.skip() {
		return false
	}
	d.ws()
	return d.pos == len(d.data)
}

// Skip is a set of field paths, from the decoded type down: segments are
// JSON field names, and lists, maps and pointers are transparent, so
// "spec.containers.env" is the env of every container. Build it once with
// NewSkip and reuse it: decoding plans are kept per Skip.
type Skip struct {
	all      bool // this field is skipped as a whole
	children map[string]*Skip
}

// NewSkip compiles paths.
func NewSkip(paths ...string) *Skip {
	root := &Skip{}
	for _, p := range paths {
		n := root
		for _, seg := range strings.Split(p, ".") {
			if n.children == nil {
				n.children = map[string]*Skip{}
			}
			next := n.children[seg]
			if next == nil {
				next = &Skip{}
				n.children[seg] = next
			}
			n = next
		}
		n.all = true
	}
	return root
}

type kind uint8

const (
	kUnsupported kind = iota
	kString
	kBool
	kInt
	kUint
	kFloat
	kPtr
	kSlice
	kMap
	kStruct
	kUnmarshaler // *T implements json.Unmarshaler
)

// codec is the plan for one Go type.
type codec struct {
	kind  kind
	typ   reflect.Type
	size  uintptr
	bits  int
	elem  *codec // kPtr, kSlice, kMap values
	key   *codec // kMap keys (string kinds only)
	plain bool   // map[string]string itself: assigned without reflection

	fields []field        // kStruct, in declaration order
	byName map[string]int // kStruct, when there are many fields
}

type field struct {
	name    string
	offset  uintptr
	c       *codec
	discard bool // checked, not stored (Skip)
}

// Clear zeroes the fields s names in v, a pointer: what DecodeSkip leaves
// out, for objects decoded another way.
func (s *Skip) Clear(v any) {
	clearPaths(reflect.ValueOf(v), s)
}

func clearPaths(v reflect.Value, skip *Skip) {
	if skip == nil || len(skip.children) == 0 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearPaths(v.Elem(), skip)
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearPaths(v.Index(i), skip)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			clearPaths(e, skip)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		clearStruct(v, skip)
	}
}

func clearStruct(v reflect.Value, skip *Skip) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := cut(sf.Tag.Get("json"), ',')
		if name == "" && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			clearStruct(v.Field(i), skip)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		sub := skip.children[name]
		switch {
		case sub == nil:
		case sub.all:
			v.Field(i).SetZero()
		default:
			clearPaths(v.Field(i), sub)
		}
	}
}

// maxFields bounds struct fields, so that duplicate keys are found with a
// fixed-size bit set.
const maxFields = 128

// planKey identifies a plan: a type, and the part of a Skip that applies
// to it (nil for none: those plans are shared by every caller).
type planKey struct {
	t    reflect.Type
	skip *Skip
}

var (
	cacheMu sync.Mutex
	cache   sync.Map // planKey -> *codec
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	plainMapType        = reflect.TypeFor[map[string]string]()
)

func codecFor(t reflect.Type, skip *Skip) *codec {
	key := planKey{t, skip}
	if c, ok := cache.Load(key); ok {
		return c.(*codec)
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	building := map[planKey]*codec{}
	c := build(t, skip, building)
	for k, bc := range building {
		cache.Store(k, bc)
	}
	return c
}

// build makes the plan for t, with the fields skip names left out.
// Recursive types share the codec under construction through building.
func build(t reflect.Type, skip *Skip, building map[planKey]*codec) *codec {
	if skip != nil && len(skip.children) == 0 {
		skip = nil
	}
	key := planKey{t, skip}
	if c, ok := cache.Load(key); ok {
		return c.(*codec)
	}
	if c, ok := building[key]; ok {
		return c
	}
	c := &codec{typ: t, size: t.Size()}
	building[key] = c
	// encoding/json asks *T for its methods when T is named (indirect).
	if t.Kind() != reflect.Pointer && t.Name() != "" {
		pt := reflect.PointerTo(t)
		if pt.Implements(unmarshalerType) {
			c.kind = kUnmarshaler
			return c
		}
		if pt.Implements(textUnmarshalerType) {
			return c // kUnsupported
		}
	}
	switch t.Kind() {
	case reflect.String:
		c.kind = kString
	case reflect.Bool:
		c.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		c.kind, c.bits = kInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		c.kind, c.bits = kUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		c.kind, c.bits = kFloat, t.Bits()
	case reflect.Pointer:
		e := t.Elem()
		if e.Kind() == reflect.Pointer || reflect.PointerTo(e).Implements(textUnmarshalerType) && !reflect.PointerTo(e).Implements(unmarshalerType) {
			return c
		}
		c.kind, c.elem = kPtr, build(e, skip, building)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return c // []byte is base64 in encoding/json
		}
		c.kind, c.elem = kSlice, build(t.Elem(), skip, building)
	case reflect.Map:
		if t.Key().Kind() != reflect.String || reflect.PointerTo(t.Key()).Implements(textUnmarshalerType) {
			return c
		}
		c.kind, c.key, c.elem = kMap, build(t.Key(), nil, building), build(t.Elem(), skip, building)
		c.plain = t == plainMapType
	case reflect.Struct:
		fields, ok := structFields(t, 0, skip, building)
		if !ok || len(fields) > maxFields {
			return c
		}
		seen := map[string]bool{}
		for _, f := range fields {
			if seen[f.name] {
				return c // a name conflict: encoding/json's dominance rules are not reproduced
			}
			seen[f.name] = true
		}
		c.kind, c.fields = kStruct, fields
		if len(fields) > 8 {
			c.byName = make(map[string]int, len(fields))
			for i, f := range fields {
				c.byName[f.name] = i
			}
		}
	}
	return c
}

// structFields lists the JSON fields of struct t, with the fields of
// embedded structs promoted as encoding/json does. ok is false for what this
// package does not reproduce: embedded pointers to structs. Fields with the
// ",string" option or unusual tag names get a codec that refuses every value.
func structFields(t reflect.Type, base uintptr, skip *Skip, building map[planKey]*codec) ([]field, bool) {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !sf.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
		} else if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := cut(tag, ',')
		if hasOption(opts, "string") || !validName(name) {
			// Not reproduced: the field refuses every value, so a
			// document that sets it goes to the strict decoder.
			out = append(out, field{name: name, offset: base + sf.Offset, c: &codec{typ: sf.Type}})
			continue
		}
		if name == "" && sf.Anonymous {
			if sf.Type.Kind() != reflect.Struct {
				return nil, false
			}
			inner, ok := structFields(sf.Type, base+sf.Offset, skip, building)
			if !ok {
				return nil, false
			}
			out = append(out, inner...)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		var sub *Skip
		if skip != nil {
			sub = skip.children[name]
		}
		f := field{name: name, offset: base + sf.Offset}
		if sub != nil && sub.all {
			f.c, f.discard = build(sf.Type, nil, building), true
		} else {
			f.c = build(sf.Type, sub, building)
		}
		out = append(out, f)
	}
	return out, true
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = cut(opts, ',')
		if o == want {
			return true
		}
	}
	return false
}

// validName accepts the tag names Kubernetes uses; a field with any other
// (which encoding/json might treat specially) refuses every value.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-' || b == '.' || b == '/') {
			return false
		}
	}
	return true
}

type decoder struct {
	data  []byte
	pos   int
	depth int // objects and arrays open
}

// maxDepth stays below encoding/json's nesting limit (10000), which fails
// the whole document: deeper input goes to the strict decoder.
const maxDepth = 9000

func (d *decoder) enter() bool {
	d.depth++
	return d.depth <= maxDepth
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// value decodes the next value into the object of codec c at p. With p nil
// it only checks the value, as strictly, and stores nothing.
func (d *decoder) value(c *codec, p unsafe.Pointer) bool {
	b := d.peek()
	if b == 'n' {
		if !d.literal("null") {
			return false
		}
		return d.null(c, p)
	}
	switch c.kind {
	case kString:
		if p == nil {
			return d.skipString()
		}
		s, ok := d.str()
		if ok {
			*(*string)(p) = s
		}
		return ok
	case kBool:
		var v bool
		switch {
		case d.literal("true"):
			v = true
		case d.literal("false"):
		default:
			return false
		}
		if p != nil {
			*(*bool)(p) = v
		}
		return true
	case kInt, kUint:
		return d.integer(c, p)
	case kFloat:
		return d.float(c, p)
	case kPtr:
		if p == nil {
			return d.value(c.elem, nil)
		}
		np := reflect.New(c.elem.typ).UnsafePointer()
		if !d.value(c.elem, np) {
			return false
		}
		*(*unsafe.Pointer)(p) = np
		return true
	case kSlice:
		if p == nil {
			return d.checkArray(c)
		}
		return d.slice(c, p)
	case kMap:
		return d.object(c, p)
	case kStruct:
		return d.object(c, p)
	case kUnmarshaler:
		start := d.pos
		if !d.skip() {
			return false
		}
		return d.unmarshaler(c, p).UnmarshalJSON(d.data[start:d.pos]) == nil
	}
	return false
}

// unmarshaler returns the json.Unmarshaler at p, or a scratch one when p is
// nil (only checking).
func (d *decoder) unmarshaler(c *codec, p unsafe.Pointer) json.Unmarshaler {
	if p == nil {
		return reflect.New(c.typ).Interface().(json.Unmarshaler)
	}
	return reflect.NewAt(c.typ, p).Interface().(json.Unmarshaler)
}

// null stores a JSON null as encoding/json does: pointers, slices and maps
// become nil, an Unmarshaler is handed "null", anything else is unchanged.
func (d *decoder) null(c *codec, p unsafe.Pointer) bool {
	switch c.kind {
	case kUnsupported:
		return false
	case kUnmarshaler:
		return d.unmarshaler(c, p).UnmarshalJSON([]byte("null")) == nil
	}
	if p == nil {
		return true
	}
	switch c.kind {
	case kPtr:
		*(*unsafe.Pointer)(p) = nil
	case kSlice, kMap:
		reflect.NewAt(c.typ, p).Elem().SetZero()
	}
	return true
}

// str reads a JSON string. Strings with escapes or non-ASCII bytes are left
// to encoding/json, which replaces invalid UTF-8 exactly as the strict
// decoder does.
func (d *decoder) str() (string, bool) {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return "", false
	}
	start := d.pos
	i := d.pos + 1
	for ; i < len(d.data); i++ {
		b := d.data[i]
		if b == '"' {
			d.pos = i + 1
			return string(d.data[start+1 : i]), true
		}
		if b < 0x20 {
			return "", false
		}
		if b == '\\' || b >= utf8.RuneSelf {
			break
		}
	}
	// The slow way: find the end, then let encoding/json unquote.
	d.pos = start
	if !d.skipString() {
		return "", false
	}
	var s string
	if json.Unmarshal(d.data[start:d.pos], &s) != nil {
		return "", false
	}
	return s, true
}

// number returns the bytes of a JSON number.
func (d *decoder) number() ([]byte, bool) {
	start := d.pos
	i := d.pos
	if i < len(d.data) && d.data[i] == '-' {
		i++
	}
	switch {
	case i < len(d.data) && d.data[i] == '0':
		i++
	case d.digits(i) > i:
		i = d.digits(i)
	default:
		return nil, false
	}
	if i < len(d.data) && d.data[i] == '.' {
		if i = d.digits(i + 1); d.data[i-1] == '.' {
			return nil, false // no digit after the point
		}
	}
	if i < len(d.data) && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < len(d.data) && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		n := i
		if i = d.digits(i); i == n {
			return nil, false // no exponent digits
		}
	}
	d.pos = i
	return d.data[start:i], true
}

// digits returns the index after the ASCII digits starting at i.
func (d *decoder) digits(i int) int {
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' {
		i++
	}
	return i
}

// integer reads a signed or unsigned integer of c's size; a fraction, an
// exponent or an overflow is a type error to encoding/json.
func (d *decoder) integer(c *codec, p unsafe.Pointer) bool {
	num, ok := d.number()
	if !ok {
		return false
	}
	var v uint64
	var err error
	if c.kind == kInt {
		var n int64
		n, err = strconv.ParseInt(string(num), 10, c.bits)
		v = uint64(n) // two's complement: the low bytes are the narrower value
	} else {
		v, err = strconv.ParseUint(string(num), 10, c.bits)
	}
	if err != nil {
		return false
	}
	if p == nil {
		return true
	}
	switch c.bits {
	case 8:
		*(*uint8)(p) = uint8(v)
	case 16:
		*(*uint16)(p) = uint16(v)
	case 32:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
	return true
}

func (d *decoder) float(c *codec, p unsafe.Pointer) bool {
	num, ok := d.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(num), c.bits)
	if err != nil {
		return false
	}
	if p == nil {
		return true
	}
	if c.bits == 32 {
		*(*float32)(p) = float32(f)
	} else {
		*(*float64)(p) = f
	}
	return true
}

// slice decodes an array into a slice of exactly its length: the elements
// are counted first, then decoded in place.
func (d *decoder) slice(c *codec, p unsafe.Pointer) bool {
	if d.peek() != '[' || !d.enter() {
		return false
	}
	defer func() { d.depth-- }()
	start := d.pos
	n := 0
	d.pos++
	if !d.list(']', func() bool { n++; return d.skip() }) {
		return false
	}
	end := d.pos
	s := reflect.MakeSlice(c.typ, n, n) // non-nil for [], as encoding/json
	base := s.UnsafePointer()
	d.pos = start + 1
	for i := range n {
		if i > 0 {
			d.ws()
			d.pos++ // the comma, checked above
		}
		if !d.value(c.elem, unsafe.Add(base, uintptr(i)*c.elem.size)) {
			return false
		}
	}
	reflect.NewAt(c.typ, p).Elem().Set(s)
	d.pos = end
	return true
}

// checkArray checks an array of c's elements without storing it.
func (d *decoder) checkArray(c *codec) bool {
	if d.peek() != '[' || !d.enter() {
		return false
	}
	defer func() { d.depth-- }()
	d.pos++
	return d.list(']', func() bool { return d.value(c.elem, nil) })
}

// list reads the rest of an array or object whose opening bracket was
// read: elements (read by elem) separated by commas, then close.
func (d *decoder) list(close byte, elem func() bool) bool {
	if d.peek() == close {
		d.pos++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch d.peek() {
		case ',':
			d.pos++
		case close:
			d.pos++
			return true
		default:
			return false
		}
	}
}

// object decodes a JSON object into a struct or a map; with p nil it only
// checks it.
func (d *decoder) object(c *codec, p unsafe.Pointer) bool {
	if d.peek() != '{' || !d.enter() {
		return false
	}
	defer func() { d.depth-- }()
	d.pos++
	var seen [maxFields / 64]uint64
	var m reflect.Value
	var plain map[string]string
	check := p == nil
	switch {
	case check:
	case c.kind == kMap && c.plain:
		plain = make(map[string]string)
		*(*map[string]string)(p) = plain
	case c.kind == kMap:
		m = reflect.MakeMap(c.typ)
		reflect.NewAt(c.typ, p).Elem().Set(m)
	}
	if d.peek() == '}' {
		d.pos++
		return true
	}
	for {
		if d.peek() != '"' {
			return false
		}
		var key []byte
		ok := false
		if check && c.kind == kMap {
			ok = d.skipString() // any key: nothing is stored
		} else {
			key, ok = d.key()
		}
		if !ok || d.peek() != ':' {
			return false
		}
		d.pos++
		switch {
		case c.kind == kStruct:
			i := c.find(key)
			if i < 0 {
				return false // unknown: the strict decoder reports it
			}
			f := &c.fields[i]
			if check || f.discard {
				// Nothing is stored, so a repeated key changes nothing.
				if !d.value(f.c, nil) {
					return false
				}
				break
			}
			if seen[i/64]&(1<<(i%64)) != 0 {
				return false // a repeated key: the last one wins, left to the strict decoder
			}
			seen[i/64] |= 1 << (i % 64)
			if !d.value(f.c, unsafe.Add(p, f.offset)) {
				return false
			}
		case check:
			if !d.value(c.elem, nil) {
				return false
			}
		case plain != nil:
			k := string(key)
			if _, dup := plain[k]; dup {
				return false
			}
			if d.peek() == 'n' {
				if !d.literal("null") {
					return false
				}
				plain[k] = ""
				break
			}
			v, ok := d.str()
			if !ok {
				return false
			}
			plain[k] = v
		default:
			kv := reflect.New(c.key.typ).Elem()
			kv.SetString(string(key))
			if m.MapIndex(kv).IsValid() {
				return false
			}
			ev := reflect.New(c.elem.typ)
			if !d.value(c.elem, ev.UnsafePointer()) {
				return false
			}
			m.SetMapIndex(kv, ev.Elem())
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return true
		default:
			return false
		}
	}
}

// key returns an object key that needs no unescaping, without copying.
func (d *decoder) key() ([]byte, bool) {
	start := d.pos + 1
	for i := start; i < len(d.data); i++ {
		switch b := d.data[i]; {
		case b == '"':
			d.pos = i + 1
			return d.data[start:i], true
		case b == '\\' || b < 0x20 || b >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

func (c *codec) find(key []byte) int {
	if c.byName != nil {
		if i, ok := c.byName[string(key)]; ok {
			return i
		}
		return -1
	}
	for i := range c.fields {
		if c.fields[i].name == string(key) {
			return i
		}
	}
	return -1
}

// skip moves past one value, checking its syntax.
func (d *decoder) skip() bool {
	switch b := d.peek(); b {
	case '{', '[':
		if !d.enter() {
			return false
		}
		defer func() { d.depth-- }()
	}
	switch d.peek() {
	case '"':
		return d.skipString()
	case '{':
		d.pos++
		return d.list('}', func() bool {
			if d.peek() != '"' || !d.skipString() || d.peek() != ':' {
				return false
			}
			d.pos++
			return d.skip()
		})
	case '[':
		d.pos++
		return d.list(']', d.skip)
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		_, ok := d.number()
		return ok
	}
}

// skipString moves past a string, checking its escapes.
func (d *decoder) skipString() bool {
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return false
	}
	for i := d.pos + 1; i < len(d.data); i++ {
		switch b := d.data[i]; {
		case b == '"':
			d.pos = i + 1
			return true
		case b < 0x20:
			return false
		case b == '\\':
			i++
			if i >= len(d.data) {
				return false
			}
			switch d.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d.data) {
					return false
				}
				for _, h := range d.data[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}
