package engineio

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDuplicatePollRefusedFirstAnswered: a second concurrent GET is a protocol error; it gets
// 400, the session closes, and the parked GET is answered (not left hanging).
func TestDuplicatePollRefusedFirstAnswered(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	sid, r := ts.openPolling(nil)
	first := ts.backgroundGet(ts.url(pollQuery(sid)), nil)
	eventually(t, "the first GET is parked", parked(r.conn))

	resp, body := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"code":3`) {
		t.Fatalf("duplicate GET: %d %q, want 400 Bad request", resp.StatusCode, body)
	}
	if res := awaitPoll(t, first); res.status != http.StatusOK || res.body != "1" {
		t.Fatalf("first GET: %d %q, want 200 \"1\"", res.status, res.body)
	}
	if reason := awaitClose(t, r); reason != "transport error" {
		t.Errorf("close reason %q, want transport error", reason)
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d, want 0", n)
	}
}

// TestInvalidPollingPacketClosesSession: a malformed payload gets 400 and ends the session;
// nothing of it reaches the listener.
func TestInvalidPollingPacketClosesSession(t *testing.T) {
	for _, body := range []string{"abc", "4ok\x1ex", "4ok\x1e", "b!!!", ""} {
		t.Run(strings.ReplaceAll(body, "\x1e", "<RS>"), func(t *testing.T) {
			ts := startServer(t, Options{PingInterval: time.Hour}, nil)
			sid, r := ts.openPolling(nil)
			resp, _ := ts.do(http.MethodPost, ts.url(pollQuery(sid)), body, nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("POST %q: status %d, want 400", body, resp.StatusCode)
			}
			if reason := awaitClose(t, r); reason != "parse error" {
				t.Errorf("close reason %q, want parse error", reason)
			}
			if len(r.msgs) != 0 {
				t.Errorf("%d messages of an invalid payload were delivered", len(r.msgs))
			}
			if resp, _ := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET after close: status %d, want 400", resp.StatusCode)
			}
			if n := ts.eio.Count(); n != 0 {
				t.Errorf("Count() = %d, want 0", n)
			}
		})
	}
}

// TestOversizedPostRejected: a body over MaxPayload must not be buffered; it gets 413 and
// the session ends. A body of exactly MaxPayload is fine.
func TestOversizedPostRejected(t *testing.T) {
	const max = 100
	ts := startServer(t, Options{PingInterval: time.Hour, MaxPayload: max}, nil)

	sid, r := ts.openPolling(nil)
	exact := "4" + strings.Repeat("x", max-1)
	if resp, body := ts.do(http.MethodPost, ts.url(pollQuery(sid)), exact, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST of exactly MaxPayload: %d %q, want 200", resp.StatusCode, body)
	}
	if m := awaitMessage(t, r); string(m.data) != exact[1:] {
		t.Fatalf("delivered %d bytes, want %d", len(m.data), max-1)
	}

	resp, _ := ts.do(http.MethodPost, ts.url(pollQuery(sid)), exact+"x", nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST over MaxPayload: status %d, want 413", resp.StatusCode)
	}
	if reason := awaitClose(t, r); reason != "transport error" {
		t.Errorf("close reason %q, want transport error", reason)
	}
	if len(r.msgs) != 0 {
		t.Error("part of the oversized payload was delivered")
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d, want 0", n)
	}
}

// TestOversizedWebSocketMessageClosesSession: the same limit holds for websocket frames.
func TestOversizedWebSocketMessageClosesSession(t *testing.T) {
	const max = 100
	ts := startServer(t, Options{PingInterval: time.Hour, MaxPayload: max}, nil)
	ws := ts.dialWS(nil, "EIO=4&transport=websocket", nil)
	readText(t, ws)
	r := ts.session()
	sendText(t, ws, "4"+strings.Repeat("x", max))
	if reason := awaitClose(t, r); reason != "transport error" {
		t.Errorf("close reason %q, want transport error", reason)
	}
	if len(r.msgs) != 0 {
		t.Error("the oversized message was delivered")
	}
	if err := readUntilClosed(t, ws); err == nil {
		t.Fatal("connection not closed")
	}
}

// TestPollingDeliversInOrder: packets of one payload and of consecutive payloads reach the
// listener in order; queued packets come back in one payload, in order.
func TestPollingDeliversInOrder(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	sid, r := ts.openPolling(nil)
	ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4a\x1e4b\x1ebAQI=", nil)
	ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4c", nil)
	for _, want := range []string{"a", "b", "\x01\x02", "c"} {
		if m := awaitMessage(t, r); string(m.data) != want || m.binary != (want == "\x01\x02") {
			t.Fatalf("message %q (binary %v), want %q", m.data, m.binary, want)
		}
	}
	_ = r.conn.Send(NewMessageString("x"))
	_ = r.conn.Send(NewBinaryMessage([]byte{1, 2, 3, 4}))
	_ = r.conn.Send(NewMessageString("y"))
	if resp, body := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil); body != "4x\x1ebAQIDBA==\x1e4y" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
}
