package gateway

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/orgid"
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

// noteUnmatched records a successful mutation that fired no trigger, its path shaped with
// the org placeholder of the trigger set in use (its org_param, else orgId), so that
// syncgate suggest drafts triggers that load with that set.
func (g *Gateway) noteUnmatched(method, path string) {
	g.unmatched.addShape(method, PathShapeFor(path, g.triggers.Load().OrgParam()))
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

// PathShapeFor replaces the ID-like segments of an API path with placeholders named after
// the segment before them: /orgs/1/people/7 → /orgs/{orgId}/people/{personId}. The segment
// after orgs, organizations or the plural of orgParam (workspaces for workspace or
// workspaceId) is the org, named {orgParam}, whenever it is an org ID at all: a slug such
// as acme-corp has no digits to be recognised by.
func PathShapeFor(path, orgParam string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	used := map[string]int{}
	for i, s := range segs {
		prev := ""
		if i > 0 && !strings.HasPrefix(segs[i-1], "{") {
			prev = segs[i-1]
		}
		org := prev != "" && orgCollection(prev, orgParam) && orgid.Any(s)
		if !org && !idLike(s) {
			continue
		}
		name := "id"
		switch {
		case org:
			name = orgParam
		case prev != "":
			name = singular(prev) + "Id"
		}
		used[name]++
		if used[name] > 1 {
			name += strings.Repeat("2", used[name]-1)
		}
		segs[i] = "{" + name + "}"
	}
	return "/" + strings.Join(segs, "/")
}

// orgCollection reports whether a path segment names the collection of orgs.
func orgCollection(seg, orgParam string) bool {
	if seg == "orgs" || seg == "organizations" {
		return true
	}
	one := singular(seg)
	return one == orgParam || one+"Id" == orgParam
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
