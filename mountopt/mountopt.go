// Package mountopt builds the option list of a mount that labels a volume
// with -o context, the way KEP-1710 mounts volumes, and checks it.
//
// The final list is:
//
//  1. the driver's or the PersistentVolume's options, in their order;
//  2. the option the filesystem needs so that several volumes exported by one
//     server get a superblock each, and so can carry different labels:
//     nosharecache for NFS, nosharesock for CIFS/SMB (added only when the
//     list carries a label and the option is not there yet);
//  3. context="<label>" last, with literal double quotes: the kernel splits
//     the option string on commas outside quotes, and the category set of an
//     MCS label ("s0:c1,c2") has one.
//
// Labels are compared canonically (s0:c2,c1 equals s0:c1,c2), as the kernel
// compares them. A list that already carries an SELinux mount option
// (context, fscontext, defcontext, rootcontext) for another label is refused
// with a *ConflictError: the kernel would either reject the mount or label
// the volume with something else than the pod needs. The same label in
// context= or defcontext= is dropped (context= is added last once, and the
// kernel accepts neither a repeated context= nor context= with defcontext=);
// the same label in fscontext= or rootcontext= is kept.
//
// Kubernetes, unlike this package, compares label strings exactly as
// written; see package label.
//
// The package is pure: no system calls, so it runs and is tested anywhere.
package mountopt

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/selmount/selmount/label"
)

// SELinux mount options understood by the kernel.
const (
	Context     = "context"
	FSContext   = "fscontext"
	DefContext  = "defcontext"
	RootContext = "rootcontext"
)

// IsSELinuxKey reports whether key is one of the four SELinux mount options.
func IsSELinuxKey(key string) bool {
	switch key {
	case Context, FSContext, DefContext, RootContext:
		return true
	}
	return false
}

// Errors callers can branch on with errors.Is.
var (
	// ErrConflict is matched by every *ConflictError.
	ErrConflict = errors.New("conflicting SELinux mount options")
	// ErrInvalidLabel is matched when an SELinux option carries a value that
	// is not a valid label.
	ErrInvalidLabel = errors.New("invalid SELinux label")
)

// ConflictError reports an option that cannot go with the requested label.
type ConflictError struct {
	Option string        // the option as written, e.g. `context="...:s0:c1,c2"`
	Key    string        // "context", "fscontext", "defcontext", "rootcontext" or another option
	Have   label.Context // the label the option carries; zero for a non-SELinux option
	Want   label.Context // the label the mount needs
	Reason string        // why they cannot go together
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("mount option %s conflicts with label %s: %s", e.Option, e.Want, e.Reason)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// LabelError reports an SELinux option whose value does not parse.
type LabelError struct {
	Option string // the option as written
	Err    error  // the *label.ParseError
}

func (e *LabelError) Error() string {
	return fmt.Sprintf("mount option %s: %v", e.Option, e.Err)
}

// Unwrap returns the parse error.
func (e *LabelError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalidLabel) true.
func (e *LabelError) Is(target error) bool { return target == ErrInvalidLabel }

// Split splits an option string such as "ro,noatime,context=\"...:s0:c1,c2\""
// on commas outside double quotes. Empty items are dropped.
func Split(s string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '"':
				quoted = !quoted
				continue
			case ',':
				if quoted {
					continue
				}
			default:
				continue
			}
		}
		if item := s[start:i]; item != "" {
			out = append(out, item)
		}
		start = i + 1
	}
	return out
}

// Join joins options with commas: the string mount(8) takes after -o and
// mount(2) takes as data.
func Join(opts []string) string { return strings.Join(opts, ",") }

// KeyValue splits an option into its key and value, with one pair of
// surrounding double quotes removed from the value.
func KeyValue(opt string) (key, value string, hasValue bool) {
	key, value, hasValue = strings.Cut(opt, "=")
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return key, value, hasValue
}

// ShareOption returns the option that gives each mount of fstype its own
// superblock, so that mounts of one server can carry different labels:
// "nosharecache" for nfs and nfs4, "nosharesock" for cifs and smb3, "" for
// every other filesystem (block filesystems have a superblock per device;
// CephFS and GlusterFS need nothing).
func ShareOption(fstype string) string {
	switch fstype {
	case "nfs", "nfs4":
		return "nosharecache"
	case "cifs", "smb3":
		return "nosharesock"
	}
	return ""
}

