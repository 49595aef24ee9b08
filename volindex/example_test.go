package volindex_test

import (
	"fmt"
	"time"

	"github.com/selmount/selmount/volindex"
)

// A controller feeds the index from informer handlers (Set on add and
// update, Remove on delete) and reads it from its workers; an admission
// webhook asks which label the kubelet already holds on a node.
func Example() {
	x := volindex.New[string]()
	label := func(l string) volindex.Group { return volindex.Group{Label: l, Policy: volindex.MountOption} }
	x.Set("prod/db-0", []volindex.Use{{Volume: "csi://rbd^h1", Group: label("s0:c1,c2"), Node: "node-1", Created: time.Unix(100, 0),
		Upstream: volindex.Upstream{Seen: true, Label: ":::s0:c1,c2", Policy: volindex.MountOption}}})
	x.Set("prod/backup", []volindex.Use{{Volume: "csi://rbd^h1", Group: label("s0:c3,c4"), Node: "node-1", Created: time.Unix(200, 0),
		Upstream: volindex.Upstream{Seen: true, Label: ":::s0:c3,c4", Policy: volindex.MountOption}}})

	for _, key := range x.Conflicts() {
		v, _ := x.Volume(key)
		fmt.Println(key, "groups:", len(v.Groups), "upstream reports:", v.UpstreamCounts().Reports())
		for _, n := range v.Nodes() {
			fmt.Println("on", n.Name, "the kubelet keeps", n.First)
		}
	}
	x.Remove("prod/backup")
	fmt.Println("conflicts after the fix:", len(x.Conflicts()))
	// Output:
	// csi://rbd^h1 groups: 2 upstream reports: 2
	// on node-1 the kubelet keeps prod/db-0
	// conflicts after the fix: 0
}
