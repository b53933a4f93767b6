package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitLimit bounds every awaited event: generous, because the machine may be loaded.
const waitLimit = 5 * time.Second

// Paths of the two endpoints served by Handler.
const (
	eioPath = "/engine.io/"
	sioPath = "/socket.io/"
)

// harness is conformance.Handler served on a loopback listener, with an HTTP client of its own.
type harness struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client

	// parked holds, per test tag, a channel closed when a request carrying that tag starts
	// waiting on its context: for a long-poll GET that is the moment it is parked server-side.
	parked sync.Map // string → chan struct{}
}

// newHarness starts a fresh reference server for one test; it is shut down at cleanup.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t}
	handler, closeAll := Handler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tag := r.Header.Get("X-Test-Park"); tag != "" {
			if ch, ok := h.parked.Load(tag); ok {
				r = r.WithContext(&doneSpy{Context: r.Context(), hit: ch.(chan struct{})})
			}
		}
		handler.ServeHTTP(w, r)
	}))
	tr := &http.Transport{}
	h.client = &http.Client{Transport: tr, Timeout: waitLimit}
	t.Cleanup(func() {
		closeAll()
		tr.CloseIdleConnections()
		h.srv.Close()
	})
	return h
}

// doneSpy reports the first call of Done: the handler has begun waiting on the request.
type doneSpy struct {
	context.Context
	once sync.Once
	hit  chan struct{}
}

func (d *doneSpy) Done() <-chan struct{} {
	d.once.Do(func() { close(d.hit) })
	return d.Context.Done()
}

func (h *harness) url(path, query string) string { return h.srv.URL + path + "?" + query }

func (h *harness) wsURL(path, query string) string {
	return "ws" + strings.TrimPrefix(h.srv.URL, "http") + path + "?" + query
}

// do sends one request and returns its status and body.
func (h *harness) do(method, url, body string, header http.Header) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatalf("build %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func (h *harness) get(url string) (int, string) { return h.do(http.MethodGet, url, "", nil) }

func (h *harness) post(url, body string) (int, string) {
	return h.do(http.MethodPost, url, body, nil)
}

// openPacket is the JSON of an Engine.IO open packet.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen checks that s is an open packet with exactly the five protocol keys.
func parseOpen(t *testing.T, s string) openPacket {
	t.Helper()
	if !strings.HasPrefix(s, "0") {
		t.Fatalf("open packet %q does not start with 0", s)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s[1:]), &keys); err != nil {
		t.Fatalf("open packet %q: %v", s, err)
	}
	for _, k := range []string{"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("open packet %q lacks %q", s, k)
		}
	}
	if len(keys) != 5 {
		t.Errorf("open packet %q has %d keys, want exactly 5", s, len(keys))
	}
	var op openPacket
	if err := json.Unmarshal([]byte(s[1:]), &op); err != nil {
		t.Fatalf("open packet %q: %v", s, err)
	}
	if op.SID == "" {
		t.Errorf("open packet %q: empty sid", s)
	}
	return op
}

// checkSettings asserts the suites' reference settings in an open packet.
func checkSettings(t *testing.T, op openPacket) {
	t.Helper()
	if op.PingInterval != PingInterval.Milliseconds() || op.PingTimeout != PingTimeout.Milliseconds() {
		t.Errorf("ping %d/%d ms, want %d/%d", op.PingInterval, op.PingTimeout,
			PingInterval.Milliseconds(), PingTimeout.Milliseconds())
	}
	if op.MaxPayload != MaxPayload {
		t.Errorf("maxPayload %d, want %d", op.MaxPayload, MaxPayload)
	}
}

// openPolling performs a long-polling handshake on path and returns the session ID.
func (h *harness) openPolling(path string) string {
	h.t.Helper()
	status, body := h.get(h.url(path, "EIO=4&transport=polling"))
	if status != http.StatusOK {
		h.t.Fatalf("polling handshake: status %d body %q", status, body)
	}
	return parseOpen(h.t, body).SID
}

func pollQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// parkedGet starts a long-poll GET in the background and returns once the server has parked
// it; the result arrives on the returned channel.
func (h *harness) parkedGet(path, sid string) <-chan pollResult {
	h.t.Helper()
	tag := h.t.Name() + "/" + sid
	parked := make(chan struct{})
	h.parked.Store(tag, parked)
	out := make(chan pollResult, 1)
	go func() {
		req, err := http.NewRequest(http.MethodGet, h.url(path, pollQuery(sid)), nil)
		if err != nil {
			out <- pollResult{err: err}
			return
		}
		req.Header.Set("X-Test-Park", tag)
		resp, err := h.client.Do(req)
		if err != nil {
			out <- pollResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- pollResult{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-parked:
	case r := <-out:
		h.t.Fatalf("poll answered before it was parked: %+v", r)
	case <-time.After(waitLimit):
		h.t.Fatal("long-poll GET was never parked")
	}
	return out
}

type pollResult struct {
	status int
	body   string
	err    error
}

func awaitPoll(t *testing.T, ch <-chan pollResult) pollResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("poll: %v", r.err)
		}
		return r
	case <-time.After(waitLimit):
		t.Fatal("poll not answered")
	}
	return pollResult{}
}

