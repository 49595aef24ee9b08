package decide

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/selmount/selmount/kubever"
	"github.com/selmount/selmount/label"
)

// oracle is the upstream decision table (reference §2.8) with the
// per-version quirks, written as plainly as possible and independently of
// the engine: the method the kubelet of minor version m picks.
func oracle(m int, g kubever.Gates, modes []corev1.PersistentVolumeAccessMode, recursivePolicy, driverSupport, hasOptions bool) Method {
	gate := g.Enabled(kubever.SELinuxMountReadWriteOncePod)
	onlyRWOP := len(modes) == 1 && modes[0] == corev1.ReadWriteOncePod
	var eligible bool
	switch {
	case !gate:
		eligible = false
	case m <= 28 && !g.Enabled(kubever.ReadWriteOncePod):
		eligible = false // the RWOP feature gate was checked up to 1.28
	case g.Enabled(kubever.SELinuxMount) && (m == 30 || m == 31):
		eligible = len(modes) == 1 // the ordering bug
	case g.Enabled(kubever.SELinuxMount):
		eligible = true
	default:
		eligible = onlyRWOP
	}
	optOut := m >= 32 && g.Enabled(kubever.SELinuxChangePolicy) && recursivePolicy
	if gate && driverSupport && hasOptions && !optOut && eligible {
		return MountOption
	}
	return Recursive
}

func TestDecisionMatrix(t *testing.T) {
	modeSets := [][]corev1.PersistentVolumeAccessMode{
		{rwop}, {rwo}, {rwx}, {rox}, {rwo, rwop}, {rwo, rwx},
	}
	overrides := []map[string]bool{
		nil,
		{kubever.SELinuxMountReadWriteOncePod: true},
		{kubever.SELinuxMountReadWriteOncePod: true, kubever.ReadWriteOncePod: true},
		{kubever.SELinuxMount: true},
		{kubever.SELinuxMount: false},
		{kubever.SELinuxChangePolicy: true},
		{kubever.SELinuxChangePolicy: false},
		{kubever.SELinuxMount: true, kubever.SELinuxChangePolicy: true},
	}
	fedora, _ := label.Profile("fedora")
	n := 0
	for _, v := range kubever.Versions() {
		for _, ov := range overrides {
			g, err := kubever.NewGates(v, ov)
			if err != nil {
				continue // not settable in this version: covered by kubever's tests
			}
			for _, modes := range modeSets {
				for _, rec := range []bool{false, true} {
					for _, drv := range []string{drvOn, drvOff} {
						for _, opts := range []bool{false, true} {
							p := pod("p")
							if opts {
								level("s0:c1,c2")(p)
							}
							if rec {
								policy(corev1.SELinuxChangePolicyRecursive)(p)
							}
							cfg := Config{Gates: g, SELinuxEnabled: true, Defaults: fedora}
							name := fmt.Sprintf("%s %v modes=%v recursive=%v driver=%s options=%v", v, ov, modes, rec, drv, opts)
							got := one(t, cfg, csiPV("pv", drv, modes...), p)
							want := oracle(v.Minor(), g, modes, rec, drv == drvOn, opts)
							if got.Method != want {
								t.Errorf("%s: method %s, oracle %s (%s)", name, got.Method, want, got.Reason)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d cases ran", n)
	}
}
