package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process (redis-server or a gateway) whose output goes to a log file.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, read after exited is closed
}

func startProc(cmd *exec.Cmd, log io.Writer) (*proc, error) {
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig, then SIGKILL after grace, and waits until the process is reaped. It
// returns how long the process took to exit after sig.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) time.Duration {
	if p == nil || !p.running() {
		return 0
	}
	t0 := time.Now()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return time.Since(t0)
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return time.Since(t0)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// redisServer is a redis-server without persistence that keeps its port across restarts.
type redisServer struct {
	port int
	dir  string
	log  io.Writer
	mu   sync.Mutex
	p    *proc
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server not on PATH (./scripts/test.sh installs it): %w", err)
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", r.dir, "--daemonize", "no")
	p, err := startProc(cmd, r.log)
	if err != nil {
		return fmt.Errorf("redis on port %d: %w", r.port, err)
	}
	r.p = p
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !p.running() {
			return fmt.Errorf("redis-server on port %d exited at start: %v", r.port, p.err)
		}
		if pingRedis(r.port) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(syscall.SIGKILL, 0)
	return fmt.Errorf("redis-server on port %d: no PONG within 10s", r.port)
}

func (r *redisServer) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.stop(syscall.SIGKILL, 0)
}

func pingRedis(port int) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// gatewayNode is one syncgate process; it keeps its ports across restarts and appends its
// log (text slog on stderr) to one file.
type gatewayNode struct {
	index      int
	bin        string
	args       []string
	port       int
	admin      int
	logPath    string
	mu         sync.Mutex
	p          *proc
	logFile    *os.File
	startedAny bool
}

func (n *gatewayNode) url() string { return "http://127.0.0.1:" + strconv.Itoa(n.port) }

func (n *gatewayNode) start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.logFile == nil {
		f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("node %d log: %w", n.index, err)
		}
		n.logFile = f
	}
	fmt.Fprintf(n.logFile, "=== soak: node %d starting at %s\n", n.index, time.Now().Format(time.RFC3339Nano))
	p, err := startProc(exec.Command(n.bin, n.args...), n.logFile)
	if err != nil {
		return fmt.Errorf("node %d: %w", n.index, err)
	}
	n.p = p
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !p.running() {
			return fmt.Errorf("node %d exited at start (%v); see %s", n.index, p.err, n.logPath)
		}
		if ready(n.url() + "/healthz") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(syscall.SIGKILL, 0)
	return fmt.Errorf("node %d: /healthz not 200 within 20s; see %s", n.index, n.logPath)
}

func (n *gatewayNode) stop(sig syscall.Signal, grace time.Duration) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p.stop(sig, grace)
}

func (n *gatewayNode) close() {
	n.stop(syscall.SIGKILL, 0)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.logFile != nil {
		_ = n.logFile.Close()
		n.logFile = nil
	}
}

func ready(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// gatewayFlags returns the optional flags this binary knows (from --help) that the soak
// must set: limits meant for the internet that one loopback client address would trip.
func gatewayFlags(bin string) ([]string, error) {
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil && len(out) == 0 {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("%s --help: %w", bin, err)
		}
	}
	help := string(out)
	var extra []string
	if strings.Contains(help, "-admission-failures-per-ip") {
		extra = append(extra, "--admission-failures-per-ip", "off")
	}
	if strings.Contains(help, "-max-connections-per-ip") {
		extra = append(extra, "--max-connections-per-ip", "100000")
	}
	return extra, nil
}

// upstream is the API on loopback: memberships per credential "member-N" (admin of org N),
// 200 to everything else.
func startUpstream() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("upstream listen: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && r.URL.Path == "/v1/users/me/memberships" {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			org, ok := strings.CutPrefix(tok, "member-")
			if n, err := strconv.Atoi(org); !ok || err != nil || n <= 0 {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"Unauthorized"}`)
				return
			}
			_, _ = fmt.Fprintf(w, `{"data":[{"organization":{"id":%s,"title":"Org %s"},"role":"admin"}]}`, org, org)
			return
		}
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/v1", func() { _ = srv.Close() }, nil
}

const triggerFile = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: view.row.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
    room: view:{viewId}

rooms:
  - view:{viewId}

client_events:
  - event: user.typing
    fields: {viewId: id, rowId: id}
`
