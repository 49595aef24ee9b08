// Package label models SELinux security contexts as comparable values.
//
// A Context is "user:role:type[:level]", for example
// "system_u:object_r:container_file_t:s0:c1,c2". Context and Level are small
// comparable values: they can be compared with == and used as map keys, and
// two labels that differ only in how their categories are written
// ("s0:c2,c1" and "s0:c1,c2", or "s0:c1,c2,c3" and "s0:c1.c3") are equal. The
// String method prints the canonical form, which is what the kernel prints.
//
// The zero Context is not a valid label ("no label"); IsZero reports it, and it
// marshals to "" and back.
//
// Kubernetes does not compare labels this way: the kubelet and the
// kube-controller-manager compare label strings exactly as written. Code that
// predicts their behaviour must keep the raw strings; see package decide.
//
// The package has no dependency on Kubernetes or on the running system.
package label

import (
	"fmt"
	"strings"
)

// Context is an SELinux security context. See the package documentation.
type Context struct {
	user, role, typ string
	level           Level
}

// New returns the context user:role:typ:level. level may be the zero Level for
// a context without MLS part. Each identifier is validated as by Parse.
func New(user, role, typ string, level Level) (Context, error) {
	in := user + ":" + role + ":" + typ
	if !level.IsZero() {
		in += ":" + level.String()
	}
	for _, part := range []struct{ name, v string }{{"user", user}, {"role", role}, {"type", typ}} {
		if err := checkIdent("label.New", in, part.name, part.v, -1); err != nil {
			return Context{}, err
		}
	}
	return Context{user: user, role: role, typ: typ, level: level}, nil
}

// Parse parses a context "user:role:type" or "user:role:type:level".
func Parse(s string) (Context, error) {
	const fn = "label.Parse"
	if s == "" {
		return Context{}, &ParseError{Func: fn, In: s, Part: "context", At: -1, Msg: "empty"}
	}
	parts := strings.SplitN(s, ":", 4)
	names := [...]string{"user", "role", "type"}
	if len(parts) < 3 {
		return Context{}, &ParseError{Func: fn, In: s, Part: names[len(parts)], At: -1, Msg: "missing"}
	}
	off := 0
	for i, name := range names {
		if err := checkIdent(fn, s, name, parts[i], off); err != nil {
			return Context{}, err
		}
		off += len(parts[i]) + 1
	}
	c := Context{user: parts[0], role: parts[1], typ: parts[2]}
	if len(parts) == 4 {
		p := levelParser{fn: fn, in: s}
		lv, err := p.parse(parts[3], off)
		if err != nil {
			return Context{}, err
		}
		c.level = lv
	}
	return c, nil
}

// MustParse is like Parse but panics on error. It is meant for tests and for
// hard-coded labels.
func MustParse(s string) Context {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

func checkIdent(fn, in, part, v string, at int) error {
	if v == "" {
		return &ParseError{Func: fn, In: in, Part: part, At: at, Msg: "empty"}
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-' {
			continue
		}
		pos := -1
		if at >= 0 {
			pos = at + i
		}
		return &ParseError{Func: fn, In: in, Part: part, At: pos, Msg: fmt.Sprintf("bad character %q", ch)}
	}
	return nil
}

// IsZero reports whether c is the zero Context.
func (c Context) IsZero() bool { return c.typ == "" }

// User returns the SELinux user, e.g. "system_u".
func (c Context) User() string { return c.user }

// Role returns the role, e.g. "object_r".
func (c Context) Role() string { return c.role }

// Type returns the type, e.g. "container_file_t".
func (c Context) Type() string { return c.typ }

// Level returns the MLS/MCS level; the zero Level if the context has none.
func (c Context) Level() Level { return c.level }

// WithUser returns a copy of c with another user. It does not validate.
func (c Context) WithUser(u string) Context { c.user = u; return c }

// WithRole returns a copy of c with another role.
func (c Context) WithRole(r string) Context { c.role = r; return c }

// WithType returns a copy of c with another type.
func (c Context) WithType(t string) Context { c.typ = t; return c }

// WithLevel returns a copy of c with another level.
func (c Context) WithLevel(l Level) Context { c.level = l; return c }

// AppendTo appends the canonical text form of c to b.
func (c Context) AppendTo(b []byte) []byte {
	if c.IsZero() {
		return b
	}
	b = append(b, c.user...)
	b = append(b, ':')
	b = append(b, c.role...)
	b = append(b, ':')
	b = append(b, c.typ...)
	if !c.level.IsZero() {
		b = append(b, ':')
		b = c.level.AppendTo(b)
	}
	return b
}

// String returns the canonical form of c, or "" for the zero Context.
func (c Context) String() string { return string(c.AppendTo(nil)) }

// Compare orders contexts by user, role, type, then level. It returns -1, 0
// or +1.
func (c Context) Compare(o Context) int {
	if r := strings.Compare(c.user, o.user); r != 0 {
		return r
	}
	if r := strings.Compare(c.role, o.role); r != 0 {
		return r
	}
	if r := strings.Compare(c.typ, o.typ); r != 0 {
		return r
	}
	return c.level.Compare(o.level)
}

// MarshalText implements encoding.TextMarshaler.
func (c Context) MarshalText() ([]byte, error) { return c.AppendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" gives the zero Context.
func (c *Context) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = Context{}
		return nil
	}
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MountOption returns the mount option that mounts a filesystem with label c:
// context="<label>". The double quotes keep a comma in the category set from
// splitting the option list; this is the form the kubelet hands to CSI
// drivers (fmt's %q, as upstream formats it).
func (c Context) MountOption() string { return MountOption(c.String()) }

// SameContext reports whether two label strings parse to one context,
// however their categories are written ("s0:c2,c1" and "s0:c1,c2").
func SameContext(a, b string) bool {
	ca, err1 := Parse(a)
	cb, err2 := Parse(b)
	return err1 == nil && err2 == nil && ca == cb
}

// MountOption formats a raw label string as the kubelet does:
// context="<label>". Use it where the label must stay exactly as written.
func MountOption(raw string) string { return fmt.Sprintf("context=%q", raw) }

// Shared returns the shared form of a file label, as ":z" applies it: the
// same user, role and type with every category removed, so that any
// container of the same type can use the content.
func (c Context) Shared() Context {
	c.level = c.level.WithoutCategories()
	return c
}

// Private returns the private form of a file label, as ":Z" applies it: the
// label with the container's own level, so that only that container can use
// the content.
func (c Context) Private(containerLevel Level) Context {
	c.level = containerLevel
	return c
}
