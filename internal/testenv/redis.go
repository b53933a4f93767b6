package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// redisReadyTimeout bounds how long a starting redis-server may take to answer PING.
const redisReadyTimeout = 10 * time.Second

// Redis is a real redis-server on 127.0.0.1, with no persistence, in its own
// temporary directory. It keeps its port across Stop/Start and Kill/Start.
type Redis struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // more redis-server arguments (a replica's --replicaof)

	mu   sync.Mutex
	proc *proc
}

// StartRedis starts a redis-server on a free loopback port and waits until it
// answers PING. The server is killed on t.Cleanup.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testenv: redis-server not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	r := &Redis{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(func() { r.kill() })
	// A free port may be taken by someone else before redis binds it: retry a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r.port = FreePort(t)
		if lastErr = r.start(); lastErr == nil {
			return r
		}
	}
	t.Fatalf("testenv: %v", lastErr)
	return nil
}

// StartRedisReplica starts a redis-server replicating primary and waits until its link to
// the primary is up and the first sync is done (a replica that never synced cannot be
// promoted). The server is killed on t.Cleanup.
func StartRedisReplica(t testing.TB, primary *Redis) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testenv: redis-server not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	// A diskless sync that starts at once: the default waits 5 s for more replicas.
	if out, err := exec.Command("redis-cli", "-p", strconv.Itoa(primary.port), "config", "set", "repl-diskless-sync-delay", "0").CombinedOutput(); err != nil {
		t.Fatalf("testenv: configure the primary: %v %s", err, out)
	}
	r := &Redis{t: t, bin: bin, dir: t.TempDir(), args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.port)}}
	t.Cleanup(func() { r.kill() })
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r.port = FreePort(t)
		if lastErr = r.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("testenv: %v", lastErr)
	}
	deadline := time.Now().Add(redisReadyTimeout)
	for {
		out, _ := exec.Command("redis-cli", "-p", strconv.Itoa(r.port), "info", "replication").CombinedOutput()
		if strings.Contains(string(out), "master_link_status:up") && strings.Contains(string(out), "master_sync_in_progress:0") {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: replica on %s never synced with %s: %s", r.Addr(), primary.Addr(), out)
		}
		time.Sleep(20 * time.Millisecond) // polling a status: nothing to await
	}
}

// Addr returns "127.0.0.1:PORT".
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Port returns the server's port.
func (r *Redis) Port() int { return r.port }

// URL returns "redis://127.0.0.1:PORT/0".
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts the server again on the same port after Stop or Kill, and
// waits until it answers PING. The data is gone (no persistence).
func (r *Redis) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
}

// Stop shuts the server down gracefully (SIGTERM) and waits for its exit.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.stop(syscall.SIGTERM, 10*time.Second)
	}
}

// Kill kills the server (SIGKILL), as a crash would, and waits for its exit.
func (r *Redis) Kill() { r.kill() }

func (r *Redis) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.stop(syscall.SIGKILL, 0)
	}
}

// Running reports whether the server process is alive.
func (r *Redis) Running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil && r.proc.running()
}

func (r *Redis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && r.proc.running() {
		return fmt.Errorf("redis-server on %s is already running", r.Addr())
	}
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
		"--daemonize", "no",
	)
	cmd.Args = append(cmd.Args, r.args...)
	p, err := startProc(cmd)
	if err != nil {
		return fmt.Errorf("redis on port %d: %w", r.port, err)
	}
	r.proc = p
	if err := waitRedisReady(r.Addr(), p); err != nil {
		p.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("redis-server on %s: %w; its output:\n%s", r.Addr(), err, p.out.String())
	}
	return nil
}

// waitRedisReady polls PING on a fresh connection until +PONG, the process
// exits, or redisReadyTimeout passes.
func waitRedisReady(addr string, p *proc) error {
	deadline := time.Now().Add(redisReadyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if !p.running() {
			return fmt.Errorf("exited before answering PING: %v", p.err)
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("no PONG within %v: %w", redisReadyTimeout, lastErr)
}

var errNoPong = errors.New("unexpected answer to PING")

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("%w: %q", errNoPong, line)
	}
	return nil
}
