package csitest

import (
	"fmt"
	"time"

	"github.com/selmount/selmount/ctxmount"
)

// Rule is one check of the seLinuxMount contract.
type Rule struct {
	// ID is stable across releases ("SEL-001"); reports, JUnit test cases
	// and docs/csi-test.md use it.
	ID string `json:"id"`
	// Name is a short slug ("context-mount").
	Name string `json:"name"`
	// Title says what is checked, in one sentence.
	Title string `json:"title"`
	// Source is where the requirement comes from upstream.
	Source string `json:"source"`
	// Fix says what a failure means and how a driver fixes it.
	Fix string `json:"fix"`
}

// The rules, in the order Run reports them.
var (
	RuleCapabilities = Rule{"SEL-001", "capabilities",
		"The driver advertises what the test needs: NodeGetCapabilities (STAGE_UNSTAGE_VOLUME decides whether NodeStageVolume is called), CREATE_DELETE_VOLUME when a controller endpoint is given; otherwise pre-created volumes are named with --volume-handle.",
		"CSI spec (NodeGetCapabilities, ControllerGetCapabilities); kubelet csi_attacher.go: NodeStage only with STAGE_UNSTAGE_VOLUME",
		"Give --volume-handle for pre-created volumes, or a --controller-endpoint whose controller advertises CREATE_DELETE_VOLUME."}
	RuleContextMount = Rule{"SEL-002", "context-mount",
		"NodeStageVolume and NodePublishVolume with mount_flags ending in context=\"<label>\" produce mounts that carry exactly that label in mountinfo, with the other mount flags applied.",
		"KEP-1710 CSI driver considerations; kubelet csi_attacher.go MountDevice and csi_mounter.go SetUpAt append context=%q last",
		"The driver lost the context= flag (filtered it, ignored mount_flags, or mounted through util-linux mount(8) without /etc/selinux/config and a writable /sys/fs/selinux). Pass every mount_flags entry to the mount, quotes included (ctxmount.Mount does and verifies it), and give the node plugin the two hostPath volumes."}
	RuleFileLabels = Rule{"SEL-003", "file-labels",
		"A file created in the volume and a file that was there before the context mount both read back (security.selinux) with the label.",
		"KEP-1710 (context= labels every inode of the superblock); kubelet tells the runtime not to relabel a context-mounted volume",
		"Files show another label than the mount: the filesystem is not mounted with context= (see SEL-002), or the driver mounts a filesystem below the staging path that does not carry it. Mount the volume's own filesystem with context=."}
	RuleNoRelabel = Rule{"SEL-004", "no-relabel",
		"Nothing was relabeled file by file: the ctime of a file that existed before the context mount is unchanged.",
		"KEP-1710 motivation: a context mount labels in constant time, without writing per file",
		"The driver (or a tool it runs) relabels every file (chcon -R, restorecon, setxattr) instead of mounting with context=. Remove the relabel and pass context= to the mount."}
	RuleTwoVolumes = Rule{"SEL-005", "two-volumes",
		"Two volumes of the driver staged at the same time with different labels each carry their own label.",
		"CSIDriver.spec.seLinuxMount API doc: every volume can be mounted with its own -o context; KEP-1710",
		"The two volumes share one superblock (one device, one export, one filesystem carved into subdirectories): the second mount fails or shows the first label. Give each volume its own filesystem, or do not set seLinuxMount: true."}
	RulePublishTwice = Rule{"SEL-006", "publish-twice",
		"The same volume published to two targets with one label: both targets carry it.",
		"kubelet: pods of one volume with the same label share the staging mount (NodePublishVolume per pod)",
		"NodePublishVolume of an already staged volume must bind-mount the staging path (a bind shows the staging mount's label); a second filesystem mount of the device with context= is refused by the kernel."}
	RuleRestage = Rule{"SEL-007", "restage-new-label",
		"After NodeUnpublish and NodeUnstage the volume is staged again with another label, and carries the new label.",
		"kubelet 1.37 volume manager: a pod with another label waits, then the volume is unstaged and staged again (KEP-1710 phase 3)",
		"The driver keeps the old mount (or the device's old superblock) alive after NodeUnstageVolume, or caches the first label. Unmount everything on unstage and mount with the flags of each call."}
	RuleReadOnly = Rule{"SEL-008", "read-only-publish",
		"NodePublishVolume with readonly=true gives a read-only target that carries the label.",
		"CSI spec NodePublishVolumeRequest.readonly; kubelet passes context= for read-only volumes too",
		"Apply readonly as a read-only bind (remount) and keep the label: the bind must come from the context-mounted staging path."}
	RuleBlock = Rule{"SEL-009", "block-volumes",
		"Raw block volumes (volumeMode: Block) carry no label: the kubelet sends no context= for them.",
		"kubelet MapDevice/SetUpDevice: no filesystem mount, no context=",
		"Nothing to fix: reported as skipped."}
	RuleShared = Rule{"SEL-010", "shared-filesystem",
		"Two volumes from one server or share (same parameters, --shared) staged at once with different labels each carry their own label, and NFS mounts show nosharecache, CIFS/SMB mounts nosharesock.",
		"KEP-1710 and CSIDriver.spec.seLinuxMount API doc: NFS needs nosharecache, CIFS/SMB nosharesock, so that each mount gets its own superblock",
		"Without nosharecache (NFS) or nosharesock (CIFS, SMB) the kernel reuses the server's superblock and refuses (or silently ignores) the second label. Add the option when mount_flags has context= (ctxmount.Mount does), or do not set seLinuxMount: true."}
	RuleNoContextNoLabel = Rule{"SEL-011", "no-context-no-label",
		"When the kubelet passes no context= (pods without a level, Recursive policy, gate off), the driver adds none.",
		"kubelet: without a label the runtime relabels the volume recursively; it needs a seclabel filesystem, not a driver-chosen context",
		"The driver adds a context= (or fscontext=, defcontext=) of its own. Only pass the SELinux options the kubelet sends."}
	RulePluginEnvironment = Rule{"SEL-012", "plugin-environment",
		"In the node plugin's container (--plugin-root DIR or --plugin-pid PID): /etc/selinux/config is present and /sys/fs/selinux is a writable selinuxfs.",
		"KEP-1710 CSI driver considerations: util-linux mount(8) drops SELinux options without both",
		"Add hostPath volumes for /etc/selinux/config (File, read-only) and /sys/fs/selinux (Directory, read-write) to the node plugin's pod, or mount with mount(2) directly (ctxmount.SyscallMounter)."}
	RuleCleanup = Rule{"SEL-013", "cleanup",
		"After NodeUnpublishVolume and NodeUnstageVolume nothing is left mounted at or below the staging and target paths.",
		"CSI spec NodeUnstageVolume/NodeUnpublishVolume; kubelet reconstructs leftover mounts after a restart",
		"Unmount every mount made at the path (including bind mounts stacked by retries) before returning from NodeUnpublishVolume/NodeUnstageVolume."}
)

