package csitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/mountinfo"
	"github.com/selmount/selmount/mountopt"
)

// ErrSELinuxDisabled: the kernel Run runs on has SELinux disabled, so no
// context mount can be tested; the report says which rules were skipped.
var ErrSELinuxDisabled = errors.New("SELinux is not enabled on this kernel: context mounts cannot be tested here (the kernel rejects context=); run csi-test on an SELinux-enabled node, or in the SELinux-enforcing VM of hack/selinux-vm/csi-test.sh")

// ConnectError: the driver could not be reached or did not answer the
// identity calls.
type ConnectError struct {
	Endpoint string
	Err      error
}

func (e *ConnectError) Error() string { return fmt.Sprintf("CSI endpoint %s: %v", e.Endpoint, e.Err) }
func (e *ConnectError) Unwrap() error { return e.Err }

// Dial connects to a CSI endpoint: unix:///path, unix:path or a plain path
// (a Unix socket); anything else is passed to gRPC as a target.
func Dial(endpoint string) (*grpc.ClientConn, error) {
	target := endpoint
	switch {
	case strings.HasPrefix(endpoint, "/"):
		target = "unix://" + endpoint
	case strings.HasPrefix(endpoint, "unix:"):
	case endpoint == "":
		return nil, errors.New("empty endpoint")
	}
	return grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// Run checks every rule against the driver at cfg.Endpoint. The report is
// always returned, with every rule's outcome; the error is non-nil when the
// test could not run as asked: bad configuration, the driver unreachable
// (*ConnectError), or a kernel without SELinux (ErrSELinuxDisabled, with the
// rules that need it skipped).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	rep := &Report{APIVersion: ReportAPIVersion, Kind: ReportKind, Endpoint: cfg.Endpoint, ControllerEndpoint: cfg.ControllerEndpoint}
	r := &runner{cfg: cfg, rep: rep, res: map[string]*Result{}}
	for _, rule := range Rules {
		rep.Results = append(rep.Results, Result{Rule: rule, Status: Skip})
	}
	for i := range rep.Results {
		r.res[rep.Results[i].ID] = &rep.Results[i]
	}
	defer func() { rep.Duration = time.Since(start) }()

	if err := r.cfg.defaults(); err != nil {
		r.skipRest("not run: " + err.Error())
		rep.Error = err.Error()
		return rep, err
	}
	for _, l := range r.cfg.Labels {
		rep.Labels = append(rep.Labels, l.String())
	}
	sys := r.cfg.System
	host, herr := sys.Host()
	rep.Host = host
	selinux := herr == nil && host.SELinuxEnabled

	conn, err := Dial(r.cfg.Endpoint)
	if err != nil {
		return r.abort(&ConnectError{r.cfg.Endpoint, err})
	}
	defer conn.Close()
	r.node = csi.NewNodeClient(conn)
	ident := csi.NewIdentityClient(conn)
	if r.cfg.ControllerEndpoint != "" {
		cc := conn
		if r.cfg.ControllerEndpoint != r.cfg.Endpoint {
			if cc, err = Dial(r.cfg.ControllerEndpoint); err != nil {
				return r.abort(&ConnectError{r.cfg.ControllerEndpoint, err})
			}
			defer cc.Close()
		}
		r.ctrl = csi.NewControllerClient(cc)
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	info, err := ident.GetPluginInfo(cctx, &csi.GetPluginInfoRequest{})
	cancel()
	if err != nil {
		return r.abort(&ConnectError{r.cfg.Endpoint, fmt.Errorf("GetPluginInfo: %w", err)})
	}
	rep.Driver = Driver{Name: info.GetName(), Version: info.GetVendorVersion()}

	r.pluginEnvironment()
	r.set(RuleBlock, Skip, "labels do not apply to raw block volumes (volumeMode: Block): the kubelet maps them without a filesystem mount and sends no context=")
	if !r.capabilities(ctx) {
		r.skipRest(fmt.Sprintf("not run: %s failed", RuleCapabilities.ID))
		return rep, nil
	}
	if !selinux {
		why := ErrSELinuxDisabled.Error()
		if herr != nil {
			why += " (" + herr.Error() + ")"
		}
		rep.Error = why
		r.skipRest("not run: SELinux is not enabled on this kernel (see the report's error)")
		return rep, ErrSELinuxDisabled
	}

	run, err := newRunID()
	if err != nil {
		return r.abort(err)
	}
	r.stagingBase = filepath.Join(r.cfg.StagingDir, "selmount-csi-test-"+run)
	r.targetBase = filepath.Join(r.cfg.TargetDir, "selmount-csi-test-"+run)
	if r.cfg.TargetDir == r.cfg.StagingDir {
		r.stagingBase = filepath.Join(r.stagingBase, "staging")
		r.targetBase = filepath.Join(r.targetBase, "pods")
	}
	if !r.volumes(ctx, run) {
		r.skipRest(fmt.Sprintf("not run: no volume to test (see %s)", RuleCapabilities.ID))
	} else {
		r.sequence(ctx)
	}
	r.cleanup(ctx)
	return rep, nil
}

type volume struct {
	id      string
	context map[string]string
	staging string
	created bool
}

type runner struct {
	cfg                     Config
	rep                     *Report
	res                     map[string]*Result
	node                    csi.NodeClient
	ctrl                    csi.ControllerClient
	stage                   bool
	vols                    []*volume
	stagingBase, targetBase string
	paths                   []string // every staging and target path used
	targets                 int
}

func newRunID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (r *runner) abort(err error) (*Report, error) {
	r.rep.Error = err.Error()
	why := err.Error()
	var ce *ConnectError
	if errors.As(err, &ce) {
		why = "the driver at " + ce.Endpoint + " could not be reached (see the report's error)"
	}
	r.skipRest("not run: " + why)
	return r.rep, err
}

// set records a rule's outcome; a rule's first outcome other than the
// initial skip wins, except that a failure overrides a pass.
func (r *runner) set(rule Rule, st Status, format string, args ...any) {
	res := r.res[rule.ID]
	if res.Reason != "" && !(st == Fail && res.Status == Pass) {
		return
	}
	res.Status, res.Reason = st, reasonf(rule, format, args...)
}

func (r *runner) note(rule Rule, format string, args ...any) {
	res := r.res[rule.ID]
	res.Details = append(res.Details, fmt.Sprintf(format, args...))
}

func (r *runner) done(rule Rule) bool { return r.res[rule.ID].Reason != "" }

func (r *runner) skipRest(why string) {
	for i := range r.rep.Results {
		res := &r.rep.Results[i]
		if res.Reason == "" {
			res.Status, res.Reason = Skip, reasonf(res.Rule, "%s", why)
		}
	}
}

func (r *runner) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.Timeout)
}

