// Package fastyaml converts the common subset of YAML found in Kubernetes
// manifests to JSON in one pass over the bytes, without building a tree.
//
// ToJSON is a fast path for sigs.k8s.io/yaml.YAMLToJSON (go-yaml v2 with
// YAML 1.1 scalar resolution): whenever it returns ok=true its output is the
// same JSON value as YAMLToJSON's (key order aside, numbers written the same
// way). Whenever a document uses anything outside the subset handled here
// with certainty, it returns ok=false and the caller must fall back to
// sigs.k8s.io/yaml, which also reports the errors of malformed documents.
//
// The subset: block mappings and block sequences (also the compact
// "- key: value" form and sequences at the indentation of their parent key),
// full-line and trailing comments, single-line plain, single-quoted and
// double-quoted scalars, single-line flow mappings and sequences (nested),
// empty values, and go-yaml v2's resolution of plain scalars (null, bool,
// int, float, string). Everything else bails out: anchors, aliases, tags,
// block scalars, multi-line scalars or flow collections, "?" keys, merge
// keys, non-string keys, duplicate keys, tabs outside quoted scalars,
// carriage returns, directives, document markers, a byte-order mark,
// Unicode line breaks (NEL, LS, PS), and anything malformed.
package fastyaml

import (
	"bytes"
	"encoding/binary"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ToJSON converts one YAML document (without "---" separators) to JSON,
// appended to dst. ok is false, and out is dst unchanged, when the document
// is outside the handled subset; the caller must then convert it with
// sigs.k8s.io/yaml. An empty document (blanks and comments only) is "null",
// as with YAMLToJSON.
func ToJSON(dst []byte, doc []byte) (out []byte, ok bool) {
	if !validate(doc) {
		return dst, false
	}
	keys := keyPool.Get().(*[]span)
	p := parser{src: doc, out: dst, keys: (*keys)[:0]}
	defer func() {
		*keys = p.keys[:0]
		keyPool.Put(keys)
		if r := recover(); r != nil {
			if _, isBail := r.(bailout); !isBail {
				panic(r)
			}
			out, ok = dst, false
		}
	}()
	p.nextContent()
	if p.eof {
		return append(dst, "null"...), true
	}
	p.blockNode(p.ind)
	if !p.eof {
		p.bail()
	}
	return p.out, true
}

// keyPool holds the key stacks of parsers (for the detection of
// duplicate keys), to convert documents without allocating.
var keyPool = sync.Pool{New: func() any { return new([]span) }}

// bailout is the panic value that unwinds the parser when the document is
// outside the subset; ToJSON recovers it (and only it).
type bailout struct{}

const (
	// maxDepth bounds the nesting of collections (go-yaml allows 10000).
	maxDepth = 1000
	// maxKeyLen bounds the bytes from the start of an implicit key to its
	// ":"; go-yaml requires at most 1024 characters.
	maxKeyLen = 1000
	// linearKeys is the number of keys of a mapping checked for
	// duplicates by a linear scan before switching to a set.
	linearKeys = 16
)

type parser struct {
	src []byte
	pos int
	out []byte

	// The current content line, after nextContent: its indentation, where
	// it starts, and eof once there are no more content lines.
	ind       int
	lineStart int
	eof       bool

	depth int
	keys  []span // the keys (in out, quotes included) of the open mappings
}

type span struct{ start, end int }

// token is a scalar scanned in the source: [start, end) is its content
// (inside the quotes, if any); quote is the quote character, or 0 for a
// plain scalar.
type token struct {
	start, end int
	quote      byte
	esc        bool // a plain scalar with '"' or '\\', to escape in JSON
}

func (p *parser) bail() { panic(bailout{}) }

// at returns the byte at i, or 0 at the end (NUL bytes are rejected by
// validate, so 0 is unambiguous).
func (p *parser) at(i int) byte {
	if i < len(p.src) {
		return p.src[i]
	}
	return 0
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.bail()
	}
}

func isBlankz(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == 0 }

