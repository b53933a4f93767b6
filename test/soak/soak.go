package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one soak run. Fault times count from the start of the load (after the
// sockets' ramp-up); 0 disables that fault.
type Config struct {
	Binary   string // the syncgate binary (built by the caller)
	RepoRoot string // holds test/soak/node/driver.js and test/node/node_modules
	WorkDir  string // logs, the trigger file and lost.txt go here

	Nodes        int           // gateway processes (2 or 3)
	Drivers      int           // Node processes driving the sockets
	Sockets      int           // logical sockets at any time
	Orgs         int           // organizations (sockets are spread evenly)
	Views        int           // views (rooms view:1..N) per org
	Rate         float64       // API mutations per second, through every node in turn
	RoomShare    float64       // share of mutations that are room events
	Duration     time.Duration // load duration
	Ramp         time.Duration // sockets connect over this span first
	Grace        time.Duration // wait for in-flight deliveries at the end
	ChurnPerSec  float64       // deliberate disconnects per second
	FullClose    float64       // share of churn that closes a socket for good and opens a new one
	Switch       float64       // share of reconnects sent to another node
	Polling      float64       // share of sockets on long-polling (10% more start on polling and upgrade)
	SocketRooms  float64       // share of sockets subscribed to a view room
	ClientEvents float64       // client events per second (user.typing)

	RedisKillAt    time.Duration // kill -9 Redis, restart it empty on the same port
	RedisDown      time.Duration
	SigtermAt      time.Duration // SIGTERM node 0, then start it again
	Kill9At        time.Duration // kill -9 node 1, then start it again
	NodeDown       time.Duration // how long a stopped node stays down
	CloseMargin    time.Duration // see Ledger.Judge
	CoverWindow    time.Duration // see Ledger.Judge
	RecoveryWindow time.Duration
	NodeLease      time.Duration
	Seed           uint64
	Journal        bool // write every driver line and mutation to WORKDIR/journal.jsonl

	Progress io.Writer // progress lines and the tables; nil for none
}

// Short is the configuration of TestSoakShort: about 2½ minutes, all three faults.
func Short() Config {
	return Config{Nodes: 2, Drivers: 1, Sockets: 300, Orgs: 10, Views: 3, Rate: 20, RoomShare: 0.3,
		Duration: 120 * time.Second, Ramp: 10 * time.Second, Grace: 10 * time.Second,
		ChurnPerSec: 4, FullClose: 0.2, Switch: 0.3, Polling: 0.3, SocketRooms: 0.5, ClientEvents: 2,
		RedisKillAt: 25 * time.Second, RedisDown: 2 * time.Second,
		SigtermAt: 60 * time.Second, Kill9At: 95 * time.Second, NodeDown: 3 * time.Second,
		CloseMargin: 3 * time.Second, CoverWindow: 15 * time.Second, RecoveryWindow: 2 * time.Minute, NodeLease: 5 * time.Second, Seed: 1}
}

// Long is the 25-minute scenario of issue 20.
func Long() Config {
	c := Short()
	c.Drivers, c.Sockets, c.Orgs, c.Rate, c.ChurnPerSec, c.ClientEvents = 2, 1500, 30, 50, 10, 5
	c.Duration, c.Ramp, c.Grace = 25*time.Minute, 30*time.Second, 15*time.Second
	c.RedisKillAt, c.SigtermAt, c.Kill9At = 750*time.Second, 840*time.Second, 1080*time.Second
	return c
}

// Fault is one fault the soak caused, from its start to the moment all was running again.
type Fault struct {
	Name string
	At   int64
	Done int64
}

// Result is a finished run.
type Result struct {
	Verdict    *Verdict
	Start      int64 // load start, Unix ms
	Faults     []Fault
	ErrorLines int      // level=ERROR lines in the gateways' logs
	ErrorFirst []string // the first few of them
	LostFile   string
	Table      string
}

// Failed reports whether the guarantee was broken.
func (r *Result) Failed() bool { return r.Verdict.Failed() }

func nowMs() int64 { return time.Now().UnixMilli() }

// Run runs the soak and judges it. An error means the soak itself could not run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "soak %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		}
	}
	if cfg.Nodes < 1 || cfg.Drivers < 1 || cfg.Sockets < 1 || cfg.Orgs < 1 || cfg.Views < 1 {
		return nil, errors.New("soak: nodes, drivers, sockets, orgs and views must be at least 1")
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("soak: work dir: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Upstream, Redis, nodes.
	upURL, upClose, err := startUpstream()
	if err != nil {
		return nil, err
	}
	defer upClose()
	rport, err := freePort()
	if err != nil {
		return nil, err
	}
	redisLog, err := os.Create(filepath.Join(cfg.WorkDir, "redis.log"))
	if err != nil {
		return nil, fmt.Errorf("soak: redis log: %w", err)
	}
	defer redisLog.Close()
	rdir := filepath.Join(cfg.WorkDir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, fmt.Errorf("soak: redis dir: %w", err)
	}
	rs := &redisServer{port: rport, dir: rdir, log: redisLog}
	if err := rs.start(); err != nil {
		return nil, err
	}
	defer rs.kill()
	trig := filepath.Join(cfg.WorkDir, "triggers.yaml")
	if err := os.WriteFile(trig, []byte(triggerFile), 0o644); err != nil {
		return nil, fmt.Errorf("soak: trigger file: %w", err)
	}
	extra, err := gatewayFlags(cfg.Binary)
	if err != nil {
		return nil, err
	}
	nodes := make([]*gatewayNode, cfg.Nodes)
	for i := range nodes {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		q, err := freePort()
		if err != nil {
			return nil, err
		}
		n := &gatewayNode{index: i, bin: cfg.Binary, port: p, admin: q,
			logPath: filepath.Join(cfg.WorkDir, fmt.Sprintf("node%d.log", i))}
		n.args = append([]string{"--upstream", upURL, "--redis", rs.url(),
			"--listen", "127.0.0.1:" + strconv.Itoa(p), "--admin-listen", "127.0.0.1:" + strconv.Itoa(q),
			"--triggers", trig, "--recovery-window", cfg.RecoveryWindow.String(),
			"--node-lease", cfg.NodeLease.String(), "--shutdown-timeout", "10s",
			"--membership-ttl", "5m", "--log-level", "info"}, extra...)
		nodes[i] = n
		if err := n.start(ctx); err != nil {
			return nil, err
		}
		defer n.close()
	}
	say("redis on %d, %d nodes up (logs in %s)", rport, len(nodes), cfg.WorkDir)

	// Drivers.
	led := NewLedger()
	var journal *lockedWriter
	if cfg.Journal {
		f, err := os.Create(filepath.Join(cfg.WorkDir, "journal.jsonl"))
		if err != nil {
			return nil, fmt.Errorf("soak: journal: %w", err)
		}
		journal = &lockedWriter{w: bufio.NewWriterSize(f, 1<<20)}
		defer func() { journal.flush(); _ = f.Close() }()
		led.journal = journal
	}
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url()
	}
	type driver struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		done  chan struct{}
	}
	var drivers []*driver
	script := filepath.Join(cfg.RepoRoot, "test", "soak", "node", "driver.js")
	for d := 0; d < cfg.Drivers; d++ {
		n := cfg.Sockets / cfg.Drivers
		if d < cfg.Sockets%cfg.Drivers {
			n++
		}
		dc, _ := json.Marshal(map[string]any{"nodes": urls, "sockets": n, "orgs": cfg.Orgs, "views": cfg.Views,
			"orgBase": 1, "prefix": "d" + strconv.Itoa(d), "roomShare": cfg.SocketRooms, "pollingShare": cfg.Polling,
			"churnPerSec": cfg.ChurnPerSec / float64(cfg.Drivers), "fullCloseShare": cfg.FullClose,
			"switchShare": cfg.Switch, "clientEventsPerSec": cfg.ClientEvents / float64(cfg.Drivers),
			"idBase": int64(d+1) * 1_000_000_000_000, "rampMs": cfg.Ramp.Milliseconds(), "seed": cfg.Seed*100 + uint64(d) + 1})
		cmd := exec.Command("node", script, string(dc))
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(cfg.RepoRoot, "test", "node", "node_modules"))
		errLog, err := os.Create(filepath.Join(cfg.WorkDir, fmt.Sprintf("driver%d.log", d)))
		if err != nil {
			return nil, fmt.Errorf("soak: driver log: %w", err)
		}
		defer errLog.Close()
		cmd.Stderr = errLog
		cmd.SysProcAttr = childAttr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, fmt.Errorf("soak: driver stdin: %w", err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, fmt.Errorf("soak: driver stdout: %w", err)
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("soak: start node driver (is node installed?): %w", err)
		}
		dr := &driver{cmd: cmd, stdin: stdin, done: make(chan struct{})}
		drivers = append(drivers, dr)
		go func() {
			defer close(dr.done)
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				led.Line(sc.Bytes())
				journal.line(sc.Bytes())
			}
		}()
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	}
	say("%d drivers ramping up %d sockets over %v", len(drivers), cfg.Sockets, cfg.Ramp)
	if err := sleepCtx(ctx, cfg.Ramp+time.Second); err != nil {
		return nil, err
	}

	// Load and faults.
	start := nowMs()
	res := &Result{Start: start}
	var faultMu sync.Mutex
	phases := []Phase{{Name: "steady", Start: 0}}
	addFault := func(f Fault) {
		faultMu.Lock()
		defer faultMu.Unlock()
		res.Faults = append(res.Faults, f)
	}
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	defer stopLoad()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mutate(loadCtx, cfg, urls, led)
	}()
	type sched struct {
		at   time.Duration
		name string
		run  func() error
	}
	var plan []sched
	if cfg.RedisKillAt > 0 {
		plan = append(plan, sched{cfg.RedisKillAt, "redis kill -9", func() error {
			rs.kill()
			if err := sleepCtx(ctx, cfg.RedisDown); err != nil {
				return err
			}
			return rs.start()
		}})
	}
	if cfg.SigtermAt > 0 {
		plan = append(plan, sched{cfg.SigtermAt, "node0 SIGTERM", func() error {
			took := nodes[0].stop(syscall.SIGTERM, 30*time.Second)
			say("node0 exited %v after SIGTERM", took.Round(time.Millisecond))
			if err := sleepCtx(ctx, cfg.NodeDown); err != nil {
				return err
			}
			return nodes[0].start(ctx)
		}})
	}
	if cfg.Kill9At > 0 {
		k := min(1, len(nodes)-1)
		plan = append(plan, sched{cfg.Kill9At, fmt.Sprintf("node%d kill -9", k), func() error {
			nodes[k].stop(syscall.SIGKILL, 0)
			if err := sleepCtx(ctx, cfg.NodeDown); err != nil {
				return err
			}
			return nodes[k].start(ctx)
		}})
	}
	var faultErr error
	for _, f := range plan {
		if err := sleepCtx(loadCtx, time.Until(time.UnixMilli(start).Add(f.at))); err != nil {
			break
		}
		at := nowMs()
		phases = append(phases, Phase{Name: "after " + f.name, Start: at})
		say("fault: %s", f.name)
		if err := f.run(); err != nil {
			faultErr = fmt.Errorf("soak: fault %s: %w", f.name, err)
			break
		}
		addFault(Fault{Name: f.name, At: at, Done: nowMs()})
		say("fault %s over after %v", f.name, time.Duration(nowMs()-at)*time.Millisecond)
	}
	if faultErr == nil {
		<-loadCtx.Done()
	}
	stopLoad()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if faultErr != nil {
		return nil, faultErr
	}
	say("load over; quiescing churn and waiting %v for in-flight deliveries", cfg.Grace)
	for _, d := range drivers {
		_, _ = io.WriteString(d.stdin, "quiesce\n")
	}
	if err := sleepCtx(ctx, cfg.Grace); err != nil {
		return nil, err
	}
	for _, d := range drivers {
		_, _ = io.WriteString(d.stdin, "final\n")
	}
	for i, d := range drivers {
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			return nil, fmt.Errorf("soak: driver %d did not finish its roll call", i)
		}
	}

	// Judge.
	phases[0].Start = 0
	v := led.Judge(phases, cfg.CloseMargin.Milliseconds(), cfg.CoverWindow.Milliseconds())
	res.Verdict = v
	for _, n := range nodes {
		c, first := errorLines(n.logPath, 5)
		res.ErrorLines += c
		res.ErrorFirst = append(res.ErrorFirst, first...)
	}
	var tb strings.Builder
	v.WriteTable(&tb)
	fmt.Fprintf(&tb, "gateway ERROR log lines: %d\n", res.ErrorLines)
	for _, l := range res.ErrorFirst {
		fmt.Fprintf(&tb, "  %s\n", l)
	}
	res.Table = tb.String()
	res.LostFile = filepath.Join(cfg.WorkDir, "lost.txt")
	f, err := os.Create(res.LostFile)
	if err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	v.WriteLost(f, 50, start, res.Faults)
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("soak: %w", err)
	}
	if cfg.Progress != nil {
		fmt.Fprint(cfg.Progress, res.Table)
		fmt.Fprintf(cfg.Progress, "lost events in detail: %s\n", res.LostFile)
	}
	return res, nil
}

