package interop

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/internal/testenv"
)

// rawClient speaks Engine.IO/Socket.IO frames directly over a websocket, to send what no
// well-behaved client sends.
type rawClient struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialRaw opens a websocket session to ts and reads the Engine.IO open packet.
func dialRaw(t *testing.T, ts *testServer) *rawClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	c := &rawClient{t: t, ws: ws}
	if open := c.read(); !strings.HasPrefix(open, `0{"sid":`) {
		t.Fatalf("first frame %q, want the open packet", open)
	}
	return c
}

func (c *rawClient) send(frame string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatalf("send %q: %v", frame, err)
	}
}

func (c *rawClient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("send %d binary bytes: %v", len(b), err)
	}
}

// read returns the next text frame, waiting up to waitTimeout.
func (c *rawClient) read() string {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(waitTimeout))
	typ, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("read a binary frame %x, want text", b)
	}
	return string(b)
}

// join connects the namespace and returns the CONNECT answer.
func (c *rawClient) join(nsp string) string {
	c.t.Helper()
	c.send("40" + nsp + ",")
	return c.read()
}

// TestPacketForUnjoinedNamespaceIsIgnored: a client admitted to /org/1 only sends events,
// acks and a binary event to /org/2. Dangerous because each would otherwise let a client act
// in, or get answers from, an org namespace whose admission it never passed. The server
// must ignore them all (no answer, no namespace created) and keep the connection working.
func TestPacketForUnjoinedNamespaceIsIgnored(t *testing.T) {
	ts := startServer(t, serverConfig{})
	c := dialRaw(t, ts)
	if ans := c.join("/org/1"); !strings.HasPrefix(ans, `40/org/1,{"sid":"`) {
		t.Fatalf("CONNECT /org/1 answered %q", ans)
	}

	c.send(`42/org/2,["echo","leak"]`)
	c.send(`42/org/2,7["echo","leak"]`)
	c.send(`42/org/2,8["whoami"]`)
	c.send(`43/org/2,0["forged ack"]`)
	c.send(`451-/org/2,["echo",{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.send(`43/org/1,99["ack nobody asked for"]`)
	c.send(`41/org/2,`)
	c.send(`42/org/1,["echo","after"]`)

	// Frames arrive in order: the echo of "after" must be the very next one.
	if got, want := c.read(), `42/org/1,["echo","after"]`; got != want {
		t.Fatalf("next frame %q, want %q", got, want)
	}
	srv := ts.server()
	if srv.Namespace("/org/2") != nil {
		t.Fatal("a packet for an unjoined namespace created it")
	}
	ts.reg.wait(t, "the echo recorded", func(r *registry) bool { return len(r.events) > 0 })
	ts.reg.mu.Lock()
	events := append([]serverEvent(nil), ts.reg.events...)
	ts.reg.mu.Unlock()
	if len(events) != 1 || events[0].Event != "echo" {
		t.Fatalf("server handled %v, want only the echo on /org/1", events)
	}
	if n := srv.Engine().Count(); n != 1 {
		t.Fatalf("%d Engine.IO sessions, want this one still open", n)
	}

	// The connection still works, for this namespace and for a new one.
	if ans := c.join("/org/3"); !strings.HasPrefix(ans, `40/org/3,{"sid":"`) {
		t.Fatalf("CONNECT /org/3 answered %q", ans)
	}
	c.send(`42/org/3,1["echo","three"]`)
	if got, want := c.read(), `43/org/3,1["three"]`; got != want {
		t.Fatalf("ack %q, want %q", got, want)
	}
}

// TestUnknownNamespaceIsRefused: the official client connecting to a namespace no handler
// serves gets connect_error "Invalid namespace", and no namespace is created. Dangerous
// otherwise: any name a client invents would become a live namespace.
func TestUnknownNamespaceIsRefused(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			ce, err := node.ConnectErr("nope-"+tr, ts.URL+"/nope", only(tr, nil))
			if err != nil {
				t.Fatal(err)
			}
			if ce.Message != "Invalid namespace" {
				t.Fatalf("connect_error %q, want %q", ce.Message, "Invalid namespace")
			}
			if ts.server().Namespace("/nope") != nil {
				t.Fatal("/nope exists on the server")
			}
		})
	}
}
