package scenario

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/procstat"
	"github.com/syncgate/syncgate/bench/systems"
)

// Fan-out engines the cluster scenario compares.
const (
	EngineRedis   = "redis"   // --redis: one server, every node reads the whole bus
	EngineCluster = "cluster" // --redis-cluster: each node reads only the orgs it has sockets in
)

// ClusterConfig sizes one run of the scaling-out scenario.
type ClusterConfig struct {
	Engine   string // EngineRedis or EngineCluster (for the result)
	Masters  int    // Redis servers (1 for EngineRedis)
	Sockets  int    // over all nodes
	Orgs     int    // namespaces /org/1../org/Orgs
	Spread   int    // nodes each org has sockets on, default 1
	Users    int    // distinct tokens, default 1000
	Rate     float64
	Duration time.Duration
	Inflight int // requests under way at once at most, default 256
	Quiet    time.Duration
}

// Events is how many mutations the run sends.
func (c ClusterConfig) Events() int { return max(int(c.Rate*c.Duration.Seconds()+0.5), 1) }

// NodeOf returns the node (0-based, of nodes) that the r-th share of org's sockets is on:
// org o's sockets are on nodes o-1, o, ... (mod nodes), Spread of them.
func (c ClusterConfig) NodeOf(org, r, nodes int) int { return (org - 1 + r) % nodes }

// ClusterNode is what one node did during the measured phase.
type ClusterNode struct {
	Orgs, Sockets int
	OwnEvents     int   // mutations sent to orgs this node has sockets in
	RedisBytes    int64 // bytes the node's process received on its connections to Redis (kernel count)
	Received      int64 // syncgate_redis_received_total over the phase; -1 when not exposed
	CPU           time.Duration
	Stats         loadgen.PhaseStats // its sockets' deliveries (latencies dropped after P50/P99)
	P50, P99      time.Duration
}

// CPUPerDelivery is the node's CPU µs per delivery to its sockets.
func (n ClusterNode) CPUPerDelivery() float64 {
	if n.Stats.Received == 0 {
		return 0
	}
	return float64(n.CPU.Microseconds()) / float64(n.Stats.Received)
}

// ClusterResult is one run: an engine, a node count.
type ClusterResult struct {
	Engine        string
	Masters       int
	Nodes         int
	Sockets, Orgs int
	Spread        int
	Rate          float64
	Duration      time.Duration
	Rep           int
	LoadAvg       string
	Connect       time.Duration
	Send          loadgen.SendResult
	Stats         loadgen.PhaseStats // every socket (latencies dropped after P50/P99)
	P50, P99      time.Duration
	Elapsed       time.Duration // first measured send → last delivery
	Complete      bool
	RedisCPU      time.Duration // all redis-server processes
	PerNode       []ClusterNode
}

