package csitest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/selmount/selmount/csitest"
	"github.com/selmount/selmount/csitest/refdriver"
	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
)

// fakeSystem observes a ctxmount.FakeMounter: the mount table is the
// fake's, and files live in memory, keyed by the superblock and the path
// inside it, so that they survive a remount of the same volume. A file
// reads back with the label of its mount's context=, or else the label it
// was created with.
type fakeSystem struct {
	fm   *ctxmount.FakeMounter
	host ctxmount.Host
	env  csitest.PluginEnv

	mu    sync.Mutex
	clock int64
	files map[string]csitest.FileInfo
}

func newFakeSystem(fm *ctxmount.FakeMounter) *fakeSystem {
	return &fakeSystem{fm: fm, host: fm.Host, files: map[string]csitest.FileInfo{}}
}

func (s *fakeSystem) Host() (ctxmount.Host, error)       { return s.host, nil }
func (s *fakeSystem) Mounts() ([]mountinfo.Mount, error) { return s.fm.MountInfo(), nil }
func (s *fakeSystem) MkdirAll(p string) error            { return os.MkdirAll(p, 0o750) }
func (s *fakeSystem) RemoveAll(p string) error           { return os.RemoveAll(p) }
func (s *fakeSystem) PluginEnv(root string) (csitest.PluginEnv, error) {
	e := s.env
	e.Root = root
	return e, nil
}

func (s *fakeSystem) key(p string) (string, mountinfo.Mount, error) {
	m, ok := mountinfo.Containing(s.fm.MountInfo(), p)
	if !ok {
		return "", m, fmt.Errorf("%s: not on a fake mount", p)
	}
	rel, _ := filepath.Rel(m.MountPoint, p)
	sb := m.Source
	if m.FSType == "tmpfs" {
		sb = m.Dev()
	}
	return sb + "\x00" + filepath.Join(m.Root, rel), m, nil
}

func (s *fakeSystem) WriteFile(p string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, m, err := s.key(p)
	if err != nil {
		return err
	}
	if m.ReadOnly() {
		return &os.PathError{Op: "open", Path: p, Err: syscall.EROFS}
	}
	s.clock++
	lbl := "system_u:object_r:unlabeled_t:s0"
	if c, ok := m.SELinuxContext(); ok {
		lbl = c
	}
	s.files[k] = csitest.FileInfo{Label: lbl, Ctime: time.Unix(s.clock, 0)}
	return nil
}

func (s *fakeSystem) Stat(p string) (csitest.FileInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, m, err := s.key(p)
	if err != nil {
		return csitest.FileInfo{}, err
	}
	fi, ok := s.files[k]
	if !ok {
		return fi, &os.PathError{Op: "lstat", Path: p, Err: os.ErrNotExist}
	}
	if c, ok := m.SELinuxContext(); ok {
		fi.Label = c
	}
	return fi, nil
}

