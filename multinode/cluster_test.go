package multinode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/triggers"
)

// waitLong bounds the waits for things that cross Redis and the network on a loaded
// machine (readiness after a restart, reconnections); awaited events use it too.
const waitLong = 20 * time.Second

// node is one syncgate gateway in this process, on a real loopback listener, with an HTTP
// client of a single keep-alive connection.
//
// The proxy publishes a mutation's events when it closes the upstream body, after the
// client may already have the whole response; but Go's HTTP server reads a connection's
// next request only after the previous handler returned. So addRow and deleteRow follow
// the mutation with GET /healthz on the same connection: when they return, the events
// have been published (delivered to this node's sockets and written to Redis). Every node
// reads the one Redis bus in one order, which makes the barrier pattern of testenv's doc
// sound across nodes, with one exception the tests take care of: a node delivers its own
// publishes at once, and other nodes' only when it has read them.
type node struct {
	t      *testing.T
	name   string
	g      *gateway.Gateway
	addr   string // 127.0.0.1:PORT
	client *http.Client
}

// quietRedis drops go-redis's own log lines (dial failures while Redis is down, which
// these tests cause on purpose); the nodes log what matters through slog.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// noEnv is an environment without SYNCGATE_* variables.
func noEnv(string) (string, bool) { return "", false }

// pocTriggers is the Zetkin PoC trigger file: PUT …/rows/{personId} fires
// personview.addrow {viewId, personId}; DELETE fires personview.deleterow.
func pocTriggers(t testing.TB) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("zetkin-poc.yaml", examples.ZetkinPoC())
	if err != nil {
		t.Fatalf("parse zetkin-poc.yaml: %v", err)
	}
	return set
}

// redisFlag is the --redis flag of a node called name: its Redis connections carry the
// name (CLIENT LIST shows it), so the test can count them per node.
func redisFlag(url, name string) []string {
	if url == "" {
		return nil
	}
	return []string{"--redis", url + "?client_name=" + name}
}

// startNode starts a gateway called name in front of api, on Redis at redisURL ("" =
// memory adapter), with extra flags.
func startNode(t *testing.T, api *testenv.FakeAPI, name, redisURL string, flags ...string) *node {
	t.Helper()
	return startNodeWith(t, api, name, nil, append(redisFlag(redisURL, name), flags...)...)
}

// startNodeWith is startNode with an adapter of the test's own (nil: from the flags).
func startNodeWith(t *testing.T, api *testenv.FakeAPI, name string, adapter namespaces.Adapter, flags ...string) *node {
	t.Helper()
	return startNodeSet(t, api, name, adapter, pocTriggers(t), flags...)
}

// startNodeSet is startNodeWith with a trigger set of the test's own.
func startNodeSet(t *testing.T, api *testenv.FakeAPI, name string, adapter namespaces.Adapter, set *triggers.Set, flags ...string) *node {
	t.Helper()
	args := append([]string{"--upstream", api.URL()}, flags...)
	cfg, err := gateway.ParseConfig(args, noEnv)
	if err != nil {
		t.Fatalf("node %s: ParseConfig(%q): %v", name, args, err)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", name)
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Adapter: adapter, Logger: log})
	if err != nil {
		t.Fatalf("node %s: gateway.New: %v", name, err)
	}
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		closed := make(chan struct{})
		go func() { _ = g.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Errorf("node %s: gateway.Close did not return within 10s", name)
		}
		if t.Failed() {
			t.Logf("node %s log:\n%s", name, logs.String())
		}
	})
	return &node{t: t, name: name, g: g, addr: ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: waitLong}}
}

// url is the Socket.IO URL of namespace nsp on the node.
func (n *node) url(nsp string) string { return "http://" + n.addr + nsp }

// do sends one request to the node and returns the status; it fails the test on a
// transport error.
func (n *node) do(method, path string) int {
	n.t.Helper()
	code, err := n.send(method, path)
	if err != nil {
		n.t.Fatal(err)
	}
	return code
}