// Rules lists every rule in report order.
var Rules = []Rule{RuleCapabilities, RuleContextMount, RuleFileLabels, RuleNoRelabel, RuleTwoVolumes,
	RulePublishTwice, RuleRestage, RuleReadOnly, RuleBlock, RuleShared, RuleNoContextNoLabel,
	RulePluginEnvironment, RuleCleanup}

// Status is the outcome of one rule.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is the outcome of one rule.
type Result struct {
	Rule
	Status Status `json:"status"`
	// Reason says why the rule passed, failed or was skipped; it starts with
	// the rule's ID and name.
	Reason string `json:"reason"`
	// Details are the observations behind the outcome (mountinfo lines,
	// labels read, gRPC errors), in order.
	Details []string `json:"details,omitempty"`
}

// Driver names the driver under test.
type Driver struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"vendorVersion,omitempty"`
}

// ReportAPIVersion and ReportKind identify the JSON document.
const (
	ReportAPIVersion = "selmount.io/v1alpha1"
	ReportKind       = "CSITestReport"
)

// Report is the outcome of Run.
type Report struct {
	APIVersion         string        `json:"apiVersion"`
	Kind               string        `json:"kind"`
	Endpoint           string        `json:"endpoint"`
	ControllerEndpoint string        `json:"controllerEndpoint,omitempty"`
	Driver             Driver        `json:"driver"`
	Host               ctxmount.Host `json:"host"`
	Labels             []string      `json:"labels"`
	// Error is set when the test could not be run as asked: SELinux not
	// enabled on this kernel, the driver unreachable. Rules that could not
	// run are skipped with that reason.
	Error    string        `json:"error,omitempty"`
	Results  []Result      `json:"results"`
	Duration time.Duration `json:"durationNanos"`
}

// Counts returns how many rules passed, failed and were skipped.
func (r *Report) Counts() (pass, fail, skip int) {
	for _, res := range r.Results {
		switch res.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	return
}

// Failed reports whether a rule failed.
func (r *Report) Failed() bool {
	_, f, _ := r.Counts()
	return f > 0
}

// Result returns the result of the rule with the given ID.
func (r *Report) Result(id string) (Result, bool) {
	for _, res := range r.Results {
		if res.ID == id {
			return res, true
		}
	}
	return Result{}, false
}

func reasonf(r Rule, format string, args ...any) string {
	return fmt.Sprintf("%s %s: ", r.ID, r.Name) + fmt.Sprintf(format, args...)
}
