package systems

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RedisCluster is a Redis Cluster of masters on loopback (no replicas), for the cluster
// scenario: redis-server --cluster-enabled yes on free ports, joined by
// redis-cli --cluster create.
type RedisCluster struct {
	Masters []*Process
	dir     string
}

// StartRedisCluster starts masters cluster nodes (persistence off, config files in a
// temporary directory), creates the cluster and waits until every node reports
// cluster_state:ok. Stop it with Stop.
func StartRedisCluster(ctx context.Context, masters int) (*RedisCluster, error) {
	dir, err := os.MkdirTemp("", "syncbench-cluster-")
	if err != nil {
		return nil, fmt.Errorf("systems: redis cluster dir: %w", err)
	}
	c := &RedisCluster{dir: dir}
	for i := range masters {
		var p *Process
		for attempt := 0; attempt < 3 && p == nil; attempt++ {
			p, err = startClusterNode(ctx, filepath.Join(dir, strconv.Itoa(i)))
		}
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Masters = append(c.Masters, p)
	}
	args := append([]string{"--cluster", "create"}, c.addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("systems: redis-cli --cluster create: %w\n%s", err, out)
	}
	if err := c.waitOK(ctx, 30*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// startClusterNode starts one cluster-enabled redis-server; its cluster bus port is chosen
// too (port+10000 may be past 65535).
func startClusterNode(ctx context.Context, dir string) (*Process, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("systems: %w", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	bus, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return startRedisServer(ctx, addr, "--bind", "127.0.0.1", "--port", portOf(addr), "--cluster-port", portOf(bus),
		"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "2000",
		"--dir", dir, "--save", "", "--appendonly", "no")
}

// startRedisServer runs redis-server with args and waits until addr answers PING.
func startRedisServer(ctx context.Context, addr string, args ...string) (*Process, error) {
	cmd := exec.Command("redis-server", args...)
	p := &Process{Name: "redis", Addr: addr, out: &tail{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("systems: start redis-server: %w", err)
	}
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if pingRedis(addr) {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%w: redis-server on %s exited: %s", ErrNotReady, addr, p.Output())
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("%w: redis-server: %w", ErrNotReady, ctx.Err())
		case <-tick.C:
		}
	}
	p.Stop()
	return nil, fmt.Errorf("%w: redis-server on %s did not answer PING: %s", ErrNotReady, addr, p.Output())
}

func (c *RedisCluster) waitOK(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		bad := ""
		for _, m := range c.Masters {
			out, err := exec.CommandContext(ctx, "redis-cli", "-h", "127.0.0.1", "-p", portOf(m.Addr), "cluster", "info").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "cluster_state:ok") || !strings.Contains(string(out), "cluster_slots_ok:16384") {
				bad = m.Addr + ": " + string(out)
				break
			}
		}
		if bad == "" {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(ctx.Err(), fmt.Errorf("%w: redis cluster not ok within %s: %s", ErrNotReady, limit, bad))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *RedisCluster) addrs() []string {
	out := make([]string, len(c.Masters))
	for i, m := range c.Masters {
		out[i] = m.Addr
	}
	return out
}

// Seeds returns the masters' addresses joined by commas, as --redis-cluster takes them.
func (c *RedisCluster) Seeds() string { return strings.Join(c.addrs(), ",") }

// Stop stops every node and removes the cluster's directory.
func (c *RedisCluster) Stop() {
	for _, m := range c.Masters {
		m.Stop()
	}
	_ = os.RemoveAll(c.dir)
}

// Port returns the port of a host:port address (0 if it has none).
func Port(addr string) int {
	n, _ := strconv.Atoi(portOf(addr))
	return n
}

// StartNode starts the syncgate binary (after Prepare) as one node of a multi-node run: on a
// free port, with its admin listener (for /metrics) on another, sharing env.Redis, or the
// Redis Cluster at clusterSeeds when that is set. It returns the process and the admin
// listener's address.
func StartNode(ctx context.Context, env Env, clusterSeeds string) (*Process, string, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	admin, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	if clusterSeeds != "" {
		env.Redis = ""
	}
	args := append(gatewayArgs(env, addr), "--admin-listen", admin) // the last --admin-listen wins
	if clusterSeeds != "" {
		args = append(args, "--redis-cluster", clusterSeeds)
	}
	p, err := startProcess(ctx, Syncgate, addr, pin(env, exec.Command(filepath.Join(env.WorkDir, "syncgate"), args...)))
	if err != nil {
		return nil, "", err
	}
	p.APIBase = "http://" + addr + "/api"
	p.Protocol = Protocol(Syncgate)
	return p, admin, nil
}