// send is do for other goroutines than the test's: it returns errors.
func (n *node) send(method, path string) (int, error) {
	req, err := http.NewRequest(method, "http://"+n.addr+path, nil)
	if err != nil {
		return 0, fmt.Errorf("node %s: new request %s %s: %w", n.name, method, path, err)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("node %s: %s %s: %w", n.name, method, path, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// rowPath is the PoC's view-row path, relative to the gateway.
func rowPath(org, personID int) string {
	return fmt.Sprintf("/api/orgs/%d/people/views/2/rows/%d", org, personID)
}

// addRow is the PoC mutation: PUT a row, which fires personview.addrow {viewId: 2,
// personId} to /org/{org} once the upstream answered 200.
func (n *node) addRow(org, personID int) {
	n.t.Helper()
	if code := n.do("PUT", rowPath(org, personID)); code != 200 {
		n.t.Fatalf("node %s: PUT row %d of org %d: status %d", n.name, personID, org, code)
	}
	n.published()
}

// deleteRow fires personview.deleterow {viewId: 2, personId} to /org/{org}.
func (n *node) deleteRow(org, personID int) {
	n.t.Helper()
	if code := n.do("DELETE", rowPath(org, personID)); code != 200 {
		n.t.Fatalf("node %s: DELETE row %d of org %d: status %d", n.name, personID, org, code)
	}
	n.published()
}

// published returns once the handler of the previous request on the node's connection
// has returned, so its events are published (see node).
func (n *node) published() {
	n.t.Helper()
	if code := n.do("GET", "/healthz"); code != 200 {
		n.t.Fatalf("node %s: /healthz = %d", n.name, code)
	}
}

// readyz returns the status of GET /readyz.
func (n *node) readyz() int {
	n.t.Helper()
	return n.do("GET", "/readyz")
}

// waitReadyz polls /readyz until it answers want, for at most waitLong.
func (n *node) waitReadyz(want int) {
	n.t.Helper()
	deadline := time.Now().Add(waitLong)
	got := 0
	for time.Now().Before(deadline) {
		if got = n.readyz(); got == want {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a status: nothing to await
	}
	n.t.Fatalf("node %s: /readyz still %d after %v, want %d", n.name, got, waitLong, want)
}

// members makes credential "alice" an admin of orgs 1..count, and "eve" a known user of
// no org.
func members(t *testing.T, count int) *testenv.FakeAPI {
	api := testenv.NewFakeAPI(t)
	ms := make([]testenv.Membership, count)
	for i := range ms {
		ms[i] = testenv.Membership{Org: i + 1, Role: "admin"}
	}
	api.SetMemberships("alice", ms...)
	api.SetMemberships("eve")
	return api
}

// cookie is the handshake header of a browser behind the Zetkin app proxy.
func cookie(cred string) map[string]string { return map[string]string{"Cookie": "zsid=" + cred} }

// once are socket.io-client options for a socket that must not reconnect by itself.
func once(cred string) map[string]any {
	return map[string]any{"reconnection": false, "transports": []string{"websocket"}, "extraHeaders": cookie(cred)}
}

// reconnecting are options for a socket that reconnects quickly after a transport close,
// as a browser does (with shorter delays).
func reconnecting(cred string) map[string]any {
	return map[string]any{
		"transports":           []string{"websocket"},
		"extraHeaders":         cookie(cred),
		"reconnectionDelay":    50,
		"reconnectionDelayMax": 200,
		"randomizationFactor":  0,
	}
}

// connect opens socket name and fails the test if it is refused.
func connect(t *testing.T, c *testenv.Node, name, url string, opts map[string]any) testenv.ConnectResult {
	t.Helper()
	res, err := c.Connect(name, url, opts)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", name, url, err)
	}
	return res
}

// personID is the personId of a personview.* event.
func personID(t *testing.T, ev testenv.Event) int {
	t.Helper()
	var p struct {
		PersonID *int `json:"personId"`
	}
	if err := ev.Arg(0, &p); err != nil || p.PersonID == nil {
		t.Fatalf("event %v has no personId (%v)", ev, err)
	}
	return *p.PersonID
}

// waitOnly waits for event on socket name and fails if anything arrived before it: the
// barrier of testenv's doc.
func waitOnly(t *testing.T, c *testenv.Node, name, event string) testenv.Event {
	t.Helper()
	ev, err := c.WaitEvent(name, event, waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Skipped) != 0 {
		t.Fatalf("socket %s received %v before %q", name, ev.Skipped, event)
	}
	return ev
}

// logBuffer collects a node's log lines, shown when the test fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > 16<<10 {
		s = "…" + s[len(s)-16<<10:]
	}
	return strings.TrimSpace(s)
}
