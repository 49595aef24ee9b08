// Package mountinfo parses the kernel's mount table, /proc/<pid>/mountinfo.
//
// Each line describes one mount:
//
//	36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext4 /dev/root rw,errors=continue
//	(1)(2) (3)  (4)     (5)         (6)        (7)   (8)(9)   (10)      (11)
//
// mount ID, parent ID, major:minor of the filesystem, root of the mount within
// the filesystem, mount point, per-mount options, zero or more optional fields
// ("shared:N", "master:N", "propagate_from:N", "unbindable"), a "-" separator,
// filesystem type, mount source and per-superblock options.
//
// The kernel escapes space, tab, newline and backslash (and, on newer
// kernels, '#') in paths and sources as a backslash and three octal digits
// ("\040" for a space); Parse decodes them and Mount.String encodes them again.
//
// Option lists are split on commas outside double quotes. SELinux prints a
// context whose category set contains a comma in quotes,
// context="system_u:object_r:container_file_t:s0:c314,c894", and the quoted
// comma does not start a new option. Options.Get removes the quotes.
//
// Parse is pure: it reads any io.Reader, so tests run on captured files.
// ReadSelf is the thin wrapper that reads the calling process's table on Linux.
package mountinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mount is one line of a mountinfo file.
type Mount struct {
	ID       int    // unique mount ID (may be reused after unmount)
	ParentID int    // ID of the parent mount (or of itself for the root of the tree)
	Major    uint32 // st_dev major of the filesystem
	Minor    uint32 // st_dev minor of the filesystem
	Root     string // path of the directory of the filesystem that forms the root of this mount
	// MountPoint is where the mount is attached, relative to the reading
	// process's root.
	MountPoint string
	Options    Options  // per-mount options ("rw,nosuid,relatime")
	Optional   []string // optional fields, e.g. "shared:1", "master:2"
	FSType     string   // "ext4", "tmpfs", "fuse.sshfs", ...
	Source     string   // mount source ("/dev/sda1", "tmpfs", "server:/export", "none")
	// SuperOptions are the per-superblock options, where filesystems and
	// LSMs print their own options (context=..., seclabel, size=...).
	SuperOptions Options
}

// ErrUnsupported is returned by ReadSelf and ReadPID on systems without
// /proc/<pid>/mountinfo.
var ErrUnsupported = errors.New("mountinfo: not supported on this operating system")

// ErrMalformed is matched by every *ParseError through errors.Is.
var ErrMalformed = errors.New("malformed mountinfo line")

// ParseError reports a line that is not a valid mountinfo line.
type ParseError struct {
	Line int    // 1-based line number, 0 when parsing a single line
	Text string // the whole line
	Msg  string // what is wrong
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("mountinfo: line %d: %s: %q", e.Line, e.Msg, e.Text)
	}
	return fmt.Sprintf("mountinfo: %s: %q", e.Msg, e.Text)
}

// Is makes errors.Is(err, ErrMalformed) true for every *ParseError.
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// Parse reads a whole mountinfo file. Empty lines are skipped; the first
// malformed line stops parsing with a *ParseError. Lines of any length are
// accepted.
func Parse(r io.Reader) ([]Mount, error) {
	br := bufio.NewReader(r)
	var out []Mount
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return out, fmt.Errorf("mountinfo: reading line %d: %w", n, err)
		}
		text := strings.TrimSuffix(line, "\n")
		if text != "" {
			m, perr := parseLine(text)
			if perr != nil {
				perr.Line = n
				return out, perr
			}
			out = append(out, m)
		}
		if err == io.EOF {
			return out, nil
		}
	}
}

// ParseLine parses one mountinfo line, without its trailing newline.
func ParseLine(line string) (Mount, error) {
	m, err := parseLine(line)
	if err != nil {
		return Mount{}, err
	}
	return m, nil
}

// parseLine returns a *ParseError rather than an error so that Parse can set
// the line number.
func parseLine(line string) (Mount, *ParseError) {
	bad := func(format string, args ...any) (Mount, *ParseError) {
		return Mount{}, &ParseError{Text: line, Msg: fmt.Sprintf(format, args...)}
	}
	// Fields are separated by exactly one space; an empty field (an empty
	// mount source, printed by some filesystems) stays an empty string.
	f := strings.Split(line, " ")
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 10 {
		return bad("%d fields, want at least 10", len(f))
	}
	if sep < 0 {
		return bad("no \" - \" separator after the sixth field")
	}
	if n := len(f) - sep - 1; n != 3 {
		return bad("%d fields after the separator, want 3 (type, source, super options)", n)
	}
	var m Mount
	var ok bool
	if m.ID, ok = atoi(f[0]); !ok {
		return bad("mount ID %q is not a number", f[0])
	}
	if m.ParentID, ok = atoi(f[1]); !ok {
		return bad("parent ID %q is not a number", f[1])
	}
	maj, min, found := strings.Cut(f[2], ":")
	if !found {
		return bad("device %q is not major:minor", f[2])
	}
	if m.Major, ok = atou32(maj); !ok {
		return bad("device %q: bad major number", f[2])
	}
	if m.Minor, ok = atou32(min); !ok {
		return bad("device %q: bad minor number", f[2])
	}
	if f[3] == "" {
		return bad("empty root")
	}
	if f[4] == "" {
		return bad("empty mount point")
	}
	m.Root = Unescape(f[3])
	m.MountPoint = Unescape(f[4])
	m.Options = ParseOptions(f[5])
	if sep > 6 {
		m.Optional = make([]string, 0, sep-6)
		for _, o := range f[6:sep] {
			m.Optional = append(m.Optional, Unescape(o))
		}
	}
	if f[sep+1] == "" {
		return bad("empty filesystem type")
	}
	m.FSType = Unescape(f[sep+1])
	m.Source = Unescape(f[sep+2])
	m.SuperOptions = ParseOptions(f[sep+3])
	return m, nil
}

