package gateway

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/triggers"
)

// Operations: graceful drain, and the table of successful mutations that fired no trigger.
// Readiness (/readyz) is in ready.go.

// Drain prepares a shutdown: /readyz turns 503 and every connection is closed at the
// transport level, so the official client reconnects by itself (to another node behind
// the load balancer) and recovers what it missed. Proxied calls in flight are left to
// http.Server.Shutdown.
func (g *Gateway) Drain() {
	g.draining.Store(true)
	// Wait until every socket has saved its recovery session: the Redis client must not
	// close under them (they would reconnect elsewhere and find no session, or an old one).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.sio.CloseConnections(ctx)
	_ = g.adminUI.Close() // its long-polls would hold up the admin listener's Shutdown
}

// Abandon tells the gateway that its shutdown did not finish cleanly (API calls still in
// flight when --shutdown-timeout ran out): some accepted mutation may never be published,
// so Close leaves this node's lease to expire and the other nodes resync their sockets.
func (g *Gateway) Abandon() {
	if a, ok := g.sio.Adapter().(*fanout.Redis); ok {
		a.Abandon()
	}
	if a, ok := g.sio.Adapter().(*fanout.Cluster); ok {
		a.Abandon()
	}
}

// unmatchedTable counts, by method and path shape, successful mutations that fired no
// trigger, so a team sees which changes invalidate nothing. It is bounded.
type unmatchedTable struct {
	mu      sync.Mutex
	rows    map[string]*UnmatchedRow
	dropped int64
}

// UnmatchedRow is one shape of successful mutation that fired no trigger.
type UnmatchedRow struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Count  int64     `json:"count"`
	Last   time.Time `json:"last"`
}

const maxUnmatched = 500

// noteUnmatched records a successful mutation that fired no trigger, its path shaped with
// the org placeholder of the trigger set in use (its org_param, else orgId), so that
// syncgate suggest drafts triggers that load with that set.
// A mutation the trigger file's ignore: list names is a deliberate gap and is not noted.
func (g *Gateway) noteUnmatched(method, path string) {
	set := g.triggers.Load()
	if _, ignored := set.Ignores(method, path); ignored {
		return // a deliberate gap (ignore: in the trigger file): neither counted nor listed
	}
	g.metrics.unmatched.Inc()
	g.unmatched.addShape(method, PathShapeFor(path, set.OrgParam()))
}

// add records a mutation with the default org placeholder, orgId.
func (t *unmatchedTable) add(method, path string) { t.addShape(method, PathShape(path)) }

func (t *unmatchedTable) addShape(method, shape string) {
	key := method + " " + shape
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rows == nil {
		t.rows = make(map[string]*UnmatchedRow)
	}
	r := t.rows[key]
	if r == nil {
		if len(t.rows) >= maxUnmatched {
			t.dropped++
			return
		}
		r = &UnmatchedRow{Method: method, Path: shape}
		t.rows[key] = r
	}
	r.Count++
	r.Last = time.Now().UTC()
}

// Unmatched returns the table, most frequent first.
func (g *Gateway) Unmatched() []UnmatchedRow {
	t := &g.unmatched
	t.mu.Lock()
	out := make([]UnmatchedRow, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, *r)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b UnmatchedRow) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Method+a.Path, b.Method+b.Path)
	})
	return out
}

// PathShape is PathShapeFor with the default org placeholder, orgId.
func PathShape(path string) string { return PathShapeFor(path, triggers.DefaultOrgParam) }

// PathShapeFor is triggers.PathShape: the one naming rule the gateway's table, syncgate
// suggest, replay and triggers from-openapi share (/orgs/1/people/7 →
// /orgs/{orgId}/people/{personId}).
func PathShapeFor(path, orgParam string) string { return triggers.PathShape(path, orgParam) }