// nextContent moves to the first content line at or after p.pos (which is
// at the start of a line), skipping blank and comment-only lines, and sets
// p.ind, p.lineStart and p.pos (at the first non-space byte), or p.eof.
func (p *parser) nextContent() {
	src := p.src
	i := p.pos
	for {
		start := i
		for i < len(src) && src[i] == ' ' {
			i++
		}
		if i >= len(src) {
			p.pos, p.eof, p.ind = i, true, -1
			return
		}
		switch src[i] {
		case '\n':
			i++
			continue
		case '#':
			nl := bytes.IndexByte(src[i:], '\n')
			if nl < 0 {
				p.pos, p.eof, p.ind = len(src), true, -1
				return
			}
			i += nl + 1
			continue
		case '\t':
			p.bail() // tabs in indentation
		}
		if i == start && i+3 <= len(src) {
			// Document markers and anything looking like one.
			if s := src[i : i+3]; string(s) == "---" || string(s) == "..." {
				p.bail()
			}
		}
		p.pos, p.lineStart, p.ind = i, start, i-start
		return
	}
}

// endLine accepts the rest of the current line after a complete node:
// blanks and a comment (after at least one space). p.pos ends at the start
// of the next line.
func (p *parser) endLine() {
	src := p.src
	i := p.pos
	for i < len(src) && src[i] == ' ' {
		i++
	}
	if i >= len(src) {
		p.pos = i
		return
	}
	switch src[i] {
	case '\n':
		p.pos = i + 1
		return
	case '#':
		// A comment must follow a blank: after a quoted scalar or a
		// flow collection, go-yaml takes "#" as a comment anyway, but
		// this package bails out.
		if src[i-1] == ' ' {
			nl := bytes.IndexByte(src[i:], '\n')
			if nl < 0 {
				p.pos = len(src)
			} else {
				p.pos = i + nl + 1
			}
			return
		}
	}
	p.bail()
}

// skipSpaces skips spaces on the current line; tabs bail out.
func (p *parser) skipSpaces() {
	src := p.src
	i := p.pos
	for i < len(src) && src[i] == ' ' {
		i++
	}
	if i < len(src) && src[i] == '\t' {
		p.bail()
	}
	p.pos = i
}

// isEntry reports whether a block sequence entry ("-" followed by a blank
// or the end of the line) starts at i.
func (p *parser) isEntry(i int) bool {
	return p.at(i) == '-' && isBlankz(p.at(i+1))
}

// plainStart reports whether a plain scalar may start at i.
func (p *parser) plainStart(i int, flow bool) bool {
	switch c := p.at(i); c {
	case '-':
		return !isBlankz(p.at(i + 1))
	case '?', ':':
		return !flow && !isBlankz(p.at(i+1))
	case 0, ' ', '\t', '\n', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

// plainBlock and plainFlow mark the bytes scanPlain must look at in block
// and flow context; the others are content.
var plainBlock, plainFlow = func() (b, f [256]bool) {
	for _, c := range " \n\t:\"\\" {
		b[c], f[c] = true, true
	}
	for _, c := range ",[]{}?" {
		f[c] = true
	}
	return b, f
}()

// scanPlain scans a single-line plain scalar starting at p.pos (already
// checked by plainStart) and leaves p.pos after it. A plain scalar ends
// before ": ", " #", the end of the line and, in flow context, the flow
// indicators; trailing spaces are not part of it.
func (p *parser) scanPlain(flow bool) token {
	src := p.src
	special := &plainBlock
	if flow {
		special = &plainFlow
	}
	start := p.pos
	i, end := start, start
	esc := false
scan:
	for {
		run := i
		for i < len(src) && !special[src[i]] {
			i++
		}
		if i > run {
			end = i
		}
		if i >= len(src) {
			break
		}
		switch src[i] {
		case ' ':
			j := i + 1
			for j < len(src) && src[j] == ' ' {
				j++
			}
			if j >= len(src) || src[j] == '\n' || src[j] == '#' {
				break scan
			}
			i = j
			continue
		case '\n':
			break scan
		case '\t':
			p.bail()
		case ':':
			if isBlankz(p.at(i + 1)) {
				break scan
			}
		case '"', '\\':
			esc = true
		case ',', '[', ']', '{', '}': // flow context only
			break scan
		case '?': // flow context only
			p.bail() // go-yaml ends the scalar there: an odd case
		}
		i++
		end = i
	}
	p.pos = end
	return token{start: start, end: end, esc: esc}
}

// scanQuoted scans a single-line quoted scalar starting at p.pos (at its
// opening quote), validating its escapes, and leaves p.pos after it.
func (p *parser) scanQuoted() token {
	src := p.src
	q := src[p.pos]
	start := p.pos + 1
	i := start
	if q == '\'' {
		for {
			if i >= len(src) {
				p.bail()
			}
			c := src[i]
			if c == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					i += 2
					continue
				}
				break
			}
			if c == '\n' {
				p.bail() // multi-line
			}
			i++
		}
	} else {
		for {
			if i >= len(src) {
				p.bail()
			}
			c := src[i]
			if c == '"' {
				break
			}
			if c == '\n' {
				p.bail() // multi-line
			}
			if c != '\\' {
				i++
				continue
			}
			switch p.at(i + 1) {
			case '0', 'a', 'b', 't', '\t', 'n', 'v', 'f', 'r', 'e', ' ', '"', '\'', '\\', 'N', '_', 'L', 'P':
				i += 2
			case 'x':
				p.hexEscape(i+2, 2)
				i += 4
			case 'u':
				p.hexEscape(i+2, 4)
				i += 6
			case 'U':
				p.hexEscape(i+2, 8)
				i += 10
			default: // an unknown escape, or an escaped line break
				p.bail()
			}
		}
	}
	p.pos = i + 1
	return token{start: start, end: i, quote: q}
}

