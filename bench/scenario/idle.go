package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/procstat"
	"github.com/syncgate/syncgate/bench/systems"
)

// IdleConfig sizes one idle-memory run.
type IdleConfig struct {
	Sockets   int
	Transport string        // loadgen.WebSocket or loadgen.Polling
	Settle    time.Duration // wait before each reading, default 3s
	Users     int           // default 100
}

// IdleResult is one table row: memory per idle connection.
type IdleResult struct {
	System    string
	Transport string
	Sockets   int
	Rep       int
	LoadAvg   string
	Connect   time.Duration
	RSSBefore int64
	RSSAfter  int64
	// Heap figures from GET /bench/stats, -1 when the system has none: the Go heap in use
	// (HeapInuse) for Go servers, V8's heapUsed for Node.
	HeapBefore, HeapAfter int64
	Alive                 int // sockets still open at the second reading
}

// RSSPerConn is the RSS growth per connection, bytes.
func (r IdleResult) RSSPerConn() float64 {
	return float64(r.RSSAfter-r.RSSBefore) / float64(max(r.Sockets, 1))
}

// HeapPerConn is the heap growth per connection, bytes, or -1.
func (r IdleResult) HeapPerConn() float64 {
	if r.HeapBefore < 0 || r.HeapAfter < 0 {
		return -1
	}
	return float64(r.HeapAfter-r.HeapBefore) / float64(max(r.Sockets, 1))
}

// Idle reads p's RSS (and heap) after a small warm-up, connects cfg.Sockets idle sockets,
// waits cfg.Settle and reads them again.
func Idle(ctx context.Context, p *systems.Process, cfg IdleConfig) (IdleResult, error) {
	if cfg.Settle <= 0 {
		cfg.Settle = 3 * time.Second
	}
	if cfg.Users <= 0 {
		cfg.Users = 100
	}
	res := IdleResult{System: p.Name, Transport: cfg.Transport, Sockets: cfg.Sockets, LoadAvg: LoadAvg()}

	// Warm-up: load every code path a connection takes before the first reading.
	warm := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Transport: cfg.Transport, Protocol: p.Protocol, Sockets: 20, Users: cfg.Users}, 1)
	if err := warm.Connect(ctx); err != nil {
		warm.Close()
		return res, fmt.Errorf("scenario: idle warm-up on %s: %w", p.Name, err)
	}
	warm.Close()

	var err error
	if res.RSSBefore, res.HeapBefore, err = readMemory(ctx, p, cfg.Settle); err != nil {
		return res, err
	}
	fleet := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Transport: cfg.Transport, Protocol: p.Protocol, Sockets: cfg.Sockets, Users: cfg.Users}, 1)
	defer fleet.Close()
	t0 := time.Now()
	if err := fleet.Connect(ctx); err != nil {
		return res, fmt.Errorf("scenario: idle on %s: %w", p.Name, err)
	}
	res.Connect = time.Since(t0)
	if res.RSSAfter, res.HeapAfter, err = readMemory(ctx, p, cfg.Settle); err != nil {
		return res, err
	}
	res.Alive = fleet.Alive()
	return res, nil
}

// readMemory waits settle, asks for the heap (which collects garbage first), then reads RSS.
func readMemory(ctx context.Context, p *systems.Process, settle time.Duration) (rss, heap int64, err error) {
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	heap = -1
	if p.Stats {
		if heap, err = HeapStat(ctx, p); err != nil {
			return 0, 0, err
		}
	}
	rss, err = procstat.RSS(p.MemoryPid())
	return rss, heap, err
}

// HeapStat returns the heap in use that p reports on GET /bench/stats (heapInuse for Go,
// heapUsed for Node).
func HeapStat(ctx context.Context, p *systems.Process) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+"/bench/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scenario: stats of %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	var st struct {
		HeapInuse *int64 `json:"heapInuse"`
		HeapUsed  *int64 `json:"heapUsed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("scenario: stats of %s: %w", p.Name, err)
	}
	switch {
	case st.HeapInuse != nil:
		return *st.HeapInuse, nil
	case st.HeapUsed != nil:
		return *st.HeapUsed, nil
	}
	return 0, fmt.Errorf("scenario: stats of %s: no heap figure", p.Name)
}