func (r *runner) capabilities(ctx context.Context) bool {
	rule := RuleCapabilities
	cctx, cancel := r.call(ctx)
	caps, err := r.node.NodeGetCapabilities(cctx, &csi.NodeGetCapabilitiesRequest{})
	cancel()
	if err != nil {
		r.set(rule, Fail, "NodeGetCapabilities: %v", err)
		return false
	}
	for _, c := range caps.GetCapabilities() {
		if c.GetRpc().GetType() == csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME {
			r.stage = true
		}
	}
	if r.stage {
		r.note(rule, "node: STAGE_UNSTAGE_VOLUME: NodeStageVolume and NodePublishVolume both get context=")
	} else {
		r.note(rule, "node: no STAGE_UNSTAGE_VOLUME: the kubelet calls only NodePublishVolume, which gets context=")
	}
	if r.ctrl != nil {
		cctx, cancel := r.call(ctx)
		cc, err := r.ctrl.ControllerGetCapabilities(cctx, &csi.ControllerGetCapabilitiesRequest{})
		cancel()
		if err != nil {
			r.set(rule, Fail, "ControllerGetCapabilities on %s: %v", r.cfg.ControllerEndpoint, err)
			return false
		}
		create := slices.ContainsFunc(cc.GetCapabilities(), func(c *csi.ControllerServiceCapability) bool {
			return c.GetRpc().GetType() == csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME
		})
		if !create {
			r.set(rule, Fail, "the controller at %s does not advertise CREATE_DELETE_VOLUME: give pre-created volumes with --volume-handle instead", r.cfg.ControllerEndpoint)
			return false
		}
		r.note(rule, "controller: CREATE_DELETE_VOLUME: volumes are created and deleted by the test")
	} else {
		r.note(rule, "pre-created volumes: %s", strings.Join(r.cfg.VolumeHandles, ", "))
	}
	r.set(rule, Pass, "the driver advertises what the test needs (%s)", strings.Join(r.res[rule.ID].Details, "; "))
	return true
}

