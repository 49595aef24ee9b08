// Command relabelbench compares selmount's relabel.Relabel with go-selinux
// Chcon, coreutils `chcon -R` and a minimal C loop (floor.c) on the same
// trees, in interleaved repetitions. bench/relabel.sh drives it.
//
//	relabelbench mktree -shape flat -n 100000 DIR
//	relabelbench selmount LABEL DIR
//	relabelbench goselinux LABEL DIR
//	relabelbench run -n 100000 -reps 5 -dir /var/tmp/selmount-bench -floor ./floor
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	goselinux "github.com/opencontainers/selinux/go-selinux"

	"github.com/selmount/selmount/label"
	"github.com/selmount/selmount/relabel"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "mktree":
		err = mktreeCmd(os.Args[2:])
	case "selmount":
		err = selmountCmd(os.Args[2:])
	case "goselinux":
		if len(os.Args) != 4 {
			usage()
		}
		err = goselinux.Chcon(os.Args[3], os.Args[2], true)
	case "run":
		err = runCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relabelbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: relabelbench mktree|selmount|goselinux|run ...")
	os.Exit(2)
}

func selmountCmd(args []string) error {
	fs := flag.NewFlagSet("selmount", flag.ExitOnError)
	workers := fs.Int("workers", 0, "workers (0: default)")
	fs.Parse(args)
	if fs.NArg() != 2 {
		usage()
	}
	to, err := label.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	_, err = relabel.Relabel(context.Background(), fs.Arg(1), to, &relabel.Options{Workers: *workers})
	return err
}

// Shapes of trees with about n entries.
var shapes = []string{"flat", "wide", "deep", "smalldirs", "symlinks"}

func mktreeCmd(args []string) error {
	fs := flag.NewFlagSet("mktree", flag.ExitOnError)
	shape := fs.String("shape", "flat", strings.Join(shapes, ", "))
	n := fs.Int("n", 100000, "entries")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	return mktree(fs.Arg(0), *shape, *n)
}

// mktree builds a tree of about n entries below dir (which must not exist):
//
//	flat:      n files in one directory
//	wide:      1000 directories below the root, files spread over them
//	deep:      a chain of 1000 nested directories, files at every level
//	smalldirs: three levels of directories with 10 entries each
//	symlinks:  100 directories, half the entries symlinks (in and out of the tree)
func mktree(dir, shape string, n int) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	var dirs []string // directories to fill, with the number of files each
	var counts []int
	switch shape {
	case "flat":
		dirs, counts = []string{dir}, []int{n - 1}
	case "wide", "symlinks":
		k := 1000
		if shape == "symlinks" {
			k = 100
		}
		per := (n - 1 - k) / k
		for i := range k {
			d := filepath.Join(dir, fmt.Sprintf("d%04d", i))
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			dirs, counts = append(dirs, d), append(counts, per)
		}
	case "deep":
		const depth = 1000
		per := (n - 1 - depth) / depth
		d := dir
		for range depth {
			d = filepath.Join(d, "d")
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			dirs, counts = append(dirs, d), append(counts, per)
		}
	case "smalldirs":
		// n/10 leaf directories of 9 files, under 10-way inner levels.
		leaves := n / 10
		for i := range leaves {
			d := filepath.Join(dir, fmt.Sprintf("a%d", i/100), fmt.Sprintf("b%d", i/10%10), fmt.Sprintf("c%d", i%10))
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			dirs, counts = append(dirs, d), append(counts, 9)
		}
	default:
		return fmt.Errorf("unknown shape %q", shape)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errc := make(chan error, 1)
	for i, d := range dirs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for j := range counts[i] {
				p := filepath.Join(d, fmt.Sprintf("f%06d", j))
				var err error
				if shape == "symlinks" && j%2 == 1 {
					tgt := fmt.Sprintf("f%06d", j-1)
					if j%10 == 1 {
						tgt = "/etc/hostname"
					}
					err = os.Symlink(tgt, p)
				} else {
					var f *os.File
					if f, err = os.Create(p); err == nil {
						err = f.Close()
					}
				}
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// A run of the comparison.
type runOpts struct {
	n     int
	reps  int
	dir   string
	floor string
	self  string
	shape []string
	cases []string
	out   string
}

var tools = []string{"selmount", "go-selinux", "chcon -R", "floor"}

const (
	labelA = "system_u:object_r:container_file_t:s0:c1,c2"
	labelB = "system_u:object_r:container_file_t:s0:c3,c4"
)

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o runOpts
	var shapesFlag, casesFlag string
	fs.IntVar(&o.n, "n", 100000, "entries per tree")
	fs.IntVar(&o.reps, "reps", 5, "interleaved repetitions")
	fs.StringVar(&o.dir, "dir", "/var/tmp/selmount-bench", "where to build the trees (its filesystem is measured)")
	fs.StringVar(&o.floor, "floor", "./floor", "the compiled floor.c")
	fs.StringVar(&shapesFlag, "shapes", strings.Join(shapes, ","), "tree shapes")
	fs.StringVar(&casesFlag, "cases", "wrong,right,cold", "cases: wrong (every label differs), right (every label correct), cold (labels correct, caches dropped before each run), coldwrong (every label differs, caches dropped)")
	fs.StringVar(&o.out, "out", "", "also write the markdown table to this file")
	fs.Parse(args)
	o.shape = strings.Split(shapesFlag, ",")
	o.cases = strings.Split(casesFlag, ",")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	o.self = self
	return run(o)
}

// result holds the times of one (shape, case, tool).
type key struct{ shape, cas, tool string }

func run(o runOpts) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	times := map[key][]time.Duration{}
	for _, shape := range o.shape {
		tree := filepath.Join(o.dir, fmt.Sprintf("%s-%d", shape, o.n))
		os.RemoveAll(tree)
		t0 := time.Now()
		if err := mktree(tree, shape, o.n); err != nil {
			return err
		}
		entries, err := count(tree)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: %d entries built in %s\n", shape, entries, time.Since(t0).Round(time.Millisecond))
		cur := labelA
		if err := exec.Command(o.self, "selmount", cur, tree).Run(); err != nil {
			return err
		}
		for rep := range o.reps {
			for _, cas := range o.cases {
				order := slices.Clone(tools)
				rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				for _, tool := range order {
					to := cur
					if cas == "wrong" || cas == "coldwrong" {
						to = map[string]string{labelA: labelB, labelB: labelA}[cur]
					}
					// Flush the previous run's writes first, so that no run pays
					// for another's writeback; cold also drops the caches.
					if err := exec.Command("sync").Run(); err != nil {
						return err
					}
					if cas == "cold" || cas == "coldwrong" {
						if err := dropCaches(); err != nil {
							return err
						}
					}
					d, err := runTool(o, tool, to, tree)
					if err != nil {
						return fmt.Errorf("%s %s %s: %w", shape, cas, tool, err)
					}
					cur = to
					times[key{shape, cas, tool}] = append(times[key{shape, cas, tool}], d)
					fmt.Fprintf(os.Stderr, "%s rep %d %-5s %-10s %8.3fs\n", shape, rep+1, cas, tool, d.Seconds())
				}
			}
		}
		os.RemoveAll(tree)
	}
	table := report(o, times)
	fmt.Print(table)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(table), 0o644)
	}
	return nil
}

