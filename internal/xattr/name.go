package xattr

import (
	"errors"
	"strings"
)

// Name is an extended attribute name such as "security.selinux", kept in the
// NUL-terminated form the kernel takes. The zero Name is not valid.
type Name struct {
	s string
	b []byte // s followed by a NUL byte
}

// NewName checks and converts an attribute name. It must be non-empty,
// contain a namespace prefix ("security.", "user.", "trusted.") and no NUL.
func NewName(s string) (Name, error) {
	if s == "" {
		return Name{}, errors.New("xattr: empty attribute name")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Name{}, errors.New("xattr: attribute name " + quote(s) + " contains a NUL byte")
	}
	if i := strings.IndexByte(s, '.'); i <= 0 || i == len(s)-1 {
		return Name{}, errors.New("xattr: attribute name " + quote(s) + " has no namespace prefix such as \"security.\"")
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return Name{s: s, b: b}, nil
}

// String returns the name without its terminator.
func (n Name) String() string { return n.s }

func quote(s string) string { return "\"" + s + "\"" }