func (r *runner) pluginEnvironment() {
	rule := RulePluginEnvironment
	if r.cfg.PluginRoot == "" {
		r.set(rule, Skip, "no --plugin-root or --plugin-pid given: the node plugin's container was not inspected")
		return
	}
	env, err := r.cfg.System.PluginEnv(r.cfg.PluginRoot)
	if err != nil {
		r.set(rule, Fail, "cannot inspect the node plugin's root %s: %v", r.cfg.PluginRoot, err)
		return
	}
	r.note(rule, "root %s: /etc/selinux/config present: %t; /sys/fs/selinux: %q, read-only: %t", env.Root, env.ConfigPresent, env.SelinuxfsFSType, env.SelinuxfsReadOnly)
	if env.Why != "" {
		r.set(rule, Fail, "in the node plugin's root %s: %s: util-linux mount(8) there drops context=; add the hostPath volumes /etc/selinux/config and /sys/fs/selinux (read-write)", env.Root, env.Why)
		return
	}
	r.set(rule, Pass, "the node plugin's root %s has /etc/selinux/config and a writable selinuxfs at /sys/fs/selinux", env.Root)
}

// volumes creates (or names) the volumes: A, and B when possible.
func (r *runner) volumes(ctx context.Context, run string) bool {
	if r.ctrl == nil {
		for i, h := range r.cfg.VolumeHandles {
			r.vols = append(r.vols, &volume{id: h, context: r.cfg.VolumeContext,
				staging: filepath.Join(r.stagingBase, fmt.Sprintf("vol-%c", 'a'+i))})
		}
		return len(r.vols) > 0
	}
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("selmount-csi-test-%s-%c", run, 'a'+i)
		cctx, cancel := r.call(ctx)
		resp, err := r.ctrl.CreateVolume(cctx, &csi.CreateVolumeRequest{
			Name:               name,
			CapacityRange:      &csi.CapacityRange{RequiredBytes: r.cfg.Capacity},
			VolumeCapabilities: []*csi.VolumeCapability{r.capability(nil)},
			Parameters:         r.cfg.Params,
			Secrets:            r.cfg.Secrets.CreateVolumeSecret,
		})
		cancel()
		if err != nil {
			if i == 0 {
				r.set(RuleCapabilities, Fail, "CreateVolume %s: %v", name, err)
				return false
			}
			r.note(RuleTwoVolumes, "CreateVolume %s: %v", name, err)
			break
		}
		r.vols = append(r.vols, &volume{id: resp.GetVolume().GetVolumeId(), context: resp.GetVolume().GetVolumeContext(),
			staging: filepath.Join(r.stagingBase, fmt.Sprintf("vol-%c", 'a'+i)), created: true})
	}
	return true
}

func (r *runner) capability(flags []string) *csi.VolumeCapability {
	mode := csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	if r.cfg.Shared {
		mode = csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER
	}
	return &csi.VolumeCapability{
		AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: r.cfg.FSType, MountFlags: flags}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: mode},
	}
}

// flags are the mount_flags the kubelet sends: the PV's mountOptions, then
// context="<label>" when there is a label.
func (r *runner) flags(l label.Context) []string {
	out := slices.Clone(r.cfg.MountOptions)
	if !l.IsZero() {
		out = append(out, l.MountOption())
	}
	return out
}

func (r *runner) newTarget() string {
	r.targets++
	return filepath.Join(r.targetBase, fmt.Sprintf("pod-%d", r.targets), "mount")
}

