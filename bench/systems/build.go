package systems

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Env is where the systems come from and what they talk to.
type Env struct {
	RepoRoot string // the module root (holds go.mod)
	WorkDir  string // built binaries and the trigger file go here
	Upstream string // base URL of the fake API, e.g. http://127.0.0.1:9000/v1
	Self     string // the syncbench executable (for gateway-inproc and upstream)
	Profiles string // directory the in-process gateway writes profiles into
	Redis    string // redis:// URL the started servers share (two-node runs); empty: none

	// ServerCPUs, when set, pins the started servers to these CPUs (taskset -c LIST): the
	// max-rate scenario gives each server one core.
	ServerCPUs string
	// NodeWorkers is how many cluster workers the node-cluster peer forks (default 2).
	NodeWorkers int
}

// Names of the systems.
const (
	Syncgate       = "syncgate"
	Node           = "node"
	Bare           = "bare"
	SyncgateInproc = "syncgate-inproc"
	// NodeCluster is the Node peer as users scale it on one machine: a worker per core
	// (node:cluster) with @socket.io/cluster-adapter.
	NodeCluster = "node-cluster"
	// Centrifugo is Centrifugo v6 behind the relay of bench/peers/centrifugo.
	Centrifugo = "centrifugo"
	// Nginx and GoProxy are proxy-overhead baselines in front of the same upstream.
	Nginx   = "nginx"
	GoProxy = "goproxy"
)

// Protocol returns the client protocol of system name (see loadgen.Config.Protocol).
func Protocol(name string) string {
	if name == Centrifugo {
		return "centrifugo"
	}
	return "socketio"
}

// NodeDir is the Node peer's directory, relative to the repository root.
const NodeDir = "bench/peers/node"

// Prepare builds what the named systems need: the syncgate and bare binaries (go build), the
// Node peer's packages (npm ci, skipped when package.json and package-lock.json are
// unchanged since the last install), and the trigger file.
func Prepare(ctx context.Context, env Env, names []string) error {
	if err := os.MkdirAll(env.WorkDir, 0o755); err != nil {
		return fmt.Errorf("systems: work dir: %w", err)
	}
	if err := os.WriteFile(TriggerFile(env), []byte(triggerYAML), 0o644); err != nil {
		return fmt.Errorf("systems: trigger file: %w", err)
	}
	for _, n := range names {
		var err error
		switch n {
		case Syncgate:
			err = goBuild(ctx, env, "./cmd/syncgate", filepath.Join(env.WorkDir, "syncgate"))
		case Bare:
			err = goBuild(ctx, env, "./bench/peers/bare", filepath.Join(env.WorkDir, "bare"))
		case Node, NodeCluster:
			err = NodeDeps(ctx, filepath.Join(env.RepoRoot, NodeDir))
		case Centrifugo:
			if _, err = CentrifugoBinary(ctx); err == nil {
				err = goBuild(ctx, env, "./bench/peers/centrifugo", filepath.Join(env.WorkDir, "centrifugo-relay"))
			}
		case GoProxy:
			err = goBuild(ctx, env, "./bench/peers/goproxy", filepath.Join(env.WorkDir, "goproxy"))
		case Nginx:
			_, err = EnsureTool(ctx, "nginx", "nginx")
		case SyncgateInproc:
		default:
			err = fmt.Errorf("systems: unknown system %q (want syncgate, node, node-cluster, centrifugo, bare, nginx, goproxy)", n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// triggerYAML is the one trigger the fan-out needs, as in examples/zetkin-poc.yaml.
const triggerYAML = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
`

// TriggerFile is the path of the benchmark's trigger file.
func TriggerFile(env Env) string { return filepath.Join(env.WorkDir, "triggers.yaml") }

func goBuild(ctx context.Context, env Env, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = env.RepoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("systems: go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// NodeDeps runs npm ci in dir unless node_modules was installed from the same package.json and
// package-lock.json.
func NodeDeps(ctx context.Context, dir string) error {
	var h = sha256.New()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("systems: node peer: %w", err)
		}
		h.Write(b)
	}
	want := hex.EncodeToString(h.Sum(nil))
	stamp := filepath.Join(dir, "node_modules", ".syncbench-stamp")
	if got, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(got)) == want {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("systems: npm ci in %s: %w\n%s", dir, err, b)
	}
	if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("systems: node stamp: %w", err)
	}
	return nil
}
