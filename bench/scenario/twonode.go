package scenario

import (
	"context"
	"fmt"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/systems"
)

// TwoNodeConfig sizes one realistic two-node run.
type TwoNodeConfig struct {
	Sockets  int           // spread over Orgs and, within each org, over the nodes
	Orgs     int           // namespaces /org/1../org/Orgs
	Users    int           // distinct tokens, default 1000
	Rate     float64       // mutations per second, spread over orgs and nodes
	Duration time.Duration // how long mutations are sent
	Inflight int           // default 32
	Quiet    time.Duration // default 5s
}

// Events is how many mutations the run sends.
func (c TwoNodeConfig) Events() int { return max(int(c.Rate*c.Duration.Seconds()+0.5), 1) }

// TwoNodeResult is one two-node row.
type TwoNodeResult struct {
	System   string
	Nodes    int
	Sockets  int
	Orgs     int
	Rate     float64
	Duration time.Duration
	Rep      int
	LoadAvg  string
	Connect  time.Duration
	Send     loadgen.SendResult
	Stats    loadgen.PhaseStats
	Complete bool
}

// TwoNode connects cfg.Sockets sockets over nodes (each org has sockets on every node), warms
// up with two events per org, then sends cfg.Rate mutations/s for cfg.Duration, alternating
// nodes and cycling through the orgs, and waits for every delivery.
func TwoNode(ctx context.Context, nodes []*systems.Process, cfg TwoNodeConfig) (TwoNodeResult, error) {
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if cfg.Inflight <= 0 {
		cfg.Inflight = 32
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 5 * time.Second
	}
	name := nodes[0].Name
	res := TwoNodeResult{System: name, Nodes: len(nodes), Sockets: cfg.Sockets, Orgs: cfg.Orgs, Rate: cfg.Rate, Duration: cfg.Duration, LoadAvg: LoadAvg()}
	addrs, bases := make([]string, len(nodes)), make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i], bases[i] = n.Addr, n.APIBase
	}
	warmN, events := len(nodes)*cfg.Orgs, cfg.Events()
	fleet := loadgen.NewFleet(loadgen.Config{Addrs: addrs, Sockets: cfg.Sockets, Orgs: cfg.Orgs, Users: cfg.Users}, 1+warmN+events)
	defer fleet.Close()
	t0 := time.Now()
	if err := fleet.Connect(ctx); err != nil {
		return res, fmt.Errorf("scenario: two-node on %s: %w", name, err)
	}
	res.Connect = time.Since(t0)

	sender := &loadgen.Sender{Client: loadgen.NewHTTPClient(cfg.Inflight), BaseURLs: bases, Token: "user0",
		Orgs: cfg.Orgs, Inflight: cfg.Inflight}
	defer sender.Client.CloseIdleConnections()
	fleet.Begin(1, warmN)
	warm := sender.Run(ctx, fleet, 1, warmN)
	if warm.OK == 0 {
		return res, fmt.Errorf("scenario: two-node on %s: warm-up sends all failed: %w", name, warm.FirstErr)
	}
	fleet.Wait(ctx, expected(fleet, warm.OKByOrg), cfg.Quiet)

	first := 1 + warmN
	fleet.Begin(first, events)
	sender.Rate = cfg.Rate
	res.Send = sender.Run(ctx, fleet, first, events)
	res.Complete = fleet.Wait(ctx, expected(fleet, res.Send.OKByOrg), cfg.Quiet)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("scenario: two-node on %s: %w", name, err)
	}
	res.Stats = fleet.Stats(res.Send.OKByOrg)
	return res, nil
}

// expected is the deliveries the events sent per org call for.
func expected(f *loadgen.Fleet, okByOrg map[int]int) int64 {
	cfg := f.Config()
	var n int64
	for i := range cfg.Sockets {
		n += int64(okByOrg[cfg.OrgOf(i)])
	}
	return n
}