func runTool(o runOpts, tool, to, tree string) (time.Duration, error) {
	var cmd *exec.Cmd
	switch tool {
	case "selmount":
		cmd = exec.Command(o.self, "selmount", to, tree)
	case "go-selinux":
		cmd = exec.Command(o.self, "goselinux", to, tree)
	case "chcon -R":
		cmd = exec.Command("chcon", "-R", to, tree)
	case "floor":
		cmd = exec.Command(o.floor, to, tree)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil && tool != "floor" {
		return d, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return d, nil
}

func dropCaches() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

func count(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(string, os.DirEntry, error) error { n++; return nil })
	return n, err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(o runOpts, times map[key][]time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Trees of %d entries, %d interleaved repetitions, median wall time in seconds; ratios are peer ÷ selmount (above 1: selmount is faster) and selmount ÷ floor.\n\n", o.n, o.reps)
	b.WriteString("| shape | case | selmount | go-selinux | chcon -R | floor | go-selinux ÷ selmount | chcon -R ÷ selmount | selmount ÷ floor |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cas := range o.cases {
		for _, shape := range o.shape {
			m := map[string]float64{}
			for _, t := range tools {
				m[t] = median(times[key{shape, cas, t}]).Seconds()
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f |\n", shape, cas,
				m["selmount"], m["go-selinux"], m["chcon -R"], m["floor"],
				m["go-selinux"]/m["selmount"], m["chcon -R"]/m["selmount"], m["selmount"]/m["floor"])
		}
	}
	// Geometric means over shapes per case.
	b.WriteString("\nGeometric mean over the shapes:\n\n| case | go-selinux ÷ selmount | chcon -R ÷ selmount | selmount ÷ floor |\n|---|---:|---:|---:|\n")
	for _, cas := range o.cases {
		g := [3]float64{1, 1, 1}
		k := 0
		for _, shape := range o.shape {
			s := median(times[key{shape, cas, "selmount"}]).Seconds()
			g[0] *= median(times[key{shape, cas, "go-selinux"}]).Seconds() / s
			g[1] *= median(times[key{shape, cas, "chcon -R"}]).Seconds() / s
			g[2] *= s / median(times[key{shape, cas, "floor"}]).Seconds()
			k++
		}
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f |\n", cas, root(g[0], k), root(g[1], k), root(g[2], k))
	}
	return b.String()
}

func root(x float64, k int) float64 {
	if k == 0 {
		return 0
	}
	return math.Pow(x, 1/float64(k))
}
