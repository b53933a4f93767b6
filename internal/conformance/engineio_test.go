package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The Engine.IO cases. Each runs at /engine.io/ (engine.io-protocol suite) and, where the
// socket.io-protocol suite repeats it, at /socket.io/; see suiteCases for the mapping.

func TestEngineIO_Polling_Handshake(t *testing.T) { t.Parallel(); pollingHandshake(t, eioPath) }
func TestSocketIO_EngineIO_Polling_Handshake(t *testing.T) {
	t.Parallel()
	pollingHandshake(t, sioPath)
}

func pollingHandshake(t *testing.T, path string) {
	h := newHarness(t)
	status, body := h.get(h.url(path, "EIO=4&transport=polling"))
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200 (body %q)", status, body)
	}
	op := parseOpen(t, body)
	if len(op.Upgrades) != 1 || op.Upgrades[0] != "websocket" {
		t.Errorf("upgrades %v, want [websocket]", op.Upgrades)
	}
	checkSettings(t, op)
}

func TestEngineIO_Polling_HandshakeInvalidEIO(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidEIO(t, eioPath)
}

func TestSocketIO_EngineIO_Polling_HandshakeInvalidEIO(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidEIO(t, sioPath)
}

func pollingHandshakeInvalidEIO(t *testing.T, path string) {
	h := newHarness(t)
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		if status, body := h.get(h.url(path, q)); status != http.StatusBadRequest {
			t.Errorf("?%s: status %d body %q, want 400", q, status, body)
		}
	}
}

func TestEngineIO_Polling_HandshakeInvalidTransport(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidTransport(t, eioPath)
}

func TestSocketIO_EngineIO_Polling_HandshakeInvalidTransport(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidTransport(t, sioPath)
}

func pollingHandshakeInvalidTransport(t *testing.T, path string) {
	h := newHarness(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		if status, body := h.get(h.url(path, q)); status != http.StatusBadRequest {
			t.Errorf("?%s: status %d body %q, want 400", q, status, body)
		}
	}
}

func TestEngineIO_Polling_HandshakeInvalidMethod(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidMethod(t, eioPath)
}

func TestSocketIO_EngineIO_Polling_HandshakeInvalidMethod(t *testing.T) {
	t.Parallel()
	pollingHandshakeInvalidMethod(t, sioPath)
}

func pollingHandshakeInvalidMethod(t *testing.T, path string) {
	h := newHarness(t)
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		if status, body := h.do(m, h.url(path, "EIO=4&transport=polling"), "", nil); status != http.StatusBadRequest {
			t.Errorf("%s: status %d body %q, want 400", m, status, body)
		}
	}
}

func TestEngineIO_WebSocket_Handshake(t *testing.T)          { t.Parallel(); wsHandshake(t, eioPath) }
func TestSocketIO_EngineIO_WebSocket_Handshake(t *testing.T) { t.Parallel(); wsHandshake(t, sioPath) }

func wsHandshake(t *testing.T, path string) {
	h := newHarness(t)
	_, op := h.openWS(path)
	if op.Upgrades == nil || len(op.Upgrades) != 0 {
		t.Errorf("upgrades %v, want []", op.Upgrades)
	}
	checkSettings(t, op)
}

func TestEngineIO_WebSocket_HandshakeInvalidEIO(t *testing.T) {
	t.Parallel()
	wsHandshakeInvalidEIO(t, eioPath)
}

func TestSocketIO_EngineIO_WebSocket_HandshakeInvalidEIO(t *testing.T) {
	t.Parallel()
	wsHandshakeInvalidEIO(t, sioPath)
}

func wsHandshakeInvalidEIO(t *testing.T, path string) {
	h := newHarness(t)
	h.dialRefused(path, "transport=websocket", http.StatusBadRequest)
	h.dialRefused(path, "EIO=abc&transport=websocket", http.StatusBadRequest)
}

func TestEngineIO_WebSocket_HandshakeInvalidTransport(t *testing.T) {
	t.Parallel()
	wsHandshakeInvalidTransport(t, eioPath)
}

