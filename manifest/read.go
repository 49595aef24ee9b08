package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/selmount/selmount/manifest/internal/strictjson"
)

// Size limits. An object is bounded as the API server bounds a request
// body (3 MiB, apiserver's MaxRequestBodyBytes): no larger object can exist
// in a cluster (etcd itself stores at most 1.5 MiB per value by default).
// A List document may be larger: each of its items is bounded instead. The
// whole input of one read is bounded so that memory stays bounded whatever
// -f names (/dev/zero, a runaway generator on standard input); 256 MiB of
// manifests is several times a 100,000-pod cluster, and selmount needs
// about 14 bytes of memory per byte of input to check it.
const (
	DefaultMaxObjectBytes = 3 << 20
	DefaultMaxInputBytes  = 256 << 20
)

// Options tune ReadWith. The zero value (or nil) reads as Read does.
type Options struct {
	// Transform is called on every decoded object as soon as it is decoded,
	// from several goroutines at once, before the next documents are read
	// into memory: check.Slim there keeps large inputs small.
	Transform func(obj any)
	// Discard lists, per kind ("Pod", "PersistentVolume", ...), fields that
	// are checked as strictly as the others but not kept: they are zero in
	// the decoded objects, which are smaller and faster to decode. A path
	// is JSON field names from the object down; lists, maps and pointers
	// are transparent: "spec.containers.env" is the env of every container.
	Discard map[string][]string
	// Standard decodes with sigs.k8s.io/yaml and sigs.k8s.io/json alone,
	// as the API machinery does, instead of selmount's fast paths (which
	// give the same objects and errors): for side-by-side benchmarks, and
	// to rule the fast paths out when a result looks wrong.
	Standard bool
	// MaxObjectBytes bounds one object (a document, or an item of a List),
	// as JSON; 0 means DefaultMaxObjectBytes. A larger object is an error
	// that names it; the others are still read.
	MaxObjectBytes int
	// MaxInputBytes bounds everything one read takes in, all paths and
	// standard input together; 0 means DefaultMaxInputBytes. The path that
	// crosses the limit is an error, and nothing after it is read.
	MaxInputBytes int64
}

// reader is what decoding needs from Options.
type reader struct {
	transform func(any)
	skips     map[string]*strictjson.Skip // by kind
	standard  bool
	maxObject int
}

func newReader(opt *Options) *reader {
	r := &reader{maxObject: DefaultMaxObjectBytes}
	if opt == nil {
		return r
	}
	r.transform, r.standard = opt.Transform, opt.Standard
	if opt.MaxObjectBytes > 0 {
		r.maxObject = opt.MaxObjectBytes
	}
	for kind, paths := range opt.Discard {
		if r.skips == nil {
			r.skips = map[string]*strictjson.Skip{}
		}
		r.skips[kind] = compiledSkip(kind, paths)
	}
	return r
}

// skipCache keeps one compiled Skip per kind and path list: decoding plans
// are cached per Skip, so repeated reads with the same options share them.
var skipCache sync.Map // string -> *strictjson.Skip

func compiledSkip(kind string, paths []string) *strictjson.Skip {
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	key := kind + "\x00" + strings.Join(sorted, "\x00")
	if s, ok := skipCache.Load(key); ok {
		return s.(*strictjson.Skip)
	}
	s, _ := skipCache.LoadOrStore(key, strictjson.NewSkip(sorted...))
	return s.(*strictjson.Skip)
}

// Read reads every path: a file, a directory (walked recursively for .yaml,
// .yml and .json files, in lexical order) or "-" for stdin. It returns the
// objects it could decode and the errors of the bad documents (one per
// problem) and unreadable paths; a bad document does not stop the others.
// Objects of kinds selmount does not analyse are left out; ReadAll lists
// them.
func Read(paths []string, stdin io.Reader) ([]Object, []error) {
	return ReadWith(paths, stdin, nil)
}

