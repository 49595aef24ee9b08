// Command labelbench measures how long it takes until every file of an ext4
// volume carries a pod's label: by mounting it with -o context (ctxmount),
// by relabeling it with selmount's relabeler, and by relabeling it with
// go-selinux's Chcon, the code CRI-O and containerd use.
//
//	labelbench mkimage -n FILES -o IMAGE        (host) build an ext4 image
//	labelbench run -n FILES -disks A,B,C [-reps R]  (guest) measure, JSON lines out
//	labelbench report -in RESULTS [-svg FILE]    (host) table with ratios, plot
//
// "run" must run as root on an SELinux-enforcing kernel (hack/selinux-vm);
// each method gets its own copy of the image (A, B, C), so that every
// repetition starts from the same state: unmounted, caches dropped.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/selmount/selmount/ctxmount"
	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/relabel"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: labelbench mkimage|run|report ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "mkimage":
		err = mkimage(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "prelabeled":
		err = prelabeled(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labelbench:", err)
		os.Exit(1)
	}
}

// mkimage writes n empty files, 1000 per directory, and builds an ext4 image
// from them with mke2fs -d.
func mkimage(args []string) error {
	fl := flag.NewFlagSet("mkimage", flag.ExitOnError)
	n := fl.Int("n", 1000, "number of files")
	out := fl.String("o", "", "image file to write")
	tmp := fl.String("tmp", os.TempDir(), "where to build the file tree")
	fl.Parse(args)
	if *out == "" {
		return errors.New("mkimage: -o is required")
	}
	src, err := os.MkdirTemp(*tmp, "labelbench-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	for i := 0; i < *n; i++ {
		d := filepath.Join(src, fmt.Sprintf("d%04d", i/1000))
		if i%1000 == 0 {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		f, err := os.OpenFile(filepath.Join(d, fmt.Sprintf("f%07d", i)), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	inodes := *n + *n/1000 + 1024
	sizeMB := 64 + inodes*400/(1<<20)
	os.Remove(*out)
	cmd := exec.Command("mkfs.ext4", "-q", "-F", "-N", strconv.Itoa(inodes), "-d", src, *out, strconv.Itoa(sizeMB)+"M")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// Result is one measurement.
type Result struct {
	Files    int     `json:"files"`    // regular files in the image
	Method   string  `json:"method"`   // "context", "mount2", "relabel" or "chcon"
	Rep      int     `json:"rep"`      // repetition
	Seconds  float64 `json:"seconds"`  // until every entry carries the label
	Verified int64   `json:"verified"` // entries (files, directories, the root) checked afterwards to carry the label; 0 when not checked
}

// The methods, and which of the three disks each uses: a context mount writes
// nothing, so "context" and "mount2" share the first one.
//
//	context  ctxmount.Mount with the label: host checks, mount(2), verification
//	mount2   the mount(2) system call alone, with context=
//	relabel  mount without context, then relabel.Relabel
//	chcon    mount without context, then go-selinux Chcon(path, label, true)
var (
	methods = []string{"context", "mount2", "relabel", "chcon"}
	diskOf  = map[string]int{"context": 0, "mount2": 0, "relabel": 1, "chcon": 2}
)

func run(args []string) error {
	fl := flag.NewFlagSet("run", flag.ExitOnError)
	n := fl.Int("n", 0, "number of files in the images (for the report)")
	disks := fl.String("disks", "", "three comma-separated block devices with the same image: for the context mounts, relabel and chcon")
	only := fl.String("methods", strings.Join(methods, ","), "methods to measure")
	reps := fl.Int("reps", 3, "repetitions per method")
	verifyAll := fl.Bool("verify-all", false, "check every entry's label after every repetition (default: after the first)")
	noVerify := fl.Bool("no-verify", false, "never check the labels afterwards (for extra repetitions of a verified run)")
	fl.IntVar(&relabelWorkers, "workers", 0, "relabel.Options.Workers (0: the default)")
	fl.Parse(args)
	devs := strings.Split(*disks, ",")
	if len(devs) != 3 {
		return errors.New("run: -disks needs 3 devices")
	}
	if h, err := ctxmount.CheckHost(); err != nil || !h.SELinuxEnabled {
		return fmt.Errorf("run: SELinux is not enabled (%+v, %v)", h, err)
	}
	target := "/mnt/labelbench"
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for rep := 0; rep < *reps; rep++ {
		// Another label each time, so that every relabel writes every entry.
		lbl := label.MustParse(fmt.Sprintf("system_u:object_r:container_file_t:s0:c%d,c%d", 2*rep+1, 2*rep+2))
		for _, m := range strings.Split(*only, ",") {
			i, ok := diskOf[m]
			if !ok {
				return fmt.Errorf("run: unknown method %q", m)
			}
			r, err := measure(m, devs[i], target, lbl, !*noVerify && (rep == 0 || *verifyAll))
			if err != nil {
				return fmt.Errorf("%s rep %d: %w", m, rep, err)
			}
			r.Files, r.Rep = *n, rep
			enc.Encode(r)
		}
	}
	return nil
}

func dropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}

// relabelWorkers is relabel.Options.Workers for the relabel method.
var relabelWorkers int

func measure(method, dev, target string, lbl label.Context, check bool) (Result, error) {
	r := Result{Method: method}
	if err := dropCaches(); err != nil {
		return r, err
	}
	var elapsed time.Duration
	switch method {
	case "mount2":
		start := time.Now()
		err := (&ctxmount.SyscallMounter{}).MountSensitive(dev, target, "ext4", []string{lbl.MountOption()}, nil)
		elapsed = time.Since(start)
		if err != nil {
			return r, err
		}
	case "context":
		start := time.Now()
		_, err := ctxmount.Mount(context.Background(), ctxmount.Request{Source: dev, Target: target, FSType: "ext4", Label: lbl}, nil)
		elapsed = time.Since(start)
		if err != nil {
			return r, err
		}
	default:
		if _, err := ctxmount.Mount(context.Background(), ctxmount.Request{Source: dev, Target: target, FSType: "ext4"}, nil); err != nil {
			return r, err
		}
		start := time.Now()
		var err error
		if method == "relabel" {
			_, err = relabel.Relabel(context.Background(), target, lbl, &relabel.Options{Workers: relabelWorkers})
		} else {
			err = selinux.Chcon(target, lbl.String(), true)
		}
		elapsed = time.Since(start)
		if err != nil {
			ctxmount.Unmount(target, nil)
			return r, err
		}
	}
	r.Seconds = elapsed.Seconds()
	var err error
	if check {
		r.Verified, err = verify(target, lbl.String())
	}
	if uerr := ctxmount.Unmount(target, nil); err == nil {
		err = uerr
	}
	return r, err
}

// verify checks that every entry below root carries want.
func verify(root, want string) (int64, error) {
	var n int64
	buf := make([]byte, 256)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "lost+found" {
			return filepath.SkipDir
		}
		sz, err := unix.Lgetxattr(p, "security.selinux", buf)
		if err != nil {
			return &fs.PathError{Op: "lgetxattr", Path: p, Err: err}
		}
		if got := string(bytes.TrimRight(buf[:sz], "\x00")); got != want {
			return fmt.Errorf("%s carries %s, want %s", p, got, want)
		}
		n++
		return nil
	})
	return n, err
}

// report reads JSON lines, prints a Markdown table of median times with the
// ratios, and draws the plot.
func report(args []string) error {
	fl := flag.NewFlagSet("report", flag.ExitOnError)
	in := fl.String("in", "", "JSON lines from run (several files: comma-separated)")
	svg := fl.String("svg", "", "write a plot of time against file count here")
	fl.Parse(args)
	var results []Result
	for _, name := range strings.Split(*in, ",") {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var r Result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			results = append(results, r)
		}
		f.Close()
	}
	med := medians(results)
	sizes := sortedSizes(med)
	w := os.Stdout
	fmt.Fprintln(w, "| files | entries | `-o context` mount (ctxmount) | of which mount(2) | selmount relabel | go-selinux Chcon | relabel ÷ mount | Chcon ÷ mount | Chcon ÷ relabel |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range sizes {
		c, m2, r, h := med[key{n, "context"}], med[key{n, "mount2"}], med[key{n, "relabel"}], med[key{n, "chcon"}]
		entries := max(c.entries, r.entries, h.entries)
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", count(n), entries, dur(c.sec), dur(m2.sec), dur(r.sec), dur(h.sec),
			ratio(r.sec, c.sec), ratio(h.sec, c.sec), ratio(h.sec, r.sec))
	}
	if *svg != "" {
		f, err := os.Create(*svg)
		if err != nil {
			return err
		}
		defer f.Close()
		return plot(f, med, sizes)
	}
	return nil
}

