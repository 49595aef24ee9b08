package csitest

import (
	"strings"
	"testing"

	"github.com/selmount/selmount/mountinfo"
)

func TestPluginEnvFromMounts(t *testing.T) {
	line := func(s string) mountinfo.Mount {
		m, err := mountinfo.ParseLine(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	rw := line("30 25 0:22 / /sys/fs/selinux rw,nosuid,noexec,relatime - selinuxfs selinuxfs rw")
	ro := line("30 25 0:22 / /sys/fs/selinux ro,nosuid,noexec,relatime - selinuxfs selinuxfs rw")
	tmp := line("30 25 0:23 / /sys/fs/selinux rw - tmpfs tmpfs rw")
	for _, c := range []struct {
		config bool
		mounts []mountinfo.Mount
		want   string // "" for nothing missing
	}{
		{true, []mountinfo.Mount{rw}, ""},
		{false, []mountinfo.Mount{rw}, "/proc/7/root/etc/selinux/config does not exist"},
		{true, []mountinfo.Mount{ro}, "mounted read-only"},
		{true, []mountinfo.Mount{rw, ro}, "mounted read-only"}, // the last mount hides the first
		{true, []mountinfo.Mount{tmp}, "is tmpfs, not selinuxfs"},
		{false, nil, "does not exist; nothing is mounted at /sys/fs/selinux"},
	} {
		env := pluginEnvFromMounts("/proc/7/root", c.config, c.mounts)
		if (c.want == "") != (env.Why == "") || !strings.Contains(env.Why, c.want) {
			t.Errorf("config %t, %d mounts: Why %q, want %q", c.config, len(c.mounts), env.Why, c.want)
		}
	}
	if got := PluginRoot(42); got != "/proc/42/root" {
		t.Errorf("PluginRoot(42) = %q", got)
	}
}
