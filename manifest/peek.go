package manifest

// peekTypeMeta reads the top-level "apiVersion" and "kind" strings of a JSON
// object without decoding it: a full decode of every object only to learn
// its kind cost a third of the decoding time on large inputs. ok is false
// whenever the answer is not certain (not an object, an "items" key, escapes
// in the values, a key or value it does not expect): the caller then decodes
// the document the slow way. js must be valid JSON.
func peekTypeMeta(js []byte) (apiVersion, kind string, ok bool) {
	i := skipWS(js, 0)
	if i >= len(js) || js[i] != '{' {
		return "", "", false
	}
	i++
	for {
		i = skipWS(js, i)
		if i >= len(js) {
			return "", "", false
		}
		if js[i] == '}' {
			if apiVersion == "" || kind == "" {
				return "", "", false
			}
			return apiVersion, kind, true
		}
		key, j, plain := readString(js, i)
		if j < 0 || !plain {
			return "", "", false
		}
		i = skipWS(js, j)
		if i >= len(js) || js[i] != ':' {
			return "", "", false
		}
		i = skipWS(js, i+1)
		switch key {
		case "apiVersion", "kind":
			v, j, plain := readString(js, i)
			if j < 0 || !plain {
				return "", "", false
			}
			if key == "kind" {
				kind = v
			} else {
				apiVersion = v
			}
			i = j
		case "items":
			return "", "", false // a List: decoded the slow way
		default:
			if i = skipValue(js, i); i < 0 {
				return "", "", false
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

// readString reads the JSON string at js[i] and returns it, the index after
// it, and whether it is plain ASCII without escapes (read as is). The index is -1 if js[i] starts no
// string.
func readString(js []byte, i int) (string, int, bool) {
	if i >= len(js) || js[i] != '"' {
		return "", -1, false
	}
	plain := true
	for j := i + 1; j < len(js); j++ {
		switch c := js[j]; {
		case c == '\\':
			plain = false
			j++
		case c == '"':
			return string(js[i+1 : j]), j + 1, plain
		case c >= 0x80:
			// encoding/json replaces invalid UTF-8: not plain.
			plain = false
		}
	}
	return "", -1, false
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
