package controllerbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/selmount/selmount/internal/testcluster"
)

// kcmConflictSeries starts each of the KCM's conflict series: one per
// ordered pair of pods whose labels differ on a volume.
const kcmConflictSeries = "selinux_warning_controller_selinux_volume_conflict{"

// newConflictPause comes before each new conflict, so that each is timed on
// controllers with nothing else to do.
const newConflictPause = 3 * time.Second

// TestIntegrationControllerBench runs each case of
// SELMOUNT_BENCH_CONTROLLER_CASES (default "10000,shared500"): a number N
// is N pods spread over 100 namespaces, each with its own claim and CSI
// volume except every tenth, which shares its neighbour's claim with
// another level; sharedN is one volume shared by N pods with two levels.
// Each case gets its own apiserver, with the KCM (only
// selinux-warning-controller) and `selmount controller` both running while
// the objects are created. Results go to $SELMOUNT_BENCH_OUT_DIR (one file
// per case, and controller.md with every case found there); with
// SELMOUNT_BENCH_CONTROLLER_LOGS set to a directory, selmount's log is kept
// there, at verbosity 2. See hack/bench-controller.sh.
func TestIntegrationControllerBench(t *testing.T) {
	if os.Getenv("SELMOUNT_BENCH_CONTROLLER") != "1" {
		t.Skip("SELMOUNT_BENCH_CONTROLLER=1 runs the controller benchmark (hack/bench-controller.sh)")
	}
	cases := parseCases(t, envString("SELMOUNT_BENCH_CONTROLLER_CASES", "10000,shared500"))
	workers := envInt(t, "SELMOUNT_BENCH_CONTROLLER_WORKERS", 32)
	newConflicts := envInt(t, "SELMOUNT_BENCH_CONTROLLER_NEW", 5)
	outDir := os.Getenv("SELMOUNT_BENCH_OUT_DIR")
	bin, version := buildSelmount(t)
	for _, c := range cases {
		t.Run(c.slug(), func(t *testing.T) {
			r := runCase(t, c, bin, workers, newConflicts)
			r.selmountVersion = version
			md := r.markdown()
			t.Log("\n" + md)
			if outDir == "" {
				return
			}
			if err := os.WriteFile(filepath.Join(outDir, "controller-"+c.slug()+".md"), []byte(md), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := writeSummary(outDir); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// benchCase is one layout of objects.
type benchCase struct {
	pods   int
	shared bool // one volume shared by every pod, with two levels
}

func (c benchCase) slug() string {
	if c.shared {
		return fmt.Sprintf("shared-%d", c.pods)
	}
	return strconv.Itoa(c.pods)
}

func (c benchCase) title() string {
	if c.shared {
		return fmt.Sprintf("one volume, %s pods, two levels", thousands(c.pods))
	}
	return thousands(c.pods) + " pods"
}

// sharedClaims is the number of claims two pods share (the spread layout).
func (c benchCase) sharedClaims() int {
	if c.shared {
		return 0
	}
	return (c.pods + 8) / 10 // i%10 == 1 for i < pods
}

// want is what each controller reports once caught up: selmount's
// conflicting volumes, the KCM's conflict series (one per ordered pair of
// pods with different labels), and the pods in a conflict.
func (c benchCase) want() (volumes, series, pods int) {
	if c.shared {
		a, b := (c.pods+1)/2, c.pods/2
		return 1, 2 * a * b, c.pods
	}
	n := c.sharedClaims()
	return n, 2 * n, 2 * n
}

func parseCases(t *testing.T, s string) []benchCase {
	var out []benchCase
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		shared := strings.HasPrefix(f, "shared")
		n, err := strconv.Atoi(strings.TrimPrefix(f, "shared"))
		if err != nil || n < 20 {
			t.Fatalf("SELMOUNT_BENCH_CONTROLLER_CASES: %q: want N or sharedN, N at least 20", f)
		}
		out = append(out, benchCase{pods: n, shared: shared})
	}
	return out
}

// side is what was measured of one controller.
type side struct {
	idle, afterCatchUp, peak memory // peak: VmHWM at the end
	cpu                      float64
	caughtUp                 time.Duration // from the last object
	reached                  bool          // the expected value was reached (not only stable)
	final, want              int           // the value that stopped changing, and the expected one
	newSeries, newEvent      []time.Duration
	newMissed                int // new conflicts without a series or an event in time
	series                   int // of its own metrics (selmount_*, selinux_warning_controller_*)
	allSeries                int // every series on /metrics
	scrapeBytes              int
	scrape                   time.Duration
	heapInuse, nextGC        float64 // go_memstats_* of /metrics at the end, in bytes (0: not exposed)
	events                   reporterStats
	eventsDone               time.Duration // last event written, from the last object
	conflictPods             int
}

type result struct {
	c               benchCase
	selmountVersion string
	kcmVersion      string
	objects         int
	created         time.Duration
	kcm, sel        side
}

func runCase(t *testing.T, c benchCase, bin string, workers, newConflicts int) *result {
	ctx := t.Context()
	cl := testcluster.Start(t, testcluster.Options{})
	cfg := cl.RESTConfig()
	cfg.QPS, cfg.Burst = 20_000, 40_000
	client := kubernetes.NewForConfigOrDie(cfg)
	installCRDs(t, ctx, cfg)
	prepare(t, ctx, client)

	r := &result{c: c}
	if v, err := client.Discovery().ServerVersion(); err == nil {
		r.kcmVersion = v.GitVersion
	}
	wantVolumes, wantSeries, wantPods := c.want()
	r.kcm.want, r.sel.want = wantSeries, wantVolumes
	r.kcm.conflictPods, r.sel.conflictPods = wantPods, wantPods

	// Both controllers, idle: started, synced, before any object they
	// report on.
	kcm := cl.StartControllerManager(t, []string{"selinux-warning-controller"}, "")
	sel := startSelmount(t, bin, cl.Kubeconfig(), os.Getenv("SELMOUNT_BENCH_CONTROLLER_LOGS"), c.slug())
	sel.waitReady(t, 2*time.Minute)
	testcluster.Eventually(t, "selmount's first sync", time.Minute, func() error {
		_, err := sel.metric(ctx, "selmount_last_sync_timestamp_seconds")
		return err
	})
	testcluster.Eventually(t, "the KCM's metrics", time.Minute, func() error {
		_, err := kcm.Metrics(ctx)
		return err
	})
	time.Sleep(5 * time.Second)
	r.kcm.idle, r.sel.idle = readMemory(t, kcm.PID()), readMemory(t, sel.pid())
	cpuKCM, cpuSel := readCPU(t, kcm.PID()), readCPU(t, sel.pid())
	t.Logf("idle: KCM %s, selmount %s", r.kcm.idle, r.sel.idle)
	events := watchEvents(t, ctx, client)

	// The objects.
	began := time.Now()
	r.objects = populate(t, ctx, client, c, workers)
	last := time.Now()
	r.created = last.Sub(began)
	t.Logf("%d objects created in %v (%.0f/s)", r.objects, r.created.Round(time.Millisecond), float64(r.objects)/r.created.Seconds())

	// Caught up: each controller's value reaches what is expected (or stops
	// changing for a minute).
	kcmValue := func() (int, error) {
		m, err := kcm.Metrics(ctx)
		return countPrefix(m, kcmConflictSeries), err
	}
	selValue := func() (int, error) {
		v, err := sel.metric(ctx, "selmount_volumes_conflicting")
		return int(v), err
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.kcm.caughtUp, r.kcm.final, r.kcm.reached = catchUp(t, kcmValue, wantSeries, last) })
	wg.Go(func() { r.sel.caughtUp, r.sel.final, r.sel.reached = catchUp(t, selValue, wantVolumes, last) })
	wg.Wait()
	r.kcm.afterCatchUp, r.sel.afterCatchUp = readMemory(t, kcm.PID()), readMemory(t, sel.pid())
	r.kcm.cpu, r.sel.cpu = readCPU(t, kcm.PID())-cpuKCM, readCPU(t, sel.pid())-cpuSel
	sel.saveHeap(t, "caught-up") // after the measurements: it collects garbage
	t.Logf("caught up: KCM %v (%d of %d series), selmount %v (%d of %d volumes)",
		r.kcm.caughtUp, r.kcm.final, wantSeries, r.sel.caughtUp, r.sel.final, wantVolumes)

	// Events: until selmount has written one on every pod in a conflict and
	// neither has written one for 20 s (the KCM drops some, so its count
	// is not a criterion).
	conflictPods := c.conflictPods()
	events.settle(t, conflictPods, 20*time.Second, 10*time.Minute)
	r.kcm.events, r.sel.events = events.stats(reporterKCM, conflictPods), events.stats(reporterSelmount, conflictPods)
	r.kcm.eventsDone, r.sel.eventsDone = r.kcm.events.last.Sub(last), r.sel.events.last.Sub(last)
	if o := events.others(); len(o) > 0 {
		t.Logf("events of other reporters (not counted): %v", o)
	}

	// New conflicts after catch-up, one at a time (the spread layout: a
	// pod with another level joins a claim one pod uses), each after a
	// quiet pause: created back to back, selmount's took about 0.25 s
	// more, probably waiting for the status write of the one before.
	if !c.shared {
		for k := range newConflicts {
			time.Sleep(newConflictPause)
			newConflict(t, ctx, client, kcm, sel, events, r, k)
		}
	}

	// Series and memory at the end.
	scrapeStats(t, &r.kcm, func() (string, error) { return kcm.Metrics(ctx) }, "selinux_warning_controller_")
	scrapeStats(t, &r.sel, func() (string, error) { return sel.metrics(ctx) }, "selmount_")
	r.kcm.peak, r.sel.peak = readMemory(t, kcm.PID()), readMemory(t, sel.pid())
	sel.saveHeap(t, "end")
	return r
}

// catchUp polls value until it equals want, or has not changed for a
// minute (at most 20 minutes), and returns when it last changed (the time
// the poll that saw it answered), measured from last.
func catchUp(t *testing.T, value func() (int, error), want int, last time.Time) (time.Duration, int, bool) {
	prev, changed := -1, time.Now()
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		v, err := value()
		at := time.Now()
		if err != nil {
			t.Errorf("scraping: %v", err)
			return 0, prev, false
		}
		if v != prev {
			prev, changed = v, at
		}
		if v == want {
			return at.Sub(last), v, true
		}
		if at.Sub(changed) > time.Minute {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return changed.Sub(last), prev, false
}

// newConflict creates pod new-k on a claim that one pod uses, with another
// level, and records how long until each controller's metric and event
// show it.
func newConflict(t *testing.T, ctx context.Context, client kubernetes.Interface, kcm *testcluster.KCM, sel *selmountProc, ev *eventLog, r *result, k int) {
	const timeout = time.Minute
	i := 10*k + 5
	name := fmt.Sprintf("new-%d", k)
	p := pod(nsName(i), name, fmt.Sprintf("c%d", i), levelB)
	wantVolumes := r.sel.want + k + 1
	start := time.Now()
	if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, createOpts); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var kcmSeries, selSeries time.Duration
	wg.Go(func() {
		needle := `pod1_name="` + name + `"`
		for time.Since(start) < timeout {
			m, err := kcm.Metrics(ctx)
			if err == nil && strings.Contains(m, needle) {
				kcmSeries = time.Since(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for time.Since(start) < timeout {
			v, err := sel.metric(ctx, "selmount_volumes_conflicting")
			if err == nil && int(v) >= wantVolumes {
				selSeries = time.Since(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	var kcmEvent, selEvent time.Duration
	wg.Go(func() {
		key := p.Namespace + "/" + name
		for time.Since(start) < timeout && (kcmEvent == 0 || selEvent == 0) {
			if at, ok := ev.first(reporterKCM, key); ok && kcmEvent == 0 {
				kcmEvent = at.Sub(start)
			}
			if at, ok := ev.first(reporterSelmount, key); ok && selEvent == 0 {
				selEvent = at.Sub(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Wait()
	t.Logf("new conflict %d: KCM series %v event %v; selmount series %v event %v", k, kcmSeries, kcmEvent, selSeries, selEvent)
	record := func(s *side, series, event time.Duration) {
		if series == 0 || event == 0 {
			s.newMissed++
		}
		if series > 0 {
			s.newSeries = append(s.newSeries, series)
		}
		if event > 0 {
			s.newEvent = append(s.newEvent, event)
		}
	}
	record(&r.kcm, kcmSeries, kcmEvent)
	record(&r.sel, selSeries, selEvent)
}

// scrapeStats scrapes once into s: the series with prefix and all, the
// size and time of the scrape, and the Go heap gauges.
func scrapeStats(t *testing.T, s *side, scrape func() (string, error), prefix string) {
	start := time.Now()
	m, err := scrape()
	s.scrape = time.Since(start)
	if err != nil {
		t.Errorf("scraping: %v", err)
		return
	}
	s.scrapeBytes = len(m)
	for line := range strings.SplitSeq(m, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		s.allSeries++
		if strings.HasPrefix(line, prefix) {
			s.series++
		}
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			s.heapInuse, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "go_memstats_next_gc_bytes "); ok {
			s.nextGC, _ = strconv.ParseFloat(v, 64)
		}
	}
}

func countPrefix(m, prefix string) int {
	n := 0
	for line := range strings.SplitSeq(m, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// thousands formats n with commas: 10000 is "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func secs(d time.Duration) string {
	switch {
	case d < 5*time.Millisecond:
		return fmt.Sprintf("%.3f s", d.Seconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
}

// span is "min-max s" of ds, or "-" when empty.
func span(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	if len(ds) == 1 {
		return secs(ds[0])
	}
	return fmt.Sprintf("%.2f-%.2f s", ds[0].Seconds(), ds[len(ds)-1].Seconds())
}
