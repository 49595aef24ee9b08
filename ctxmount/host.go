package ctxmount

// Host is what the calling process's mount namespace tells about SELinux.
type Host struct {
	// SELinuxEnabled is true when selinuxfs is mounted and a policy is
	// loaded (the process label is not "kernel"): the kernel then accepts
	// context=. It is what go-selinux's GetEnabled, and so the kubelet,
	// checks.
	SELinuxEnabled bool `json:"selinuxEnabled"`
	// Enforcing is true in enforcing mode, false in permissive mode.
	Enforcing bool `json:"enforcing"`
	// Selinuxfs is where selinuxfs is mounted, "" if it is not.
	Selinuxfs string `json:"selinuxfs,omitempty"`
	// SelinuxfsReadOnly is true when that mount is read-only: libselinux,
	// and so util-linux mount(8), then considers SELinux disabled.
	SelinuxfsReadOnly bool `json:"selinuxfsReadOnly,omitempty"`
	// ConfigPresent is true when /etc/selinux/config exists: libselinux,
	// and so util-linux mount(8), considers SELinux disabled without it.
	ConfigPresent bool `json:"configPresent"`
	// ProcessLabel is the calling process's label, "" when unknown.
	ProcessLabel string `json:"processLabel,omitempty"`
}

// HelperKeepsContext reports whether util-linux mount(8) run in this mount
// namespace passes SELinux options to the kernel, and if not, why.
func (h Host) HelperKeepsContext() (bool, string) {
	switch {
	case !h.SELinuxEnabled:
		return false, "SELinux is not enabled"
	case h.Selinuxfs != "/sys/fs/selinux":
		return false, "selinuxfs is not mounted at /sys/fs/selinux in this mount namespace; util-linux mount(8) drops context= without it (mount it from the host, e.g. a hostPath volume /sys/fs/selinux)"
	case h.SelinuxfsReadOnly:
		return false, "/sys/fs/selinux is mounted read-only; libselinux then reports SELinux as disabled and util-linux mount(8) drops context= (mount it read-write)"
	case !h.ConfigPresent:
		return false, "/etc/selinux/config does not exist in this mount namespace; util-linux mount(8) drops context= without it (mount it from the host, e.g. a hostPath volume /etc/selinux/config)"
	}
	return true, ""
}
