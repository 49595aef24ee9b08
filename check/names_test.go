package check

import (
	"strings"
	"testing"
)

func TestNamesList(t *testing.T) {
	names := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a' + i))
		}
		return out
	}
	cases := []struct {
		n, max int
		want   string
	}{
		{0, 3, ""},
		{1, 3, "a"},
		{3, 3, "a, b, c"},
		{4, 3, "a, b, c, d"}, // "and 1 more" is no shorter
		{5, 3, "a, b, c and 2 more"},
		{20, 5, "a, b, c, d, e and 15 more"},
	}
	for _, tc := range cases {
		if got := namesList(names(tc.n), tc.n, tc.max); got != tc.want {
			t.Errorf("namesList(%d names, max %d) = %q, want %q", tc.n, tc.max, got, tc.want)
		}
	}
	// subjectsList formats only what it shows.
	ss := make([]Subject, 1000)
	for i := range ss {
		ss[i] = Subject{Kind: "Pod", Namespace: "ns", Name: "p"}
	}
	if got := subjectsList(ss, 2); got != "Pod ns/p, Pod ns/p and 998 more" {
		t.Errorf("subjectsList = %q", got)
	}
}

// TestFindingSetMergesRepeats: a finding repeated for several pods of one
// workload is kept once; different subjects are different findings.
func TestFindingSetMergesRepeats(t *testing.T) {
	seen := findingSet{}
	f := Finding{Type: TypeSlowPath, Property: PropertyNoLevel, Volume: "v", Subjects: []Subject{{Kind: "Deployment", Namespace: "ns", Name: "web"}}}
	g := f
	g.Subjects = []Subject{{Kind: "Deployment", Namespace: "ns", Name: "api"}}
	var list []Finding
	for range 3 {
		list = seen.append(list, f, g, Finding{})
	}
	if len(list) != 2 || !strings.Contains(list[1].Subjects[0].Name, "api") {
		t.Fatalf("got %d findings, want web and api once each: %+v", len(list), list)
	}
}
