package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/report"
	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
)

// rateOptions are the flags of the equal-rate sweep (rates) and the max-rate ramp (maxrate).
type rateOptions struct {
	rates                  string
	rateList               []float64
	sockets                int
	duration, drain, wait  time.Duration
	rampFrom               string
	rampList               []float64
	rampDuration           time.Duration
	maxrateReps            int
	serverCPU, generatorCs string
}

func (r *rateOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&r.rates, "rates", "5000,20000,50000,100000", "rates: offered deliveries/s (events/s × sockets), comma-separated")
	fs.IntVar(&r.sockets, "rates-sockets", 1000, "rates and maxrate: websocket sockets in /org/1")
	fs.DurationVar(&r.duration, "rates-duration", 8*time.Second, "rates: how long each offered rate is sent")
	fs.DurationVar(&r.drain, "rates-drain", time.Second, "rates and maxrate: deliveries later than this after the last send do not count as kept up")
	fs.DurationVar(&r.wait, "rates-wait", 15*time.Second, "rates and maxrate: stop waiting for the rest this long after the last send")
	fs.StringVar(&r.rampFrom, "maxrate-steps", "10000,20000,40000,60000,80000,100000,125000,150000,175000,200000,250000,300000,350000,400000,500000",
		"maxrate: offered deliveries/s, ramped in this order until a server does not keep up")
	fs.DurationVar(&r.rampDuration, "maxrate-duration", 5*time.Second, "maxrate: how long each step is sent")
	fs.IntVar(&r.maxrateReps, "maxrate-reps", 1, "maxrate: ramps per system (the limit reported is the median)")
	fs.StringVar(&r.serverCPU, "maxrate-server-cpu", "0", "maxrate: the server's CPU (taskset -c)")
	fs.StringVar(&r.generatorCs, "maxrate-generator-cpus", "", "maxrate: the generator's and fake upstream's CPUs (default: every other CPU)")
}

func (r *rateOptions) validate(cmd string) error {
	var errs []error
	var err error
	if runs(cmd, "rates") {
		if r.rateList, err = parseRates(r.rates); err != nil {
			errs = append(errs, fmt.Errorf("--rates: %w", err))
		}
		if r.duration <= 0 {
			errs = append(errs, errors.New("--rates-duration must be positive"))
		}
	}
	if runs(cmd, "maxrate") {
		if r.rampList, err = parseRates(r.rampFrom); err != nil {
			errs = append(errs, fmt.Errorf("--maxrate-steps: %w", err))
		}
		if r.rampDuration <= 0 || r.maxrateReps < 1 {
			errs = append(errs, errors.New("--maxrate-duration and --maxrate-reps must be positive"))
		}
	}
	if (runs(cmd, "rates") || runs(cmd, "maxrate")) && r.sockets <= 0 {
		errs = append(errs, errors.New("--rates-sockets must be positive"))
	}
	return errors.Join(errs...)
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for _, item := range splitList(s) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(item), "k"), 64)
		if strings.HasSuffix(strings.ToLower(item), "k") {
			v *= 1000
		}
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad rate %q", item)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no rate")
	}
	return out, nil
}

// Which systems each scenario runs, out of --systems.
var (
	rateSystems    = []string{systems.Syncgate, systems.Node, systems.NodeCluster, systems.Centrifugo, systems.Bare}
	maxrateSystems = []string{systems.Syncgate, systems.Node, systems.Centrifugo, systems.Bare} // node-cluster uses >1 core
	fanoutSystems  = []string{systems.Syncgate, systems.Node, systems.Bare}
	idleSystemsAll = []string{systems.Syncgate, systems.Node, systems.Centrifugo, systems.Bare}
	admitSystems   = []string{systems.Syncgate, systems.Node} // storm, two nodes
)

// only keeps the names that are in allowed, in names' order.
func only(names, allowed []string) []string {
	var out []string
	for _, n := range names {
		if slices.Contains(allowed, n) {
			out = append(out, n)
		}
	}
	return out
}

// runRates runs the equal-rate sweep: every system at the same offered rates, unpinned.
func runRates(ctx context.Context, env systems.Env, o options, run *report.Run) error {
	ro := o.rate
	for rep := 1; rep <= o.reps; rep++ {
		for _, name := range only(o.systems, rateSystems) {
			steps, err := rateOnce(ctx, env, name, scenario.RateConfig{
				Sockets: ro.sockets, Users: o.users, Rates: ro.rateList, Duration: ro.duration,
				Warmup: o.warmup, Drain: ro.drain, MaxWait: ro.wait,
			})
			if err != nil {
				return err
			}
			for i := range steps {
				steps[i].Rep = rep
				logStep("rates", steps[i])
			}
			run.Rates = append(run.Rates, steps...)
		}
	}
	return nil
}

