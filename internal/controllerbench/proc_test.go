package controllerbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selmount/selmount/internal/testcluster"
)

// buildSelmount builds the command into the test's temp dir and returns it
// with the commit it was built from.
func buildSelmount(t *testing.T) (bin, version string) {
	bin = filepath.Join(t.TempDir(), "selmount")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/selmount")
	cmd.Dir = testcluster.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	desc := exec.Command("git", "describe", "--always", "--dirty")
	desc.Dir = testcluster.RepoRoot(t)
	out, _ := desc.Output()
	return bin, strings.TrimSpace(string(out))
}

// selmountProc is `selmount controller` running as a process, with plain
// HTTP metrics on loopback.
type selmountProc struct {
	cmd        *exec.Cmd
	metricsURL string
	probeURL   string
	logPath    string
	logDir     string // where saveHeap writes; "" for nowhere
	slug       string
	http       *http.Client
}

// startSelmount starts the controller with its log in the test's temp dir,
// or, with logDir set, in logDir/controller-<slug>.log at verbosity 2 (a
// line per sync, with its duration).
func startSelmount(t *testing.T, bin, kubeconfig, logDir, slug string) *selmountProc {
	ports := testcluster.FreePorts(t, 2)
	metrics, probe := ports[0], ports[1]
	s := &selmountProc{
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics),
		probeURL:   fmt.Sprintf("http://127.0.0.1:%d", probe),
		logPath:    filepath.Join(t.TempDir(), "controller.log"),
		http:       &http.Client{Timeout: 30 * time.Second},
	}
	args := []string{"controller", "--kubeconfig", kubeconfig,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics), "--metrics-secure=false",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe)}
	if logDir != "" {
		s.logPath = filepath.Join(logDir, "controller-"+slug+".log")
		s.logDir, s.slug = logDir, slug
		args = append(args, "-v", "2", "--profiling")
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			out, _ := os.ReadFile(s.logPath)
			if len(out) > 4000 {
				out = out[len(out)-4000:]
			}
			t.Logf("selmount controller log (end):\n%s", out)
		}
	})
	return s
}

func (s *selmountProc) pid() int { return s.cmd.Process.Pid }

func (s *selmountProc) waitReady(t *testing.T, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s.cmd.ProcessState != nil {
			t.Fatal("selmount controller exited")
		}
		resp, err := s.http.Get(s.probeURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("selmount controller was not ready within %v", timeout)
}

func (s *selmountProc) metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.metricsURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", s.metricsURL, resp.Status)
	}
	return string(b), nil
}

// metric returns the value of the unlabelled series name.
func (s *selmountProc) metric(ctx context.Context, name string) (float64, error) {
	m, err := s.metrics(ctx)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(m, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("no series %s", name)
}

// memory is a process's resident memory now and at its peak, in KiB.
type memory struct{ rss, hwm int }

func (m memory) String() string { return fmt.Sprintf("RSS %s (peak %s)", mib(m.rss), mib(m.hwm)) }

func mib(kib int) string { return fmt.Sprintf("%d MiB", (kib+512)>>10) }

// readMemory reads VmRSS and VmHWM of /proc/pid/status.
func readMemory(t *testing.T, pid int) memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var m memory
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		switch k {
		case "VmRSS":
			m.rss = n
		case "VmHWM":
			m.hwm = n
		}
	}
	return m
}

// readCPU returns the user and system CPU seconds of pid.
func readCPU(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which ends at the last ')': state is
	// field 3, utime 14 and stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// saveHeap writes a heap profile of the controller, taken after a garbage
// collection, to logDir/heap-<slug>-<when>.pb.gz (go tool pprof reads it),
// when the benchmark keeps logs.
func (s *selmountProc) saveHeap(t *testing.T, when string) {
	if s.logDir == "" {
		return
	}
	resp, err := s.http.Get(strings.TrimSuffix(s.metricsURL, "/metrics") + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Logf("heap profile %s: %v", when, err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET heap profile: %s", resp.Status)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(s.logDir, "heap-"+s.slug+"-"+when+".pb.gz"), body, 0o644)
	}
	if err != nil {
		t.Logf("heap profile %s: %v", when, err)
	}
}
