package namespaces

import (
	"encoding/json"
	"errors"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/syncgate/syncgate/engineio"
)

// waitLimit bounds every awaited event; generous because the machine may be loaded.
const waitLimit = 5 * time.Second

// sioServer is a namespaces.Server on a loopback listener.
type sioServer struct {
	t    *testing.T
	srv  *Server
	http *httptest.Server
}

// startSIO starts a server with handlers; pings are far apart so they never interleave
// unless a test wants them.
func startSIO(t *testing.T, handlers ...Handler) *sioServer {
	t.Helper()
	srv := NewServer(Options{Engine: engineio.Options{PingInterval: time.Hour}})
	for _, h := range handlers {
		srv.Handle(h)
	}
	s := &sioServer{t: t, srv: srv, http: httptest.NewServer(srv)}
	t.Cleanup(func() {
		_ = srv.Close()
		s.http.Close()
	})
	return s
}

// tclient is a raw Socket.IO client over one websocket; it reads frames strictly in order.
type tclient struct {
	t  *testing.T
	ws *websocket.Conn
}

// dial opens an Engine.IO websocket session and reads its open packet.
func (s *sioServer) dial() *tclient {
	s.t.Helper()
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { _ = ws.Close() })
	c := &tclient{t: s.t, ws: ws}
	if open := c.nextText(); !strings.HasPrefix(open, "0{") {
		s.t.Fatalf("open packet %q", open)
	}
	return c
}

func (c *tclient) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

func (c *tclient) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("send binary: %v", err)
	}
}

// next returns the next frame that is not an Engine.IO ping (pings are answered).
func (c *tclient) next() (int, []byte) {
	c.t.Helper()
	for i := 0; i < 100; i++ {
		_ = c.ws.SetReadDeadline(time.Now().Add(waitLimit))
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if typ == websocket.TextMessage && string(data) == "2" {
			c.send("3")
			continue
		}
		return typ, data
	}
	c.t.Fatal("only pings")
	return 0, nil
}

// nextText returns the next non-ping frame, which must be text, without the Engine.IO
// message type ("4").
func (c *tclient) nextText() string {
	c.t.Helper()
	typ, data := c.next()
	if typ != websocket.TextMessage {
		c.t.Fatalf("binary frame %v, want text", data)
	}
	s := string(data)
	if strings.HasPrefix(s, "4") {
		return s[1:]
	}
	return s
}

// expect reads the next packet and checks it.
func (c *tclient) expect(want string) {
	c.t.Helper()
	if got := c.nextText(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// expectBinary reads the next frame, which must be binary and equal to want.
func (c *tclient) expectBinary(want []byte) {
	c.t.Helper()
	typ, data := c.next()
	if typ != websocket.BinaryMessage || string(data) != string(want) {
		c.t.Fatalf("frame type %d %v, want binary %v", typ, data, want)
	}
}

// sio sends a Socket.IO packet (the Engine.IO message type is added).
func (c *tclient) sio(packet string) { c.t.Helper(); c.send("4" + packet) }

// connect joins nsp with auth (may be "") and returns the socket ID.
func (c *tclient) connect(nsp, auth string) string {
	c.t.Helper()
	c.sio("0" + nsp + "," + auth)
	return c.connected(nsp)
}

// connected reads a CONNECT answer for nsp and returns the socket ID.
func (c *tclient) connected(nsp string) string {
	c.t.Helper()
	got := c.nextText()
	prefix := "0" + nsp + ","
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got %q, want a CONNECT answer for %s", got, nsp)
	}
	var body struct{ SID string }
	if err := json.Unmarshal([]byte(got[len(prefix):]), &body); err != nil || body.SID == "" {
		c.t.Fatalf("CONNECT answer %q: no sid", got)
	}
	return body.SID
}

// expectClosed reads until the server closes the connection; any non-ping frame fails.
func (c *tclient) expectClosed() {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 100; i++ {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
		if typ != websocket.TextMessage || string(data) != "2" {
			c.t.Fatalf("frame %q while waiting for the close", data)
		}
	}
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
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

// noAdmissionRunning reports whether no admission goroutine (hook included) is alive.
func noAdmissionRunning() bool {
	buf := make([]byte, 1<<20)
	return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "namespaces.(*client).admit(")
}

// orgs matches "/org/<anything>".
func orgs(name string) bool { return strings.HasPrefix(name, "/org/") }

// sockets collects admitted sockets by the "name" of their CONNECT payload.
type sockets struct{ ch chan *Socket }

func newSockets() *sockets { return &sockets{ch: make(chan *Socket, 256)} }

func (s *sockets) onConnect(sock *Socket) { s.ch <- sock }

func (s *sockets) next(t *testing.T) *Socket {
	t.Helper()
	return recv(t, s.ch, "an admitted socket")
}
