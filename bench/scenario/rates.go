package scenario

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/procstat"
	"github.com/syncgate/syncgate/bench/systems"
)

// The keep-up rule of the equal-rate and max-rate scenarios: a server kept up with an offered
// rate when at least KeepUpShare of the offered deliveries arrived within the drain time after
// the last send and the p99 latency was at most KeepUpP99.
const (
	KeepUpShare = 0.95
	KeepUpP99   = 100 * time.Millisecond
	// A step is generator-bound when the generator's CPUs were at least GenBusyLimit busy or
	// its schedule lag p99 exceeded GenLagLimit: the generator, not the server, may have
	// limited it.
	GenBusyLimit = 0.90
	GenLagLimit  = 10 * time.Millisecond
)

// RateConfig sizes an equal-rate sweep or a max-rate ramp.
type RateConfig struct {
	Sockets  int           // websocket sockets in /org/1
	Users    int           // distinct tokens, default 100
	Rates    []float64     // offered deliveries per second (events/s × Sockets), in order
	Duration time.Duration // how long each step sends
	Warmup   int           // events sent (closed loop) and awaited before the first step, default 20
	// Drain: deliveries arriving later than this after the last send do not count towards
	// keeping up (default 1 s). MaxWait: how long after the last send the step waits for the
	// rest before it counts them as not delivered (default 15 s); Quiet: it also stops after
	// this long without a delivery (default 2 s).
	Drain, MaxWait, Quiet time.Duration
	LateAfter             time.Duration // a send later than this behind schedule is late
	// Ramp: stop after the first step the server did not keep up with, or that was
	// generator-bound (max-rate scenario).
	Ramp bool
	// GenCPUs are the CPUs the generator is pinned to (max-rate); their busy share is
	// reported and decides "generator-bound". Empty: not pinned.
	GenCPUs []int
	// ServerCPUs names the server's CPU set for the report ("" = not pinned).
	ServerCPUs string
}

func (c *RateConfig) setDefaults() {
	if c.Users <= 0 {
		c.Users = 100
	}
	if c.Warmup <= 0 {
		c.Warmup = 20
	}
	if c.Drain <= 0 {
		c.Drain = time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 15 * time.Second
	}
	if c.Quiet <= 0 {
		c.Quiet = 2 * time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
}

// eventsPerSec is the event rate that offers deliveries/s to sockets sockets.
func eventsPerSec(deliveries float64, sockets int) float64 { return deliveries / float64(sockets) }

// stepEvents is how many events a step of rate deliveries/s sends in d.
func stepEvents(deliveries float64, sockets int, d time.Duration) int {
	return max(1, int(math.Round(eventsPerSec(deliveries, sockets)*d.Seconds())))
}

// RateStep is one offered rate against one system.
type RateStep struct {
	System       string
	Sockets      int
	Offered      float64 // deliveries per second offered
	EventsPerSec float64
	Events       int
	Rep          int
	ServerCPUs   string // "" = not pinned
	LoadAvg      string
	Send         loadgen.OpenResult
	Stats        loadgen.PhaseStats // expected = the OK mutations' deliveries
	InTime       int64              // deliveries that arrived within Drain of the last send
	Drain        time.Duration
	Window       time.Duration // first send → end of the wait: the CPU window
	Elapsed      time.Duration // first send → last delivery

	ServerCPU, GenCPU, UpstreamCPU time.Duration
	GenCoreBusy                    float64 // busy share of the generator's CPUs; -1: not pinned
	MachineBusy                    float64 // busy share of every CPU
}

// OfferedDeliveries is every delivery the step's sends called for, failed mutations included.
func (r RateStep) OfferedDeliveries() int64 { return int64(r.Send.Sent) * int64(r.Sockets) }

// DeliveredShare is the share of the offered deliveries that arrived in time.
func (r RateStep) DeliveredShare() float64 {
	if o := r.OfferedDeliveries(); o > 0 {
		return float64(r.InTime) / float64(o)
	}
	return 0
}

// Undelivered is the offered deliveries that never arrived (failed mutations included).
func (r RateStep) Undelivered() int64 { return max(0, r.OfferedDeliveries()-r.Stats.Received) }

// KeptUp applies the keep-up rule.
func (r RateStep) KeptUp() bool {
	return r.DeliveredShare() >= KeepUpShare && r.Stats.Percentile(.99) <= KeepUpP99
}

// GeneratorBound reports whether the generator may have limited the step.
func (r RateStep) GeneratorBound() bool {
	return r.GenCoreBusy >= GenBusyLimit || r.Send.LagPercentile(.99) > GenLagLimit
}

// CPUPerDelivery is the server's CPU µs per distinct delivery.
func (r RateStep) CPUPerDelivery() float64 {
	if r.Stats.Received == 0 {
		return 0
	}
	return float64(r.ServerCPU.Microseconds()) / float64(r.Stats.Received)
}

// GenCPUPercent is the generator process's CPU over the window, in % of one core.
func (r RateStep) GenCPUPercent() float64 {
	if r.Window <= 0 {
		return 0
	}
	return 100 * r.GenCPU.Seconds() / r.Window.Seconds()
}

// ServerCPUPercent is the server's CPU over the window, in % of one core.
func (r RateStep) ServerCPUPercent() float64 {
	if r.Window <= 0 {
		return 0
	}
	return 100 * r.ServerCPU.Seconds() / r.Window.Seconds()
}

// DeliveriesPerSec is distinct deliveries over first send → last delivery.
func (r RateStep) DeliveriesPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Stats.Received) / r.Elapsed.Seconds()
}

