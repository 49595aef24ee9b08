package fastyaml

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	randomDocs = flag.Int("random-docs", 20000, "number of documents TestRandomDocs generates")
	randomSeed = flag.Uint64("random-seed", 1, "seed of TestRandomDocs")
)

// fragments are the pieces TestRandomDocs assembles lines from: mostly
// the handled subset, with a few characters that are not.
var (
	randScalars = []string{
		"a", "b", "name", "x y", "0", "1", "-1", "+1", "007", "08", "0x1F", "0o17", "0b11", "1_0", "1e3", "1.5", ".5", "-.5",
		"1.", "1e400", ".inf", ".nan", "~", "null", "Null", "true", "yes", "No", "on", "OFF", "y", "n", "Y2", "2001-12-14",
		"1Gi", "s0:c1,c2", "http://x:1/#f", "a#b", "a:b", "-a", "?a", ":a", "a]", "a}", "a,b", "<<", "=", "9223372036854775808",
		"18446744073709551616", "-0", "-0.0", "0.0", "1e-7", "1e21", "é", "✓", "😀", "a'b", "a\"b", "a\\b", "a  b",
		"'q'", "'it''s'", "''", "'a: b'", "'# c'", "\"d\"", "\"\"", "\"a\\tb\"", "\"\\x41\"", "\"\\u00e9\"", "\"\\U0001F600\"",
		"\"\\N\\_\\L\\P\"", "\"\\0\\e\"", "\"a: b\"", "\"#\"", "\"\\\"\"", "\"\\/\"", "'\t'", "\"\t\"",
		"&a x", "*a", "!t x", "|", ">", "@x", "`x`", "%x",
	}
	randKeys = []string{
		"a", "b", "c", "name", "k y", "'a'", "\"b\"", "\"\\x61\"", "''", "1", "true", "y", "~", "<<", "'<<'", "2001-12-14", "-k", "?k", ":k", "k#", "é",
	}
	randSpaces = []string{"", " ", "  ", "\t"}
	randEnds   = []string{"", "", "", " ", " # c", "# c", "  #c: d", ":", " :", ","}
)

func pick(r *rand.Rand, l []string) string { return l[r.IntN(len(l))] }

func randFlow(r *rand.Rand, depth int) string {
	if depth > 2 || r.IntN(3) == 0 {
		return pick(r, randScalars)
	}
	var b strings.Builder
	n := r.IntN(4)
	if r.IntN(2) == 0 {
		b.WriteString("[")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(pick(r, []string{",", ", ", " , ", ",,"}))
			}
			b.WriteString(randFlow(r, depth+1))
		}
		b.WriteString(pick(r, []string{"]", "]", " ]", ",]", ""}))
	} else {
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(pick(r, []string{",", ", ", " , "}))
			}
			b.WriteString(pick(r, randKeys))
			b.WriteString(pick(r, []string{": ", ": ", ":", " : ", ""}))
			if r.IntN(5) > 0 {
				b.WriteString(randFlow(r, depth+1))
			}
		}
		b.WriteString(pick(r, []string{"}", "}", " }", ",}", ""}))
	}
	return b.String()
}

func randValue(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return ""
	case 1:
		return randFlow(r, 0)
	}
	return pick(r, randScalars)
}

// randDoc assembles lines of keys, entries and values at random
// indentations: many are well-formed and in the subset, many are not.
func randDoc(r *rand.Rand) string {
	var b strings.Builder
	ind := 0
	for n := r.IntN(8) + 1; n > 0; n-- {
		switch r.IntN(6) {
		case 0:
			ind += 2
		case 1:
			ind -= 2
		case 2:
			ind += r.IntN(3) - 1
		}
		if ind < 0 {
			ind = 0
		}
		b.WriteString(strings.Repeat(" ", ind))
		switch r.IntN(8) {
		case 0, 1, 2:
			b.WriteString(pick(r, randKeys) + ":" + pick(r, randSpaces) + randValue(r))
		case 3, 4:
			b.WriteString("-" + pick(r, randSpaces))
			if r.IntN(2) == 0 {
				b.WriteString(pick(r, randKeys) + ": " + randValue(r))
			} else {
				b.WriteString(randValue(r))
			}
		case 5:
			b.WriteString("# comment")
		case 6:
			b.WriteString(randValue(r))
		case 7:
			b.WriteString("- - " + randValue(r))
		}
		b.WriteString(pick(r, randEnds))
		b.WriteString(pick(r, []string{"\n", "\n", "\n", "\n\n", ""}))
	}
	return b.String()
}

// TestRandomDocs compares the fast path with sigs.k8s.io/yaml on random
// documents assembled from tricky fragments, which reach the accepted
// paths more often than the byte-level fuzzer does.
func TestRandomDocs(t *testing.T) {
	n := *randomDocs
	if testing.Short() {
		n /= 10
	}
	r := rand.New(rand.NewPCG(*randomSeed, 2))
	accepted := 0
	for i := 0; i < n; i++ {
		if compare(t, []byte(randDoc(r))) {
			accepted++
		}
	}
	t.Logf("%d of %d random documents accepted", accepted, n)
	if accepted < n/10 {
		t.Errorf("only %d of %d random documents accepted", accepted, n)
	}
}