func TestSocketIO_EngineIO_WebSocket_HandshakeInvalidTransport(t *testing.T) {
	t.Parallel()
	wsHandshakeInvalidTransport(t, sioPath)
}

func wsHandshakeInvalidTransport(t *testing.T, path string) {
	h := newHarness(t)
	h.dialRefused(path, "EIO=4", http.StatusBadRequest)
	h.dialRefused(path, "EIO=4&transport=abc", http.StatusBadRequest)
}

// The message cases exist in the engine.io-protocol suite only (the /engine.io/ echo server).

func TestEngineIO_Polling_MessageOneText(t *testing.T) {
	t.Parallel()
	pollingEcho(t, "4hello")
}

func TestEngineIO_Polling_MessageSeveralText(t *testing.T) {
	t.Parallel()
	pollingEcho(t, "4test1\x1e4test2\x1e4test3")
}

func TestEngineIO_Polling_MessageTextAndBinary(t *testing.T) {
	t.Parallel()
	pollingEcho(t, "4hello\x1ebAQIDBA==")
}

// pollingEcho posts payload and expects the echo server to send it back in one poll.
func pollingEcho(t *testing.T, payload string) {
	h := newHarness(t)
	sid := h.openPolling(eioPath)
	status, body := h.post(h.url(eioPath, pollQuery(sid)), payload)
	if status != http.StatusOK || body != "ok" {
		t.Fatalf("POST: status %d body %q, want 200 ok", status, body)
	}
	status, body = h.get(h.url(eioPath, pollQuery(sid)))
	if status != http.StatusOK || body != payload {
		t.Fatalf("GET: status %d body %q, want 200 %q", status, body, payload)
	}
}

func TestEngineIO_Polling_InvalidPacketClosesSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid := h.openPolling(eioPath)
	if status, body := h.post(h.url(eioPath, pollQuery(sid)), "abc"); status != http.StatusBadRequest {
		t.Fatalf("POST abc: status %d body %q, want 400", status, body)
	}
	if status, body := h.get(h.url(eioPath, pollQuery(sid))); status != http.StatusBadRequest {
		t.Fatalf("GET after invalid packet: status %d body %q, want 400", status, body)
	}
}

func TestEngineIO_Polling_DuplicatePollClosesSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid := h.openPolling(eioPath)
	first := h.parkedGet(eioPath, sid)
	// A second GET while the first is parked is a protocol violation.
	if status, body := h.get(h.url(eioPath, pollQuery(sid)+"&t=burst")); status != http.StatusBadRequest {
		t.Fatalf("duplicate GET: status %d body %q, want 400", status, body)
	}
	if r := awaitPoll(t, first); r.status != http.StatusOK || r.body != "1" {
		t.Fatalf("first GET: status %d body %q, want 200 \"1\" (close)", r.status, r.body)
	}
	if status, body := h.get(h.url(eioPath, pollQuery(sid))); status != http.StatusBadRequest {
		t.Fatalf("GET after close: status %d body %q, want 400", status, body)
	}
}

func TestEngineIO_WebSocket_MessageText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := h.openWS(eioPath)
	w.send("4hello")
	if got := w.nextText(); got != "4hello" {
		t.Fatalf("echo %q, want 4hello", got)
	}
}

func TestEngineIO_WebSocket_MessageBinary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := h.openWS(eioPath)
	w.sendBinary([]byte{1, 2, 3, 4})
	typ, data := w.next()
	if typ != websocket.BinaryMessage || string(data) != "\x01\x02\x03\x04" {
		t.Fatalf("echo type %d data %v, want binary [1 2 3 4]", typ, data)
	}
}

func TestEngineIO_WebSocket_InvalidPacketClosesSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := h.openWS(eioPath)
	w.send("abc")
	w.expectClosed(noPings)
}

func TestEngineIO_Polling_PingPong(t *testing.T)          { t.Parallel(); pollingPingPong(t, eioPath) }
func TestSocketIO_EngineIO_Polling_PingPong(t *testing.T) { t.Parallel(); pollingPingPong(t, sioPath) }