func (r *runner) stageVol(ctx context.Context, v *volume, flags []string) error {
	if !r.stage {
		return nil
	}
	if err := r.cfg.System.MkdirAll(v.staging); err != nil {
		return err
	}
	r.track(v.staging)
	cctx, cancel := r.call(ctx)
	defer cancel()
	_, err := r.node.NodeStageVolume(cctx, &csi.NodeStageVolumeRequest{VolumeId: v.id, StagingTargetPath: v.staging,
		VolumeCapability: r.capability(flags), Secrets: r.cfg.Secrets.NodeStageVolumeSecret, VolumeContext: v.context})
	if err != nil {
		return fmt.Errorf("NodeStageVolume %s at %s with mount_flags %q: %w", v.id, v.staging, flags, err)
	}
	return nil
}

func (r *runner) unstageVol(ctx context.Context, v *volume) error {
	if !r.stage {
		return nil
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	if _, err := r.node.NodeUnstageVolume(cctx, &csi.NodeUnstageVolumeRequest{VolumeId: v.id, StagingTargetPath: v.staging}); err != nil {
		return fmt.Errorf("NodeUnstageVolume %s at %s: %w", v.id, v.staging, err)
	}
	return nil
}

func (r *runner) publishVol(ctx context.Context, v *volume, target string, flags []string, ro bool) error {
	// The kubelet creates the parent; the driver creates the target.
	if err := r.cfg.System.MkdirAll(filepath.Dir(target)); err != nil {
		return err
	}
	r.track(target)
	staging := ""
	if r.stage {
		staging = v.staging
	}
	cctx, cancel := r.call(ctx)
	defer cancel()
	_, err := r.node.NodePublishVolume(cctx, &csi.NodePublishVolumeRequest{VolumeId: v.id, StagingTargetPath: staging,
		TargetPath: target, VolumeCapability: r.capability(flags), Readonly: ro,
		Secrets: r.cfg.Secrets.NodePublishVolumeSecret, VolumeContext: v.context})
	if err != nil {
		return fmt.Errorf("NodePublishVolume %s at %s with mount_flags %q (readonly %t): %w", v.id, target, flags, ro, err)
	}
	return nil
}

func (r *runner) unpublishVol(ctx context.Context, v *volume, target string) error {
	cctx, cancel := r.call(ctx)
	defer cancel()
	if _, err := r.node.NodeUnpublishVolume(cctx, &csi.NodeUnpublishVolumeRequest{VolumeId: v.id, TargetPath: target}); err != nil {
		return fmt.Errorf("NodeUnpublishVolume %s at %s: %w", v.id, target, err)
	}
	return nil
}

func (r *runner) track(p string) {
	if !slices.Contains(r.paths, p) {
		r.paths = append(r.paths, p)
	}
}

// attach stages (when the driver stages) and publishes v at target.
func (r *runner) attach(ctx context.Context, v *volume, target string, l label.Context) error {
	f := r.flags(l)
	if err := r.stageVol(ctx, v, f); err != nil {
		return err
	}
	return r.publishVol(ctx, v, target, f, false)
}

// detach unpublishes and unstages; errors go to the cleanup rule.
func (r *runner) detach(ctx context.Context, v *volume, target string) {
	if err := r.unpublishVol(ctx, v, target); err != nil {
		r.set(RuleCleanup, Fail, "%v", err)
	}
	if err := r.unstageVol(ctx, v); err != nil {
		r.set(RuleCleanup, Fail, "%v", err)
	}
}

// mountAt returns the mount visible at path.
func (r *runner) mountAt(path string) (mountinfo.Mount, bool, error) {
	mounts, err := r.cfg.System.Mounts()
	if err != nil {
		return mountinfo.Mount{}, false, err
	}
	m, ok := mountinfo.Lookup(mounts, path)
	return m, ok, nil
}

// carries checks that the mount at path carries want (zero: no SELinux
// option at all). It returns "" when it does, else what is wrong.
func (r *runner) carries(rule Rule, what, path string, want label.Context) string {
	m, ok, err := r.mountAt(path)
	if err != nil {
		return fmt.Sprintf("cannot read the mount table: %v", err)
	}
	if !ok {
		return fmt.Sprintf("%s %s is not a mount point after the call succeeded: the driver reported success without mounting there", what, path)
	}
	r.note(rule, "%s: %s", what, m.String())
	raw, has := m.SELinuxContext()
	if want.IsZero() {
		for _, o := range m.SuperOptions {
			if k, _, _ := mountopt.KeyValue(o); mountopt.IsSELinuxKey(k) {
				return fmt.Sprintf("%s %s is mounted with %s although the kubelet passed no context=", what, path, o)
			}
		}
		return ""
	}
	if !has {
		return fmt.Sprintf("%s %s is mounted without context= (want %s): the driver dropped the flag, or util-linux mount(8) dropped it", what, path, want)
	}
	got, err := label.Parse(raw)
	if err != nil || got.Compare(want) != 0 {
		return fmt.Sprintf("%s %s carries context=%s, want %s", what, path, raw, want)
	}
	return ""
}

// carriesBoth checks the staging path (when the driver stages) and target.
func (r *runner) carriesBoth(rule Rule, v *volume, target string, want label.Context) string {
	if r.stage {
		if p := r.carries(rule, "staging path", v.staging, want); p != "" {
			return p
		}
	}
	return r.carries(rule, "target", target, want)
}

// fileLabel stats path and compares its label with want.
func (r *runner) fileLabel(rule Rule, what, path string, want label.Context) (FileInfo, string) {
	fi, err := r.cfg.System.Stat(path)
	if err != nil {
		return fi, fmt.Sprintf("%s %s: %v", what, path, err)
	}
	r.note(rule, "%s %s: label %s", what, path, fi.Label)
	got, err := label.Parse(fi.Label)
	if err != nil || got.Compare(want) != 0 {
		return fi, fmt.Sprintf("%s %s reads back with label %s, want %s", what, path, fi.Label, want)
	}
	return fi, ""
}

const (
	existingFile = "selmount-csi-test-existing"
	newFile      = "selmount-csi-test-new"
)

// sequence calls the driver as the kubelet does and checks the rules.
func (r *runner) sequence(ctx context.Context) {
	a := r.vols[0]
	l1, l2 := r.cfg.Labels[0], r.cfg.Labels[1]
	t1 := r.newTarget()

	// 1. No label: the driver must add none. A file written now exists
	// before the context mount of step 2.
	var before FileInfo
	seeded := false
	if err := r.attach(ctx, a, t1, label.Context{}); err != nil {
		r.set(RuleNoContextNoLabel, Fail, "%v", err)
		r.unpublishVol(ctx, a, t1)
		r.unstageVol(ctx, a)
	} else {
		if p := r.carriesBoth(RuleNoContextNoLabel, a, t1, label.Context{}); p != "" {
			r.set(RuleNoContextNoLabel, Fail, "%s", p)
		} else {
			r.set(RuleNoContextNoLabel, Pass, "without context= in mount_flags the volume is mounted without any SELinux mount option")
		}
		p := filepath.Join(t1, existingFile)
		if err := r.cfg.System.WriteFile(p, []byte("written before the context mount\n")); err != nil {
			r.note(RuleFileLabels, "could not write %s before the context mount: %v", p, err)
		} else if fi, err := r.cfg.System.Stat(p); err != nil {
			r.note(RuleFileLabels, "could not read %s: %v", p, err)
		} else {
			before, seeded = fi, true
			r.note(RuleFileLabels, "before the context mount: %s has label %s", p, fi.Label)
		}
		r.detach(ctx, a, t1)
		r.leftovers("after the first NodeUnpublishVolume and NodeUnstageVolume")
	}

	// 2. The context mount.
	ok2 := false
	if err := r.attach(ctx, a, t1, l1); err != nil {
		r.set(RuleContextMount, Fail, "%v", err)
		r.unpublishVol(ctx, a, t1)
		r.unstageVol(ctx, a)
	} else if p := r.carriesBoth(RuleContextMount, a, t1, l1); p != "" {
		if missing := r.missingOptions(t1); len(missing) > 0 {
			p += fmt.Sprintf("; the mount options %s are missing too: the driver ignores the kubelet's mount_flags", strings.Join(missing, ", "))
		}
		r.set(RuleContextMount, Fail, "%s", p)
		r.detach(ctx, a, t1)
	} else if missing := r.missingOptions(t1); len(missing) > 0 {
		r.set(RuleContextMount, Fail, "the target %s carries the label but not the mount options %s: the driver does not pass the kubelet's mount_flags on", t1, strings.Join(missing, ", "))
		r.detach(ctx, a, t1)
	} else {
		r.set(RuleContextMount, Pass, "NodeStageVolume and NodePublishVolume with context=%q last in mount_flags give mounts carrying %s", l1.String(), l1)
		ok2 = true
	}
	dep := fmt.Sprintf("not run: needs the context mount of %s, which failed", RuleContextMount.ID)
	if !ok2 {
		for _, rule := range []Rule{RuleFileLabels, RuleNoRelabel, RulePublishTwice, RuleReadOnly, RuleTwoVolumes, RuleShared, RuleRestage} {
			r.set(rule, Skip, "%s", dep)
		}
		return
	}
	r.fileChecks(a, t1, l1, before, seeded)

	// 3. The same volume published to a second target.
	t2 := r.newTarget()
	if err := r.publishVol(ctx, a, t2, r.flags(l1), false); err != nil {
		r.set(RulePublishTwice, Fail, "%v", err)
	} else if p := r.carries(RulePublishTwice, "second target", t2, l1); p != "" {
		r.set(RulePublishTwice, Fail, "%s", p)
	} else if _, p := r.fileLabel(RulePublishTwice, "file created through the first target, seen through the second", filepath.Join(t2, newFile), l1); p != "" {
		r.set(RulePublishTwice, Fail, "%s", p)
	} else {
		r.set(RulePublishTwice, Pass, "the volume published at %s and %s carries %s at both", t1, t2, l1)
	}
	if err := r.unpublishVol(ctx, a, t2); err != nil {
		r.set(RuleCleanup, Fail, "%v", err)
	}

	// 4. Read-only publish.
	t3 := r.newTarget()
	if err := r.publishVol(ctx, a, t3, r.flags(l1), true); err != nil {
		r.set(RuleReadOnly, Fail, "%v", err)
	} else if p := r.carries(RuleReadOnly, "read-only target", t3, l1); p != "" {
		r.set(RuleReadOnly, Fail, "%s", p)
	} else if m, _, _ := r.mountAt(t3); !m.ReadOnly() {
		r.set(RuleReadOnly, Fail, "the target %s of a readonly NodePublishVolume is mounted read-write", t3)
	} else if err := r.cfg.System.WriteFile(filepath.Join(t3, "selmount-csi-test-ro"), []byte("x")); err == nil {
		r.set(RuleReadOnly, Fail, "a file could be written in the read-only target %s", t3)
	} else {
		r.set(RuleReadOnly, Pass, "the readonly target %s is read-only and carries %s", t3, l1)
	}
	if err := r.unpublishVol(ctx, a, t3); err != nil {
		r.set(RuleCleanup, Fail, "%v", err)
	}

	// 5. A second volume with another label while the first is staged.
	r.twoVolumes(ctx, a, t1, l1, l2)

	// 6. Unstage, stage again with another label.
	r.detach(ctx, a, t1)
	r.leftovers("after NodeUnpublishVolume and NodeUnstageVolume of the context mount")
	if err := r.attach(ctx, a, t1, l2); err != nil {
		r.set(RuleRestage, Fail, "staged again with %s: %v", l2, err)
		r.unpublishVol(ctx, a, t1)
		r.unstageVol(ctx, a)
		return
	}
	if p := r.carriesBoth(RuleRestage, a, t1, l2); p != "" {
		r.set(RuleRestage, Fail, "staged again with another label: %s", p)
	} else if _, err := r.cfg.System.Stat(filepath.Join(t1, existingFile)); !seeded || err != nil {
		r.set(RuleRestage, Pass, "unstaged and staged again, the volume carries the new label %s", l2)
	} else if _, p := r.fileLabel(RuleRestage, "file written before the first context mount", filepath.Join(t1, existingFile), l2); p != "" {
		r.set(RuleRestage, Fail, "%s", p)
	} else {
		r.set(RuleRestage, Pass, "unstaged and staged again, the volume and its files carry the new label %s", l2)
	}
	r.detach(ctx, a, t1)
}

// missingOptions returns the PV mount options that the mount at target
// does not show (only the generic per-mount flags the kernel prints are
// checked; filesystem options are left to the driver).
func (r *runner) missingOptions(target string) []string {
	m, ok, err := r.mountAt(target)
	if err != nil || !ok {
		return nil
	}
	var missing []string
	for _, o := range r.cfg.MountOptions {
		if !visibleFlags[o] {
			continue
		}
		if !m.Options.Has(o) && !m.SuperOptions.Has(o) {
			missing = append(missing, o)
		}
	}
	return missing
}

// visibleFlags are the mount(8) flags /proc/self/mountinfo shows under
// their own name.
var visibleFlags = map[string]bool{"ro": true, "nosuid": true, "nodev": true, "noexec": true, "noatime": true,
	"nodiratime": true, "relatime": true, "sync": true, "dirsync": true}

func (r *runner) fileChecks(a *volume, t1 string, l1 label.Context, before FileInfo, seeded bool) {
	np := filepath.Join(t1, newFile)
	if err := r.cfg.System.WriteFile(np, []byte("written in the context mount\n")); err != nil {
		r.set(RuleFileLabels, Fail, "cannot create %s in the volume: %v", np, err)
	} else if _, p := r.fileLabel(RuleFileLabels, "new file", np, l1); p != "" {
		r.set(RuleFileLabels, Fail, "%s", p)
	}
	ep := filepath.Join(t1, existingFile)
	if !seeded {
		r.set(RuleFileLabels, Pass, "a new file reads back with %s; no file could be written before the context mount, so only the new file was checked", l1)
		r.set(RuleNoRelabel, Skip, "no file was written before the context mount (see %s)", RuleFileLabels.ID)
		return
	}
	fi, err := r.cfg.System.Stat(ep)
	if err != nil {
		r.set(RuleFileLabels, Pass, "a new file reads back with %s; the file written before the context mount did not survive NodeUnstageVolume (%v), so only the new file was checked", l1, err)
		r.set(RuleNoRelabel, Skip, "the file written before the context mount did not survive NodeUnstageVolume (the volume keeps no content, as tmpfs)")
		return
	}
	if _, p := r.fileLabel(RuleFileLabels, "file written before the context mount", ep, l1); p != "" {
		r.set(RuleFileLabels, Fail, "%s", p)
	} else {
		r.set(RuleFileLabels, Pass, "a new file and a file written before the context mount both read back with %s", l1)
	}
	r.note(RuleNoRelabel, "%s: ctime %s before the context mount, %s after", ep, before.Ctime.Format(time.RFC3339Nano), fi.Ctime.Format(time.RFC3339Nano))
	if !fi.Ctime.Equal(before.Ctime) {
		r.set(RuleNoRelabel, Fail, "the ctime of %s changed from %s to %s across the context mount: something rewrote its attributes (a recursive relabel?)", ep, before.Ctime.Format(time.RFC3339Nano), fi.Ctime.Format(time.RFC3339Nano))
	} else {
		r.set(RuleNoRelabel, Pass, "the file written before the context mount kept its ctime: nothing was relabeled file by file")
	}
}

func (r *runner) twoVolumes(ctx context.Context, a *volume, t1 string, l1, l2 label.Context) {
	if len(r.vols) < 2 {
		why := "needs a second volume: give --volume-handle twice, or a controller that creates two volumes"
		r.set(RuleTwoVolumes, Skip, "%s", why)
		r.set(RuleShared, Skip, "%s", why)
		return
	}
	if !r.cfg.Shared {
		r.set(RuleShared, Skip, "the driver was not declared a shared filesystem (--shared): volumes of one StorageClass are not assumed to come from one server or share")
	}
	b := r.vols[1]
	t4 := r.newTarget()
	fail := func(format string, args ...any) {
		r.set(RuleTwoVolumes, Fail, format, args...)
		if r.cfg.Shared {
			r.set(RuleShared, Fail, format+": the volumes of one server share a superblock; mount each with nosharecache (NFS) or nosharesock (CIFS, SMB)", args...)
		}
	}
	defer func() {
		r.detach(ctx, b, t4)
	}()
	if err := r.attach(ctx, b, t4, l2); err != nil {
		fail("second volume %s with %s while %s is staged with %s: %v", b.id, l2, a.id, l1, err)
		return
	}
	if p := r.carriesBoth(RuleTwoVolumes, b, t4, l2); p != "" {
		fail("second volume %s: %s", b.id, p)
		return
	}
	if p := r.carriesBoth(RuleTwoVolumes, a, t1, l1); p != "" {
		fail("first volume %s, after the second was staged: %s", a.id, p)
		return
	}
	np := filepath.Join(t4, newFile)
	if err := r.cfg.System.WriteFile(np, []byte("second volume\n")); err != nil {
		fail("cannot create %s: %v", np, err)
		return
	}
	if _, p := r.fileLabel(RuleTwoVolumes, "new file in the second volume", np, l2); p != "" {
		fail("%s", p)
		return
	}
	r.set(RuleTwoVolumes, Pass, "volumes %s and %s are staged at once with %s and %s", a.id, b.id, l1, l2)
	if !r.cfg.Shared {
		return
	}
	for _, v := range []struct {
		what, path string
	}{{"first volume", t1}, {"second volume", t4}} {
		m, _, _ := r.mountAt(v.path)
		want := shareOption(m.FSType)
		if want != "" && !m.SuperOptions.Has(want) && !m.Options.Has(want) {
			r.set(RuleShared, Fail, "%s at %s is %s without %s: it holds its label only while no other volume of the server is mounted with another", v.what, v.path, m.FSType, want)
			return
		}
	}
	r.set(RuleShared, Pass, "two volumes of one server or share carry %s and %s at once", l1, l2)
}

// shareOption is the option that gives each mount of fstype its own
// superblock, "" when none is needed.
func shareOption(fstype string) string {
	return mountopt.ShareOption(fstype)
}

// leftovers records, for the cleanup rule, every mount at or below a path
// the test used.
func (r *runner) leftovers(when string) {
	mounts, err := r.cfg.System.Mounts()
	if err != nil {
		r.set(RuleCleanup, Fail, "cannot read the mount table %s: %v", when, err)
		return
	}
	for _, m := range mounts {
		for _, p := range r.paths {
			if m.MountPoint == p || isBelow(m.MountPoint, p) {
				r.set(RuleCleanup, Fail, "%s, %s is still mounted (%s %s)", when, m.MountPoint, m.FSType, m.Source)
				r.note(RuleCleanup, "left mounted %s: %s", when, m.String())
			}
		}
	}
}

func isBelow(p, dir string) bool {
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// cleanup checks that nothing is left mounted, deletes the volumes the
// test created and removes its directories.
func (r *runner) cleanup(ctx context.Context) {
	r.leftovers("after the last NodeUnpublishVolume and NodeUnstageVolume")
	if len(r.paths) > 0 {
		r.set(RuleCleanup, Pass, "after NodeUnpublishVolume and NodeUnstageVolume nothing was left mounted at the %d staging and target paths", len(r.paths))
	}
	for _, v := range r.vols {
		if !v.created {
			continue
		}
		cctx, cancel := r.call(ctx)
		_, err := r.ctrl.DeleteVolume(cctx, &csi.DeleteVolumeRequest{VolumeId: v.id, Secrets: r.cfg.Secrets.DeleteVolumeSecret})
		cancel()
		if err != nil {
			r.note(RuleCleanup, "DeleteVolume %s: %v", v.id, err)
		}
	}
	for _, base := range []string{r.stagingBase, r.targetBase} {
		if base == "" {
			continue
		}
		if r.cfg.TargetDir == r.cfg.StagingDir {
			base = filepath.Dir(base)
		}
		if err := r.cfg.System.RemoveAll(base); err != nil {
			r.note(RuleCleanup, "not removed: %v", err)
		}
	}
}
