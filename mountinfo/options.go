package mountinfo

import "strings"

// Options is a list of mount options in the order the kernel printed them,
// each decoded ("size=1m", "seclabel",
// `context="system_u:object_r:container_file_t:s0:c1,c2"`). Quotes are kept in
// the items; Get removes them from the value it returns.
type Options []string

// ParseOptions splits a comma-separated option field as the kernel prints
// it: on commas outside double quotes, then decoding octal escapes in each
// option. The empty string gives no options.
func ParseOptions(s string) Options {
	if s == "" {
		return nil
	}
	var out Options
	quoted := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, Unescape(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, Unescape(s[start:]))
}

// String joins the options with commas, escaping what ParseOptions decodes,
// so that ParseOptions(o.String()) equals o for every o it returned.
func (o Options) String() string {
	var b strings.Builder
	for i, opt := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escape(opt, true))
	}
	return b.String()
}

// Get returns the value of the last option key=value, with one pair of
// surrounding double quotes removed, and whether the key is present. A flag
// without value ("seclabel") gives "" and true.
func (o Options) Get(key string) (string, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(o[i], "=")
		if k == key {
			return Unquote(v), true
		}
	}
	return "", false
}

// Has reports whether the list contains the flag or key name.
func (o Options) Has(name string) bool {
	_, ok := o.Get(name)
	return ok
}

// Unquote removes one pair of surrounding double quotes from v, if present.
func Unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