type key struct {
	files  int
	method string
}

type stat struct {
	sec     float64
	entries int64
	reps    int
}

func medians(rs []Result) map[key]stat {
	groups := map[key][]Result{}
	for _, r := range rs {
		k := key{r.Files, r.Method}
		groups[k] = append(groups[k], r)
	}
	out := map[key]stat{}
	for k, g := range groups {
		sort.Slice(g, func(i, j int) bool { return g[i].Seconds < g[j].Seconds })
		m := g[len(g)/2].Seconds
		if len(g)%2 == 0 {
			m = (g[len(g)/2-1].Seconds + g[len(g)/2].Seconds) / 2
		}
		var entries int64
		for _, r := range g {
			entries = max(entries, r.Verified)
		}
		out[k] = stat{sec: m, entries: entries, reps: len(g)}
	}
	return out
}

func sortedSizes(med map[key]stat) []int {
	seen := map[int]bool{}
	var out []int
	for k := range med {
		if !seen[k.files] {
			seen[k.files] = true
			out = append(out, k.files)
		}
	}
	sort.Ints(out)
	return out
}

func count(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func dur(s float64) string {
	switch {
	case s == 0:
		return "–"
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	case s < 100:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// tick labels a power of ten of seconds: "10 ms", "1 s", "100 s".
func tick(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.0f s", s)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	r := a / b
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

// plot draws time against file count on log-log axes as SVG.
func plot(w io.Writer, med map[key]stat, sizes []int) error {
	const (
		width, height          = 720, 440
		left, right, top, bott = 80, 170, 40, 60
	)
	minT, maxT := math.Inf(1), math.Inf(-1)
	for _, s := range med {
		if s.sec > 0 {
			minT, maxT = math.Min(minT, s.sec), math.Max(maxT, s.sec)
		}
	}
	if len(sizes) == 0 || math.IsInf(minT, 0) {
		return errors.New("plot: no data")
	}
	lo, hi := math.Floor(math.Log10(minT)), math.Ceil(math.Log10(maxT))
	if hi == lo {
		hi++
	}
	xlo, xhi := math.Floor(math.Log10(float64(sizes[0]))), math.Ceil(math.Log10(float64(sizes[len(sizes)-1])))
	if xhi == xlo {
		xhi++
	}
	x := func(n float64) float64 {
		return left + (math.Log10(n)-xlo)/(xhi-xlo)*float64(width-left-right)
	}
	y := func(s float64) float64 {
		return float64(height-bott) - (math.Log10(s)-lo)/(hi-lo)*float64(height-top-bott)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">Time until every file carries the pod's label (SELinux enforcing, ext4)</text>`+"\n", left-40)
	for e := lo; e <= hi; e++ {
		yy := y(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, width-right, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, yy+4, tick(math.Pow(10, e)))
	}
	for e := xlo; e <= xhi; e++ {
		xx := x(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", xx, top, xx, height-bott)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xx, height-bott+18, count(int(math.Pow(10, e))))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">files on the volume (log scale)</text>`+"\n", (left+width-right)/2, height-15)
	fmt.Fprintf(&b, `<text x="18" y="%d" transform="rotate(-90 18 %d)" text-anchor="middle">time (log scale)</text>`+"\n", (top+height-bott)/2, (top+height-bott)/2)
	series := []struct{ method, name, color, dash string }{
		{"context", "mount -o context", "#1a7f37", ""},
		{"mount2", "its mount(2) call", "#1a7f37", "6,4"},
		{"relabel", "selmount relabel", "#0969da", ""},
		{"chcon", "go-selinux Chcon", "#cf222e", ""},
	}
	for i, s := range series {
		var pts []string
		for _, n := range sizes {
			if st, ok := med[key{n, s.method}]; ok && st.sec > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(n)), y(st.sec)))
			}
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" stroke-dasharray="%s" points="%s"/>`+"\n", s.color, s.dash, strings.Join(pts, " "))
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
		}
		ly := top + 20 + i*22
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5" stroke-dasharray="%s"/>`+"\n", width-right+15, ly, width-right+40, ly, s.color, s.dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+46, ly+4, s.name)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// prelabeled measures the case where reading beats writing: every entry
// already carries the label and only the root does not (a relabel that was
// interrupted: selmount labels the root last). selmount reads each label
// (answered from the inode's security blob) and writes only the root;
// go-selinux Chcon writes every entry again, through the policy. Both run
// on the same tree, prepared the same way before each timed run, warm and
// with the caches dropped. Prints a Markdown table of medians.
func prelabeled(args []string) error {
	fl := flag.NewFlagSet("prelabeled", flag.ExitOnError)
	n := fl.Int("n", 0, "number of files in the image (for the report)")
	dev := fl.String("disk", "", "block device with the image")
	reps := fl.Int("reps", 3, "repetitions")
	fl.Parse(args)
	if h, err := ctxmount.CheckHost(); err != nil || !h.SELinuxEnabled {
		return fmt.Errorf("prelabeled: SELinux is not enabled (%+v, %v)", h, err)
	}
	target := "/mnt/labelbench"
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if _, err := ctxmount.Mount(context.Background(), ctxmount.Request{Source: *dev, Target: target, FSType: "ext4"}, nil); err != nil {
		return err
	}
	defer ctxmount.Unmount(target, nil)
	lbl := label.MustParse("system_u:object_r:container_file_t:s0:c7,c8")
	other := label.MustParse("system_u:object_r:container_file_t:s0:c9,c10")
	// Every entry gets the label once (untimed).
	if _, err := relabel.Relabel(context.Background(), target, lbl, nil); err != nil {
		return fmt.Errorf("prelabeled: preparing: %w", err)
	}
	times := map[string][]float64{}
	var entries int64
	for rep := 0; rep < *reps; rep++ {
		for _, cold := range []bool{false, true} {
			for _, m := range []string{"relabel", "chcon"} {
				// The interrupted state: the root has another label.
				if err := selinux.SetFileLabel(target, other.String()); err != nil {
					return fmt.Errorf("prelabeled: resetting the root: %w", err)
				}
				if cold {
					if err := dropCaches(); err != nil {
						return err
					}
				}
				start := time.Now()
				var err error
				if m == "relabel" {
					var st relabel.Stats
					st, err = relabel.Relabel(context.Background(), target, lbl, nil)
					entries = st.Visited
					if err == nil && st.Changed != 1 {
						err = fmt.Errorf("relabel changed %d entries, want 1 (the root)", st.Changed)
					}
				} else {
					err = selinux.Chcon(target, lbl.String(), true)
				}
				sec := time.Since(start).Seconds()
				if err != nil {
					return fmt.Errorf("prelabeled: %s: %w", m, err)
				}
				if got, err := selinux.FileLabel(target); err != nil || got != lbl.String() {
					return fmt.Errorf("prelabeled: %s left the root at %q (%v)", m, got, err)
				}
				k := m + map[bool]string{false: " warm", true: " cold"}[cold]
				times[k] = append(times[k], sec)
			}
		}
	}
	med := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	fmt.Printf("| files | entries | cache | selmount relabel | go-selinux Chcon | Chcon ÷ relabel |\n|---:|---:|---|---:|---:|---:|\n")
	for _, c := range []string{"warm", "cold"} {
		r, ch := med(times["relabel "+c]), med(times["chcon "+c])
		fmt.Printf("| %s | %d | %s | %s | %s | %.1f× |\n", count(*n), entries, c, dur(r), dur(ch), ch/r)
	}
	return nil
}
