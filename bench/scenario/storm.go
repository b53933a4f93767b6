package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/systems"
)

// StormConfig sizes one connect storm.
type StormConfig struct {
	Sockets     int           // sockets opened at once (as many as Concurrency allows)
	Users       int           // distinct tokens they spread over
	Concurrency int           // sockets connecting at once, default 1000
	Timeout     time.Duration // per socket, default 30s
	Delay       time.Duration // the fake upstream's membership delay (reported only)
}

// StormResult is one connect-storm row.
type StormResult struct {
	System          string
	Sockets, Users  int
	Concurrency     int
	Delay           time.Duration
	Rep             int
	LoadAvg         string
	Report          loadgen.StormReport
	MembershipCalls int64 // counted at the fake upstream during the storm
	Alive           int   // sockets still open after the storm
}

// ConnectsPerSec is admitted sockets over the storm's wall time.
func (r StormResult) ConnectsPerSec() float64 {
	if r.Report.Elapsed <= 0 {
		return 0
	}
	return float64(r.Report.Admitted) / r.Report.Elapsed.Seconds()
}

// CallsWithinUsers reports the target: no more membership calls than distinct users.
func (r StormResult) CallsWithinUsers() bool { return r.MembershipCalls <= int64(r.Users) }

// Storm opens cfg.Sockets websocket sockets to /org/1 of p at once and counts the membership
// calls the fake upstream at upstreamAddr received meanwhile.
func Storm(ctx context.Context, p *systems.Process, upstreamAddr string, cfg StormConfig) (StormResult, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	res := StormResult{System: p.Name, Sockets: cfg.Sockets, Users: cfg.Users, Concurrency: cfg.Concurrency, Delay: cfg.Delay, LoadAvg: LoadAvg()}
	before, err := MembershipCalls(ctx, upstreamAddr)
	if err != nil {
		return res, err
	}
	fleet := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Sockets: cfg.Sockets, Orgs: 1, Users: cfg.Users,
		ConnectConcurrency: cfg.Concurrency, ConnectTimeout: cfg.Timeout}, 1)
	defer fleet.Close()
	res.Report = fleet.ConnectEach(ctx)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("scenario: storm on %s: %w", p.Name, err)
	}
	after, err := MembershipCalls(ctx, upstreamAddr)
	if err != nil {
		return res, err
	}
	res.MembershipCalls = after - before
	res.Alive = fleet.Alive()
	return res, nil
}

// MembershipCalls reads the fake upstream's count of membership requests (GET /bench/counts).
func MembershipCalls(ctx context.Context, upstreamAddr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+upstreamAddr+"/bench/counts", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scenario: upstream counts: %w", err)
	}
	defer resp.Body.Close()
	var c struct {
		Memberships *int64 `json:"memberships"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.Memberships == nil {
		return 0, fmt.Errorf("scenario: upstream counts: %s, %v", resp.Status, err)
	}
	return *c.Memberships, nil
}