// Rates connects cfg.Sockets sockets to /org/1 of p once, warms up, then runs one open-loop
// step per offered rate. upstreamPid is the fake API, measured apart.
func Rates(ctx context.Context, p *systems.Process, upstreamPid int, cfg RateConfig) ([]RateStep, error) {
	cfg.setDefaults()
	total := 0
	for _, r := range cfg.Rates {
		total += stepEvents(r, cfg.Sockets, cfg.Duration)
	}
	fleet := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Protocol: p.Protocol, Sockets: cfg.Sockets, Orgs: 1, Users: cfg.Users},
		1+cfg.Warmup+total)
	defer fleet.Close()
	if err := fleet.Connect(ctx); err != nil {
		return nil, fmt.Errorf("scenario: rates on %s: %w", p.Name, err)
	}
	warmSender := &loadgen.Sender{Client: loadgen.NewHTTPClient(8), BaseURL: p.APIBase, Token: "user0", Org: 1, Inflight: 8}
	fleet.Begin(1, cfg.Warmup)
	warm := warmSender.Run(ctx, fleet, 1, cfg.Warmup)
	warmSender.Client.CloseIdleConnections()
	if warm.OK == 0 {
		return nil, fmt.Errorf("scenario: rates on %s: warm-up sends all failed: %w", p.Name, warm.FirstErr)
	}
	fleet.Wait(ctx, int64(warm.OK*cfg.Sockets), cfg.Quiet)

	client := loadgen.NewOpenLoopClient()
	defer client.CloseIdleConnections()
	var out []RateStep
	next := 1 + cfg.Warmup
	for _, rate := range cfg.Rates {
		st, err := rateStep(ctx, p, upstreamPid, fleet, client, next, rate, cfg)
		if err != nil {
			return out, err
		}
		next += st.Events
		out = append(out, st)
		if cfg.Ramp && (!st.KeptUp() || st.GeneratorBound()) {
			break
		}
	}
	return out, nil
}

// rateStep offers rate deliveries/s for cfg.Duration, from sequence number first.
func rateStep(ctx context.Context, p *systems.Process, upstreamPid int, fleet *loadgen.Fleet, client *http.Client, first int, rate float64, cfg RateConfig) (RateStep, error) {
	eps := eventsPerSec(rate, cfg.Sockets)
	res := RateStep{System: p.Name, Sockets: cfg.Sockets, Offered: rate, EventsPerSec: eps, Events: stepEvents(rate, cfg.Sockets, cfg.Duration),
		ServerCPUs: cfg.ServerCPUs, LoadAvg: LoadAvg(), Drain: cfg.Drain, GenCoreBusy: -1}
	fleet.Begin(first, res.Events)
	srv, err1 := takeServer(p)
	gen, err2 := procstat.Take(os.Getpid())
	up, err3 := procstat.Take(upstreamPid)
	allBefore, err4 := procstat.Cores(nil)
	var genBefore procstat.CoreTimes
	var err5 error
	if len(cfg.GenCPUs) > 0 {
		genBefore, err5 = procstat.Cores(cfg.GenCPUs)
	}
	if err := firstErr(err1, err2, err3, err4, err5); err != nil {
		return res, fmt.Errorf("scenario: rates on %s: %w", p.Name, err)
	}
	t0 := fleet.Now()

	// InTime is read Drain after the last send leaves (or when everything has arrived).
	var (
		mu       sync.Mutex
		inTime   int64 = -1
		lastSent time.Time
		timer    *time.Timer
	)
	open := &loadgen.OpenLoop{Client: client, BaseURL: p.APIBase, Token: "user0", Org: 1, Rate: eps, LateAfter: cfg.LateAfter,
		AfterLastSend: func() {
			mu.Lock()
			defer mu.Unlock()
			lastSent = time.Now()
			timer = time.AfterFunc(cfg.Drain, func() {
				n := fleet.Delivered()
				mu.Lock()
				inTime = n
				mu.Unlock()
			})
		}}
	res.Send = open.Run(ctx, fleet, first, res.Events)
	mu.Lock()
	deadline := lastSent.Add(cfg.MaxWait)
	mu.Unlock()
	wctx, cancel := context.WithDeadline(ctx, deadline)
	fleet.Wait(wctx, int64(res.Send.OK)*int64(cfg.Sockets), cfg.Quiet)
	cancel()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("scenario: rates on %s: %w", p.Name, err)
	}
	mu.Lock()
	if timer == nil || timer.Stop() { // everything that came arrived before the drain ended
		inTime = fleet.Delivered()
	}
	mu.Unlock()
	for {
		mu.Lock()
		n := inTime
		mu.Unlock()
		if n >= 0 {
			res.InTime = n
			break
		}
		time.Sleep(5 * time.Millisecond) // the drain timer is about to fire
	}
	res.Window = fleet.Now() - t0

	var err6, err7, err8 error
	res.ServerCPU, err6 = srv.Since()
	res.GenCPU, err7 = gen.Since()
	res.UpstreamCPU, err8 = up.Since()
	if err := firstErr(err6, err7, err8); err != nil {
		return res, fmt.Errorf("scenario: rates on %s: %w", p.Name, err)
	}
	if all, err := procstat.Cores(nil); err == nil {
		res.MachineBusy = all.BusySince(allBefore)
	}
	if len(cfg.GenCPUs) > 0 {
		if g, err := procstat.Cores(cfg.GenCPUs); err == nil {
			res.GenCoreBusy = g.BusySince(genBefore)
		}
	}
	res.Stats = fleet.Stats(map[int]int{1: res.Send.OK})
	res.Elapsed = res.Stats.LastDelivery - fleet.FirstSent(first, res.Events)
	return res, nil
}
