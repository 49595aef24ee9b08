package csitest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/selmount/selmount/csitest"
	"github.com/selmount/selmount/csitest/refdriver"
	"github.com/selmount/selmount/ctxmount"
)

// The tests below need root on an SELinux-enforcing kernel and an ext4
// image to copy for each volume ($SELMOUNT_FIXTURES/small.img): they run in
// the VM of hack/selinux-vm (hack/test.d/40-selinux-vm.sh), against the
// reference driver mounting for real, and the kernel deciding.

func needSELinuxVM(t *testing.T) string {
	t.Helper()
	h, err := ctxmount.CheckHost()
	if err != nil || !h.SELinuxEnabled || !h.Enforcing || os.Geteuid() != 0 {
		t.Skip("needs root on an SELinux-enforcing kernel: runs in hack/selinux-vm")
	}
	img := filepath.Join(os.Getenv("SELMOUNT_FIXTURES"), "small.img")
	if _, err := os.Stat(img); os.Getenv("SELMOUNT_FIXTURES") == "" || err != nil {
		t.Skip("SELMOUNT_FIXTURES/small.img is missing")
	}
	return img
}

// selinuxConfig makes /etc/selinux/config present or absent for the test.
func selinuxConfig(t *testing.T, present bool) {
	t.Helper()
	const p = "/etc/selinux/config"
	old, had := os.ReadFile(p)
	if present {
		os.MkdirAll("/etc/selinux", 0o755)
		if err := os.WriteFile(p, []byte("SELINUX=enforcing\nSELINUXTYPE=default\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		os.Remove(p)
	}
	t.Cleanup(func() {
		if had == nil {
			os.WriteFile(p, old, 0o644)
		} else {
			os.Remove(p)
		}
	})
}

func runReal(t *testing.T, img string, opt refdriver.Options, cfg csitest.Config) *csitest.Report {
	t.Helper()
	opt.Template = img
	opt.StateDir = t.TempDir()
	ep := startDriver(t, opt)
	cfg.Endpoint, cfg.ControllerEndpoint = ep, ep
	cfg.StagingDir, cfg.TargetDir = t.TempDir(), t.TempDir()
	cfg.Timeout = 2 * time.Minute
	rep, err := csitest.Run(context.Background(), cfg)
	var b strings.Builder
	csitest.WriteText(&b, rep)
	t.Log("\n" + b.String())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestVMReferenceDriverPassesEveryRule(t *testing.T) {
	img := needSELinuxVM(t)
	selinuxConfig(t, true)
	for _, c := range []struct {
		name   string
		opt    refdriver.Options
		shared bool
	}{
		{"ext4", refdriver.Options{Mode: refdriver.ModeExt4}, false},
		{"shared", refdriver.Options{Mode: refdriver.ModeShared}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := runReal(t, img, c.opt, csitest.Config{Shared: c.shared, MountOptions: []string{"noexec"}, PluginRoot: "/"})
			for _, res := range rep.Results {
				wantSt := csitest.Pass
				switch {
				case res.ID == csitest.RuleBlock.ID, res.ID == csitest.RuleShared.ID && !c.shared,
					res.ID == csitest.RuleNoRelabel.ID && c.shared: // tmpfs keeps no content across unstage
					wantSt = csitest.Skip
				}
				if res.Status != wantSt {
					t.Errorf("%s: %s %s, want %s", res.ID, res.Status, res.Reason, wantSt)
				}
			}
		})
	}
}

func TestVMBrokenVariantsAreCaught(t *testing.T) {
	img := needSELinuxVM(t)
	for _, c := range []struct {
		broken   refdriver.Broken
		mode     refdriver.Mode
		config   bool // /etc/selinux/config present
		cfg      csitest.Config
		rule     string
		text     string
		alsoRule string
		alsoText string
	}{
		{broken: refdriver.DropContext, config: true, rule: "SEL-002", text: "is mounted without context="},
		{broken: refdriver.IgnoreFlags, config: true, cfg: csitest.Config{MountOptions: []string{"noexec"}}, rule: "SEL-002", text: "the mount options noexec are missing too"},
		{broken: refdriver.UtilLinuxWithoutConfig, cfg: csitest.Config{PluginRoot: "/"}, rule: "SEL-002", text: "util-linux mount(8) dropped it",
			alsoRule: "SEL-012", alsoText: "/etc/selinux/config does not exist"},
		{broken: refdriver.ShareSuperblock, mode: refdriver.ModeShared, config: true, cfg: csitest.Config{Shared: true}, rule: "SEL-010", text: "nosharecache",
			alsoRule: "SEL-005", alsoText: "want system_u:object_r:container_file_t:s0:c3,c4"},
	} {
		t.Run(string(c.broken), func(t *testing.T) {
			selinuxConfig(t, c.config)
			rep := runReal(t, img, refdriver.Options{Mode: c.mode, Broken: c.broken}, c.cfg)
			want(t, rep, c.rule, csitest.Fail, c.text)
			if c.alsoRule != "" {
				want(t, rep, c.alsoRule, csitest.Fail, c.alsoText)
			}
			// Whatever the variant broke, csi-test cleaned up after it.
			want(t, rep, "SEL-013", csitest.Pass, "")
		})
	}
}
