package testcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a process may take to exit after SIGTERM before it
// gets SIGKILL.
const stopGrace = 10 * time.Second

// logTailLines is how much of each log a failing test prints.
const logTailLines = 120

// process is one running control-plane binary with its output in a file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited
	err     error         // exit status; valid once exited is closed
}

// startProcess runs bin with args, output to <logDir>/<name>.log. It
// registers a t.Cleanup that stops the process (SIGTERM, then SIGKILL after
// stopGrace) and, if the test failed, prints the end of its log. Cleanups run
// last-registered first, so start processes in dependency order.
func startProcess(t testing.TB, name, logDir, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("testcluster: start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("testcluster: last %d lines of %s:\n%s", logTailLines, p.logPath, p.logTail(logTailLines))
		}
	})
	return p
}

// stop ends the process: SIGTERM, then SIGKILL after stopGrace. A process
// that has already exited fails the test: nothing stops them early.
func (p *process) stop(t testing.TB) {
	select {
	case <-p.exited:
		t.Errorf("testcluster: %s exited during the test: %v", p.name, p.err)
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		t.Logf("testcluster: %s did not exit %v after SIGTERM; killing it", p.name, stopGrace)
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitFor polls ready every 100ms until it returns true, the process exits,
// or timeout passes. The error carries the last error of ready; the log
// follows from the cleanup once the caller fails the test.
func (p *process) waitFor(ctx context.Context, timeout time.Duration, ready func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		ok, err := ready(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", p.name, timeout, errors.Join(ctx.Err(), last))
		case <-tick.C:
		}
	}
}

// logTail returns the last n lines of the log.
func (p *process) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	data = bytes.TrimRight(data, "\n")
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return string(data[i+1:])
			}
		}
	}
	return string(data)
}
