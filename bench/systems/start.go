package systems

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Start starts the named system (after Prepare) on a free loopback port.
func Start(ctx context.Context, env Env, name string) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	stats := false
	switch name {
	case Syncgate:
		cmd = exec.Command(filepath.Join(env.WorkDir, "syncgate"), gatewayArgs(env, addr)...)
	case SyncgateInproc:
		args := append([]string{"gateway-inproc", "--profile-dir", env.Profiles}, gatewayArgs(env, addr)...)
		cmd = exec.Command(env.Self, args...)
		stats = true
	case Bare:
		cmd = exec.Command(filepath.Join(env.WorkDir, "bare"), "--listen", addr)
		stats = true
	case Node, NodeCluster:
		cmd = exec.Command("node", "--expose-gc", "server.js")
		cmd.Dir = filepath.Join(env.RepoRoot, NodeDir)
		cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+portOf(addr), "UPSTREAM="+env.Upstream)
		if env.Redis != "" {
			cmd.Env = append(cmd.Env, "REDIS_URL="+env.Redis)
		}
		if name == NodeCluster {
			cmd.Env = append(cmd.Env, fmt.Sprintf("WORKERS=%d", max(env.NodeWorkers, 2)))
		}
		stats = name == Node // a cluster's /bench/stats would be one worker's
	case Centrifugo:
		return startCentrifugo(ctx, env, addr)
	case GoProxy:
		cmd = exec.Command(filepath.Join(env.WorkDir, "goproxy"), "--listen", addr, "--upstream", env.Upstream)
	case Nginx:
		conf, err := writeNginxConf(env, addr)
		if err != nil {
			return nil, err
		}
		cmd = exec.Command("nginx", "-c", conf, "-e", "stderr")
	default:
		return nil, fmt.Errorf("systems: unknown system %q", name)
	}
	p, err := startProcess(ctx, name, addr, pin(env, cmd))
	if err != nil {
		return nil, err
	}
	p.APIBase = "http://" + addr + "/api"
	p.Stats = stats
	p.Protocol = Protocol(name)
	p.Tree = name == NodeCluster
	return p, nil
}

// startCentrifugo starts the relay (API and connect proxy on a port of its own), which starts
// Centrifugo on addr: the sockets connect to addr, the mutations go to the relay.
func startCentrifugo(ctx context.Context, env Env, addr string) (*Process, error) {
	relayAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	bin, err := CentrifugoBinary(ctx)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(env.WorkDir, "centrifugo-relay"), "--centrifugo", bin, "--listen", relayAddr,
		"--ws-listen", addr, "--upstream", env.Upstream, "--dir", env.WorkDir)
	p, err := startProcess(ctx, Centrifugo, relayAddr, pin(env, cmd))
	if err != nil {
		return nil, err
	}
	p.APIBase = "http://" + relayAddr + "/api"
	p.Addr = addr
	p.Protocol = Protocol(Centrifugo)
	p.Tree = true
	// Idle memory grows in Centrifugo, not in the relay.
	for _, c := range childPids(p.Pid) {
		p.MemPid = c
	}
	return p, nil
}

// pin wraps cmd in taskset -c env.ServerCPUs when servers are pinned. taskset execs the
// server, so the process keeps taskset's pid and its children inherit the CPU set.
func pin(env Env, cmd *exec.Cmd) *exec.Cmd {
	if env.ServerCPUs == "" {
		return cmd
	}
	c := exec.Command("taskset", append([]string{"-c", env.ServerCPUs, cmd.Path}, cmd.Args[1:]...)...)
	c.Dir, c.Env = cmd.Dir, cmd.Env
	return c
}

// gatewayArgs are syncgate's flags for the benchmark (see gateway/config.go).
func gatewayArgs(env Env, addr string) []string {
	args := []string{
		"--upstream", env.Upstream,
		"--triggers", TriggerFile(env),
		"--listen", addr,
		"--membership-ttl", "5m",
		"--log-level", "warn",
		"--admin-listen=",            // no admin listener: its fixed default port would clash between nodes
		"--max-connections-per-ip=0", // every benchmark socket comes from 127.0.0.1
	}
	if env.Redis != "" {
		args = append(args, "--redis", env.Redis)
	}
	return args
}

// StartUpstream runs `syncbench upstream` (env.Self) serving the fake API for orgs 1..orgs.
func StartUpstream(ctx context.Context, env Env, orgs int) (*Process, error) {
	return StartUpstreamDelayed(ctx, env, orgs, 0)
}

// StartUpstreamOn is StartUpstream pinned to cpus (taskset -c).
func StartUpstreamOn(ctx context.Context, env Env, orgs int, cpus string) (*Process, error) {
	return startUpstream(ctx, Env{Self: env.Self, ServerCPUs: cpus}, orgs, 0)
}

// StartUpstreamDelayed is StartUpstream with every membership answer taking delay.
func StartUpstreamDelayed(ctx context.Context, env Env, orgs int, delay time.Duration) (*Process, error) {
	return startUpstream(ctx, Env{Self: env.Self}, orgs, delay)
}

func startUpstream(ctx context.Context, env Env, orgs int, delay time.Duration) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(env.Self, "upstream", "--listen", addr, "--orgs", fmt.Sprint(orgs),
		"--membership-delay", delay.String())
	p, err := startProcess(ctx, "upstream", addr, pin(env, cmd))
	if err != nil {
		return nil, err
	}
	return p, nil
}