// runMaxrate ramps each system pinned to one core, the generator and fake upstream on the
// other CPUs.
func runMaxrate(ctx context.Context, env systems.Env, o options, run *report.Run) error {
	ro := o.rate
	if _, err := systems.EnsureTool(ctx, "taskset", "util-linux"); err != nil {
		return err
	}
	genCPUs, err := generatorCPUs(ro.serverCPU, ro.generatorCs)
	if err != nil {
		return err
	}
	restore, err := pinSelf(genCPUs)
	if err != nil {
		return err
	}
	defer restore()
	// As many Ps as the generator has CPUs: more would time-slice on them and show up as
	// schedule lag that is the generator's own doing.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(len(genCPUs)))
	env.ServerCPUs = ro.serverCPU
	up, err := systems.StartUpstreamOn(ctx, env, 1, cpuList(genCPUs))
	if err != nil {
		return err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	for rep := 1; rep <= ro.maxrateReps; rep++ {
		for _, name := range only(o.systems, maxrateSystems) {
			steps, err := rateOnceWith(ctx, env, up.Pid, name, scenario.RateConfig{
				Sockets: ro.sockets, Users: o.users, Rates: ro.rampList, Duration: ro.rampDuration,
				Warmup: o.warmup, Drain: ro.drain, MaxWait: ro.wait, Ramp: true, GenCPUs: genCPUs, ServerCPUs: ro.serverCPU,
			})
			if err != nil {
				return err
			}
			for i := range steps {
				steps[i].Rep = rep
				logStep("maxrate", steps[i])
			}
			run.MaxRate = append(run.MaxRate, steps...)
		}
	}
	return nil
}

func logStep(what string, s scenario.RateStep) {
	slog.Info(what, "system", s.System, "rep", s.Rep, "offered", int(s.Offered), "delivered_share", fmt.Sprintf("%.3f", s.DeliveredShare()),
		"p50", s.Stats.Percentile(.5), "p99", s.Stats.Percentile(.99), "cpu_us_per_delivery", fmt.Sprintf("%.2f", s.CPUPerDelivery()),
		"server_cpu_pct", int(s.ServerCPUPercent()), "gen_cpu_pct", int(s.GenCPUPercent()), "gen_core_busy", fmt.Sprintf("%.2f", s.GenCoreBusy),
		"lag_p99", s.Send.LagPercentile(.99), "failed", s.Send.Failed, "kept_up", s.KeptUp(), "generator_bound", s.GeneratorBound())
}

// rateOnce starts a fake upstream and the system, and runs the steps.
func rateOnce(ctx context.Context, env systems.Env, name string, cfg scenario.RateConfig) ([]scenario.RateStep, error) {
	up, err := systems.StartUpstream(ctx, env, 1)
	if err != nil {
		return nil, err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	return rateOnceWith(ctx, env, up.Pid, name, cfg)
}

func rateOnceWith(ctx context.Context, env systems.Env, upstreamPid int, name string, cfg scenario.RateConfig) ([]scenario.RateStep, error) {
	p, err := systems.Start(ctx, env, name)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	steps, err := scenario.Rates(ctx, p, upstreamPid, cfg)
	if err != nil {
		return steps, fmt.Errorf("%w\n%s output:\n%s", err, name, p.Output())
	}
	return steps, nil
}

// generatorCPUs is the CPU list the generator gets: explicit, or every CPU but the server's.
func generatorCPUs(server, explicit string) ([]int, error) {
	if explicit != "" {
		return parseCPUList(explicit)
	}
	srv, err := parseCPUList(server)
	if err != nil {
		return nil, fmt.Errorf("--maxrate-server-cpu: %w", err)
	}
	var out []int
	for c := range runtime.NumCPU() {
		if !slices.Contains(srv, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("maxrate needs a CPU besides the server's %s: this machine has %d", server, runtime.NumCPU())
	}
	return out, nil
}

// parseCPUList reads "0", "1-3" or "0,2".
func parseCPUList(s string) ([]int, error) {
	var out []int
	for _, part := range splitList(s) {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("bad CPU list %q", s)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty CPU list %q", s)
	}
	return out, nil
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}