func pollingPingPong(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	for i := 0; i < 3; i++ {
		if status, body := h.get(h.url(path, pollQuery(sid))); status != http.StatusOK || body != "2" {
			t.Fatalf("poll %d: status %d body %q, want 200 \"2\"", i, status, body)
		}
		if status, body := h.post(h.url(path, pollQuery(sid)), "3"); status != http.StatusOK {
			t.Fatalf("pong %d: status %d body %q, want 200", i, status, body)
		}
	}
}

func TestEngineIO_Polling_PingTimeout(t *testing.T) { t.Parallel(); pollingPingTimeout(t, eioPath) }
func TestSocketIO_EngineIO_Polling_PingTimeout(t *testing.T) {
	t.Parallel()
	pollingPingTimeout(t, sioPath)
}

func pollingPingTimeout(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	// The suite's bounded wait: one ping interval plus the ping timeout, never answered.
	time.Sleep(PingInterval + PingTimeout)
	// A loaded machine may fire the timers late: until the session is gone, a poll may still
	// deliver the unanswered ping or the close packet, and nothing else. Pongs are never sent.
	for i := 0; ; i++ {
		status, body := h.get(h.url(path, pollQuery(sid)))
		if status == http.StatusBadRequest {
			return
		}
		if i == 3 || status != http.StatusOK || (body != "2" && body != "1") {
			t.Fatalf("poll %d after the ping timeout: status %d body %q, want 400", i, status, body)
		}
	}
}

func TestEngineIO_WebSocket_PingPong(t *testing.T)          { t.Parallel(); wsPingPong(t, eioPath) }
func TestSocketIO_EngineIO_WebSocket_PingPong(t *testing.T) { t.Parallel(); wsPingPong(t, sioPath) }

func wsPingPong(t *testing.T, path string) {
	h := newHarness(t)
	w, _ := h.openWS(path)
	for i := 0; i < 3; i++ {
		if got := w.readText(); got != "2" {
			t.Fatalf("frame %d: %q, want ping \"2\"", i, got)
		}
		w.send("3")
	}
}

func TestEngineIO_WebSocket_PingTimeout(t *testing.T) { t.Parallel(); wsPingTimeout(t, eioPath) }
func TestSocketIO_EngineIO_WebSocket_PingTimeout(t *testing.T) {
	t.Parallel()
	wsPingTimeout(t, sioPath)
}

func wsPingTimeout(t *testing.T, path string) {
	h := newHarness(t)
	start := time.Now()
	w, _ := h.openWS(path)
	w.expectClosed(ignorePings)
	if d := time.Since(start); d < PingInterval+PingTimeout {
		t.Fatalf("closed after %v, before a ping could time out (%v)", d, PingInterval+PingTimeout)
	}
}

func TestEngineIO_Polling_ForcefulClose(t *testing.T) { t.Parallel(); pollingClose(t, eioPath) }
func TestSocketIO_EngineIO_Polling_ForcefulClose(t *testing.T) {
	t.Parallel()
	pollingClose(t, sioPath)
}

func pollingClose(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	pending := h.parkedGet(path, sid)
	if status, body := h.post(h.url(path, pollQuery(sid)), "1"); status != http.StatusOK {
		t.Fatalf("POST close: status %d body %q, want 200", status, body)
	}
	if r := awaitPoll(t, pending); r.status != http.StatusOK || r.body != "6" {
		t.Fatalf("pending poll: status %d body %q, want 200 \"6\" (noop)", r.status, r.body)
	}
	if status, body := h.get(h.url(path, pollQuery(sid))); status != http.StatusBadRequest {
		t.Fatalf("GET after close: status %d body %q, want 400", status, body)
	}
}

func TestEngineIO_WebSocket_ForcefulClose(t *testing.T)          { t.Parallel(); wsClose(t, eioPath) }
func TestSocketIO_EngineIO_WebSocket_ForcefulClose(t *testing.T) { t.Parallel(); wsClose(t, sioPath) }

func wsClose(t *testing.T, path string) {
	h := newHarness(t)
	w, _ := h.openWS(path)
	w.send("1")
	// No ping may come first: that would mean the close packet was ignored.
	w.expectClosed(noPings)
}

