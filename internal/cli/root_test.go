package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	write := func(root, name, content string) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// cgroup v2: the limit of a parent applies; "max" is none.
	v2 := t.TempDir()
	write(v2, "proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
	write(v2, "sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n")
	write(v2, "sys/fs/cgroup/kubepods/pod1/memory.max", "536870912\n")
	write(v2, "sys/fs/cgroup/kubepods/memory.max", "1073741824\n")
	if n, ok := cgroupMemoryLimit(v2); !ok || n != 512<<20 {
		t.Errorf("v2: got %d, %v; want 512 MiB", n, ok)
	}
	// cgroup v1, unlimited: none.
	v1 := t.TempDir()
	write(v1, "proc/self/cgroup", "5:devices:/\n4:memory:/job/42\n0::/\n")
	write(v1, "sys/fs/cgroup/memory/job/42/memory.limit_in_bytes", "9223372036854771712\n")
	write(v1, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
	if n, ok := cgroupMemoryLimit(v1); ok {
		t.Errorf("v1 unlimited: got %d", n)
	}
	// cgroup v1 with a limit, in a joined controller list.
	write(v1, "proc/self/cgroup", "4:cpu,memory:/job/42\n")
	write(v1, "sys/fs/cgroup/memory/job/42/memory.limit_in_bytes", "268435456\n")
	if n, ok := cgroupMemoryLimit(v1); !ok || n != 256<<20 {
		t.Errorf("v1: got %d, %v; want 256 MiB", n, ok)
	}
	// No cgroup information at all.
	if _, ok := cgroupMemoryLimit(t.TempDir()); ok {
		t.Error("no /proc/self/cgroup: want no limit")
	}
}