// Cluster places cfg.Sockets sockets on nodes so that each org has sockets on cfg.Spread of
// them (so a node has sockets in only a share of the orgs), warms up with one event per org
// through every node, then sends cfg.Rate mutations/s for cfg.Duration (a fixed schedule,
// consecutive mutations through alternate nodes, cycling through the orgs) and waits for
// every delivery. Per node it measures the bytes its process read from Redis (from the
// kernel, on its TCP connections to redisAddrs), syncgate_redis_received_total from its
// admin listener, its CPU and its sockets' latencies and losses.
func Cluster(ctx context.Context, nodes []*systems.Process, admins []string, redis []*systems.Process, cfg ClusterConfig) (ClusterResult, error) {
	if cfg.Users <= 0 {
		cfg.Users = 1000
	}
	if cfg.Inflight <= 0 {
		cfg.Inflight = 256
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 5 * time.Second
	}
	spread := min(max(cfg.Spread, 1), len(nodes))
	res := ClusterResult{Engine: cfg.Engine, Masters: cfg.Masters, Nodes: len(nodes), Sockets: cfg.Sockets, Orgs: cfg.Orgs,
		Spread: spread, Rate: cfg.Rate, Duration: cfg.Duration, LoadAvg: LoadAvg()}
	if cfg.Sockets < cfg.Orgs*spread {
		return res, fmt.Errorf("scenario: cluster: %d sockets cannot cover %d orgs on %d nodes each", cfg.Sockets, cfg.Orgs, spread)
	}
	addrs, bases := make([]string, len(nodes)), make([]string, len(nodes))
	nodeOfAddr := map[string]int{}
	for i, n := range nodes {
		addrs[i], bases[i] = n.Addr, n.APIBase
		nodeOfAddr[n.Addr] = i
	}
	warmN, events := len(nodes)*cfg.Orgs, cfg.Events()
	fleet := loadgen.NewPlacedFleet(loadgen.Config{Sockets: cfg.Sockets, Orgs: cfg.Orgs, Users: cfg.Users}, 1+warmN+events,
		func(i int) (string, int) {
			org := i%cfg.Orgs + 1
			return addrs[cfg.NodeOf(org, (i/cfg.Orgs)%spread, len(nodes))], org
		})
	defer fleet.Close()
	nodeOf := func(i int) int { return nodeOfAddr[fleet.AddrOfSocket(i)] }
	t0 := time.Now()
	if err := fleet.Connect(ctx); err != nil {
		return res, fmt.Errorf("scenario: cluster (%s, %d nodes): %w", cfg.Engine, len(nodes), err)
	}
	res.Connect = time.Since(t0)

	sender := &loadgen.Sender{Client: loadgen.NewHTTPClient(cfg.Inflight), BaseURLs: bases, Token: "user0",
		Orgs: cfg.Orgs, Inflight: cfg.Inflight}
	defer sender.Client.CloseIdleConnections()
	fleet.Begin(1, warmN)
	warm := sender.Run(ctx, fleet, 1, warmN)
	if warm.OK == 0 {
		return res, fmt.Errorf("scenario: cluster (%s): warm-up sends all failed: %w", cfg.Engine, warm.FirstErr)
	}
	fleet.Wait(ctx, placedExpected(fleet, cfg.Sockets, warm.OKByOrg), cfg.Quiet)

	// Baselines.
	var ports []int
	for _, r := range redis {
		ports = append(ports, systems.Port(r.Addr))
	}
	meter := procstat.NewTCPMeter(ports)
	if err := meter.Start(); err != nil {
		return res, err
	}
	recv0 := make([]int64, len(nodes))
	cpu0 := make([]procstat.Sample, len(nodes))
	for i, n := range nodes {
		recv0[i] = redisReceived(admins[i])
		var err error
		if cpu0[i], err = procstat.Take(n.Pid); err != nil {
			return res, err
		}
	}
	rcpu0 := make([]procstat.Sample, len(redis))
	for i, r := range redis {
		rcpu0[i], _ = procstat.Take(r.Pid)
	}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // keeps the last reading of connections that close before the end
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				_ = meter.Sample()
			}
		}
	}()

	first := 1 + warmN
	fleet.Begin(first, events)
	sender.Rate = cfg.Rate
	start := fleet.Now()
	res.Send = sender.Run(ctx, fleet, first, events)
	res.Complete = fleet.Wait(ctx, placedExpected(fleet, cfg.Sockets, res.Send.OKByOrg), cfg.Quiet)
	close(stopSampling)
	<-sampled
	if err := meter.Sample(); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("scenario: cluster: %w", err)
	}
	res.Stats = fleet.Stats(res.Send.OKByOrg)
	res.Elapsed = res.Stats.LastDelivery - start
	res.P50, res.P99 = res.Stats.Percentile(.5), res.Stats.Percentile(.99)
	res.Stats.Latencies = nil
	for i := range redis {
		if d, err := rcpu0[i].Since(); err == nil {
			res.RedisCPU += d
		}
	}
	for k, n := range nodes {
		nr := ClusterNode{RedisBytes: meter.Received(n.Pid), Received: -1}
		if r := redisReceived(admins[k]); r >= 0 && recv0[k] >= 0 {
			nr.Received = r - recv0[k]
		}
		var err error
		if nr.CPU, err = cpu0[k].Since(); err != nil {
			return res, err
		}
		orgs := map[int]bool{}
		for i := range cfg.Sockets {
			if nodeOf(i) == k {
				nr.Sockets++
				orgs[fleet.OrgOfSocket(i)] = true
			}
		}
		nr.Orgs = len(orgs)
		for o := range orgs {
			nr.OwnEvents += res.Send.OKByOrg[o]
		}
		nr.Stats = fleet.StatsWhere(res.Send.OKByOrg, func(i int) bool { return nodeOf(i) == k })
		nr.P50, nr.P99 = nr.Stats.Percentile(.5), nr.Stats.Percentile(.99)
		nr.Stats.Latencies = nil
		res.PerNode = append(res.PerNode, nr)
	}
	return res, nil
}

// placedExpected is the deliveries the events sent per org call for, in a placed fleet.
func placedExpected(f *loadgen.Fleet, sockets int, okByOrg map[int]int) int64 {
	var n int64
	for i := range sockets {
		n += int64(okByOrg[f.OrgOfSocket(i)])
	}
	return n
}

// redisReceived reads syncgate_redis_received_total from a node's /metrics; -1 when the
// node does not expose it.
func redisReceived(admin string) int64 {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + admin + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "syncgate_redis_received_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return int64(f)
		}
	}
	return -1
}
