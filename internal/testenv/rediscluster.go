package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisCluster is a real Redis Cluster on 127.0.0.1: masters (and replicas) started from
// Debian's redis-server with --cluster-enabled yes and joined by redis-cli --cluster create.
// Every process is killed and every directory removed on t.Cleanup.
type RedisCluster struct {
	t     testing.TB
	bin   string
	cli   string
	Nodes []*ClusterNode // masters first as created; roles change on failover
}

// ClusterNode is one redis-server of a RedisCluster.
type ClusterNode struct {
	c       *RedisCluster
	dir     string
	port    int
	busPort int

	mu   sync.Mutex
	proc *proc
}

// StartRedisCluster starts masters×(1+replicas) cluster nodes on free loopback ports, creates
// the cluster and waits until every node reports cluster_state:ok.
func StartRedisCluster(t testing.TB, masters, replicas int) *RedisCluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("testenv: redis-server not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("testenv: redis-cli not found on PATH (%v): run ./scripts/test.sh, which installs it", err)
	}
	c := &RedisCluster{t: t, bin: bin, cli: cli}
	t.Cleanup(c.kill)
	root := t.TempDir()
	for i := 0; i < masters*(1+replicas); i++ {
		n := &ClusterNode{c: c, dir: filepath.Join(root, strconv.Itoa(i))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		var lastErr error
		for attempt := 0; attempt < 3; attempt++ {
			// The cluster bus port is chosen too (not port+10000, which may be past 65535).
			n.port, n.busPort = FreePort(t), FreePort(t)
			if lastErr = n.start(); lastErr == nil {
				break
			}
		}
		if lastErr != nil {
			t.Fatalf("testenv: %v", lastErr)
		}
		c.Nodes = append(c.Nodes, n)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK()
	return c
}

// Addrs returns every node's "127.0.0.1:PORT".
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Seeds returns the addresses joined by commas, as --redis-cluster takes them.
func (c *RedisCluster) Seeds() string { return strings.Join(c.Addrs(), ",") }

// CLI runs redis-cli against the node with the given arguments and returns its output.
func (c *RedisCluster) CLI(n *ClusterNode, args ...string) (string, error) {
	out, err := exec.Command(c.cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(n.port)}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// WaitOK waits (up to 30 s) until every running node reports cluster_state:ok and agrees
// that every slot is served, and every replica is in sync with its master.
func (c *RedisCluster) WaitOK() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		bad := ""
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			info, err := c.CLI(n, "cluster", "info")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				bad = n.Addr() + ": " + info
				break
			}
			// A replica that has not synced yet cannot take over from its master.
			repl, err := c.CLI(n, "info", "replication")
			if err != nil || strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				bad = n.Addr() + ": replica not in sync"
				break
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: redis cluster not ok within 30s: %s", bad)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Masters returns the running nodes that currently serve slots as masters.
func (c *RedisCluster) Masters() []*ClusterNode {
	var out []*ClusterNode
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		if role, err := c.CLI(n, "role"); err == nil && strings.HasPrefix(role, "master") {
			out = append(out, n)
		}
	}
	return out
}

// MasterOf returns the running master that serves key.
func (c *RedisCluster) MasterOf(key string) *ClusterNode {
	c.t.Helper()
	for _, m := range c.Masters() {
		slot, err := c.CLI(m, "cluster", "keyslot", key)
		if err != nil {
			continue
		}
		out, err := c.CLI(m, "cluster", "nodes") // the "myself" line lists this node's slots
		if err != nil {
			continue
		}
		s, _ := strconv.Atoi(slot)
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "myself") || !strings.Contains(f[2], "master") {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, found := strings.Cut(r, "-")
				if !found {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil && a <= s && s <= b {
					return m
				}
			}
		}
	}
	c.t.Fatalf("testenv: no running master serves %q", key)
	return nil
}

func (c *RedisCluster) kill() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// Addr returns "127.0.0.1:PORT".
func (n *ClusterNode) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)) }

// Kill kills the node (SIGKILL), as a crash would, and waits for its exit.
func (n *ClusterNode) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		n.proc.stop(syscall.SIGKILL, 0)
	}
}

// Running reports whether the node's process is alive.
func (n *ClusterNode) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc != nil && n.proc.running()
}

func (n *ClusterNode) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command(n.c.bin,
		"--port", strconv.Itoa(n.port),
		"--cluster-port", strconv.Itoa(n.busPort),
		"--bind", "127.0.0.1",
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
		"--cluster-node-timeout", "1000",
		"--repl-diskless-sync-delay", "0", // replicas in sync at once, so a failover can happen
		"--save", "",
		"--appendonly", "no",
		"--dir", n.dir,
		"--daemonize", "no",
	)
	p, err := startProc(cmd)
	if err != nil {
		return fmt.Errorf("redis cluster node on port %d: %w", n.port, err)
	}
	n.proc = p
	if err := waitRedisReady(n.Addr(), p); err != nil {
		p.stop(syscall.SIGKILL, 0)
		return fmt.Errorf("redis cluster node on %s: %w; its output:\n%s", n.Addr(), err, p.out.String())
	}
	return nil
}

// Log returns the node's output (its last 8 KiB), for failure messages.
func (n *ClusterNode) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return ""
	}
	return n.proc.out.String()
}

// NodeID returns the node's cluster ID.
func (c *RedisCluster) NodeID(n *ClusterNode) string {
	c.t.Helper()
	id, err := c.CLI(n, "cluster", "myid")
	if err != nil {
		c.t.Fatalf("testenv: cluster myid on %s: %v %s", n.Addr(), err, id)
	}
	return id
}

// Reshard moves slots slots from master from to master to with redis-cli --cluster reshard
// (keys included), as an operator would, and returns its output.
func (c *RedisCluster) Reshard(from, to *ClusterNode, slots int) (string, error) {
	out, err := exec.Command(c.cli, "--cluster", "reshard", from.Addr(),
		"--cluster-from", c.NodeID(from), "--cluster-to", c.NodeID(to),
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes").CombinedOutput()
	return string(out), err
}

// WaitFailover waits (up to 30 s) until a replica has taken over the slots of the killed
// master dead and the cluster is ok again.
func (c *RedisCluster) WaitFailover(dead *ClusterNode) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !c.slotsServedWithout(c.Masters(), dead) {
		if time.Now().After(deadline) {
			c.t.Fatalf("testenv: no replica took over from %s within 30s", dead.Addr())
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.WaitOK()
}

// slotsServedWithout reports whether the running masters, dead excluded, serve every slot.
func (c *RedisCluster) slotsServedWithout(masters []*ClusterNode, dead *ClusterNode) bool {
	total := 0
	for _, m := range masters {
		if m == dead {
			continue
		}
		out, err := c.CLI(m, "cluster", "nodes")
		if err != nil {
			return false
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "myself") {
				continue
			}
			for _, r := range f[8:] {
				lo, hi, found := strings.Cut(r, "-")
				if !found {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil {
					total += b - a + 1
				}
			}
		}
	}
	return total == 16384
}