// roundTrip proves that a session answers over w: on /engine.io/ an echo, on /socket.io/ a
// CONNECT to "/" (n == 0) or a "message" event (n > 0).
func roundTrip(t *testing.T, w *ws, path string, n int) {
	t.Helper()
	if path == eioPath {
		msg := fmt.Sprintf("4hello%d", n)
		w.send(msg)
		if got := w.nextText(); got != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
		return
	}
	if n == 0 {
		w.send("40")
		if got := w.nextText(); !strings.HasPrefix(got, `40{"sid":`) {
			t.Fatalf("CONNECT answer %q, want 40{\"sid\":...}", got)
		}
		if got := w.nextText(); got != `42["auth",{}]` {
			t.Fatalf("auth event %q", got)
		}
		return
	}
	w.send(fmt.Sprintf(`42["message",%d]`, n))
	if got, want := w.nextText(), fmt.Sprintf(`42["message-back",%d]`, n); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// probe opens a websocket for sid and completes the probe exchange.
func (h *harness) probe(path, sid string) *ws {
	h.t.Helper()
	w := h.dialWS(path, "EIO=4&transport=websocket&sid="+sid)
	w.send("2probe")
	if got := w.readText(); got != "3probe" {
		h.t.Fatalf("probe answer %q, want 3probe", got)
	}
	return w
}

func TestEngineIO_Upgrade_PollingToWebSocket(t *testing.T) { t.Parallel(); upgrade(t, eioPath) }
func TestSocketIO_EngineIO_Upgrade_PollingToWebSocket(t *testing.T) {
	t.Parallel()
	upgrade(t, sioPath)
}

func upgrade(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	w := h.probe(path, sid)
	// Once probed, a poll ends at once with a noop. Should a ping have been queued before the
	// probe (a slow machine), it comes first and is answered, as a client would.
	for i := 0; ; i++ {
		status, body := h.get(h.url(path, pollQuery(sid)))
		if status == http.StatusOK && body == "6" {
			break
		}
		if i == 2 || status != http.StatusOK || body != "2" {
			t.Fatalf("poll during upgrade: status %d body %q, want 200 \"6\" (noop)", status, body)
		}
		h.post(h.url(path, pollQuery(sid)), "3")
	}
	w.send("5")
	roundTrip(t, w, path, 0)
}

func TestEngineIO_Upgrade_IgnoresPollingAfterUpgrade(t *testing.T) {
	t.Parallel()
	ignoresPollingAfterUpgrade(t, eioPath)
}

func TestSocketIO_EngineIO_Upgrade_IgnoresPollingAfterUpgrade(t *testing.T) {
	t.Parallel()
	ignoresPollingAfterUpgrade(t, sioPath)
}

func ignoresPollingAfterUpgrade(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	w := h.probe(path, sid)
	w.send("5")
	// Unlike the suite, wait for an answer over the websocket first: it proves the upgrade
	// is complete, so the poll below cannot race it.
	roundTrip(t, w, path, 0)
	if status, body := h.get(h.url(path, pollQuery(sid))); status != http.StatusBadRequest {
		t.Fatalf("poll after upgrade: status %d body %q, want 400", status, body)
	}
	roundTrip(t, w, path, 1) // the refused poll did not hurt the session
}

func TestEngineIO_Upgrade_IgnoresSecondWebSocketAfterUpgrade(t *testing.T) {
	t.Parallel()
	ignoresSecondWebSocket(t, eioPath)
}

func TestSocketIO_EngineIO_Upgrade_IgnoresSecondWebSocketAfterUpgrade(t *testing.T) {
	t.Parallel()
	ignoresSecondWebSocket(t, sioPath)
}

func ignoresSecondWebSocket(t *testing.T, path string) {
	h := newHarness(t)
	sid := h.openPolling(path)
	w := h.probe(path, sid)
	w.send("5")
	h.dialClosed(path, "EIO=4&transport=websocket&sid="+sid)
	roundTrip(t, w, path, 0)
	h.dialClosed(path, "EIO=4&transport=websocket&sid="+sid)
	roundTrip(t, w, path, 1)
}
