package manifest

import (
	"strings"
	"sync"
)

// peekTypeMeta reads the top-level "apiVersion" and "kind" strings of a JSON
// object, and the raw "items" value of a List, without decoding it: a full
// decode of every object only to learn its kind cost a third of the decoding
// time on large inputs, and a List's items were copied twice. items is a
// subslice of js (nil without an "items" key). ok is false whenever the
// answer is not certain (not an object, escapes in the values, a key or
// value it does not expect): the caller then decodes the document the slow
// way. js must be valid JSON.
func peekTypeMeta(js []byte) (apiVersion, kind string, items []byte, ok bool) {
	i := skipWS(js, 0)
	if i >= len(js) || js[i] != '{' {
		return "", "", nil, false
	}
	i++
	for {
		i = skipWS(js, i)
		if i >= len(js) {
			return "", "", nil, false
		}
		if js[i] == '}' {
			if apiVersion == "" || kind == "" {
				return "", "", nil, false
			}
			return apiVersion, kind, items, true
		}
		key, j, plain := readString(js, i)
		if j < 0 || !plain {
			return "", "", nil, false
		}
		i = skipWS(js, j)
		if i >= len(js) || js[i] != ':' {
			return "", "", nil, false
		}
		i = skipWS(js, i+1)
		switch string(key) {
		case "apiVersion", "kind":
			v, j, plain := readString(js, i)
			if j < 0 || !plain {
				return "", "", nil, false
			}
			if string(key) == "kind" {
				kind = intern(v)
			} else {
				apiVersion = intern(v)
			}
			i = j
		case "items":
			j := skipValue(js, i)
			if j < 0 {
				return "", "", nil, false
			}
			items, i = js[i:j], j
		default:
			// encoding/json matches keys case-insensitively ("Kind"
			// may set kind): not certain.
			if strings.EqualFold(string(key), "apiVersion") || strings.EqualFold(string(key), "kind") || strings.EqualFold(string(key), "items") {
				return "", "", nil, false
			}
			if i = skipValue(js, i); i < 0 {
				return "", "", nil, false
			}
		}
		i = skipWS(js, i)
		if i < len(js) && js[i] == ',' {
			i++
		}
	}
}

func skipWS(js []byte, i int) int {
	for i < len(js) && (js[i] == ' ' || js[i] == '\t' || js[i] == '\n' || js[i] == '\r') {
		i++
	}
	return i
}

// readString reads the JSON string at js[i] and returns its raw bytes (a
// subslice of js), the index after it, and whether it is plain ASCII
// without escapes (read as is). The index is -1 if js[i] starts no string.
func readString(js []byte, i int) ([]byte, int, bool) {
	if i >= len(js) || js[i] != '"' {
		return nil, -1, false
	}
	plain := true
	for j := i + 1; j < len(js); j++ {
		switch c := js[j]; {
		case c == '\\':
			plain = false
			j++
		case c == '"':
			return js[i+1 : j], j + 1, plain
		case c >= 0x80:
			// encoding/json replaces invalid UTF-8: not plain.
			plain = false
		}
	}
	return nil, -1, false
}

// interned holds the apiVersion and kind strings seen, so that 280,000
// documents share a handful of strings instead of allocating two each.
var interned = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

func intern(b []byte) string {
	interned.RLock()
	s, ok := interned.m[string(b)] // no allocation for the lookup
	interned.RUnlock()
	if ok || len(b) > 64 {
		if !ok {
			s = string(b) // not a kind or a version worth keeping
		}
		return s
	}
	s = string(b)
	interned.Lock()
	interned.m[s] = s
	interned.Unlock()
	return s
}

// skipValue returns the index after the JSON value at js[i], -1 if there is
// none.
func skipValue(js []byte, i int) int {
	if i >= len(js) {
		return -1
	}
	switch js[i] {
	case '"':
		_, j, _ := readString(js, i)
		return j
	case '{', '[':
		depth := 0
		for j := i; j < len(js); j++ {
			switch js[j] {
			case '"':
				_, k, _ := readString(js, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(js) && js[j] != ',' && js[j] != '}' && js[j] != ']' && js[j] != ' ' && js[j] != '\n' && js[j] != '\t' && js[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// splitArray returns the elements of the JSON array js as subslices of it;
// ok is false when js is not an array. js must be valid JSON.
func splitArray(js []byte) (elems [][]byte, ok bool) {
	i := skipWS(js, 0)
	if i >= len(js) || js[i] != '[' {
		return nil, false
	}
	i = skipWS(js, i+1)
	if i < len(js) && js[i] == ']' {
		return [][]byte{}, true
	}
	for i < len(js) {
		j := skipValue(js, i)
		if j < 0 {
			return nil, false
		}
		elems = append(elems, js[i:j])
		i = skipWS(js, j)
		if i >= len(js) {
			return nil, false
		}
		switch js[i] {
		case ']':
			return elems, true
		case ',':
			i = skipWS(js, i+1)
		default:
			return nil, false
		}
	}
	return nil, false
}
