package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/report"
	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
)

// scenarioOptions are the flags of the connect-storm, proxy-overhead and two-node scenarios.
type scenarioOptions struct {
	stormSockets, stormUsers, stormConc int
	stormDelay, stormTimeout            time.Duration

	proxyRequests int
	proxyConc     string
	proxyConcs    []int

	twoSockets, twoOrgs, twoUsers int
	twoRate                       float64
	twoDuration                   time.Duration
}

func (s *scenarioOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&s.stormSockets, "storm-sockets", 10000, "connect storm: sockets opened at once")
	fs.IntVar(&s.stormUsers, "storm-users", 1000, "connect storm: distinct users the sockets spread over")
	fs.IntVar(&s.stormConc, "storm-concurrency", 1000, "connect storm: sockets connecting at once")
	fs.DurationVar(&s.stormDelay, "storm-delay", 2*time.Millisecond, "connect storm: the fake upstream's membership answer time")
	fs.DurationVar(&s.stormTimeout, "storm-timeout", 30*time.Second, "connect storm: a socket without a CONNECT answer after this long is hanging")
	fs.IntVar(&s.proxyRequests, "proxy-requests", 20000, "proxy overhead: measured requests per method and target")
	fs.StringVar(&s.proxyConc, "proxy-concurrency", "1,16", "proxy overhead: requests in flight, comma-separated")
	fs.IntVar(&s.twoSockets, "twonode-sockets", 10000, "two-node: sockets over both nodes")
	fs.IntVar(&s.twoOrgs, "twonode-orgs", 200, "two-node: orgs the sockets spread over")
	fs.IntVar(&s.twoUsers, "twonode-users", 1000, "two-node: distinct users")
	fs.Float64Var(&s.twoRate, "twonode-rate", 100, "two-node: mutations per second")
	fs.DurationVar(&s.twoDuration, "twonode-duration", 20*time.Second, "two-node: how long mutations are sent")
}

func (s *scenarioOptions) validate(cmd string) error {
	var errs []error
	if runs(cmd, "storm") && (s.stormSockets <= 0 || s.stormUsers <= 0 || s.stormConc <= 0) {
		errs = append(errs, errors.New("--storm-sockets, --storm-users and --storm-concurrency must be positive"))
	}
	if runs(cmd, "proxy") {
		s.proxyConcs = nil
		for _, c := range splitList(s.proxyConc) {
			var n int
			if _, err := fmt.Sscan(c, &n); err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("--proxy-concurrency: bad count %q", c))
			}
			s.proxyConcs = append(s.proxyConcs, n)
		}
		if s.proxyRequests <= 0 || len(s.proxyConcs) == 0 {
			errs = append(errs, errors.New("--proxy-requests and --proxy-concurrency must be positive"))
		}
	}
	if runs(cmd, "twonode") && (s.twoSockets < 2*s.twoOrgs || s.twoOrgs <= 0 || s.twoRate <= 0 || s.twoDuration <= 0) {
		errs = append(errs, errors.New("two-node: want --twonode-orgs > 0, --twonode-sockets ≥ 2 × orgs, positive rate and duration"))
	}
	return errors.Join(errs...)
}

// runs reports whether command cmd includes scenario name.
func runs(cmd, name string) bool { return cmd == "all" || cmd == name }

