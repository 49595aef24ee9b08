package label

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrSyntax is matched by every *ParseError through errors.Is.
var ErrSyntax = errors.New("invalid SELinux label")

// ParseError reports an invalid context or level. It names the input, the
// part of the label that is wrong and, where there is one, the offset of the
// offending character.
type ParseError struct {
	Func string // "label.Parse" or "label.ParseLevel"
	In   string // the whole input
	Part string // "user", "role", "type", "level", "sensitivity", "category", ...
	At   int    // byte offset into In of the problem, or -1
	Msg  string
}

func (e *ParseError) Error() string {
	s := fmt.Sprintf("%s(%q): %s", e.Func, e.In, e.Part)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.At >= 0 {
		s += " (at offset " + strconv.Itoa(e.At) + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrSyntax) true for every ParseError.
func (e *ParseError) Is(target error) bool { return target == ErrSyntax }

// ParseLevel parses an MLS/MCS level or range such as "s0", "s0:c1,c2",
// "s0:c0.c5,c9" or "s0-s0:c0.c1023". It accepts categories in any order and
// repeated ones (as the kernel does) and rejects sensitivities above s15,
// categories above c1023, leading zeros, empty parts, dotted runs whose end
// is not above their start, and ranges whose high level does not dominate the
// low one.
func ParseLevel(s string) (Level, error) {
	p := levelParser{fn: "label.ParseLevel", in: s}
	return p.parse(s, 0)
}

// MustParseLevel is like ParseLevel but panics on error. It is meant for
// tests and for constants in code.
func MustParseLevel(s string) Level {
	l, err := ParseLevel(s)
	if err != nil {
		panic(err)
	}
	return l
}

type levelParser struct {
	fn, in string
}

func (p *levelParser) errf(part string, at int, format string, args ...any) error {
	return &ParseError{Func: p.fn, In: p.in, Part: part, At: at, Msg: fmt.Sprintf(format, args...)}
}

// parse parses s, which starts at offset base of p.in.
func (p *levelParser) parse(s string, base int) (Level, error) {
	if s == "" {
		return Level{}, p.errf("level", base, "empty")
	}
	dash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			if dash >= 0 {
				return Level{}, p.errf("level", base+i, "more than one '-' in range")
			}
			dash = i
		}
	}
	if dash < 0 {
		l, err := p.secLevel(s, base)
		if err != nil {
			return Level{}, err
		}
		return SingleLevel(l), nil
	}
	low, err := p.secLevel(s[:dash], base)
	if err != nil {
		return Level{}, err
	}
	high, err := p.secLevel(s[dash+1:], base+dash+1)
	if err != nil {
		return Level{}, err
	}
	if !high.Dominates(low) {
		return Level{}, p.errf("level", base+dash+1, "high level %q does not dominate low level %q", s[dash+1:], s[:dash])
	}
	return Level{low: low, high: high, valid: true}, nil
}

func (p *levelParser) secLevel(s string, base int) (SecLevel, error) {
	var l SecLevel
	if s == "" {
		return l, p.errf("sensitivity", base, "empty")
	}
	if s[0] != 's' {
		return l, p.errf("sensitivity", base, "must start with 's', found %q", s[0])
	}
	end := len(s)
	for i := 1; i < len(s); i++ {
		if s[i] == ':' {
			end = i
			break
		}
	}
	n, err := p.number("sensitivity", s[1:end], base+1, MaxSensitivity)
	if err != nil {
		return l, err
	}
	l.Sensitivity = uint8(n)
	if end == len(s) {
		return l, nil
	}
	cats, err := p.categories(s[end+1:], base+end+1)
	if err != nil {
		return l, err
	}
	l.Categories = cats
	return l, nil
}

func (p *levelParser) categories(s string, base int) (Categories, error) {
	var c Categories
	if s == "" {
		return c, p.errf("category", base, "empty category list after ':'")
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ',' {
			continue
		}
		item := s[start:i]
		if item == "" {
			return c, p.errf("category", base+start, "empty category in list")
		}
		dot := -1
		for j := 0; j < len(item); j++ {
			if item[j] == '.' {
				if dot >= 0 {
					return c, p.errf("category", base+start+j, "more than one '.' in category run")
				}
				dot = j
			}
		}
		if dot < 0 {
			n, err := p.category(item, base+start)
			if err != nil {
				return c, err
			}
			c = c.With(n)
		} else {
			a, err := p.category(item[:dot], base+start)
			if err != nil {
				return c, err
			}
			b, err := p.category(item[dot+1:], base+start+dot+1)
			if err != nil {
				return c, err
			}
			if b <= a {
				return c, p.errf("category", base+start, "run %q does not ascend", item)
			}
			for k := a; k <= b; k++ {
				c = c.With(k)
			}
		}
		start = i + 1
	}
	return c, nil
}

func (p *levelParser) category(s string, base int) (int, error) {
	if s == "" {
		return 0, p.errf("category", base, "empty")
	}
	if s[0] != 'c' {
		return 0, p.errf("category", base, "must start with 'c', found %q", s[0])
	}
	return p.number("category", s[1:], base+1, MaxCategory)
}

// number parses a decimal without sign or leading zeros, at most max.
func (p *levelParser) number(part, s string, base, max int) (int, error) {
	if s == "" {
		return 0, p.errf(part, base, "missing number")
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; ch < '0' || ch > '9' {
			return 0, p.errf(part, base+i, "bad character %q", ch)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, p.errf(part, base, "leading zero in %q", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
		if n > max {
			prefix := "s"
			if part == "category" {
				prefix = "c"
			}
			return 0, p.errf(part, base, "%s%s out of range (%s0..%s%d)", prefix, s, prefix, prefix, max)
		}
	}
	return n, nil
}