// hexEscape validates the n hex digits at i and returns their value, which
// must be a Unicode scalar value.
func (p *parser) hexEscape(i, n int) rune {
	if i+n > len(p.src) {
		p.bail()
	}
	v, ok := hexValue(p.src[i : i+n])
	if !ok {
		p.bail()
	}
	return v
}

func hexValue(h []byte) (rune, bool) {
	var v rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 + rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 + rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 + rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	if v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF || v < 0 {
		return 0, false
	}
	return v, true
}

// scalar scans a plain (block or flow context) or quoted scalar at p.pos.
func (p *parser) scalar(flow bool) token {
	switch p.at(p.pos) {
	case '"', '\'':
		return p.scanQuoted()
	}
	if !p.plainStart(p.pos, flow) {
		p.bail()
	}
	return p.scanPlain(flow)
}

// blockNode parses the block node at p.pos, in column col (the
// indentation of its line, or its column after "- "), up to the next
// content line.
func (p *parser) blockNode(col int) {
	switch c := p.src[p.pos]; {
	case c == '-' && isBlankz(p.at(p.pos+1)):
		p.blockSeq(col)
		return
	case c == '[' || c == '{':
		p.flowNode()
		p.endLine()
		p.nextContent()
		return
	}
	keyStart := p.pos
	tok := p.scalar(false)
	if p.isKey(keyStart) {
		p.blockMap(col, tok, keyStart)
		return
	}
	p.emitScalar(tok)
	p.endLine()
	p.nextContent()
}

// isKey reports whether the ": " of a key follows p.pos (after spaces),
// and then leaves p.pos at the ":".
func (p *parser) isKey(keyStart int) bool {
	i := p.pos
	for i < len(p.src) && p.src[i] == ' ' {
		i++
	}
	if p.at(i) != ':' || !isBlankz(p.at(i+1)) {
		return false
	}
	if i-keyStart > maxKeyLen {
		p.bail()
	}
	p.pos = i
	return true
}

// blockMap parses a block mapping in column ind whose first key, tok, has
// been scanned (p.pos is at its ":").
func (p *parser) blockMap(ind int, tok token, keyStart int) {
	p.enter()
	p.out = append(p.out, '{')
	base := len(p.keys)
	var set map[string]struct{}
	for first := true; ; first = false {
		if !first {
			p.out = append(p.out, ',')
		}
		p.emitKey(tok, base, &set)
		p.pos++ // the ':'
		p.blockValue(ind)
		if p.eof || p.ind < ind {
			break
		}
		if p.ind > ind {
			p.bail()
		}
		keyStart = p.pos
		tok = p.scalar(false)
		if !p.isKey(keyStart) {
			p.bail()
		}
	}
	p.out = append(p.out, '}')
	p.keys = p.keys[:base]
	p.depth--
}

// blockValue parses the value of a block mapping key in column ind, after
// its ":", up to the next content line.
func (p *parser) blockValue(ind int) {
	p.skipSpaces()
	switch c := p.at(p.pos); c {
	case 0, '\n', '#':
		p.endLine()
		p.nextContent()
		switch {
		case p.eof:
		case p.ind > ind:
			p.blockNode(p.ind)
			return
		case p.ind == ind && p.isEntry(p.pos):
			p.blockSeq(ind)
			return
		}
		p.out = append(p.out, "null"...)
		return
	case '[', '{':
		p.flowNode()
	default:
		p.emitScalar(p.scalar(false))
	}
	p.endLine()
	p.nextContent()
}