// need lists the systems the scenarios of cmd start.
func (s *scenarioOptions) need(cmd string, names []string) []string {
	var out []string
	if runs(cmd, "storm") || runs(cmd, "twonode") {
		out = append(out, only(names, admitSystems)...)
	}
	if runs(cmd, "proxy") {
		out = append(out, systems.Syncgate, systems.Nginx, systems.GoProxy)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// runScenarios runs the storm, proxy and two-node scenarios cmd includes, o.reps times.
func runScenarios(ctx context.Context, cmd string, env systems.Env, o options, run *report.Run) error {
	s := o.scen
	for rep := 1; rep <= o.reps; rep++ {
		if runs(cmd, "storm") {
			for _, name := range only(o.systems, admitSystems) {
				r, err := stormOnce(ctx, env, name, s)
				if err != nil {
					return err
				}
				r.Rep = rep
				run.Storm = append(run.Storm, r)
				slog.Info("storm", "system", name, "rep", rep, "connects_per_s", int(r.ConnectsPerSec()), "membership_calls", r.MembershipCalls,
					"admit_p99", r.Report.AdmitPercentile(.99), "hanging", r.Report.Hanging, "failed", r.Report.Failed)
			}
		}
		if runs(cmd, "proxy") {
			for _, c := range s.proxyConcs {
				rs, err := proxyOnce(ctx, env, s.proxyRequests, c)
				if err != nil {
					return err
				}
				for i := range rs {
					rs[i].Rep = rep
					slog.Info("proxy", "method", rs[i].Method, "target", rs[i].Target, "inflight", c, "rep", rep,
						"per_s", int(rs[i].PerSec()), "p50", rs[i].Percentile(.5), "p99", rs[i].Percentile(.99))
				}
				run.Proxy = append(run.Proxy, rs...)
			}
		}
		if runs(cmd, "twonode") {
			for _, name := range only(o.systems, admitSystems) {
				r, err := twoNodeOnce(ctx, env, name, s, o.quiet)
				if err != nil {
					return err
				}
				r.Rep = rep
				run.TwoNode = append(run.TwoNode, r)
				st := r.Stats
				slog.Info("two-node", "system", name, "rep", rep, "deliveries", st.Received, "p50", st.Percentile(.5),
					"p99", st.Percentile(.99), "max", st.Percentile(1), "lost", st.Lost)
			}
		}
	}
	return nil
}

func stormOnce(ctx context.Context, env systems.Env, name string, s scenarioOptions) (scenario.StormResult, error) {
	up, err := systems.StartUpstreamDelayed(ctx, env, 1, s.stormDelay)
	if err != nil {
		return scenario.StormResult{}, err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	p, err := systems.Start(ctx, env, name)
	if err != nil {
		return scenario.StormResult{}, err
	}
	defer p.Stop()
	r, err := scenario.Storm(ctx, p, up.Addr, scenario.StormConfig{Sockets: s.stormSockets, Users: s.stormUsers,
		Concurrency: s.stormConc, Timeout: s.stormTimeout, Delay: s.stormDelay})
	if err != nil {
		return r, fmt.Errorf("%w\n%s output:\n%s", err, name, p.Output())
	}
	return r, nil
}

func proxyOnce(ctx context.Context, env systems.Env, requests, conc int) ([]scenario.ProxyResult, error) {
	up, err := systems.StartUpstream(ctx, env, 1)
	if err != nil {
		return nil, err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	var vias []scenario.ProxyTarget
	var procs []*systems.Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	for _, name := range []string{systems.Syncgate, systems.Nginx, systems.GoProxy} {
		p, err := systems.Start(ctx, env, name)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		vias = append(vias, scenario.ProxyTarget{Name: name, Base: p.APIBase})
	}
	rs, err := scenario.Proxy(ctx, env.Upstream, vias, scenario.ProxyConfig{Requests: requests, Concurrency: conc})
	if err != nil {
		var out strings.Builder
		for _, p := range procs {
			fmt.Fprintf(&out, "%s output:\n%s\n", p.Name, p.Output())
		}
		return rs, fmt.Errorf("%w\n%s", err, out.String())
	}
	return rs, nil
}

func twoNodeOnce(ctx context.Context, env systems.Env, name string, s scenarioOptions, quiet time.Duration) (scenario.TwoNodeResult, error) {
	redis, err := systems.StartRedis(ctx)
	if err != nil {
		return scenario.TwoNodeResult{}, err
	}
	defer redis.Stop()
	up, err := systems.StartUpstream(ctx, env, s.twoOrgs)
	if err != nil {
		return scenario.TwoNodeResult{}, err
	}
	defer up.Stop()
	env.Upstream = "http://" + up.Addr + "/v1"
	env.Redis = "redis://" + redis.Addr + "/0"
	var nodes []*systems.Process
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
	}()
	for range 2 {
		p, err := systems.Start(ctx, env, name)
		if err != nil {
			return scenario.TwoNodeResult{}, err
		}
		nodes = append(nodes, p)
	}
	r, err := scenario.TwoNode(ctx, nodes, scenario.TwoNodeConfig{Sockets: s.twoSockets, Orgs: s.twoOrgs, Users: s.twoUsers,
		Rate: s.twoRate, Duration: s.twoDuration, Quiet: quiet})
	if err != nil {
		return r, fmt.Errorf("%w\n%s node 1 output:\n%s\nnode 2 output:\n%s", err, name, nodes[0].Output(), nodes[1].Output())
	}
	return r, nil
}
