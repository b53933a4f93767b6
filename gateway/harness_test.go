package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// harness is one gateway (the real handler on a real loopback listener) in front of a
// FakeAPI, with an HTTP client that uses a single keep-alive connection.
//
// The single connection makes request order a happens-before order: Go's HTTP server reads
// the next request of a connection only after the previous handler returned, and the proxy
// publishes a call's events inside its handler. So when request B starts, every event of
// request A has been handed to the sockets' queues, and the barrier pattern of testenv's
// doc proves "A fired nothing" rigorously.
type harness struct {
	t      *testing.T
	api    *testenv.FakeAPI
	g      *gateway.Gateway
	base   string // http://127.0.0.1:PORT
	client *http.Client
}

// noEnv is an environment with no SYNCGATE_* variables.
func noEnv(string) (string, bool) { return "", false }

// pocTriggers is the Zetkin PoC trigger file shipped in examples/.
func pocTriggers(t testing.TB) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("zetkin-poc.yaml", examples.ZetkinPoC())
	if err != nil {
		t.Fatalf("parse zetkin-poc.yaml: %v", err)
	}
	return set
}

// startGateway starts a gateway for api with the given trigger set and extra flags
// (parsed by gateway.ParseConfig, as the binary does).
func startGateway(t *testing.T, api *testenv.FakeAPI, set *triggers.Set, flags ...string) *harness {
	t.Helper()
	return startGatewayLogging(t, api, set, slog.New(slog.DiscardHandler), flags...)
}

// startGatewayLogging is startGateway logging to log.
func startGatewayLogging(t *testing.T, api *testenv.FakeAPI, set *triggers.Set, log *slog.Logger, flags ...string) *harness {
	t.Helper()
	args := append([]string{"--upstream", api.URL()}, flags...)
	cfg, err := gateway.ParseConfig(args, noEnv)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", args, err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: log})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = g.Close()
		_ = srv.Close()
	})
	return &harness{
		t:      t,
		api:    api,
		g:      g,
		base:   "http://" + ln.Addr().String(),
		client: &http.Client{Transport: tr, Timeout: 20 * time.Second},
	}
}

// do sends one request through the gateway and returns the status and the whole body.
func (h *harness) do(method, path string, header http.Header, body string) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatalf("new request %s %s: %v", method, path, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// mustDo is do asserting the status.
func (h *harness) mustDo(want int, method, path string, header http.Header, body string) []byte {
	h.t.Helper()
	got, _, b := h.do(method, path, header, body)
	if got != want {
		h.t.Fatalf("%s %s: status %d (body %.200s), want %d", method, path, got, b, want)
	}
	return b
}

// url is the Socket.IO URL of namespace nsp on the gateway.
func (h *harness) url(nsp string) string { return h.base + nsp }

// opts are socket.io-client options: no reconnection, the given transport ("" = the
// client's default, polling then upgrade) and extra handshake headers.
func opts(transport string, headers map[string]string) map[string]any {
	o := map[string]any{"reconnection": false}
	if transport != "" {
		o["transports"] = []string{transport}
	}
	if len(headers) > 0 {
		o["extraHeaders"] = headers
	}
	return o
}

// cookie is the handshake header of a browser behind the Zetkin app proxy: session cookie zsid.
func cookie(cred string) map[string]string { return map[string]string{"Cookie": "zsid=" + cred} }

// transports are the two Engine.IO transports every socket behaviour is checked over.
var transports = []string{"websocket", "polling"}

// connect opens socket name on nsp and fails the test if it is refused.
func connect(t *testing.T, n *testenv.Node, name, url string, o map[string]any) testenv.ConnectResult {
	t.Helper()
	res, err := n.Connect(name, url, o)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", name, url, err)
	}
	return res
}

// refused connects socket name and returns the connect_error message the client saw.
func refused(t *testing.T, n *testenv.Node, name, url string, o map[string]any) string {
	t.Helper()
	ce, err := n.ConnectErr(name, url, o)
	if err != nil {
		t.Fatalf("socket %s to %s: %v", name, url, err)
	}
	return ce.Message
}

// assertIDs checks that argument 0 of ev is exactly the JSON object want: the same keys,
// and every value a JSON number equal to want's (IDs are numbers, not strings). The only
// other argument allowed is the connection-state-recovery offset (a string), which the
// reference server appends too and the official client hands to listeners.
func assertIDs(t *testing.T, ev testenv.Event, want map[string]int64) {
	t.Helper()
	switch len(ev.Args) {
	case 1:
	case 2:
		var offset string
		if err := ev.Arg(1, &offset); err != nil || offset == "" {
			t.Fatalf("event %v: second arg is not a recovery offset", ev)
		}
	default:
		t.Fatalf("event %v: %d args, want the payload (and a recovery offset)", ev, len(ev.Args))
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Args[0]))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("event %v: payload is not a JSON object: %v", ev, err)
	}
	if len(got) != len(want) {
		t.Fatalf("event %v: payload keys %v, want exactly %v", ev, got, want)
	}
	for k, w := range want {
		num, ok := got[k].(json.Number)
		if !ok {
			t.Fatalf("event %v: %q is %T %v, want the number %d", ev, k, got[k], got[k], w)
		}
		if n, err := num.Int64(); err != nil || n != w {
			t.Fatalf("event %v: %q = %s, want %d", ev, k, num, w)
		}
	}
}

// waitOnly waits for event on socket name and fails if anything else arrived before it:
// the barrier of testenv's doc.
func waitOnly(t *testing.T, n *testenv.Node, name, event string) testenv.Event {
	t.Helper()
	ev, err := n.WaitEvent(name, event, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Skipped) != 0 {
		t.Fatalf("socket %s received %v before %q", name, ev.Skipped, event)
	}
	return ev
}