// Build returns the option list for mounting a filesystem of type fstype
// with label lbl: opts in order, the filesystem's share option, then
// context="<lbl>". opts is not modified. With the zero label Build only
// validates the SELinux options already in opts and returns a copy.
//
// Options written without quotes by a user, such as the two items
// "context=system_u:object_r:container_file_t:s0:c1" and "c2" that a split on
// every comma leaves, are joined back into one label.
func Build(fstype string, opts []string, lbl label.Context) ([]string, error) {
	items, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items)+2)
	share := ShareOption(fstype)
	for _, it := range items {
		if !lbl.IsZero() && share == "nosharecache" && it.key == "sharecache" {
			return nil, &ConflictError{Option: it.raw, Key: it.key, Want: lbl,
				Reason: "NFS mounts of one server share a superblock with sharecache, so they cannot carry different labels; remove it"}
		}
		if !it.selinux || lbl.IsZero() {
			out = append(out, it.raw)
			continue
		}
		if it.label != lbl {
			return nil, &ConflictError{Option: it.raw, Key: it.key, Have: it.label, Want: lbl,
				Reason: "it asks for label " + it.label.String()}
		}
		switch it.key {
		case Context, DefContext:
			// Added once below, or subsumed by context=.
		default:
			out = append(out, it.raw)
		}
	}
	if lbl.IsZero() {
		return out, nil
	}
	if share != "" && !contains(out, share) {
		out = append(out, share)
	}
	return append(out, lbl.MountOption()), nil
}

// Plan is what a CSI node plugin mounts: the options to pass to mount and the
// label the mount must carry afterwards (zero when the kubelet asked for no
// context).
type Plan struct {
	Options []string
	Label   label.Context
}

// FromFlags turns the mount_flags of a CSI NodeStageVolume or
// NodePublishVolume request into a Plan. The kubelet appends
// context="<label>" to the PersistentVolume's mountOptions when it wants a
// context mount; FromFlags takes the label from there, then builds the list
// as Build does. Flags with two different context= labels are refused.
func FromFlags(fstype string, flags []string) (Plan, error) {
	items, err := normalize(flags)
	if err != nil {
		return Plan{}, err
	}
	var lbl label.Context
	for _, it := range items {
		if it.key != Context {
			continue
		}
		if !lbl.IsZero() && it.label != lbl {
			return Plan{}, &ConflictError{Option: it.raw, Key: it.key, Have: it.label, Want: lbl,
				Reason: "the flags carry two different context= labels"}
		}
		lbl = it.label
	}
	opts, err := Build(fstype, flags, lbl)
	if err != nil {
		return Plan{}, err
	}
	return Plan{Options: opts, Label: lbl}, nil
}

// LabelOf returns the label of the context= option in opts, the zero
// Context if there is none.
func LabelOf(opts []string) (label.Context, error) {
	items, err := normalize(opts)
	if err != nil {
		return label.Context{}, err
	}
	var lbl label.Context
	for _, it := range items {
		if it.key == Context {
			lbl = it.label
		}
	}
	return lbl, nil
}

type item struct {
	raw     string
	key     string
	selinux bool
	label   label.Context
}

// category matches an item that can only be the tail of an unquoted category
// set: "c2" or "c3.c9".
var category = regexp.MustCompile(`^c[0-9]+(\.c[0-9]+)?$`)

func normalize(opts []string) ([]item, error) {
	out := make([]item, 0, len(opts))
	for i := 0; i < len(opts); i++ {
		raw := opts[i]
		if raw == "" {
			continue
		}
		key, value, _ := KeyValue(raw)
		it := item{raw: raw, key: key}
		if IsSELinuxKey(key) {
			if _, rawValue, _ := strings.Cut(raw, "="); !strings.HasPrefix(rawValue, `"`) {
				for i+1 < len(opts) && category.MatchString(opts[i+1]) {
					i++
					value += "," + opts[i]
				}
				if value != "" && strings.Contains(value, ",") {
					it.raw = key + "=" + `"` + value + `"`
				}
			}
			c, err := label.Parse(value)
			if err != nil {
				return nil, &LabelError{Option: it.raw, Err: err}
			}
			it.selinux, it.label = true, c
		}
		out = append(out, it)
	}
	return out, nil
}

func contains(opts []string, key string) bool {
	for _, o := range opts {
		if k, _, _ := strings.Cut(o, "="); k == key {
			return true
		}
	}
	return false
}