// startDriver serves a reference driver on a fresh socket and returns its
// endpoint.
func startDriver(t *testing.T, opt refdriver.Options) string {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "csi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	if opt.StateDir == "" {
		opt.StateDir = t.TempDir()
	}
	if opt.Template == "" && opt.Mode != refdriver.ModeShared {
		opt.Template = filepath.Join(t.TempDir(), "template.img")
		if err := os.WriteFile(opt.Template, []byte("not really ext4"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := refdriver.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := refdriver.Listen("unix://" + filepath.Join(sockDir, "csi.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- refdriver.Serve(ctx, l, srv) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "unix://" + filepath.Join(sockDir, "csi.sock")
}

type runCase struct {
	mode    refdriver.Mode
	broken  refdriver.Broken
	helper  bool // the fake behaves as util-linux mount(8) without /etc/selinux/config
	shared  bool
	mntOpts []string
	env     *csitest.PluginEnv
}

func run(t *testing.T, c runCase) (*csitest.Report, error, *ctxmount.FakeMounter) {
	t.Helper()
	fm := ctxmount.NewFakeMounter()
	if c.helper {
		fm.Helper = true
		fm.Host.ConfigPresent = false
	}
	ep := startDriver(t, refdriver.Options{Mode: c.mode, Broken: c.broken, Mounter: fm, Helper: fm})
	sys := newFakeSystem(fm)
	sys.host.ConfigPresent = true // csi-test itself reads the mount table, it does not run mount(8)
	cfg := csitest.Config{Endpoint: ep, ControllerEndpoint: ep, StagingDir: t.TempDir(), TargetDir: t.TempDir(),
		Shared: c.shared, MountOptions: c.mntOpts, System: sys, Timeout: 10 * time.Second}
	if c.env != nil {
		sys.env = *c.env
		cfg.PluginRoot = "/proc/1/root"
	}
	rep, err := csitest.Run(context.Background(), cfg)
	if rep == nil {
		t.Fatalf("Run returned no report (err %v)", err)
	}
	if t.Failed() || testing.Verbose() {
		var b strings.Builder
		csitest.WriteText(&b, rep)
		t.Log("\n" + b.String())
	}
	return rep, err, fm
}

// want checks each listed rule's status and that its reason names the rule
// and contains the given text.
func want(t *testing.T, rep *csitest.Report, id string, st csitest.Status, text string) {
	t.Helper()
	res, ok := rep.Result(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	if res.Status != st || !strings.HasPrefix(res.Reason, res.ID+" "+res.Name+": ") || !strings.Contains(res.Reason, text) {
		t.Errorf("%s: got %s %q, want %s containing %q", id, res.Status, res.Reason, st, text)
	}
}

func TestReferenceDriverPassesEveryRule(t *testing.T) {
	env := &csitest.PluginEnv{ConfigPresent: true, SelinuxfsFSType: "selinuxfs"}
	rep, err, fm := run(t, runCase{mntOpts: []string{"noexec"}, env: env})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		switch res.ID {
		case csitest.RuleBlock.ID, csitest.RuleShared.ID:
			if res.Status != csitest.Skip {
				t.Errorf("%s: %s %s", res.ID, res.Status, res.Reason)
			}
		default:
			if res.Status != csitest.Pass {
				t.Errorf("%s: %s %s", res.ID, res.Status, res.Reason)
			}
		}
	}
	if rep.Driver.Name != refdriver.Name || len(rep.Labels) != 2 {
		t.Errorf("driver %+v labels %q", rep.Driver, rep.Labels)
	}
	if left := fm.MountPoints(); len(left) != 0 {
		t.Errorf("left mounted: %q", left)
	}
	// The driver got the kubelet's flags: context= last, quoted.
	var staged bool
	for _, l := range fm.Log() {
		if strings.HasSuffix(l, `ext4 noexec,context="system_u:object_r:container_file_t:s0:c1,c2"`) {
			staged = true
		}
	}
	if !staged {
		t.Errorf("no NodeStage mount with the kubelet's flags in %q", fm.Log())
	}
}

func TestBrokenVariantsAreCaught(t *testing.T) {
	for _, c := range []struct {
		name string
		runCase
		rule, text string
	}{
		{"drop-context", runCase{broken: refdriver.DropContext}, "SEL-002", "is mounted without context="},
		{"ignore-flags", runCase{broken: refdriver.IgnoreFlags, mntOpts: []string{"noexec"}}, "SEL-002", "the mount options noexec are missing too: the driver ignores the kubelet's mount_flags"},
		{"util-linux", runCase{broken: refdriver.UtilLinuxWithoutConfig, helper: true}, "SEL-002", "util-linux mount(8) dropped it"},
		{"util-linux environment", runCase{broken: refdriver.UtilLinuxWithoutConfig, helper: true,
			env: &csitest.PluginEnv{SelinuxfsFSType: "selinuxfs", Why: "/proc/1/root/etc/selinux/config does not exist"}},
			"SEL-012", "etc/selinux/config does not exist"},
		{"share-superblock", runCase{mode: refdriver.ModeShared, broken: refdriver.ShareSuperblock, shared: true}, "SEL-010", "nosharecache"},
		{"share-superblock two volumes", runCase{mode: refdriver.ModeShared, broken: refdriver.ShareSuperblock, shared: true}, "SEL-005", "with context=system_u:object_r:container_file_t:s0:c1,c2, want system_u:object_r:container_file_t:s0:c3,c4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err, _ := run(t, c.runCase)
			if err != nil {
				t.Fatal(err)
			}
			want(t, rep, c.rule, csitest.Fail, c.text)
			if !rep.Failed() {
				t.Error("report not failed")
			}
		})
	}
}

func TestIgnoredFlagsAreNamedWhenTheLabelSurvives(t *testing.T) {
	// A driver that adds the label itself but drops the PV's options is
	// still caught: the options are missing.
	rep, err, _ := run(t, runCase{broken: refdriver.IgnoreFlags, mntOpts: []string{"noexec"}})
	if err != nil {
		t.Fatal(err)
	}
	want(t, rep, "SEL-002", csitest.Fail, "")
	want(t, rep, "SEL-003", csitest.Skip, "needs the context mount of SEL-002")
}

func TestSharedModeWithOwnSuperblocksPasses(t *testing.T) {
	rep, err, _ := run(t, runCase{mode: refdriver.ModeShared, shared: true})
	if err != nil {
		t.Fatal(err)
	}
	want(t, rep, "SEL-010", csitest.Pass, "two volumes of one server or share")
	want(t, rep, "SEL-005", csitest.Pass, "")
	want(t, rep, "SEL-004", csitest.Skip, "did not survive NodeUnstageVolume")
	want(t, rep, "SEL-003", csitest.Pass, "only the new file was checked")
	want(t, rep, "SEL-013", csitest.Pass, "")
	if rep.Failed() {
		t.Error("failed")
	}
}

func TestKernelWithoutSELinux(t *testing.T) {
	fm := ctxmount.NewFakeMounter()
	fm.Host = ctxmount.Host{}
	ep := startDriver(t, refdriver.Options{Mounter: fm, Helper: fm})
	rep, err := csitest.Run(context.Background(), csitest.Config{Endpoint: ep, ControllerEndpoint: ep, System: newFakeSystem(fm)})
	if !errors.Is(err, csitest.ErrSELinuxDisabled) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(rep.Error, "SELinux is not enabled on this kernel") {
		t.Errorf("report error %q", rep.Error)
	}
	want(t, rep, "SEL-001", csitest.Pass, "")
	want(t, rep, "SEL-002", csitest.Skip, "SELinux is not enabled on this kernel")
	if rep.Failed() {
		t.Error("a rule failed")
	}
	if len(fm.Log()) != 0 {
		t.Errorf("mounted on a host without SELinux: %q", fm.Log())
	}
}

func TestUnreachableDriver(t *testing.T) {
	rep, err := csitest.Run(context.Background(), csitest.Config{Endpoint: "unix:///nonexistent/csi.sock",
		VolumeHandles: []string{"v"}, System: newFakeSystem(ctxmount.NewFakeMounter()), Timeout: 5 * time.Second})
	var ce *csitest.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "unix:///nonexistent/csi.sock") {
		t.Fatalf("err %v", err)
	}
	for _, res := range rep.Results {
		if res.Status != csitest.Skip || !strings.Contains(res.Reason, "not run: the driver at unix:///nonexistent/csi.sock could not be reached") {
			t.Errorf("%s: %s %s", res.ID, res.Status, res.Reason)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  csitest.Config
		want string
	}{
		{csitest.Config{}, "no endpoint"},
		{csitest.Config{Endpoint: "/x"}, "no volume to test"},
		{csitest.Config{Endpoint: "/x", VolumeHandles: []string{"a", "b", "c"}}, "at most two"},
		{csitest.Config{Endpoint: "/x", VolumeHandles: []string{"a"}, MountOptions: []string{`context="a:b:c:s0"`}}, "labels come from --label"},
		{csitest.Config{Endpoint: "/x", VolumeHandles: []string{"a"}, Labels: csitest.DefaultLabels[:1]}, "want two labels"},
		{csitest.Config{Endpoint: "/x", VolumeHandles: []string{"a"}, Labels: []label.Context{csitest.DefaultLabels[0], csitest.DefaultLabels[0]}}, "two different labels"},
	} {
		_, err := csitest.Run(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	m, err := csitest.ParseKeyValues("a=1,b=x=y, c=")
	if err != nil || len(m) != 3 || m["a"] != "1" || m["b"] != "x=y" || m["c"] != "" {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"a", "=1", "a=1,a=2"} {
		if _, err := csitest.ParseKeyValues(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestLoadSecrets(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("NodeStageVolumeSecret:\n  user: u\n  password: p\nCreateSnapshotSecret:\n  a: b\n"), 0o600)
	s, err := csitest.LoadSecrets(good)
	if err != nil || s.NodeStageVolumeSecret["user"] != "u" || s.NodePublishVolumeSecret != nil {
		t.Errorf("%+v %v", s, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("NodeStageSecret:\n  user: u\n"), 0o600)
	if _, err := csitest.LoadSecrets(bad); err == nil || !strings.Contains(err.Error(), "NodeStageSecret") {
		t.Errorf("unknown key: %v", err)
	}
}
