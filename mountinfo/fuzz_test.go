package mountinfo

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every line it accepts comes
// back unchanged from ParseLine(m.String()), and that a line the slow
// reference parser accepts is parsed the same way by the fast one.
func FuzzParse(f *testing.F) {
	seeds := []string{
		// A plain line from a Debian host.
		"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
		// Escaped space in the mount point, escaped backslash in the source.
		`42 27 0:39 / /tmp/cap/with\040space rw,relatime - tmpfs src\040with\134ttab rw,size=1024k,mode=755`,
		// Optional fields: a shared and a slave mount.
		"43 27 0:40 / /tmp/cap/shared rw,relatime shared:1 - tmpfs tmpfs rw",
		"44 27 0:40 / /tmp/cap/slave rw,relatime shared:5 master:1 propagate_from:2 - tmpfs tmpfs rw",
		// SELinux context with a quoted comma, no seclabel.
		`301 29 259:5 / /var/lib/kubelet/x rw,relatime shared:150 - ext4 /dev/nvme1n1 rw,context="system_u:object_r:container_file_t:s0:c314,c894"`,
		// seclabel in the super options.
		"29 22 259:2 / /var/lib/kubelet rw,relatime shared:20 - xfs /dev/nvme0n1p2 rw,seclabel,attr2,inode64",
		// A root that is not a path (nsfs).
		"350 22 0:90 /net:[4026531840] /run/netns/cni-1 rw shared:190 - nsfs nsfs rw",
		// An empty source.
		"23 27 0:22 / /x rw - tmpfs  rw",
		// An option value with an escaped comma, an unbalanced quote.
		`1 1 0:1 / / rw - t s x=a\054b,"c,d`,
		// Several lines, one blank.
		"1 0 0:1 / / rw - rootfs rootfs rw\n\n2 1 0:2 / /proc rw - proc proc rw\n",
		// Malformed: no separator, too few fields, a bad device.
		"1 2 3:4 / /x rw x t s o",
		"1 2",
		"1 2 3 / /x rw - t s o",
		// Escapes that are not escapes.
		`1 1 0:1 /\9 /\04 rw - t \777 o`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		mounts, _ := Parse(strings.NewReader(in))
		for _, m := range mounts {
			line := m.String()
			again, err := ParseLine(line)
			if err != nil {
				t.Fatalf("ParseLine(%q) of a formatted mount: %v", line, err)
			}
			if !reflect.DeepEqual(again, m) {
				t.Fatalf("round trip of %q:\n got %#v\nwant %#v", line, again, m)
			}
		}
		for _, line := range strings.Split(in, "\n") {
			fast, err := ParseLine(line)
			slow, ok := slowParseLine(line)
			if err == nil && !ok {
				t.Fatalf("fast parser accepted %q, the slow one did not", line)
			}
			if err == nil && !reflect.DeepEqual(normalize(fast), normalize(slow)) {
				t.Fatalf("parsers disagree on %q:\nfast %#v\nslow %#v", line, fast, slow)
			}
		}
	})
}