// blockSeq parses a block sequence whose entries are in column ind; p.pos
// is at the first "-".
func (p *parser) blockSeq(ind int) {
	p.enter()
	p.out = append(p.out, '[')
	for first := true; ; first = false {
		if !first {
			p.out = append(p.out, ',')
		}
		p.pos++ // the '-'
		p.skipSpaces()
		switch p.at(p.pos) {
		case 0, '\n', '#':
			p.endLine()
			p.nextContent()
			if !p.eof && p.ind > ind {
				p.blockNode(p.ind)
			} else {
				p.out = append(p.out, "null"...)
			}
		default:
			p.blockNode(p.pos - p.lineStart)
		}
		if p.eof || p.ind < ind {
			break
		}
		if p.ind > ind {
			p.bail()
		}
		if !p.isEntry(p.pos) {
			break // a key of the parent mapping, in the same column
		}
	}
	p.out = append(p.out, ']')
	p.depth--
}

// skipFlowSpaces skips spaces inside a flow collection, which must end on
// its line.
func (p *parser) skipFlowSpaces() {
	src := p.src
	i := p.pos
	for i < len(src) && src[i] == ' ' {
		i++
	}
	if i >= len(src) {
		p.bail()
	}
	switch src[i] {
	case '\n', '\t', '#':
		p.bail() // multi-line flow collection, tab, comment
	}
	p.pos = i
}

// flowNode parses a flow node at p.pos.
func (p *parser) flowNode() {
	switch p.at(p.pos) {
	case '[':
		p.flowSeq()
	case '{':
		p.flowMap()
	default:
		p.emitScalar(p.scalar(true))
	}
}

func (p *parser) flowSeq() {
	p.enter()
	p.pos++ // '['
	p.out = append(p.out, '[')
	p.skipFlowSpaces()
	if p.src[p.pos] != ']' {
		for {
			p.flowNode()
			p.skipFlowSpaces()
			if p.flowEnd(']') { // a ":" bails: a single-pair mapping
				break
			}
		}
	}
	p.pos++ // ']'
	p.out = append(p.out, ']')
	p.depth--
}

func (p *parser) flowMap() {
	p.enter()
	p.pos++ // '{'
	p.out = append(p.out, '{')
	base := len(p.keys)
	var set map[string]struct{}
	p.skipFlowSpaces()
	if p.src[p.pos] != '}' {
		for {
			keyStart := p.pos
			tok := p.scalar(true)
			p.skipFlowSpaces()
			if p.src[p.pos] != ':' || tok.quote == 0 && !isBlankz(p.at(p.pos+1)) {
				p.bail() // no value indicator
			}
			if p.pos-keyStart > maxKeyLen {
				p.bail()
			}
			p.emitKey(tok, base, &set)
			p.pos++ // ':'
			p.skipFlowSpaces()
			if c := p.src[p.pos]; c == ',' || c == '}' {
				p.out = append(p.out, "null"...)
			} else {
				p.flowNode()
				p.skipFlowSpaces()
			}
			if p.flowEnd('}') {
				break
			}
		}
	}
	p.pos++ // '}'
	p.out = append(p.out, '}')
	p.keys = p.keys[:base]
	p.depth--
}

// flowEnd reads what follows an entry of a flow collection: the closing
// bracket (true), or a comma, then either the closing bracket (a trailing
// comma, true) or the next entry (false, the comma written).
func (p *parser) flowEnd(close byte) bool {
	c := p.src[p.pos]
	if c == close {
		return true
	}
	if c != ',' {
		p.bail()
	}
	p.pos++
	p.skipFlowSpaces()
	if p.src[p.pos] == close {
		return true
	}
	p.out = append(p.out, ',')
	return false
}

// emitKey writes tok as a key of the mapping whose keys start at
// p.keys[base], followed by ':'. The key must resolve to a string and must
// not repeat an earlier key of the mapping.
func (p *parser) emitKey(tok token, base int, set *map[string]struct{}) {
	s := p.src[tok.start:tok.end]
	start := len(p.out)
	switch tok.quote {
	case 0:
		if resolveTable[s[0]] != 0 {
			if k, _ := resolve(nil, s); k != kindString {
				p.bail() // a key that is not a string
			}
		} else if string(s) == "<<" {
			p.bail() // a merge key
		}
		p.out = appendPlain(p.out, s, tok.esc)
	case '\'':
		p.out = appendSingleQuoted(p.out, s)
	default:
		p.out = appendDoubleQuoted(p.out, s)
	}
	key := p.out[start:]
	n := len(p.keys) - base
	switch {
	case n < linearKeys:
		for _, k := range p.keys[base:] {
			if k.end-k.start == len(key) && string(p.out[k.start:k.end]) == string(key) {
				p.bail() // duplicate key
			}
		}
	default:
		if *set == nil {
			*set = make(map[string]struct{}, 2*linearKeys)
			for _, k := range p.keys[base:] {
				(*set)[string(p.out[k.start:k.end])] = struct{}{}
			}
		}
		if _, dup := (*set)[string(key)]; dup {
			p.bail()
		}
		(*set)[string(key)] = struct{}{}
	}
	p.keys = append(p.keys, span{start, len(p.out)})
	p.out = append(p.out, ':')
}

