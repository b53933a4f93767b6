package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/report"
	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
)

// clusterOptions are the flags of `syncbench cluster`.
type clusterOptions struct {
	nodes    []int
	engines  []string
	masters  int
	sockets  int
	orgs     int
	spread   int
	perNode  bool
	users    int
	rate     float64
	duration time.Duration
	reps     int
	quiet    time.Duration
	out      string
	write    bool
	charts   bool
}

func parseClusterOptions(args []string) (clusterOptions, error) {
	var o clusterOptions
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	nodes := fs.String("nodes", "1,2,4", "gateway node counts, comma-separated")
	engines := fs.String("engines", "redis,cluster", "fan-out engines: redis (--redis, one server), cluster (--redis-cluster)")
	fs.IntVar(&o.masters, "cluster-masters", 3, "masters of the Redis Cluster")
	fs.IntVar(&o.sockets, "cluster-sockets", 2000, "sockets over all nodes")
	fs.IntVar(&o.orgs, "cluster-orgs", 200, "orgs the sockets spread over")
	fs.IntVar(&o.spread, "cluster-spread", 1, "nodes each org has sockets on")
	scale := fs.String("cluster-scale", "total", "total: sockets, orgs and rate are the whole deployment's, spread over the nodes; per-node: each node adds that many (the deployment grows with the nodes)")
	fs.IntVar(&o.users, "cluster-users", 1000, "distinct users")
	fs.Float64Var(&o.rate, "cluster-rate", 200, "mutations per second, over all nodes")
	fs.DurationVar(&o.duration, "cluster-duration", 15*time.Second, "how long mutations are sent")
	fs.IntVar(&o.reps, "reps", 1, "repetitions of every run")
	fs.DurationVar(&o.quiet, "quiet", 5*time.Second, "give up waiting for deliveries after this long without one")
	fs.StringVar(&o.out, "out", "bench/results", "results directory (relative to the repository root)")
	fs.BoolVar(&o.write, "write", false, "write RESULTS/<date>-cluster.md and charts")
	fs.BoolVar(&o.charts, "charts", true, "draw PNG charts when writing results")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch *scale {
	case "total":
	case "per-node":
		o.perNode = true
	default:
		return o, fmt.Errorf("--cluster-scale: %q is neither total nor per-node", *scale)
	}
	for _, s := range splitList(*nodes) {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
			return o, fmt.Errorf("--nodes: bad count %q", s)
		}
		o.nodes = append(o.nodes, n)
	}
	for _, e := range splitList(*engines) {
		if e != scenario.EngineRedis && e != scenario.EngineCluster {
			return o, fmt.Errorf("--engines: %q is neither redis nor cluster", e)
		}
		o.engines = append(o.engines, e)
	}
	var errs []error
	if len(o.nodes) == 0 || len(o.engines) == 0 {
		errs = append(errs, errors.New("--nodes and --engines must name at least one"))
	}
	if o.orgs <= 0 || o.spread <= 0 || o.sockets < o.orgs*o.spread || o.rate <= 0 || o.duration <= 0 || o.masters < 3 || o.reps < 1 {
		errs = append(errs, errors.New("cluster: want --cluster-orgs > 0, --cluster-sockets ≥ orgs × spread, positive rate and duration, --cluster-masters ≥ 3 (Redis Cluster's minimum), --reps ≥ 1"))
	}
	return o, errors.Join(errs...)
}