// mutate sends cfg.Rate mutations a second until ctx ends, through every node in turn,
// each in its own goroutine (a stopped node must not slow the pace).
func mutate(ctx context.Context, cfg Config, urls []string, led *Ledger) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 128)
	for id := int64(1); ; id++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m := Mutation{ID: id, Org: 1 + rng.IntN(cfg.Orgs), View: 1 + rng.IntN(cfg.Views),
			Room: rng.Float64() < cfg.RoomShare, Node: int(id) % len(urls)}
		select {
		case sem <- struct{}{}:
		default:
			m.Err = "skipped: 128 calls in flight"
			led.AddMutation(m)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			method := http.MethodPut
			if m.Room {
				method = http.MethodPatch
			}
			url := fmt.Sprintf("%s/api/orgs/%d/people/views/%d/rows/%d", urls[m.Node], m.Org, m.View, m.ID)
			req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer member-"+strconv.Itoa(m.Org))
			req.Header.Set("Content-Type", "application/json")
			m.Sent = nowMs()
			resp, err := client.Do(req)
			if err != nil {
				m.Err = err.Error()
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				m.Status = resp.StatusCode
				if resp.StatusCode/100 == 2 {
					m.Resp = nowMs()
				}
			}
			led.AddMutation(m)
		}()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// errorLines counts the level=ERROR lines of a gateway log and returns the first n.
func errorLines(path string, n int) (int, []string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	count := 0
	var first []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "level=ERROR") {
			count++
			if len(first) < n {
				first = append(first, filepath.Base(path)+": "+l)
			}
		}
	}
	return count, first
}

// lockedWriter is the journal: lines from every driver and the mutation goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (j *lockedWriter) line(b []byte) {
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.w.Write(b)
	_ = j.w.WriteByte('\n')
}

func (j *lockedWriter) flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.w.Flush()
}