// emitScalar writes the scalar tok as a JSON value.
func (p *parser) emitScalar(tok token) {
	s := p.src[tok.start:tok.end]
	switch tok.quote {
	case '\'':
		p.out = appendSingleQuoted(p.out, s)
		return
	case '"':
		p.out = appendDoubleQuoted(p.out, s)
		return
	}
	var k kind
	k, p.out = resolve(p.out, s)
	switch k {
	case kindString:
		p.out = appendPlain(p.out, s, tok.esc)
	case kindNull:
		p.out = append(p.out, "null"...)
	case kindTrue:
		p.out = append(p.out, "true"...)
	case kindFalse:
		p.out = append(p.out, "false"...)
	case kindNumber: // already appended
	default:
		p.bail()
	}
}

// kind is the resolved type of a plain scalar.
type kind uint8

const (
	kindString kind = iota
	kindNull
	kindTrue
	kindFalse
	kindNumber // resolve appended it
	kindBail   // NaN and infinities, which JSON cannot represent
)

// resolveTable is go-yaml v2's hint table: the first byte of a plain scalar
// that may resolve to something other than a string.
var resolveTable = func() (t [256]byte) {
	t['+'], t['-'] = 'S', 'S'
	for c := '0'; c <= '9'; c++ {
		t[c] = 'D'
	}
	for _, c := range "yYnNtTfFoO~" {
		t[c] = 'M'
	}
	t['.'] = '.'
	return t
}()

// special resolves the plain scalars of go-yaml v2's resolve table.
func special(s []byte) (kind, bool) {
	switch string(s) {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return kindTrue, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return kindFalse, true
	case "~", "null", "Null", "NULL":
		return kindNull, true
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
		"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return kindBail, true
	}
	return 0, false
}

// numChars are the bytes that can occur in a plain scalar that go-yaml v2
// resolves to an int or a float: a scalar with any other byte is a string.
var numChars = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF+-._xXoO" {
		t[c] = true
	}
	return t
}()

// resolve resolves the plain scalar s as go-yaml v2 does for an interface{}
// target (timestamps stay strings). For kindNumber it appends the number
// to dst as encoding/json writes it.
func resolve(dst []byte, s []byte) (kind, []byte) {
	if len(s) == 0 {
		return kindNull, dst
	}
	hint := resolveTable[s[0]]
	if hint == 0 {
		return kindString, dst
	}
	if k, ok := special(s); ok {
		return k, dst
	}
	if hint == 'M' {
		return kindString, dst
	}
	// Fast path: a decimal int without a leading zero or sign and small
	// enough not to overflow is written as it is.
	digits := s
	if s[0] == '-' {
		digits = s[1:]
	}
	if n := len(digits); n > 0 && n <= 18 && (digits[0] != '0' || n == 1 && len(s) == 1) {
		allDigits := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				allDigits = false
				break
			}
		}
		if allDigits {
			return kindNumber, append(dst, s...)
		}
	}
	for _, c := range s {
		if !numChars[c] {
			return kindString, dst
		}
	}
	return resolveNumber(dst, string(s), hint)
}

var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolveNumber is go-yaml v2's resolve for the '.', 'D' and 'S' hints
// (v2.4 resolve.go), minus timestamps (which an interface{} target gets as
// the original string anyway).
func resolveNumber(dst []byte, in string, hint byte) (kind, []byte) {
	switch hint {
	case '.':
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return appendFloat(dst, f)
		}
	case 'D', 'S':
		plain := strings.ReplaceAll(in, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return kindNumber, strconv.AppendInt(dst, i, 10)
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return kindNumber, strconv.AppendUint(dst, u, 10)
		}
		if yamlStyleFloat.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return appendFloat(dst, f)
			}
		}
		if strings.HasPrefix(plain, "0b") {
			if i, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
				return kindNumber, strconv.AppendInt(dst, i, 10)
			}
			if u, err := strconv.ParseUint(plain[2:], 2, 64); err == nil {
				return kindNumber, strconv.AppendUint(dst, u, 10)
			}
		} else if strings.HasPrefix(plain, "-0b") {
			if i, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
				return kindNumber, strconv.AppendInt(dst, int64(int(i)), 10)
			}
		}
	}
	return kindString, dst
}

