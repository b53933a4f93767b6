package topology

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a started process may take to answer its health check.
const readyTimeout = 20 * time.Second

// errAddrInUse is returned by waitReady when the process could not bind its port.
var errAddrInUse = errors.New("address already in use")

// process is a child process of the test; its output is kept for failure messages.
type process struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error // Wait's result, read after exited is closed
}

// startProcess starts bin with args and env (nil: the test's environment without SYNCGATE_*
// variables). It is stopped on cleanup, and its output logged if the test failed.
func startProcess(t *testing.T, name string, env []string, bin string, args ...string) (*process, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	p := &process{name: name, cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p, nil
}

// cleanEnv is the process environment without SYNCGATE_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig, then SIGKILL after grace, and waits until the process is reaped.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// waitReady polls GET url until it answers 200, the process exits (errAddrInUse if its output
// says so), or readyTimeout passes. Polling is readiness, not synchronization.
func (p *process) waitReady(url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	last := "no answer yet"
	for time.Now().Before(deadline) {
		if !p.running() {
			if strings.Contains(p.out.String(), "address already in use") {
				return fmt.Errorf("%s: %w", p.name, errAddrInUse)
			}
			return fmt.Errorf("%s exited (%v) before %s answered 200; output:\n%s", p.name, p.err, url, p.out.String())
		}
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.exited:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %s did not answer 200 within %v (last: %s); output:\n%s", p.name, url, readyTimeout, last, p.out.String())
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written (its last 16 KiB).
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	const max = 16 << 10
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return s
}
