package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binPath is the syncgate binary built once for this package's tests by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "syncgate")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binPath, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is how a finished syncgate process ended.
type result struct {
	code   int
	stderr string
}

// runBinary runs syncgate with args and extra environment to its end (bounded by 30s).
// The environment has no SYNCGATE_* variables of the test's own environment.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return result{0, stderr.String()}
	case errors.As(err, &ee) && ctx.Err() == nil:
		return result{ee.ExitCode(), stderr.String()}
	default:
		t.Fatalf("syncgate %q: %v (stderr: %s)", args, err, stderr.String())
		return result{}
	}
}

// cleanEnv is the process environment without SYNCGATE_* variables, with the admin
// listener on a free port (its default 127.0.0.1:9090 would collide across tests).
func cleanEnv() []string {
	env := []string{"SYNCGATE_ADMIN_LISTEN=127.0.0.1:0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// daemon is a syncgate process that serves until stopped.
type daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's result, read after exited is closed

	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and replaced on every stderr line
}

// startDaemon starts syncgate with args; it is killed on cleanup if still running.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start syncgate: %v", err)
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{}), more: make(chan struct{})}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			close(d.more)
			d.more = make(chan struct{})
			d.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-readDone // Wait closes the pipe: read it to its end first
		d.err = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("syncgate stderr:\n%s", d.stderr())
		}
	})
	return d
}

func (d *daemon) stderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitLine waits until a stderr line contains s, or the process exits, or timeout passes.
func (d *daemon) waitLine(s string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		d.mu.Lock()
		for ; seen < len(d.lines); seen++ {
			if strings.Contains(d.lines[seen], s) {
				d.mu.Unlock()
				return nil
			}
		}
		more := d.more
		d.mu.Unlock()
		select {
		case <-more:
		case <-d.exited:
			return fmt.Errorf("syncgate exited (%v) before logging %q", d.err, s)
		case <-deadline.C:
			return fmt.Errorf("syncgate did not log %q within %v", s, timeout)
		}
	}
}

// waitExit waits up to timeout for the process to exit and returns its exit code.
func (d *daemon) waitExit(timeout time.Duration) (int, error) {
	select {
	case <-d.exited:
	case <-time.After(timeout):
		return -1, fmt.Errorf("syncgate still running %v after the signal", timeout)
	}
	var ee *exec.ExitError
	switch {
	case d.err == nil:
		return 0, nil
	case errors.As(d.err, &ee):
		return ee.ExitCode(), nil
	default:
		return -1, d.err
	}
}