// ws is a websocket client that reads frames strictly in order, each read with a deadline.
type ws struct {
	t *testing.T
	c *websocket.Conn
}

// dialWS opens a websocket; the connection is closed at cleanup.
func (h *harness) dialWS(path, query string) *ws {
	h.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(h.wsURL(path, query), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		h.t.Fatalf("dial %s?%s: %v (status %d)", path, query, err, status)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	return &ws{t: h.t, c: c}
}

// dialRefused asserts that a websocket handshake is refused with status.
func (h *harness) dialRefused(path, query string, status int) {
	h.t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(h.wsURL(path, query), nil)
	if err == nil {
		_ = c.Close()
		h.t.Fatalf("dial %s?%s succeeded, want refusal", path, query)
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		h.t.Fatalf("dial %s?%s: %v, want a refused handshake", path, query, err)
	}
	if resp.StatusCode != status {
		h.t.Fatalf("dial %s?%s: status %d, want %d", path, query, resp.StatusCode, status)
	}
}

// dialClosed dials a websocket that the server accepts and closes at once without a
// message, as the suite's "ignores WebSocket connection with same sid" expects.
func (h *harness) dialClosed(path, query string) {
	h.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(h.wsURL(path, query), nil)
	if err != nil {
		h.t.Fatalf("dial %s?%s: %v, want an accepted then closed websocket", path, query, err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if typ, data, err := c.ReadMessage(); err == nil {
		h.t.Fatalf("second websocket got a frame (%d %q), want it closed", typ, data)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		h.t.Fatalf("second websocket still open after %s", waitLimit)
	}
}

// read returns the next frame, whatever it is.
func (w *ws) read() (int, []byte) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(waitLimit))
	typ, data, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("websocket read: %v", err)
	}
	return typ, data
}

// readText returns the next frame, which must be text.
func (w *ws) readText() string {
	w.t.Helper()
	typ, data := w.read()
	if typ != websocket.TextMessage {
		w.t.Fatalf("got binary frame %v, want text", data)
	}
	return string(data)
}

// next returns the next frame that is not a ping, answering pings with a pong as a client
// must; pings are heartbeat traffic and may interleave with anything.
func (w *ws) next() (int, []byte) {
	w.t.Helper()
	for i := 0; i < 100; i++ {
		typ, data := w.read()
		if typ == websocket.TextMessage && string(data) == "2" {
			w.send("3")
			continue
		}
		return typ, data
	}
	w.t.Fatal("only pings received")
	return 0, nil
}

// nextText is next for a frame that must be text.
func (w *ws) nextText() string {
	w.t.Helper()
	typ, data := w.next()
	if typ != websocket.TextMessage {
		w.t.Fatalf("got binary frame %v, want text", data)
	}
	return string(data)
}

func (w *ws) send(s string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		w.t.Fatalf("websocket send %q: %v", s, err)
	}
}

func (w *ws) sendBinary(b []byte) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatalf("websocket send binary: %v", err)
	}
}

// pingPolicy says what expectClosed does with pings that arrive before the close.
type pingPolicy int

const (
	noPings     pingPolicy = iota // a ping fails the test: the close must come first
	ignorePings                   // pings are tolerated, never answered
	answerPings                   // pings are answered with a pong
)

// expectClosed reads until the server ends the connection. Any frame other than a ping
// permitted by policy fails the test, as does no close within waitLimit.
func (w *ws) expectClosed(policy pingPolicy) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 100; i++ {
		typ, data, err := w.c.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.t.Fatalf("connection still open after %v", waitLimit)
			}
			return
		}
		if typ == websocket.TextMessage && string(data) == "2" && policy != noPings {
			if policy == answerPings {
				w.send("3")
			}
			continue
		}
		w.t.Fatalf("got frame %q while waiting for the close", data)
	}
	w.t.Fatal("too many pings while waiting for the close")
}

// openWS opens a websocket session on path and checks its open packet.
func (h *harness) openWS(path string) (*ws, openPacket) {
	h.t.Helper()
	w := h.dialWS(path, "EIO=4&transport=websocket")
	op := parseOpen(h.t, w.readText())
	return w, op
}
