package scenario

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/procstat"
	"github.com/syncgate/syncgate/bench/systems"
)

// FanoutConfig sizes one fan-out run.
type FanoutConfig struct {
	Sockets  int
	Events   int
	Rate     float64 // events per second offered; 0 = as fast as Inflight allows
	Warmup   int     // events sent and awaited before measuring, default 20
	Inflight int     // mutation requests under way at once, default 32
	Users    int     // distinct tokens, default 100
	Quiet    time.Duration

	// BeforeMeasure and AfterMeasure, when set, run just before the first measured send and
	// just after the last delivery (the profile scenario starts and stops its profile there).
	BeforeMeasure, AfterMeasure func(ctx context.Context) error
}

func (c *FanoutConfig) setDefaults() {
	if c.Warmup <= 0 {
		c.Warmup = 20
	}
	if c.Inflight <= 0 {
		c.Inflight = 32
	}
	if c.Users <= 0 {
		c.Users = 100
	}
	if c.Quiet <= 0 {
		c.Quiet = 5 * time.Second
	}
}

// FanoutResult is one table row.
type FanoutResult struct {
	System   string
	Sockets  int
	Events   int
	Rate     float64
	Rep      int
	LoadAvg  string // /proc/loadavg before the run
	Connect  time.Duration
	Send     loadgen.SendResult
	Stats    loadgen.PhaseStats
	Elapsed  time.Duration // first send → last delivery
	Complete bool          // every expected delivery arrived

	ServerCPU, GenCPU, UpstreamCPU time.Duration
}

// DeliveriesPerSec is distinct deliveries over Elapsed.
func (r FanoutResult) DeliveriesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Stats.Received) / r.Elapsed.Seconds()
}

// CPUPerDelivery is the server's CPU µs per delivery (= CPU seconds per million deliveries).
func (r FanoutResult) CPUPerDelivery() float64 {
	if r.Stats.Received == 0 {
		return 0
	}
	return float64(r.ServerCPU.Microseconds()) / float64(r.Stats.Received)
}

// GenPerDelivery is the load generator's CPU µs per delivery.
func (r FanoutResult) GenPerDelivery() float64 {
	if r.Stats.Received == 0 {
		return 0
	}
	return float64(r.GenCPU.Microseconds()) / float64(r.Stats.Received)
}

// GenShare is the generator's CPU as a share of all CPU the run used (server, generator, fake
// upstream).
func (r FanoutResult) GenShare() float64 {
	total := r.ServerCPU + r.GenCPU + r.UpstreamCPU
	if total <= 0 {
		return 0
	}
	return float64(r.GenCPU) / float64(total)
}

// Fanout connects cfg.Sockets websocket sockets to /org/1 of p, warms up, then sends
// cfg.Events mutations at cfg.Rate and waits for every delivery (or cfg.Quiet without one).
// upstreamPid is the fake API's process, whose CPU is reported apart.
func Fanout(ctx context.Context, p *systems.Process, upstreamPid int, cfg FanoutConfig) (FanoutResult, error) {
	cfg.setDefaults()
	res := FanoutResult{System: p.Name, Sockets: cfg.Sockets, Events: cfg.Events, Rate: cfg.Rate, LoadAvg: LoadAvg()}
	fleet := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Protocol: p.Protocol, Sockets: cfg.Sockets, Orgs: 1, Users: cfg.Users},
		1+cfg.Warmup+cfg.Events)
	defer fleet.Close()

	t0 := time.Now()
	if err := fleet.Connect(ctx); err != nil {
		return res, fmt.Errorf("scenario: fan-out on %s: %w", p.Name, err)
	}
	res.Connect = time.Since(t0)

	sender := &loadgen.Sender{
		Client: loadgen.NewHTTPClient(cfg.Inflight), BaseURL: p.APIBase, Token: "user0",
		Org: 1, Rate: cfg.Rate, Inflight: cfg.Inflight,
	}
	defer sender.Client.CloseIdleConnections()

	// Warm-up: the same traffic, not measured (JIT, pools, keep-alive connections).
	fleet.Begin(1, cfg.Warmup)
	warm := sender.Run(ctx, fleet, 1, cfg.Warmup)
	if warm.OK == 0 {
		return res, fmt.Errorf("scenario: fan-out on %s: warm-up sends all failed: %w", p.Name, warm.FirstErr)
	}
	fleet.Wait(ctx, int64(warm.OK*cfg.Sockets), cfg.Quiet)

	first := 1 + cfg.Warmup
	fleet.Begin(first, cfg.Events)
	if cfg.BeforeMeasure != nil {
		if err := cfg.BeforeMeasure(ctx); err != nil {
			return res, err
		}
	}
	srv, err1 := takeServer(p)
	gen, err2 := procstat.Take(os.Getpid())
	up, err3 := procstat.Take(upstreamPid)
	if err := firstErr(err1, err2, err3); err != nil {
		return res, fmt.Errorf("scenario: fan-out on %s: %w", p.Name, err)
	}

	res.Send = sender.Run(ctx, fleet, first, cfg.Events)
	res.Complete = fleet.Wait(ctx, int64(res.Send.OK*cfg.Sockets), cfg.Quiet)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("scenario: fan-out on %s: %w", p.Name, err)
	}

	var err4, err5, err6 error
	res.ServerCPU, err4 = srv.Since()
	res.GenCPU, err5 = gen.Since()
	res.UpstreamCPU, err6 = up.Since()
	if err := firstErr(err4, err5, err6); err != nil {
		return res, fmt.Errorf("scenario: fan-out on %s: %w", p.Name, err)
	}
	if cfg.AfterMeasure != nil {
		if err := cfg.AfterMeasure(ctx); err != nil {
			return res, err
		}
	}
	res.Stats = fleet.Stats(map[int]int{1: res.Send.OK})
	res.Elapsed = res.Stats.LastDelivery - fleet.FirstSent(first, cfg.Events)
	return res, nil
}

// takeServer samples the CPU of p (its whole process tree when p is several processes).
func takeServer(p *systems.Process) (procstat.Sample, error) {
	if pid, tree := p.CPUPid(); tree {
		return procstat.TakeTree(pid)
	}
	return procstat.Take(p.Pid)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// LoadAvg returns the first three fields of /proc/loadavg ("" if unreadable).
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := []byte{}
	fields := 0
	for _, c := range b {
		if c == ' ' {
			fields++
			if fields == 3 {
				break
			}
		}
		f = append(f, c)
	}
	return string(f)
}
