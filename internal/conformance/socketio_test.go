package conformance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The Socket.IO cases of the socket.io-protocol suite, all over websocket at /socket.io/.

// connectAnswer checks that got is a CONNECT answer for prefix ("40" or "40/custom,")
// carrying exactly a string sid, and returns the sid.
func connectAnswer(t *testing.T, got, prefix string) string {
	t.Helper()
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("CONNECT answer %q, want prefix %q", got, prefix)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got[len(prefix):]), &body); err != nil {
		t.Fatalf("CONNECT answer %q: %v", got, err)
	}
	sid, ok := body["sid"].(string)
	if len(body) != 1 || !ok || sid == "" {
		t.Fatalf("CONNECT answer %q: want exactly a string sid", got)
	}
	return sid
}

// connectCase sends CONNECT and checks the answer and the "auth" event that follows it.
func connectCase(t *testing.T, connect, prefix, wantAuth string) {
	h := newHarness(t)
	w, _ := h.openWS(sioPath)
	w.send(connect)
	connectAnswer(t, w.nextText(), prefix)
	if got := w.nextText(); got != wantAuth {
		t.Fatalf("auth event %q, want %q", got, wantAuth)
	}
}

func TestSocketIO_Connect_MainNamespace(t *testing.T) {
	t.Parallel()
	connectCase(t, "40", "40", `42["auth",{}]`)
}

func TestSocketIO_Connect_MainNamespaceWithPayload(t *testing.T) {
	t.Parallel()
	connectCase(t, `40{"token":"123"}`, "40", `42["auth",{"token":"123"}]`)
}

func TestSocketIO_Connect_CustomNamespace(t *testing.T) {
	t.Parallel()
	connectCase(t, "40/custom,", "40/custom,", `42/custom,["auth",{}]`)
}

func TestSocketIO_Connect_CustomNamespaceWithPayload(t *testing.T) {
	t.Parallel()
	connectCase(t, `40/custom,{"token":"abc"}`, "40/custom,", `42/custom,["auth",{"token":"abc"}]`)
}

func TestSocketIO_Connect_UnknownNamespaceRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := h.openWS(sioPath)
	w.send("40/random")
	if got, want := w.nextText(), `44/random,{"message":"Invalid namespace"}`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSocketIO_Connect_InvalidHandshakeCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := h.openWS(sioPath)
	w.send("4abc")
	w.expectClosed(noPings)
}

func TestSocketIO_Connect_NoHandshakeTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	start := time.Now()
	w, _ := h.openWS(sioPath)
	// Pings are answered, so only the connect timeout can end this session.
	w.expectClosed(answerPings)
	if d := time.Since(start); d < ConnectTimeout {
		t.Fatalf("closed after %v, before the connect timeout (%v)", d, ConnectTimeout)
	}
}

// initSocketIO opens a websocket session joined to "/" and returns it with the socket's sid.
func initSocketIO(t *testing.T, h *harness) (*ws, string) {
	t.Helper()
	w, _ := h.openWS(sioPath)
	w.send("40")
	sid := connectAnswer(t, w.nextText(), "40")
	if got := w.nextText(); got != `42["auth",{}]` {
		t.Fatalf("auth event %q", got)
	}
	return w, sid
}

func TestSocketIO_Disconnect_MainNamespace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, sid := initSocketIO(t, h)
	w.send("41")
	// Nothing answers a DISCONNECT: the next frame is the heartbeat.
	if got := w.readText(); got != "2" {
		t.Fatalf("frame after DISCONNECT %q, want ping \"2\"", got)
	}
	w.send("3")
	// The socket is gone: its events are ignored, and a new CONNECT makes a new socket.
	w.send(`42["message","ignored"]`)
	w.send("40")
	if sid2 := connectAnswer(t, w.nextText(), "40"); sid2 == sid {
		t.Fatalf("reconnected socket reuses sid %q", sid)
	}
	if got := w.nextText(); got != `42["auth",{}]` {
		t.Fatalf("auth event %q", got)
	}
}

func TestSocketIO_Disconnect_CustomNamespaceThenMain(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	if got := w.readText(); got != "2" {
		t.Fatalf("frame %q, want ping \"2\"", got)
	}
	w.send("3")
	w.send("40/custom")
	connectAnswer(t, w.nextText(), "40/custom,")
	if got := w.nextText(); got != `42/custom,["auth",{}]` {
		t.Fatalf("auth event %q", got)
	}
	w.send("41/custom")
	w.send(`42["message","message to main namespace"]`)
	if got, want := w.nextText(), `42["message-back","message to main namespace"]`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSocketIO_Message_PlainText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	w.send(`42["message",1,"2",{"3":[true]}]`)
	if got, want := w.nextText(), `42["message-back",1,"2",{"3":[true]}]`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// expectBinaryPacket reads a text header and its attachments, skipping pings.
func expectBinaryPacket(t *testing.T, w *ws, header string, attachments ...[]byte) {
	t.Helper()
	if got := w.nextText(); got != header {
		t.Fatalf("got %q, want %q", got, header)
	}
	for i, want := range attachments {
		typ, data := w.next()
		if typ != websocket.BinaryMessage || string(data) != string(want) {
			t.Fatalf("attachment %d: type %d data %v, want binary %v", i, typ, data, want)
		}
	}
}

func TestSocketIO_Message_BinaryAttachments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	w.send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	expectBinaryPacket(t, w,
		`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		[]byte{1, 2, 3}, []byte{4, 5, 6})
}

func TestSocketIO_Message_PlainTextWithAck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	w.send(`42456["message-with-ack",1,"2",{"3":[false]}]`)
	if got, want := w.nextText(), `43456[1,"2",{"3":[false]}]`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSocketIO_Message_BinaryAttachmentsWithAck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	w.send(`452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	w.sendBinary([]byte{1, 2, 3})
	w.sendBinary([]byte{4, 5, 6})
	expectBinaryPacket(t, w,
		`462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		[]byte{1, 2, 3}, []byte{4, 5, 6})
}

// invalidPacketCloses sends a malformed Socket.IO packet on a joined session.
func invalidPacketCloses(t *testing.T, packet string) {
	h := newHarness(t)
	w, _ := initSocketIO(t, h)
	w.send(packet)
	w.expectClosed(ignorePings)
}

func TestSocketIO_Message_InvalidPacketType(t *testing.T) {
	t.Parallel()
	invalidPacketCloses(t, "4abc")
}

func TestSocketIO_Message_InvalidPayloadFormat(t *testing.T) {
	t.Parallel()
	invalidPacketCloses(t, "42{}")
}

func TestSocketIO_Message_InvalidAckID(t *testing.T) {
	t.Parallel()
	invalidPacketCloses(t, `42abc["message-with-ack",1,"2",{"3":[false]}]`)
}
