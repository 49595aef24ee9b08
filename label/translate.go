package label

import "fmt"

// Options are the four fields of a Kubernetes SELinuxOptions (pod or
// container securityContext.seLinuxOptions), as written.
type Options struct {
	User, Role, Type, Level string
}

// IsEmpty reports whether all four fields are empty.
func (o Options) IsEmpty() bool { return o == Options{} }

// RandomLevel is how selmount writes the level of a label whose level the
// kubelet draws at random (options without a level): go-selinux allocates
// "s0:cX,cY" with two random categories.
const RandomLevel = "s0:<random>"

// FileLabel is the file (mount) label a container's options translate to.
type FileLabel struct {
	// Raw is the label string exactly as the kubelet builds it, the form the
	// kubelet compares and hands to "-o context". "" means no label.
	Raw string
	// Context is Raw parsed; zero when Raw is "" or RandomLevel is set.
	Context Context
	// RandomLevel is set when the options carry no level: the kubelet then
	// mounts with a random level that the container process will not share.
	RandomLevel bool
	// OptionsIgnored is set when the node defaults have no process label:
	// go-selinux then returns the default file label and ignores the options.
	OptionsIgnored bool
}

// FileLabel translates a container's effective SELinux options to the label
// its volumes get, exactly as the kubelet does through go-selinux InitLabels:
//
//   - nil options, or options with all four fields empty, give no label;
//   - otherwise the label is the node's default file label with the user and
//     the level of the options: role and type never reach the file label, so
//     {type: spc_t, level: s0:c1,c2} still gives container_file_t;
//   - without a level, go-selinux allocates a random one (see RandomLevel).
//     Upstream documentation says pods must set a level; the kubelet does not
//     enforce it, and neither does this function. Callers should warn.
//
// Unlike the kubelet, FileLabel validates what it copies: an invalid user or
// level, which the kernel would reject at mount time with EINVAL, is returned
// as a *ParseError.
func (d Defaults) FileLabel(o *Options) (FileLabel, error) {
	if o == nil || o.IsEmpty() {
		return FileLabel{}, nil
	}
	if d.Process.IsZero() {
		return FileLabel{Raw: d.File.String(), Context: d.File, OptionsIgnored: true}, nil
	}
	user := d.File.User()
	if o.User != "" {
		if err := checkIdent("label.FileLabel", o.User, "user", o.User, 0); err != nil {
			return FileLabel{}, err
		}
		user = o.User
	}
	prefix := user + ":" + d.File.Role() + ":" + d.File.Type()
	switch {
	case o.Level != "":
		lv, err := ParseLevel(o.Level)
		if err != nil {
			return FileLabel{}, err
		}
		c := d.File.WithUser(user).WithLevel(lv)
		return FileLabel{Raw: prefix + ":" + o.Level, Context: c}, nil
	case !d.Process.Level().IsZero():
		return FileLabel{Raw: prefix + ":" + RandomLevel, RandomLevel: true}, nil
	default:
		c := d.File.WithUser(user)
		return FileLabel{Raw: c.String(), Context: c}, nil
	}
}

// String returns Raw.
func (f FileLabel) String() string { return f.Raw }

// Hazard returns a one-line warning about the label, or "".
func (f FileLabel) Hazard() string {
	switch {
	case f.RandomLevel:
		return "seLinuxOptions has no level: the kubelet mounts with a random level that the container will not get, so the container cannot use its files; set a level"
	case f.OptionsIgnored:
		return "the node's contexts file has no process label: go-selinux ignores the pod's seLinuxOptions and uses the default file label"
	}
	return ""
}

var _ fmt.Stringer = FileLabel{}