// runCluster runs the scaling-out scenario: every node count with every engine.
func runCluster(ctx context.Context, args []string) error {
	o, err := parseClusterOptions(args)
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own executable: %w", err)
	}
	work, err := os.MkdirTemp("", "syncbench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(work)
	outDir := o.out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	started := time.Now()
	stamp := started.UTC().Format("2006-01-02")
	env := systems.Env{RepoRoot: root, WorkDir: work, Self: self, Profiles: work}
	slog.Info("building systems", "systems", []string{systems.Syncgate})
	if err := systems.Prepare(ctx, env, []string{systems.Syncgate}); err != nil {
		return err
	}
	run := report.Run{
		Started: started,
		Command: "go run ./cmd/syncbench cluster " + strings.Join(args, " "),
		Source:  report.DescribeSource(root),
		Machine: report.DescribeMachine(""),
		Notes: []string{
			"Each run starts fresh processes: the Redis side (one redis-server, or a Redis Cluster of --cluster-masters masters from `redis-server --cluster-enabled yes` joined by `redis-cli --cluster create`, no replicas, persistence off), the fake upstream API (`syncbench upstream`) and N cmd/syncgate nodes (`--membership-ttl 5m`, one trigger, `--redis` or `--redis-cluster`, an admin listener for /metrics).",
			"Mutations are sent on a fixed schedule with up to 256 requests in flight (\"send behind\" is how late the last one left against it); each is a PUT through a node, forwarded to the upstream, whose trigger publishes one event to the org.",
			scaleNote(o),
			"Everything shares the machine's cores: the figures show how Redis traffic per node scales with the engine, not what N separate machines would deliver.",
		},
	}
	var results []scenario.ClusterResult
	for rep := 1; rep <= o.reps; rep++ {
		for _, engine := range o.engines {
			for _, n := range o.nodes {
				r, err := clusterOnce(ctx, env, engine, n, o)
				if err != nil {
					return err
				}
				r.Rep = rep
				results = append(results, r)
				var bytes int64
				for _, nr := range r.PerNode {
					bytes += nr.RedisBytes
				}
				slog.Info("cluster", "engine", engine, "nodes", n, "rep", rep, "redis_bytes_per_node", bytes/int64(n),
					"deliveries", r.Stats.Received, "p50", r.P50, "p99", r.P99, "lost", r.Stats.Lost, "behind", r.Send.Behind)
			}
		}
	}
	run.Machine.LoadAfter = scenario.LoadAvg()
	var charts []string
	if o.write {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return fmt.Errorf("results dir: %w", err)
		}
		if o.charts {
			if charts, err = report.ClusterCharts(results, outDir, stamp); err != nil {
				return err
			}
		}
	}
	if err := report.WriteClusterMarkdown(os.Stdout, run, results, nil); err != nil {
		return err
	}
	if !o.write {
		return nil
	}
	path := filepath.Join(outDir, resultsName("cluster", stamp))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := errors.Join(report.WriteClusterMarkdown(f, run, results, charts), f.Close()); err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	slog.Info("results written", "file", path, "charts", len(charts))
	return nil
}

// clusterOnce starts the Redis side of engine, the upstream and n nodes, and runs the scenario.
func clusterOnce(ctx context.Context, env systems.Env, engine string, n int, o clusterOptions) (scenario.ClusterResult, error) {
	var redis []*systems.Process
	seeds, masters := "", 1
	if engine == scenario.EngineCluster {
		c, err := systems.StartRedisCluster(ctx, o.masters)
		if err != nil {
			return scenario.ClusterResult{}, err
		}
		defer c.Stop()
		redis, seeds, masters = c.Masters, c.Seeds(), o.masters
	} else {
		r, err := systems.StartRedis(ctx)
		if err != nil {
			return scenario.ClusterResult{}, err
		}
		defer r.Stop()
		redis = []*systems.Process{r}
		env.Redis = "redis://" + r.Addr + "/0"
	}
	sockets, orgs, rate := o.sockets, o.orgs, o.rate
	if o.perNode {
		sockets, orgs, rate = n*sockets, n*orgs, float64(n)*rate
	}
	up, err := systems.StartUpstream(ctx, env, orgs)
	if err != nil {
		return scenario.ClusterResult{}, err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	var nodes []*systems.Process
	var admins []string
	defer func() {
		for _, p := range nodes {
			p.Stop()
		}
	}()
	for range n {
		p, admin, err := systems.StartNode(ctx, env, seeds)
		if err != nil {
			return scenario.ClusterResult{}, err
		}
		nodes, admins = append(nodes, p), append(admins, admin)
	}
	r, err := scenario.Cluster(ctx, nodes, admins, redis, scenario.ClusterConfig{Engine: engine, Masters: masters,
		Sockets: sockets, Orgs: orgs, Spread: o.spread, Users: o.users, Rate: rate, Duration: o.duration, Quiet: o.quiet})
	if err != nil {
		var out strings.Builder
		for i, p := range nodes {
			fmt.Fprintf(&out, "node %d output:\n%s\n", i+1, p.Output())
		}
		return r, fmt.Errorf("%w\n%s", err, out.String())
	}
	return r, nil
}

func scaleNote(o clusterOptions) string {
	if o.perNode {
		return fmt.Sprintf("--cluster-scale per-node: each node adds %d sockets, %d orgs and %s mutations/s, so the deployment grows with the nodes and a node's own share stays the same.", o.sockets, o.orgs, strconv.FormatFloat(o.rate, 'f', -1, 64))
	}
	return fmt.Sprintf("--cluster-scale total: %d sockets, %d orgs and %s mutations/s for the whole deployment, whatever the number of nodes, so a node's share shrinks as nodes are added.", o.sockets, o.orgs, strconv.FormatFloat(o.rate, 'f', -1, 64))
}
