package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/report"
	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
)

// options are syncbench's flags.
type options struct {
	systems    []string
	fanout     []fanoutSize
	idle       []int
	transports []string
	profile    *fanoutSize
	reps       int
	inflight   int
	users      int
	warmup     int
	quiet      time.Duration
	settle     time.Duration
	out        string
	write      bool
	charts     bool
	cpuprofile string
	scen       scenarioOptions
	rate       rateOptions
}

func parseOptions(cmd string, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	sys := fs.String("systems", "syncgate,node,node-cluster,centrifugo,bare",
		"systems to compare: syncgate, node, node-cluster, centrifugo, bare (each scenario runs those it applies to)")
	fan := fs.String("fanout", "1000x1000@500", "fan-out (closed loop, saturating) sizes: SOCKETSxEVENTS@RATE (events/s; @0 = as fast as --inflight allows), comma-separated")
	idle := fs.String("idle", "10000", "idle-memory socket counts, comma-separated")
	tr := fs.String("idle-transports", "websocket", "idle-memory transports (websocket, polling)")
	prof := fs.String("profile", "1000x1000@500", "size of syncgate's in-process profiled fan-out; empty: none")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of every run")
	fs.IntVar(&o.inflight, "inflight", 32, "mutation requests under way at once")
	fs.IntVar(&o.users, "users", 100, "distinct user tokens the sockets spread over")
	fs.IntVar(&o.warmup, "warmup", 20, "warm-up events before each measured fan-out")
	fs.DurationVar(&o.quiet, "quiet", 5*time.Second, "give up waiting for deliveries after this long without one")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "idle memory: wait this long before each reading")
	fs.StringVar(&o.out, "out", "bench/results", "results directory (relative to the repository root)")
	fs.BoolVar(&o.write, "write", cmd == "all", "write RESULTS/<date>.md and charts (default for all)")
	fs.BoolVar(&o.charts, "charts", true, "draw PNG charts when writing results")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	o.scen.register(fs)
	o.rate.register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := errors.Join(o.scen.validate(cmd), o.rate.validate(cmd)); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.systems = splitList(*sys)
	o.transports = splitList(*tr)
	var err error
	if cmd == "all" || cmd == "fanout" {
		if o.fanout, err = parseSizes(*fan); err != nil {
			return o, err
		}
	}
	if cmd == "all" || cmd == "idle" {
		for _, s := range splitList(*idle) {
			var n int
			if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
				return o, fmt.Errorf("--idle: bad socket count %q", s)
			}
			o.idle = append(o.idle, n)
		}
		for _, t := range o.transports {
			if t != loadgen.WebSocket && t != loadgen.Polling {
				return o, fmt.Errorf("--idle-transports: %q is neither websocket nor polling", t)
			}
		}
	}
	if (cmd == "all" || cmd == "profile") && *prof != "" {
		ps, err := parseSizes(*prof)
		if err != nil || len(ps) != 1 {
			return o, fmt.Errorf("--profile: want one SOCKETSxEVENTS@RATE, got %q", *prof)
		}
		o.profile = &ps[0]
	}
	if o.reps < 1 {
		return o, errors.New("--reps must be at least 1")
	}
	return o, nil
}

