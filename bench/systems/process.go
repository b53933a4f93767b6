package systems

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotReady is a server that did not answer its health check in time or exited first.
var ErrNotReady = errors.New("systems: server not ready")

// Process is one started server.
type Process struct {
	Name    string // "syncgate", "node", "bare", "syncgate-inproc", "upstream"
	Addr    string // 127.0.0.1:PORT
	Pid     int
	APIBase string // base URL of the mutation endpoint, e.g. http://127.0.0.1:PORT/api
	Stats   bool   // serves GET /bench/stats (heap figures)
	// Protocol is the client protocol of its websocket endpoint (loadgen.SocketIO or
	// loadgen.Centrifugo).
	Protocol string
	// Tree: the system is Pid and its descendants (CPU is measured over the tree).
	Tree bool
	// MemPid, when set, is the process whose memory grows with sockets (else Pid).
	MemPid int

	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("systems: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProcess runs cmd and waits until GET http://addr/healthz answers 200.
func startProcess(ctx context.Context, name, addr string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, Addr: addr, out: &tail{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("systems: start %s: %w", name, err)
	}
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, 60*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + p.Addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w: %s exited: %s", ErrNotReady, p.Name, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w", ErrNotReady, p.Name, ctx.Err())
		case <-tick.C:
		}
	}
	return fmt.Errorf("%w: %s gave no healthy answer in %s: %s", ErrNotReady, p.Name, limit, p.Output())
}

// Stop sends SIGTERM, then SIGKILL after 5 s, and waits for the process to end.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// CPUPid returns the pid to measure the CPU of and whether to include its descendants.
func (p *Process) CPUPid() (int, bool) { return p.Pid, p.Tree }

// MemoryPid returns the process whose RSS is the system's.
func (p *Process) MemoryPid() int {
	if p.MemPid > 0 {
		return p.MemPid
	}
	return p.Pid
}

// childPids lists pid's direct children (from /proc/PID/task/*/children).
func childPids(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Output returns the last lines the process printed.
func (p *Process) Output() string { return p.out.String() }

// tail keeps the last 8 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - 8<<10; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	if _, err := strconv.Atoi(port); err != nil {
		return "0"
	}
	return port
}
