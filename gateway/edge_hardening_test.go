package gateway_test

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// edgeTriggers: a header-sourced org next to a path-sourced one.
const edgeTriggers = `triggers:
  - event: task.updated
    method: PATCH
    path: /tasks/{taskId}
    org: header:X-Org
  - event: person.updated
    method: PATCH
    path: /orgs/{orgId}/people/{personId}
`

// startEdge runs a gateway on the listener the binary uses (gateway.Server: its
// --read-header-timeout and --idle-timeout) and returns it with its base URL.
func startEdge(t *testing.T, api *testenv.FakeAPI, flags ...string) (*gateway.Gateway, string) {
	t.Helper()
	cfg, err := gateway.ParseConfig(append([]string{"--upstream", api.URL()}, flags...), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	set, err := triggers.Parse("edge.yaml", []byte(edgeTriggers))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln := testenv.Listen(t)
	srv := g.Server()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = g.Close()
		_ = srv.Close()
	})
	return g, "http://" + ln.Addr().String()
}

// rawHTTP sends head (request line and headers, no final CRLF) on a new connection and
// returns the status and body.
func rawHTTP(t *testing.T, base, head string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEdgeTraversalAndSmugglingNeverReachUpstream: dot-segments in any encoding, path
// parameters, encoded slashes and NUL would reach another path of the upstream host than
// /v1/...; "Upgrade: h2c" would turn the proxied connection into an unchecked HTTP/2 one.
func TestEdgeTraversalAndSmugglingNeverReachUpstream(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	_, base := startEdge(t, api)
	for _, head := range []string{
		"GET /api/%2e%2e/admin HTTP/1.1",
		"GET /api/%2E%2e/admin HTTP/1.1",
		"GET /api/%252e%252e/admin HTTP/1.1",
		"GET /api/orgs/1/..;/..;/admin HTTP/1.1",
		"PUT /api/orgs/1/x%2f..%2f..%2fadmin HTTP/1.1",
		"GET /api/orgs/1/x%5c..%5cadmin HTTP/1.1",
		"GET /api/orgs/1/x%00 HTTP/1.1",
		"GET /api/%c0%ae%c0%ae/admin HTTP/1.1",
	} {
		if code, body := rawHTTP(t, base, head); code != 400 || body != `{"error":"bad path"}` {
			t.Errorf("%q: %d %s, want 400 bad path", head, code, body)
		}
	}
	h2c := "GET /api/orgs/1/people HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"
	if code, body := rawHTTP(t, base, h2c); code != 400 {
		t.Errorf("h2c upgrade: %d %s, want 400", code, body)
	}
	// FakeAPI records requests under /v1 only; an escape would show up as a 404 there, so
	// the follow-up's answer is checked as well as the record.
	if reqs := api.Requests(); len(reqs) != 0 {
		t.Fatalf("upstream saw %+v, want nothing", reqs)
	}
	if code, body := rawHTTP(t, base, "GET /api/orgs/1/people HTTP/1.1"); code != 200 || body != `{"data":[]}` {
		t.Fatalf("follow-up: %d %s", code, body)
	}
	if n := len(api.Requests()); n != 1 {
		t.Fatalf("upstream saw %d requests after the follow-up, want 1", n)
	}
}

// TestEdgeHeaderOrgOfNonMemberFiresNothing: "org: header:X-Org" takes the org from the
// caller; without a membership check anyone could push events into any org's sockets
// (make every client of org 2 refetch, or spoof activity). The call itself still succeeds.
func TestEdgeHeaderOrgOfNonMemberFiresNothing(t *testing.T) {
	api := member1(t) // alice: org 1; carol: org 2
	h := startGateway(t, api, mustParse(t, edgeTriggers))
	admin := httptest.NewServer(h.g.AdminHandler())
	t.Cleanup(admin.Close)
	n := testenv.StartNode(t)
	connect(t, n, "org2", h.url("/org/2"), opts("websocket", cookie("carol")))
	before := scrape(t, admin.URL)

	h.mustDo(200, "PATCH", "/api/tasks/5", http.Header{"Cookie": {"zsid=alice"}, "X-Org": {"2"}}, `{}`)
	h.mustDo(200, "PATCH", "/api/tasks/7", http.Header{"X-Org": {"2"}}, `{}`) // no credentials at all
	if got := api.Calls("/tasks/5") + api.Calls("/tasks/7"); got != 2 {
		t.Fatalf("upstream saw %d of the 2 calls", got)
	}
	// carol, a member of org 2: her event is the barrier, and must be the first org 2 sees.
	h.mustDo(200, "PATCH", "/api/tasks/6", http.Header{"Cookie": {"zsid=carol"}, "X-Org": {"2"}}, `{}`)
	assertIDs(t, waitOnly(t, n, "org2", "task.updated"), map[string]int64{"taskId": 6})

	after := scrape(t, admin.URL)
	if d := after[`syncgate_events_refused_total{reason="not_member"}`] - before[`syncgate_events_refused_total{reason="not_member"}`]; d != 2 {
		t.Fatalf("events_refused_total{not_member} grew by %v, want 2", d)
	}
	if d := after[`syncgate_events_fired_total{event="task.updated"}`] - before[`syncgate_events_fired_total{event="task.updated"}`]; d != 1 {
		t.Fatalf("events_fired_total{task.updated} grew by %v, want 1 (carol's)", d)
	}
}

// TestEdgeHeaderOrgOfMemberAndPathOrgFire: the check lets a member's header org through,
// and leaves path orgs alone (the upstream authorised the call for that org).
func TestEdgeHeaderOrgOfMemberAndPathOrgFire(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, mustParse(t, edgeTriggers))
	n := testenv.StartNode(t)
	connect(t, n, "org1", h.url("/org/1"), opts("websocket", cookie("alice")))

	h.mustDo(200, "PATCH", "/api/tasks/9", http.Header{"Authorization": {"Bearer bob"}, "X-Org": {"1"}}, `{}`)
	assertIDs(t, waitOnly(t, n, "org1", "task.updated"), map[string]int64{"taskId": 9})
	h.mustDo(200, "PATCH", "/api/orgs/1/people/4", nil, `{}`)
	assertIDs(t, waitOnly(t, n, "org1", "person.updated"), map[string]int64{"personId": 4})
}