// runBench runs the scenarios of cmd and reports them.
func runBench(ctx context.Context, cmd string, args []string) error {
	o, err := parseOptions(cmd, args)
	if err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if o.cpuprofile != "" {
		stop, err := startCPUProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
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
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	started := time.Now()
	stamp := started.UTC().Format("2006-01-02")
	env := systems.Env{RepoRoot: root, WorkDir: work, Self: self, Profiles: work}

	var need []string
	if len(o.fanout) > 0 {
		need = append(need, only(o.systems, fanoutSystems)...)
	}
	if len(o.idle) > 0 {
		need = append(need, only(o.systems, idleSystemsAll)...)
	}
	if runs(cmd, "rates") {
		need = append(need, only(o.systems, rateSystems)...)
	}
	if runs(cmd, "maxrate") {
		need = append(need, only(o.systems, maxrateSystems)...)
	}
	need = append(need, o.scen.need(cmd, o.systems)...)
	slices.Sort(need)
	need = slices.Compact(need)
	if o.profile != nil || (len(o.idle) > 0 && contains(o.systems, systems.Syncgate)) {
		need = append(need, systems.SyncgateInproc)
	}
	slog.Info("building systems", "systems", need)
	if err := systems.Prepare(ctx, env, need); err != nil {
		return err
	}
	up, err := systems.StartUpstream(ctx, env, 1)
	if err != nil {
		return err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"

	run := report.Run{
		Started: started,
		Command: "go run ./cmd/syncbench " + strings.Join(os.Args[1:], " "),
		Source:  report.DescribeSource(root),
		Machine: report.DescribeMachine(socketIOVersion(root)),
		Notes:   runNotes(o),
		Repro:   reproCommands(o),
	}
	for rep := 1; rep <= o.reps; rep++ {
		for _, size := range o.fanout {
			for _, name := range only(o.systems, fanoutSystems) {
				r, err := fanoutOnce(ctx, env, up, name, size, o)
				if err != nil {
					return err
				}
				r.Rep = rep
				run.Fanout = append(run.Fanout, r)
				slog.Info("fan-out", "system", name, "sockets", size.sockets, "events", size.events, "rep", rep,
					"deliveries_per_s", int(r.DeliveriesPerSec()), "cpu_us_per_delivery", fmt.Sprintf("%.3f", r.CPUPerDelivery()),
					"p50", r.Stats.Percentile(.5), "p99", r.Stats.Percentile(.99), "lost", r.Stats.Lost, "gen_share", fmt.Sprintf("%.2f", r.GenShare()), "gen_us_per_delivery", fmt.Sprintf("%.3f", r.GenPerDelivery()))
			}
		}
		for _, n := range o.idle {
			for _, tr := range o.transports {
				for _, name := range idleSystems(only(o.systems, idleSystemsAll)) {
					if (name == systems.Bare || name == systems.Centrifugo) && tr == loadgen.Polling {
						continue // websocket only (Centrifugo's own polling-like transports are not Engine.IO's)
					}
					r, err := idleOnce(ctx, env, name, n, tr, o)
					if err != nil {
						return err
					}
					r.Rep = rep
					run.Idle = append(run.Idle, r)
					slog.Info("idle", "system", name, "transport", tr, "sockets", n, "rep", rep,
						"rss_per_conn", int(r.RSSPerConn()), "heap_per_conn", int(r.HeapPerConn()), "alive", r.Alive)
				}
			}
		}
	}
	if runs(cmd, "rates") {
		if err := runRates(ctx, env, o, &run); err != nil {
			return err
		}
	}
	if err := runScenarios(ctx, cmd, env, o, &run); err != nil {
		return err
	}
	if runs(cmd, "maxrate") {
		// Last: it pins this process to the generator's CPUs until it ends.
		if err := runMaxrate(ctx, env, o, &run); err != nil {
			return err
		}
	}
	if o.profile != nil {
		p, err := profileOnce(ctx, env, up, *o.profile, o, stamp)
		if err != nil {
			return err
		}
		run.Profile = &p
	}
	run.Machine.LoadAfter = scenario.LoadAvg()
	return writeRun(run, o, cmd, outDir, stamp)
}

func fanoutOnce(ctx context.Context, env systems.Env, up *systems.Process, name string, size fanoutSize, o options) (scenario.FanoutResult, error) {
	p, err := systems.Start(ctx, env, name)
	if err != nil {
		return scenario.FanoutResult{}, err
	}
	defer p.Stop()
	r, err := scenario.Fanout(ctx, p, up.Pid, scenario.FanoutConfig{
		Sockets: size.sockets, Events: size.events, Rate: size.rate,
		Warmup: o.warmup, Inflight: o.inflight, Users: o.users, Quiet: o.quiet,
	})
	if err != nil {
		return r, fmt.Errorf("%w\n%s output:\n%s", err, name, p.Output())
	}
	return r, nil
}

func idleOnce(ctx context.Context, env systems.Env, name string, sockets int, transport string, o options) (scenario.IdleResult, error) {
	p, err := systems.Start(ctx, env, name)
	if err != nil {
		return scenario.IdleResult{}, err
	}
	defer p.Stop()
	r, err := scenario.Idle(ctx, p, scenario.IdleConfig{Sockets: sockets, Transport: transport, Settle: o.settle, Users: o.users})
	if err != nil {
		return r, fmt.Errorf("%w\n%s output:\n%s", err, name, p.Output())
	}
	return r, nil
}

func profileOnce(ctx context.Context, env systems.Env, up *systems.Process, size fanoutSize, o options, stamp string) (scenario.ProfileResult, error) {
	p, err := systems.Start(ctx, env, systems.SyncgateInproc)
	if err != nil {
		return scenario.ProfileResult{}, err
	}
	defer p.Stop()
	r, err := scenario.Profile(ctx, p, up.Pid, scenario.FanoutConfig{
		Sockets: size.sockets, Events: size.events, Rate: size.rate,
		Warmup: o.warmup, Inflight: o.inflight, Users: o.users, Quiet: o.quiet,
	}, env.Profiles, stamp+"-syncgate")
	if err != nil {
		return r, fmt.Errorf("%w\nsyncgate-inproc output:\n%s", err, p.Output())
	}
	slog.Info("profile", "deliveries_per_s", int(r.Fanout.DeliveriesPerSec()), "cpu_us_per_delivery", fmt.Sprintf("%.3f", r.Fanout.CPUPerDelivery()))
	return r, nil
}

// idleSystems adds syncgate-inproc (for its heap figure) after syncgate.
func idleSystems(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n)
		if n == systems.Syncgate {
			out = append(out, systems.SyncgateInproc)
		}
	}
	return out
}

