package label

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Defaults are a node's default container labels: the process label a
// container gets and the file label its files get, before any pod option is
// applied. They come from the container-selinux contexts file or the policy's
// lxc_contexts, exactly where go-selinux (and so the kubelet, CRI-O and
// containerd) reads them.
type Defaults struct {
	Process Context // "process" key, e.g. system_u:system_r:container_t:s0
	File    Context // "file" key, e.g. system_u:object_r:container_file_t:s0
	ROFile  Context // "ro_file" key; zero if absent
	Source  string  // the profile name or the file they were read from
}

// Paths of the files go-selinux reads, relative to the node's root.
const (
	ContainersContextsPath = "usr/share/containers/selinux/contexts"
	SELinuxConfigPath      = "etc/selinux/config"
)

var profiles = map[string]Defaults{
	"fedora": {
		Process: MustParse("system_u:system_r:container_t:s0"),
		File:    MustParse("system_u:object_r:container_file_t:s0"),
		ROFile:  MustParse("system_u:object_r:container_ro_file_t:s0"),
		Source:  "fedora",
	},
	"debian": {
		Process: MustParse("system_u:system_r:svirt_lxc_net_t:s0"),
		File:    MustParse("system_u:object_r:svirt_lxc_file_t:s0"),
		Source:  "debian",
	},
}

var profileAliases = map[string]string{
	"fedora": "fedora", "rhel": "fedora", "centos": "fedora", "coreos": "fedora",
	"fcos": "fedora", "rhcos": "fedora", "openshift": "fedora",
	"debian": "debian", "ubuntu": "debian",
}

// ProfileNames returns the names Profile accepts, sorted.
func ProfileNames() []string {
	out := make([]string, 0, len(profileAliases))
	for k := range profileAliases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Profile returns built-in defaults by distribution name: "fedora" (also
// "rhel", "centos", "coreos", "fcos", "rhcos", "openshift": container_t /
// container_file_t, from container-selinux) or "debian" (also "ubuntu":
// svirt_lxc_net_t / svirt_lxc_file_t, from the reference policy's
// lxc_contexts).
func Profile(name string) (Defaults, bool) {
	p, ok := profileAliases[strings.ToLower(name)]
	if !ok {
		return Defaults{}, false
	}
	d := profiles[p]
	d.Source = strings.ToLower(name)
	return d, true
}

// ErrNoDefaults is returned by LoadDefaults when the node has neither file.
var ErrNoDefaults = errors.New("no container SELinux defaults found")

// LoadDefaults reads a node's defaults below root ("/" for the running node,
// a fixture tree in tests). Like go-selinux it reads
// usr/share/containers/selinux/contexts and, when that file does not exist,
// etc/selinux/<SELINUXTYPE>/contexts/lxc_contexts with SELINUXTYPE from
// etc/selinux/config.
func LoadDefaults(root string) (Defaults, error) {
	p := filepath.Join(root, ContainersContextsPath)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		p, err = lxcContextsPath(root)
		if err != nil {
			return Defaults{}, err
		}
		data, err = os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return Defaults{}, fmt.Errorf("%w below %s: neither %s nor %s exists", ErrNoDefaults, root, ContainersContextsPath, p)
		}
	}
	if err != nil {
		return Defaults{}, err
	}
	return ParseContextsFile(p, data)
}

func lxcContextsPath(root string) (string, error) {
	cfg := filepath.Join(root, SELinuxConfigPath)
	data, err := os.ReadFile(cfg)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w below %s: %s does not exist and %s does not exist to name the policy", ErrNoDefaults, root, ContainersContextsPath, SELinuxConfigPath)
	}
	if err != nil {
		return "", err
	}
	// Like go-selinux (readConfig), the first SELINUXTYPE line wins.
	typ := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "SELINUXTYPE" {
			typ = strings.Trim(strings.TrimSpace(v), `"'`)
			break
		}
	}
	if typ == "" || strings.ContainsAny(typ, "/") || typ == ".." {
		return "", fmt.Errorf("%s: no valid SELINUXTYPE= line", cfg)
	}
	return filepath.Join(root, "etc/selinux", typ, "contexts/lxc_contexts"), nil
}

// ParseContextsFile parses the key = "value" lines of a contexts or
// lxc_contexts file. name is used in error messages. The file key must be
// present; a missing process key is allowed (go-selinux then ignores every
// pod option, see FileLabel). As in go-selinux, the last line for a key wins
// and an empty value counts as absent.
func ParseContextsFile(name string, data []byte) (Defaults, error) {
	d := Defaults{Source: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.Trim(strings.TrimSpace(v), `"`)
		var dst *Context
		switch k {
		case "process":
			dst = &d.Process
		case "file":
			dst = &d.File
		case "ro_file":
			dst = &d.ROFile
		default:
			continue
		}
		if v == "" {
			// go-selinux keeps the values in a map and treats "" as
			// absent: `process = ""` makes it ignore pod options and
			// `file = ""` leaves containers without a label.
			*dst = Context{}
			continue
		}
		c, err := Parse(v)
		if err != nil {
			return Defaults{}, fmt.Errorf("%s:%d: %s: %w", name, n, k, err)
		}
		*dst = c
	}
	if d.File.IsZero() {
		return Defaults{}, fmt.Errorf("%s: no file = \"...\" line", name)
	}
	return d, nil
}