// ReadWith is Read with options.
func ReadWith(paths []string, stdin io.Reader, opt *Options) ([]Object, []error) {
	res := ReadAll(paths, stdin, opt)
	return res.Objects, res.Errors
}

// ReadAll reads every path as Read does, and also lists the objects it
// skipped.
//
// What is read:
//   - "-" is standard input, read to its end (a pipe, a file, a terminal);
//   - a path named explicitly is read whatever it is: a regular file, or a
//     FIFO or a character device (`-f <(helm template ...)` passes a pipe
//     as /dev/fd/63), read to its end like standard input: a FIFO that no
//     process writes to waits for one, as cat(1) would;
//   - in a directory, only regular files (or symbolic links to regular
//     files) named *.yaml, *.yml or *.json are read, and hidden
//     directories are skipped. A FIFO, device or socket with such a name is
//     reported, never opened (opening a FIFO blocks until a writer comes).
//     Symbolic links to directories are not followed, as in
//     filepath.WalkDir, so a link loop cannot trap the walk;
//   - an unreadable file or subdirectory, or a dangling link, is an error,
//     and the rest of the tree is still read.
//
// Sizes are bounded (see Options.MaxObjectBytes and MaxInputBytes), so
// memory is bounded whatever the input: -f /dev/zero stops at the input
// limit with an error that names it.
func ReadAll(paths []string, stdin io.Reader, opt *Options) Result {
	return readAll(osFS{}, paths, stdin, opt)
}

// fileSystem is what reading needs from the operating system; tests inject
// failures through it (they run as root, for whom permissions never fail).
type fileSystem interface {
	Stat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	// Open opens name for reading; nonBlocking opens it without waiting
	// (a FIFO without a writer), for files that must be regular.
	Open(name string, nonBlocking bool) (fsFile, error)
}

type fsFile interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
}

type osFS struct{}

func (osFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }
func (osFS) Open(name string, nonBlocking bool) (fsFile, error) {
	flags := os.O_RDONLY
	if nonBlocking {
		flags |= oNonBlock
	}
	return os.OpenFile(name, flags, 0)
}

func readAll(fsys fileSystem, paths []string, stdin io.Reader, opt *Options) Result {
	r := newReader(opt)
	budget := int64(DefaultMaxInputBytes)
	if opt != nil && opt.MaxInputBytes > 0 {
		budget = opt.MaxInputBytes
	}
	in := &input{fsys: fsys, left: budget, limit: budget}
	var res Result
	for _, p := range paths {
		if in.exhausted {
			break
		}
		if p == "-" {
			data, err := in.read("standard input", stdin, -1)
			if err != nil {
				res.Errors = append(res.Errors, err)
				continue
			}
			res.add(decode("-", data, r))
			continue
		}
		files, errs := in.expand(p)
		for _, err := range errs {
			res.Errors = append(res.Errors, plainPathError(err))
		}
		for _, f := range files {
			if in.exhausted {
				break
			}
			data, err := in.readFile(f.path, f.inDir)
			if err != nil {
				res.Errors = append(res.Errors, plainPathError(err))
				continue
			}
			res.add(decode(f.path, data, r))
		}
	}
	return res
}

// input tracks what one read has taken in.
type input struct {
	fsys      fileSystem
	left      int64 // bytes that may still be read
	limit     int64
	exhausted bool // the limit was crossed: nothing more is read
}

type file struct {
	path  string
	inDir bool // found in a directory: must be a regular file
}

