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
	case Node:
		cmd = exec.Command("node", "--expose-gc", "server.js")
		cmd.Dir = filepath.Join(env.RepoRoot, NodeDir)
		cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+portOf(addr), "UPSTREAM="+env.Upstream)
		if env.Redis != "" {
			cmd.Env = append(cmd.Env, "REDIS_URL="+env.Redis)
		}
		stats = true
	default:
		return nil, fmt.Errorf("systems: unknown system %q", name)
	}
	p, err := startProcess(ctx, name, addr, cmd)
	if err != nil {
		return nil, err
	}
	p.APIBase = "http://" + addr + "/api"
	p.Stats = stats
	return p, nil
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

// StartUpstreamDelayed is StartUpstream with every membership answer taking delay.
func StartUpstreamDelayed(ctx context.Context, env Env, orgs int, delay time.Duration) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(env.Self, "upstream", "--listen", addr, "--orgs", fmt.Sprint(orgs),
		"--membership-delay", delay.String())
	p, err := startProcess(ctx, "upstream", addr, cmd)
	if err != nil {
		return nil, err
	}
	return p, nil
}