// atoi parses a non-negative decimal of ASCII digits (ParseUint takes no
// sign, and no underscores or prefixes in base 10), at most 18 of them.
func atoi(s string) (int, bool) {
	if len(s) > 18 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 63)
	return int(n), err == nil
}

func atou32(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// String formats m as a mountinfo line (without newline), escaping what the
// kernel escapes. ParseLine(m.String()) returns m for every m that ParseLine
// returned.
func (m Mount) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(m.ID))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(m.ParentID))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(m.Major), 10))
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(uint64(m.Minor), 10))
	b.WriteByte(' ')
	b.WriteString(Escape(m.Root))
	b.WriteByte(' ')
	b.WriteString(Escape(m.MountPoint))
	b.WriteByte(' ')
	b.WriteString(m.Options.String())
	for _, o := range m.Optional {
		b.WriteByte(' ')
		b.WriteString(Escape(o))
	}
	b.WriteString(" - ")
	b.WriteString(Escape(m.FSType))
	b.WriteByte(' ')
	b.WriteString(Escape(m.Source))
	b.WriteByte(' ')
	b.WriteString(m.SuperOptions.String())
	return b.String()
}

// Dev returns the filesystem's device number as major:minor.
func (m Mount) Dev() string {
	return strconv.FormatUint(uint64(m.Major), 10) + ":" + strconv.FormatUint(uint64(m.Minor), 10)
}

// OptionalField returns the value of the optional field tag ("shared",
// "master", "propagate_from") and whether it is present. A field without a
// value ("unbindable") returns "" and true.
func (m Mount) OptionalField(tag string) (string, bool) {
	for _, o := range m.Optional {
		k, v, _ := strings.Cut(o, ":")
		if k == tag {
			return v, true
		}
	}
	return "", false
}

// SELinuxContext returns the label of a mount made with context=, without
// quotes, looked up in the super options first and then in the per-mount
// options. ok is false if the mount carries no context= option.
func (m Mount) SELinuxContext() (label string, ok bool) {
	if v, ok := m.SuperOptions.Get("context"); ok {
		return v, true
	}
	return m.Options.Get("context")
}

// HasOption reports whether the per-mount or the super options contain name,
// either as a flag ("seclabel") or as a key ("size=1m" for "size").
func (m Mount) HasOption(name string) bool {
	return m.SuperOptions.Has(name) || m.Options.Has(name)
}

// Seclabel reports whether the filesystem supports SELinux labels per file:
// the kernel shows "seclabel" for filesystems that store labels (ext4 and
// xfs with xattrs, tmpfs) and do not carry a context= mount option.
func (m Mount) Seclabel() bool { return m.HasOption("seclabel") }

// ReadOnly reports whether the mount is read-only.
func (m Mount) ReadOnly() bool { return m.Options.Has("ro") }

// Lookup returns the mount visible at mountPoint: the last entry with that
// exact mount point, since a later mount on the same point hides earlier
// ones. mountPoint must be clean and absolute, as the kernel prints it.
func Lookup(mounts []Mount, mountPoint string) (Mount, bool) {
	for i := len(mounts) - 1; i >= 0; i-- {
		if mounts[i].MountPoint == mountPoint {
			return mounts[i], true
		}
	}
	return Mount{}, false
}

// Containing returns the mount that contains path: the visible mount with
// the longest mount point that is path itself or one of its parents. path
// must be clean and absolute, with symbolic links resolved.
func Containing(mounts []Mount, path string) (Mount, bool) {
	best, bestLen, found := Mount{}, -1, false
	for i := len(mounts) - 1; i >= 0; i-- {
		mp := mounts[i].MountPoint
		if len(mp) <= bestLen || !isUnder(path, mp) {
			continue
		}
		best, bestLen, found = mounts[i], len(mp), true
	}
	return best, found
}

func isUnder(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir) && len(path) > len(dir) && path[len(dir)] == '/'
}

// Unescape decodes the kernel's octal escapes (a backslash and exactly three
// octal digits). A backslash not followed by three octal digits is kept.
func Unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (int(s[i+1]-'0')<<6 | int(s[i+2]-'0')<<3 | int(s[i+3]-'0'))
			if v <= 0xff {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// Escape encodes s as the kernel prints paths: space, tab, newline and
// backslash as "\ooo" octal escapes.
func Escape(s string) string { return escape(s, false) }

// escape encodes s; with commas set, it also encodes commas outside double
// quotes, so that an option value that contained an escaped comma stays one
// option, and an option's double quotes when they are odd in number (an
// escaped quote in the kernel's line), so that they do not open a quote that
// swallows the next comma.
func escape(s string, commas bool) string {
	oddQuotes := commas && strings.Count(s, `"`)%2 == 1
	need := oddQuotes
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) || commas && s[i] == ',' {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && !oddQuotes:
			quoted = !quoted
			b.WriteByte(c)
		case mustEscape(c) || commas && c == ',' && !quoted || c == '"':
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + (c>>3)&7)
			b.WriteByte('0' + c&7)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mustEscape(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\\' }
