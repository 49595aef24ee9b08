package label_test

import (
	"errors"
	"testing"

	"github.com/selmount/selmount/label"
)

func FuzzParse(f *testing.F) {
	// Each seed is there for the reason in its comment.
	f.Add("system_u:object_r:container_file_t:s0:c1,c2")           // Fedora container file label with a runtime-allocated pair
	f.Add("system_u:object_r:container_file_t:s0:c2,c1")           // same pair out of order: must canonicalise to c1,c2
	f.Add("system_u:system_r:container_t")                         // no level at all (MLS disabled)
	f.Add("unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023") // full range with a dotted run
	f.Add("u:r:t:s0:c1-s0:c1")                                     // range whose ends are equal: collapses
	f.Add("User-1.x:Role_2:Type.3-x:s15")                          // every punctuation character identifiers allow, top sensitivity
	f.Add("system_u:object_r")                                     // type missing: too few parts
	f.Add("::t:s0")                                                // empty user and role
	f.Add("u:r:t:s0:c1:c2")                                        // a fifth colon-separated part lands in the level
	f.Add("u:r:t:")                                                // empty level after the last colon
	f.Add("u:r:t$:s0")                                             // bad character in an identifier, reported with its offset
	f.Add("u:r:t\xff:s0")                                          // invalid UTF-8 byte in an identifier
	f.Add("\u00fc:r:t")                                            // valid UTF-8 but not ASCII

	f.Fuzz(func(t *testing.T, s string) {
		c, err := label.Parse(s)
		checkContextAgainstSlow(t, s)
		if err != nil {
			checkFuzzError(t, err, "label.Parse", s)
			if c != (label.Context{}) {
				t.Errorf("Parse(%q) returned %q with an error", s, c)
			}
			return
		}
		if c.IsZero() {
			t.Fatalf("Parse(%q) succeeded with the zero Context", s)
		}
		canon := c.String()
		c2, err := label.Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, canon, err)
		}
		if c2 != c {
			t.Fatalf("Parse(%q) = %q, but Parse of its String gives a different value %q", s, canon, c2)
		}
		if got := c2.String(); got != canon {
			t.Fatalf("String not idempotent: %q -> %q -> %q", s, canon, got)
		}
		if c.Compare(c2) != 0 {
			t.Fatalf("Compare(%q, %q) = %d, want 0", canon, c2, c.Compare(c2))
		}
		var u label.Context
		if err := u.UnmarshalText([]byte(canon)); err != nil || u != c {
			t.Fatalf("UnmarshalText(%q) = %q, %v", canon, u, err)
		}
	})
}

func FuzzParseLevel(f *testing.F) {
	// Each seed is there for the reason in its comment.
	f.Add("s0")                           // smallest valid level
	f.Add("s0:c1,c2")                     // the usual two-category container level
	f.Add("s0:c0.c5,c9")                  // dotted run followed by a single category
	f.Add("s0-s0:c0.c1023")               // full range, kept as a range
	f.Add("s0:c2,c1")                     // unordered categories
	f.Add("s3:c5,c5")                     // duplicate category, accepted and printed once
	f.Add("s0:c1,c2,c3")                  // three neighbours print as a dotted run
	f.Add("s0:c0.c1")                     // a run of two prints as a list
	f.Add("s0:c1-s0:c1")                  // range with equal ends collapses
	f.Add("s0:c62,c63,c64,c65,c127,c128") // runs across the 64-bit words of Categories
	f.Add("s15:c1023")                    // highest valid sensitivity and category
	f.Add("s16")                          // first sensitivity out of range
	f.Add("s0:c1024")                     // first category out of range
	f.Add("s01")                          // leading zero in a sensitivity
	f.Add("s0:c01")                       // leading zero in a category
	f.Add("s0:c5.c3")                     // descending run
	f.Add("s0:c3.c3")                     // run of one written with a dot
	f.Add("s0:")                          // empty category list
	f.Add("s0:c1,,c2")                    // empty list item
	f.Add("s0:c1.")                       // run without an end
	f.Add("s0:c1,c2-s0:c1")               // high level lacks a low category
	f.Add("s1-s0")                        // high sensitivity below low
	f.Add("s0-s0-s0")                     // two dashes
	f.Add("s0:c1.c2.c3")                  // two dots in one run
	f.Add("x0")                           // junk prefix
	f.Add("s99999999999999999999999")     // number too large for any integer type
	f.Add("")                             // empty input

	f.Fuzz(func(t *testing.T, s string) {
		l, err := label.ParseLevel(s)
		checkLevelAgainstSlow(t, s)
		if err != nil {
			checkFuzzError(t, err, "label.ParseLevel", s)
			if l != (label.Level{}) {
				t.Errorf("ParseLevel(%q) returned %q with an error", s, l)
			}
			return
		}
		if l.IsZero() {
			t.Fatalf("ParseLevel(%q) succeeded with the zero Level", s)
		}
		if !l.High().Dominates(l.Low()) {
			t.Fatalf("ParseLevel(%q) = %q: high does not dominate low", s, l)
		}
		canon := l.String()
		l2, err := label.ParseLevel(canon)
		if err != nil {
			t.Fatalf("ParseLevel(%q).String() = %q, which does not parse: %v", s, canon, err)
		}
		if l2 != l {
			t.Fatalf("ParseLevel(%q) = %q, but ParseLevel of its String gives a different value %q", s, canon, l2)
		}
		if got := l2.String(); got != canon {
			t.Fatalf("String not idempotent: %q -> %q -> %q", s, canon, got)
		}
		if l.Compare(l2) != 0 {
			t.Fatalf("Compare(%q, %q) = %d, want 0", canon, l2, l.Compare(l2))
		}
		// The level must work inside a context, too.
		c, err := label.Parse("u:r:t:" + s)
		if err != nil || c.Level() != l {
			t.Fatalf("Parse(\"u:r:t:\"+%q) = %q, %v; want level %q", s, c, err, l)
		}
	})
}

// checkFuzzError checks the invariants of an error from Parse or ParseLevel.
func checkFuzzError(t *testing.T, err error, fn, in string) {
	t.Helper()
	if !errors.Is(err, label.ErrSyntax) {
		t.Fatalf("%s(%q): error %v does not match ErrSyntax", fn, in, err)
	}
	var pe *label.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%s(%q): error %T is not a *ParseError", fn, in, err)
	}
	if pe.Func != fn || pe.In != in || pe.Part == "" || pe.Msg == "" {
		t.Fatalf("%s(%q): malformed ParseError %+v", fn, in, pe)
	}
	if pe.At < -1 || pe.At > len(in) {
		t.Fatalf("%s(%q): ParseError.At = %d, outside [-1, %d]", fn, in, pe.At, len(in))
	}
}