func mustParse(t *testing.T, yaml string) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("edge.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// readUntilClosed reads conn until the server closes it and returns how long that took.
func readUntilClosed(t *testing.T, conn net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", limit)
	}
	return time.Since(start)
}

// TestEdgeSlowHeaderClientDisconnected: a client that sends half a request header and
// stalls holds a connection and a goroutine forever (slowloris); --read-header-timeout
// cuts it.
func TestEdgeSlowHeaderClientDisconnected(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	_, base := startEdge(t, api, "--read-header-timeout", "300ms", "--idle-timeout", "10s")
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /api/orgs/1/people HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	readUntilClosed(t, conn, 5*time.Second)
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, want about --read-header-timeout 300ms", d)
	}
	if code, _ := rawHTTP(t, base, "GET /healthz HTTP/1.1"); code != 200 {
		t.Fatalf("healthz afterwards: %d", code)
	}
}

// TestEdgeIdleKeepAliveClosed: idle keep-alive connections left open by many clients
// exhaust file descriptors; --idle-timeout closes them.
func TestEdgeIdleKeepAliveClosed(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	_, base := startEdge(t, api, "--read-header-timeout", "10s", "--idle-timeout", "400ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("first request: %v %+v", err, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("server sent bytes on an idle connection")
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("idle connection still open after 5s")
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("idle connection closed after %v, want about --idle-timeout 400ms", d)
	}
	if code, _ := rawHTTP(t, base, "GET /healthz HTTP/1.1"); code != 200 {
		t.Fatalf("healthz afterwards: %d", code)
	}
}

// TestEdgeWebsocketAndStreamOutliveListenerTimeouts: the listener timeouts must not cut
// what is meant to last (no ReadTimeout/WriteTimeout): a websocket idle for longer than
// both, and a streamed API response whose parts are further apart than both.
func TestEdgeWebsocketAndStreamOutliveListenerTimeouts(t *testing.T) {
	api := member1(t)
	const gap = 1200 * time.Millisecond // > 300ms and > 500ms
	release := make(chan struct{})
	api.HandleFunc("GET", "/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(gap):
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second\n")
	})
	_, base := startEdge(t, api, "--read-header-timeout", "300ms", "--idle-timeout", "500ms")
	n := testenv.StartNode(t)
	connect(t, n, "ws", base+"/org/1", opts("websocket", cookie("alice")))

	resp, err := http.Get(base + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first part: %q %v", line, err)
	}
	start := time.Now()
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("second part after %v: %q %v, want it (the stream was cut)", time.Since(start), rest, err)
	}
	if d := time.Since(start); d < gap-200*time.Millisecond {
		t.Fatalf("second part came after %v, want the %v gap to have elapsed", d, gap)
	}
	// The websocket has been idle for longer than both timeouts: an event still arrives.
	req, _ := http.NewRequest("PATCH", base+"/api/orgs/1/people/3", strings.NewReader(`{}`))
	pr, err := http.DefaultClient.Do(req)
	if err != nil || pr.StatusCode != 200 {
		t.Fatalf("PATCH: %v %v", err, pr)
	}
	pr.Body.Close()
	assertIDs(t, waitOnly(t, n, "ws", "person.updated"), map[string]int64{"personId": 3})
	if st, err := n.State("ws"); err != nil || !st.Connected {
		t.Fatalf("websocket state %+v %v, want still connected", st, err)
	}
}
