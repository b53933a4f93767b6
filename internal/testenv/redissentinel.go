package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisSentinel is a real Redis Sentinel (Debian's redis-server in --sentinel mode) on a free
// loopback port, monitoring one primary under a name. It is killed on t.Cleanup.
type RedisSentinel struct {
	port int
	proc *proc
}

// StartRedisSentinel starts a sentinel that monitors primary as master (quorum 1) and waits
// until it names the primary's address.
func StartRedisSentinel(t testing.TB, master string, primary *Redis) *RedisSentinel {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testenv: redis-server not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	dir := t.TempDir()
	s := &RedisSentinel{}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s.port = FreePort(t)
		conf := filepath.Join(dir, "sentinel.conf") // the sentinel rewrites it: it must be writable
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\n",
			s.port, dir, master, primary.Port(), master)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		p, err := startProc(exec.Command(bin, conf, "--sentinel"))
		if err != nil {
			lastErr = err
			continue
		}
		if err := waitRedisReady(s.Addr(), p); err != nil {
			p.stop(syscall.SIGKILL, 0)
			lastErr = fmt.Errorf("redis sentinel on %s: %w; its output:\n%s", s.Addr(), err, p.out.String())
			continue
		}
		s.proc = p
		t.Cleanup(func() { p.stop(syscall.SIGKILL, 0) })
		lastErr = nil
		break
	}
	if lastErr != nil {
		t.Fatalf("testenv: %v", lastErr)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("testenv: redis-cli not found on PATH (%v)", err)
	}
	deadline := time.Now().Add(redisReadyTimeout)
	for {
		out, err := exec.Command(cli, "-p", strconv.Itoa(s.port), "sentinel", "get-master-addr-by-name", master).CombinedOutput()
		if err == nil && strings.Contains(string(out), strconv.Itoa(primary.Port())) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: sentinel does not name %s: %v %s", master, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr returns "127.0.0.1:PORT".
func (s *RedisSentinel) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// WaitMaster waits until the sentinel names the server on port as master (after a
// failover it promoted), for at most 30 s.
func (s *RedisSentinel) WaitMaster(t testing.TB, master string, port int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command("redis-cli", "-p", strconv.Itoa(s.port), "sentinel", "get-master-addr-by-name", master).CombinedOutput()
		if err == nil && strings.Contains(string(out), strconv.Itoa(port)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: sentinel still names %q as %s, want port %d", out, master, port)
		}
		time.Sleep(50 * time.Millisecond) // polling the sentinel's view: nothing to await
	}
}
