package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syncgate/syncgate/namespaces"
)

// Operations: readiness (upstream, fan-out, draining), graceful drain, and the table of
// successful mutations that fired no trigger.

// upstreamProbe checks, when asked and at most every two seconds, that the upstream
// answers HTTP at all (any status counts). It sends nothing unless /readyz is polled.
type upstreamProbe struct {
	url    string
	client *http.Client

	mu   sync.Mutex
	last time.Time
	ok   bool
}

func newUpstreamProbe(url string) *upstreamProbe {
	return &upstreamProbe{url: url, client: &http.Client{Timeout: time.Second}}
}

func (p *upstreamProbe) reachable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 2*time.Second {
		return p.ok
	}
	p.last = time.Now()
	resp, err := p.client.Get(p.url)
	p.ok = err == nil
	if err == nil {
		resp.Body.Close()
	}
	return p.ok
}

// readiness is what /readyz reports.
type readiness struct {
	Ready    bool   `json:"ready"`
	Upstream bool   `json:"upstream"`
	Fanout   bool   `json:"fanout"`
	Triggers int    `json:"triggers"`
	Draining bool   `json:"draining,omitempty"`
	Status   string `json:"status"`
}

func (g *Gateway) readiness() readiness {
	r := readiness{
		Upstream: g.probe.reachable(),
		Fanout:   g.sio.Adapter().Ready(),
		Triggers: g.triggers.Load().Len(),
		Draining: g.draining.Load(),
	}
	r.Ready = r.Upstream && r.Fanout && !r.Draining
	switch {
	case r.Draining:
		r.Status = "draining"
	case !r.Upstream:
		r.Status = "upstream unreachable"
	case !r.Fanout:
		r.Status = "degraded: redis unreachable, serving this node only"
	default:
		r.Status = "ready"
	}
	return r
}

// readyz answers 200 when the node is fully ready, else 503 with the reason.
func (g *Gateway) readyz(w http.ResponseWriter, _ *http.Request) {
	r := g.readiness()
	w.Header().Set("Content-Type", "application/json")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}

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
}

// Abandon tells the gateway that its shutdown did not finish cleanly (API calls still in
// flight when --shutdown-timeout ran out): some accepted mutation may never be published,
// so Close leaves this node's lease to expire and the other nodes resync their sockets.
func (g *Gateway) Abandon() {
	if a, ok := g.sio.Adapter().(*namespaces.RedisAdapter); ok {
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

func (t *unmatchedTable) add(method, path string) {
	shape := PathShape(path)
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

// PathShape replaces the ID-like segments of an API path with placeholders named after
// the segment before them: /orgs/1/people/7 → /orgs/{orgId}/people/{personId}.
func PathShape(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	used := map[string]int{}
	for i, s := range segs {
		if !idLike(s) {
			continue
		}
		name := "id"
		if i > 0 && !strings.HasPrefix(segs[i-1], "{") {
			name = singular(segs[i-1]) + "Id"
			if segs[i-1] == "orgs" || segs[i-1] == "organizations" {
				name = "orgId"
			}
		}
		used[name]++
		if used[name] > 1 {
			name += strings.Repeat("2", used[name]-1)
		}
		segs[i] = "{" + name + "}"
	}
	return "/" + strings.Join(segs, "/")
}

// idLike: digits, or a long token with digits (UUIDs, hashes).
func idLike(s string) bool {
	if s == "" {
		return false
	}
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
		default:
			return false
		}
	}
	return digits == len(s) || (digits > 0 && len(s) >= 16)
}

func singular(s string) string {
	s = strings.ReplaceAll(s, "-", "_")
	switch {
	case s == "people":
		return "person"
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "ses"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		return s[:len(s)-1]
	}
	return s
}