// writeRun prints the report, and with --write saves it, its charts and the profiles.
func writeRun(run report.Run, o options, cmd, outDir, stamp string) error {
	var charts []string
	if o.write {
		if run.Profile != nil {
			for _, f := range []*string{&run.Profile.CPUFile, &run.Profile.HeapFile} {
				dst := filepath.Join(outDir, filepath.Base(*f))
				if err := copyFile(*f, dst); err != nil {
					return err
				}
				*f = filepath.Join(o.out, filepath.Base(*f))
			}
		}
		if o.charts {
			var err error
			if charts, err = report.Charts(run, outDir, stamp); err != nil {
				return err
			}
		}
	}
	if err := report.WriteMarkdown(os.Stdout, run, nil); err != nil {
		return err
	}
	if !o.write {
		return nil
	}
	path := filepath.Join(outDir, resultsName(cmd, stamp))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := errors.Join(report.WriteMarkdown(f, run, charts), f.Close()); err != nil {
		return fmt.Errorf("results %s: %w", path, err)
	}
	slog.Info("results written", "file", path, "charts", len(charts))
	return nil
}

// resultsName is the results file of cmd: <date>.md for all, <date>-<cmd>.md for one
// scenario, so a single-scenario run does not replace the day's full run.
func resultsName(cmd, stamp string) string {
	if cmd == "all" {
		return stamp + ".md"
	}
	return stamp + "-" + cmd + ".md"
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// socketIOVersion reads the installed socket.io version of the Node peer.
func socketIOVersion(root string) string {
	cmd := exec.Command("node", "-p", "require('socket.io/package.json').version")
	cmd.Dir = filepath.Join(root, systems.NodeDir)
	out, err := cmd.Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// startCPUProfile profiles this process (the load generator) into path.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
