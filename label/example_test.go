package label_test

import (
	"fmt"

	"github.com/selmount/selmount/label"
)

func ExampleParse() {
	c, err := label.Parse("system_u:object_r:container_file_t:s0:c1,c2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.User(), c.Role(), c.Type(), c.Level())

	_, err = label.Parse("system_u:object_r:container_file_t:s0:c1024")
	fmt.Println(err)
	// Output:
	// system_u object_r container_file_t s0:c1,c2
	// label.Parse("system_u:object_r:container_file_t:s0:c1024"): category: c1024 out of range (c0..c1023) (at offset 39)
}

func ExampleContext_String() {
	for _, s := range []string{
		"system_u:object_r:container_file_t:s0:c2,c1",
		"system_u:object_r:container_file_t:s0:c3,c1,c2",
		"system_u:object_r:container_file_t:s0:c0.c1,c7",
		"system_u:object_r:container_file_t:s0:c5-s0:c5",
	} {
		fmt.Println(label.MustParse(s))
	}
	a := label.MustParse("system_u:object_r:container_file_t:s0:c2,c1")
	b := label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	fmt.Println(a == b)
	// Output:
	// system_u:object_r:container_file_t:s0:c1,c2
	// system_u:object_r:container_file_t:s0:c1.c3
	// system_u:object_r:container_file_t:s0:c0,c1,c7
	// system_u:object_r:container_file_t:s0:c5
	// true
}

func ExampleParseLevel() {
	l := label.MustParseLevel("s0-s0:c0.c1023")
	fmt.Println(l, l.IsRange(), l.Low(), l.High())
	// Output:
	// s0-s0:c0.c1023 true s0 s0:c0.c1023
}

func ExampleDefaults_FileLabel() {
	d, _ := label.Profile("fedora")

	fl, err := d.FileLabel(&label.Options{Type: "spc_t", Level: "s0:c2,c1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(fl.Raw)     // what the kubelet compares
	fmt.Println(fl.Context) // canonical
	fmt.Println(label.MountOption(fl.Raw))

	fl, _ = d.FileLabel(&label.Options{Type: "container_t"})
	fmt.Println(fl.Raw, fl.RandomLevel)
	// Output:
	// system_u:object_r:container_file_t:s0:c2,c1
	// system_u:object_r:container_file_t:s0:c1,c2
	// context="system_u:object_r:container_file_t:s0:c2,c1"
	// system_u:object_r:container_file_t:s0:<random> true
}

func ExampleContext_MountOption() {
	c := label.MustParse("system_u:object_r:container_file_t:s0:c1,c2")
	fmt.Println(c.MountOption())
	fmt.Println(c.Shared().MountOption())
	fmt.Println(c.Private(label.MustParseLevel("s0:c7,c3")).MountOption())
	// Output:
	// context="system_u:object_r:container_file_t:s0:c1,c2"
	// context="system_u:object_r:container_file_t:s0"
	// context="system_u:object_r:container_file_t:s0:c3,c7"
}