// read reads r to its end within the input limit. sizeHint is the size of
// a regular file (-1 or 0 when unknown: a stream, a /proc file), to read it
// in one allocation. Streams are read in chunks of growing size, so that a
// stream over the limit never holds more than the limit in memory (a
// doubling buffer would hold up to three times as much while it copies).
func (in *input) read(name string, r io.Reader, sizeHint int64) ([]byte, error) {
	// One byte more than allowed tells a stream at the limit from a longer
	// one.
	lr := &io.LimitedReader{R: r, N: in.left + 1}
	size := int64(64 << 10)
	if sizeHint > 0 {
		size = min(sizeHint, in.left) + 1 // +1: EOF is seen without another chunk
	}
	var chunks [][]byte
	total := int64(0)
	for {
		buf := make([]byte, size)
		n, err := io.ReadFull(lr, buf)
		if n > 0 {
			chunks = append(chunks, buf[:n])
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		size = min(max(size, 64<<10)*2, 4<<20)
	}
	if total > in.left {
		in.exhausted = true
		return nil, fmt.Errorf("%s: input %w: more than %s in one run (the input limit; nothing after it is read)", name, ErrTooLarge, sizeText(in.limit))
	}
	in.left -= total
	switch len(chunks) {
	case 0:
		return []byte{}, nil
	case 1:
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

func (in *input) readFile(path string, inDir bool) ([]byte, error) {
	f, err := in.fsys.Open(path, inDir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	hint := int64(-1)
	switch {
	case fi.Mode().IsRegular():
		hint = fi.Size()
	case fi.IsDir():
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
	case inDir:
		// Replaced since the walk saw it: never read what may block.
		return nil, notRegular(path, fi)
	}
	return in.read(path, f, hint)
}

func notRegular(path string, fi fs.FileInfo) error {
	what := "not a regular file"
	switch m := fi.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%s: %s, not read: in a directory only regular files are read (name it with -f to read it)", path, what)
}

// expand returns the files p stands for: p itself, or the manifests below
// the directory p, in lexical order. The errors are those of the paths
// that could not be read; the others are still returned.
func (in *input) expand(p string) ([]file, []error) {
	fi, err := in.fsys.Stat(p)
	if err != nil {
		return nil, []error{err}
	}
	if !fi.IsDir() {
		return []file{{path: p}}, nil
	}
	var paths []string
	var errs []error
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := in.fsys.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			// ReadDir returns what it read before the error: go on with it.
		}
		for _, d := range entries {
			path := filepath.Join(dir, d.Name())
			typ := d.Type()
			if typ&fs.ModeSymlink != 0 {
				target, err := in.fsys.Stat(path)
				if err != nil {
					if isManifestName(path) {
						errs = append(errs, err) // a dangling link, a link loop
					}
					continue
				}
				if target.IsDir() {
					continue // not followed, as filepath.WalkDir
				}
				typ = target.Mode().Type()
			}
			switch {
			case typ.IsDir():
				if !strings.HasPrefix(d.Name(), ".") {
					walk(path)
				}
			case !isManifestName(path):
			case typ.IsRegular():
				paths = append(paths, path)
			default:
				info, err := d.Info()
				if err == nil && d.Type()&fs.ModeSymlink != 0 {
					info, err = in.fsys.Stat(path)
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				errs = append(errs, notRegular(path, info))
			}
		}
	}
	walk(p)
	slices.Sort(paths)
	if len(paths) == 0 && len(errs) == 0 {
		return nil, []error{fmt.Errorf("%s: no .yaml, .yml or .json files in directory", p)}
	}
	files := make([]file, len(paths))
	for i, path := range paths {
		files[i] = file{path: path, inDir: true}
	}
	return files, errs
}

func isManifestName(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// sizeText writes a byte count in the largest binary unit that divides it,
// or with one decimal.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// pathError is a file system error said as a user reads it: the path and
// what is wrong, without the system call ("stat", "open") that found it.
// It unwraps to the original error, so errors.Is(err, fs.ErrNotExist)
// still holds.
type pathError struct {
	err *fs.PathError
}

func (e *pathError) Error() string {
	switch {
	case errors.Is(e.err.Err, fs.ErrNotExist):
		return e.err.Path + " does not exist"
	case errors.Is(e.err.Err, fs.ErrPermission):
		return e.err.Path + ": permission denied"
	}
	return e.err.Path + ": " + e.err.Err.Error()
}

func (e *pathError) Unwrap() error { return e.err }

// plainPathError returns err as a *pathError when it is a bare
// *fs.PathError, and err itself otherwise.
func plainPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return &pathError{pe}
	}
	return err
}
