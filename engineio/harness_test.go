package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitLimit bounds every awaited event; generous because the machine may be loaded.
const waitLimit = 5 * time.Second

// recorder is a Listener that records what a session receives.
type recorder struct {
	conn   *Conn
	msgs   chan inPacket
	closed chan string // receives the close reason once
}

func (r *recorder) OnMessage(data []byte, binary bool) {
	select {
	case r.msgs <- inPacket{typ: typeMessage, data: append([]byte(nil), data...), binary: binary}:
	default: // a test that floods does not read messages
	}
}

func (r *recorder) OnClose(reason string) { r.closed <- reason }

// testServer is an engineio.Server on a loopback listener. Every session's recorder is
// published on opened.
type testServer struct {
	t      *testing.T
	eio    *Server
	http   *httptest.Server
	client *http.Client
	opened chan *recorder
}

// startServer starts a server with opts; wrap, when set, wraps the loopback listener.
func startServer(t *testing.T, opts Options, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	ts := &testServer{t: t, opened: make(chan *recorder, 64)}
	if opts.OnOpen == nil {
		opts.OnOpen = func(c *Conn) Listener {
			r := &recorder{conn: c, msgs: make(chan inPacket, 256), closed: make(chan string, 1)}
			select {
			case ts.opened <- r:
			default:
				t.Errorf("more sessions than the test expected")
			}
			return r
		}
	}
	ts.eio = NewServer(opts)
	ts.http = httptest.NewUnstartedServer(ts.eio)
	if wrap != nil {
		ts.http.Listener = wrap(ts.http.Listener)
	}
	ts.http.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	ts.client = &http.Client{Transport: tr, Timeout: waitLimit}
	t.Cleanup(func() {
		ts.eio.Close()
		tr.CloseIdleConnections()
		ts.http.Close()
	})
	return ts
}

// session returns the recorder of the next session the server opened.
func (ts *testServer) session() *recorder {
	ts.t.Helper()
	select {
	case r := <-ts.opened:
		return r
	case <-time.After(waitLimit):
		ts.t.Fatal("no session was opened")
	}
	return nil
}

func (ts *testServer) url(query string) string { return ts.http.URL + "/engine.io/?" + query }

func (ts *testServer) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/engine.io/?" + query
}

// do sends a request and returns the response with its body read.
func (ts *testServer) do(method, url, body string, header http.Header) (*http.Response, string) {
	ts.t.Helper()
	resp, b, err := ts.try(method, url, body, header)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, b
}

func (ts *testServer) try(method, url, body string, header http.Header) (*http.Response, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// openPolling performs a polling handshake and returns the sid and the session's recorder.
func (ts *testServer) openPolling(header http.Header) (string, *recorder) {
	ts.t.Helper()
	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", header)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "0") {
		ts.t.Fatalf("polling handshake: %d %q", resp.StatusCode, body)
	}
	return sidOf(ts.t, body), ts.session()
}

// sidOf returns the sid of an open packet.
func sidOf(t *testing.T, open string) string {
	t.Helper()
	sid, err := parseSID(open)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

func parseSID(open string) (string, error) {
	var op struct{ SID string }
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &op) != nil || op.SID == "" {
		return "", fmt.Errorf("not an open packet: %q", open)
	}
	return op.SID, nil
}

func pollQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// awaitClose waits for the session's OnClose and returns the reason.
func awaitClose(t *testing.T, r *recorder) string {
	t.Helper()
	select {
	case reason := <-r.closed:
		return reason
	case <-time.After(waitLimit):
		t.Fatal("session not closed")
	}
	return ""
}

// eventually polls cond, a condition on server state, until it holds or waitLimit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// dialWS opens a websocket to the server with dialer (the default when nil).
func (ts *testServer) dialWS(dialer *websocket.Dialer, query string, header http.Header) *websocket.Conn {
	ts.t.Helper()
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	c, resp, err := dialer.Dial(ts.wsURL(query), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		ts.t.Fatalf("dial ?%s: %v (status %d)", query, err, status)
	}
	ts.t.Cleanup(func() { _ = c.Close() })
	return c
}

// readText reads the next frame, which must be text, within waitLimit.
func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	typ, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	if typ != websocket.TextMessage {
		t.Fatalf("binary frame %v, want text", data)
	}
	return string(data)
}

func sendText(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("websocket send %q: %v", s, err)
	}
}

// awaitMessage returns the next message the session's listener received.
func awaitMessage(t *testing.T, r *recorder) inPacket {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-time.After(waitLimit):
		t.Fatal("no message received")
	}
	return inPacket{}
}

// readUntilClosed reads frames until the connection ends and returns the read error.
func readUntilClosed(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 1_000_000; i++ {
		if _, _, err := c.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v", waitLimit)
			}
			return err
		}
	}
	t.Fatal("connection never closed")
	return nil
}

// pollResult is the outcome of a background GET.
type pollResult struct {
	status int
	body   string
	err    error
}

// backgroundGet starts a GET and returns a channel with its outcome.
func (ts *testServer) backgroundGet(url string, header http.Header) <-chan pollResult {
	out := make(chan pollResult, 1)
	go func() {
		resp, body, err := ts.try(http.MethodGet, url, "", header)
		if err != nil {
			out <- pollResult{err: err}
			return
		}
		out <- pollResult{status: resp.StatusCode, body: body}
	}()
	return out
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

// parked reports whether c has a long-poll GET waiting.
func parked(c *Conn) func() bool {
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pollWaiting
	}
}

// recordingConn keeps a copy of every byte read from the network.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.buf = append(r.buf, p[:n]...)
	r.mu.Unlock()
	return n, err
}

func (r *recordingConn) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.buf...)
}

// recordingDialer returns a dialer whose connection is recorded into *rec.
func recordingDialer(rec **recordingConn) *websocket.Dialer {
	return &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			*rec = &recordingConn{Conn: c}
			return *rec, nil
		},
		HandshakeTimeout: waitLimit,
	}
}