// appendFloat writes f as encoding/json does for a float64.
func appendFloat(dst []byte, f float64) (kind, []byte) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return kindBail, dst
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return kindNumber, dst
}

const hexDigits = "0123456789abcdef"

// needsEscape marks the bytes that a JSON string cannot hold as they are.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// appendPlain writes the plain scalar s as a JSON string; esc reports
// whether s has a quote or a backslash (the only bytes of a plain scalar
// that JSON escapes).
func appendPlain(dst []byte, s []byte, esc bool) []byte {
	dst = append(dst, '"')
	if esc {
		dst = appendEscaped(dst, s)
	} else {
		dst = append(dst, s...)
	}
	return append(dst, '"')
}

func appendEscaped(dst []byte, s []byte) []byte {
	from := 0
	for i, c := range s {
		if needsEscape[c] {
			dst = append(dst, s[from:i]...)
			dst = appendEscapedByte(dst, c)
			from = i + 1
		}
	}
	return append(dst, s[from:]...)
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendSingleQuoted writes the content of a single-quoted scalar (where
// two quotes stand for one) as a JSON string.
func appendSingleQuoted(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	for {
		i := bytes.Index(s, []byte("''"))
		if i < 0 {
			break
		}
		dst = appendEscaped(dst, s[:i+1])
		s = s[i+2:]
	}
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendDoubleQuoted writes the content of a double-quoted scalar, whose
// escapes scanQuoted validated, as a JSON string.
func appendDoubleQuoted(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			break
		}
		dst = appendEscaped(dst, s[:i])
		e := s[i+1]
		s = s[i+2:]
		var r rune
		switch e {
		case '0':
			r = 0
		case 'a':
			r = '\a'
		case 'b':
			r = '\b'
		case 't', '\t':
			r = '\t'
		case 'n':
			r = '\n'
		case 'v':
			r = '\v'
		case 'f':
			r = '\f'
		case 'r':
			r = '\r'
		case 'e':
			r = 0x1B
		case ' ', '"', '\'', '\\':
			r = rune(e)
		case 'N':
			r = 0x85
		case '_':
			r = 0xA0
		case 'L':
			r = 0x2028
		case 'P':
			r = 0x2029
		default: // 'x', 'u', 'U'
			n := 2
			switch e {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			r, _ = hexValue(s[:n])
			s = s[n:]
		}
		if r < utf8.RuneSelf {
			if needsEscape[r] {
				dst = appendEscapedByte(dst, byte(r))
			} else {
				dst = append(dst, byte(r))
			}
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// asciiOK marks the ASCII bytes go-yaml's reader accepts, minus the
// carriage return (which this package does not handle).
var asciiOK = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7F; c++ {
		t[c] = true
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// validate reports whether doc is valid UTF-8 made of characters go-yaml's
// reader accepts, without a carriage return, a byte-order mark or a
// Unicode line break (NEL, LS, PS), which this package does not handle.
func validate(doc []byte) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for i+8 <= len(doc) {
		// Eight bytes in 0x20-0x7E at once: no high bit, no byte below
		// 0x20, no 0x7F.
		w := binary.LittleEndian.Uint64(doc[i:])
		if w&hi == 0 && (w-0x20*lo)&^w&hi == 0 && (w+lo)&hi == 0 {
			i += 8
			continue
		}
		for end := i + 8; i < end; {
			var ok bool
			if i, ok = validChar(doc, i); !ok {
				return false
			}
		}
	}
	for i < len(doc) {
		var ok bool
		if i, ok = validChar(doc, i); !ok {
			return false
		}
	}
	return true
}

// validChar validates the character at doc[i] and returns the index of the
// next one.
func validChar(doc []byte, i int) (int, bool) {
	c := doc[i]
	if c < utf8.RuneSelf {
		return i + 1, asciiOK[c]
	}
	r, size := utf8.DecodeRune(doc[i:])
	switch {
	case r == utf8.RuneError && size == 1,
		r < 0xA0, // C1 controls, NEL
		r == 0x2028, r == 0x2029, r == 0xFEFF,
		r >= 0xD800 && r <= 0xDFFF,
		r == 0xFFFE, r == 0xFFFF:
		return i, false
	}
	return i + size, true
}
