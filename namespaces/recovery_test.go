package namespaces

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// Connection state recovery on one node (MemoryAdapter), with the official client whose
// transport is cut under it. Across nodes with Redis: package multinode.

// recWait bounds the waits of these tests.
const recWait = 20 * time.Second

// recMembers are the namespaces each token may join.
var recMembers = map[string][]string{"alice": {"/org/1", "/org/2"}, "mallory": {"/org/1"}, "eve": nil}

// recHarness is a Server with recovery behind a TCP proxy (so the test can cut
// transports), whose admission checks recMembers and can be held.
type recHarness struct {
	t     *testing.T
	srv   *Server
	proxy *recProxy
	held  atomic.Pointer[chan struct{}]
	socks chan *Socket
}

func startRecHarness(t *testing.T, window time.Duration) *recHarness {
	t.Helper()
	h := &recHarness{t: t, socks: make(chan *Socket, 64)}
	h.srv = NewServer(Options{RecoveryWindow: window, Logger: slog.New(slog.DiscardHandler)})
	h.srv.Handle(Handler{
		Match: func(name string) bool { return strings.HasPrefix(name, "/org/") },
		Admit: h.admit,
		OnConnect: func(s *Socket) {
			select {
			case h.socks <- s:
			default:
			}
		},
		OnEvent: func(s *Socket, event string, args []any, ack func(...any)) {
			if room, ok := args[0].(string); event == "join" && ok {
				s.Join(room)
			}
			if ack != nil {
				ack("ok")
			}
		},
	})
	ln := testenv.Listen(t)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h.srv)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	h.proxy = startRecProxy(t, ln.Addr().String())
	t.Cleanup(func() {
		h.release()
		_ = h.srv.Close()
		_ = hs.Close()
	})
	return h
}

func (h *recHarness) admit(ctx context.Context, req *ConnectRequest) (any, error) {
	if g := h.held.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var auth struct{ Token string }
	_ = json.Unmarshal(req.Auth, &auth)
	if !slices.Contains(recMembers[auth.Token], req.Namespace) {
		return nil, &ConnectError{Message: "forbidden"}
	}
	return auth.Token, nil
}

// hold makes admissions wait until release.
func (h *recHarness) hold() {
	g := make(chan struct{})
	h.held.Store(&g)
}

func (h *recHarness) release() {
	if g := h.held.Swap(nil); g != nil {
		close(*g)
	}
}

// url is the Socket.IO URL of nsp through the proxy.
func (h *recHarness) url(nsp string) string { return "http://" + h.proxy.ln.Addr().String() + nsp }

// nextSocket returns the next admitted socket.
func (h *recHarness) nextSocket() *Socket {
	h.t.Helper()
	select {
	case s := <-h.socks:
		return s
	case <-time.After(recWait):
		h.t.Fatal("no socket admitted")
		return nil
	}
}

// gone returns a channel closed once s has left (its session saved, if recoverable).
func recGone(s *Socket) <-chan struct{} {
	ch := make(chan struct{})
	s.OnDisconnect(func(string) { close(ch) })
	return ch
}

func recAwait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(recWait):
		t.Fatalf("no %s within %v", what, recWait)
	}
}

// recOpts are client options: websocket, quick reconnection, token in the auth payload
// (and extra auth keys, e.g. a pid).
func recOpts(token string, extra map[string]any) map[string]any {
	auth := map[string]any{"token": token}
	for k, v := range extra {
		auth[k] = v
	}
	return map[string]any{"transports": []string{"websocket"}, "auth": auth,
		"reconnectionDelay": 50, "reconnectionDelayMax": 200, "randomizationFactor": 0}
}

func recConnect(t *testing.T, c *testenv.Node, name, url string, opts map[string]any) testenv.ConnectResult {
	t.Helper()
	res, err := c.Connect(name, url, opts)
	if err != nil {
		t.Fatalf("connect %s: %v", name, err)
	}
	return res
}

// recExpect checks that the next events of socket name are event with first argument
// want (a number), in order, with nothing else before each.
func recExpect(t *testing.T, c *testenv.Node, name, event string, want ...int) {
	t.Helper()
	for _, w := range want {
		ev, err := c.WaitEvent(name, event, recWait)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if len(ev.Skipped) != 0 || ev.Arg(0, &got) != nil || got != w {
			t.Fatalf("socket %s: got %v (skipped %v), want %s %d", name, ev, ev.Skipped, event, w)
		}
	}
}

func recExpectResync(t *testing.T, c *testenv.Node, name string) {
	t.Helper()
	ev, err := c.WaitEvent(name, EventResync, recWait)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Reason string }
	if len(ev.Skipped) != 0 || ev.Arg(0, &p) != nil || p.Reason != "recovery failed" {
		t.Fatalf("socket %s: %v (skipped %v), want resync {reason: recovery failed} first", name, ev, ev.Skipped)
	}
}

func recReconnected(t *testing.T, c *testenv.Node, name string) testenv.Event {
	t.Helper()
	ev, err := c.WaitNotice(name, testenv.TypeConnect, recWait)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// recCut drops the client's connection (both sides) and waits until the client and the
// server have both seen the socket go.
func recCut(t *testing.T, h *recHarness, c *testenv.Node, name string, sock *Socket) {
	t.Helper()
	gone := recGone(sock)
	h.proxy.dropAll()
	if ev, err := c.WaitDisconnect(name, recWait); err != nil || ev.Reason != "transport close" {
		t.Fatalf("socket %s: disconnect %v, %v; want transport close", name, ev, err)
	}
	recAwait(t, gone, "server-side disconnect")
}

func TestRecoveryReplaysMissedBroadcastsInOrderOnce(t *testing.T) {
	h := startRecHarness(t, time.Minute)
	c := testenv.StartNode(t)
	first := recConnect(t, c, "s", h.url("/org/1"), recOpts("alice", nil))
	sock := h.nextSocket()
	if _, err := c.EmitAck("s", 0, "join", "room-a"); err != nil {
		t.Fatal(err)
	}
	_ = h.srv.Emit("/org/1", "e", 1)
	ev, err := c.WaitEvent("s", "e", recWait)
	var offset string
	if err != nil || len(ev.Args) != 2 || ev.Arg(1, &offset) != nil || offset == "" {
		t.Fatalf("first event %v, %v: want the payload and a recovery offset", ev, err)
	}

	h.hold()
	recCut(t, h, c, "s", sock)
	// While the client is away:
	_ = h.srv.Emit("/org/1", "e", 2)
	_ = h.srv.Broadcast(&Broadcast{Nsp: "/org/1", Rooms: []string{"room-a"}, Event: "e", Args: []any{3}})
	_ = h.srv.Broadcast(&Broadcast{Nsp: "/org/1", Rooms: []string{"room-b"}, Event: "e", Args: []any{99}})  // not its room
	_ = h.srv.Broadcast(&Broadcast{Nsp: "/org/1", Except: []string{"room-a"}, Event: "e", Args: []any{98}}) // excluded
	_ = h.srv.Emit("/org/2", "e", 97)                                                                       // another namespace
	_ = h.srv.Emit("/org/1", "e", 4)
	h.release()

	rec := recReconnected(t, c, "s")
	if !rec.Recovered || rec.Sid != first.Sid {
		t.Fatalf("reconnection %v: want recovered, socket id %s", rec, first.Sid)
	}
	_ = h.srv.Emit("/org/1", "e", 5) // live
	recExpect(t, c, "s", "e", 2, 3, 4, 5)
	// Its rooms came back with it.
	_ = h.srv.Broadcast(&Broadcast{Nsp: "/org/1", Rooms: []string{"room-a"}, Event: "e", Args: []any{6}})
	recExpect(t, c, "s", "e", 6)
}

func TestRecoveryAfterWindowGetsResync(t *testing.T) {
	const window = 300 * time.Millisecond
	h := startRecHarness(t, window)
	c := testenv.StartNode(t)
	first := recConnect(t, c, "s", h.url("/org/1"), recOpts("alice", nil))
	sock := h.nextSocket()
	if _, err := c.EmitAck("s", 0, "join", "room-a"); err != nil {
		t.Fatal(err)
	}
	_ = h.srv.Emit("/org/1", "e", 1)
	recExpect(t, c, "s", "e", 1)

	h.hold()
	recCut(t, h, c, "s", sock)
	_ = h.srv.Emit("/org/1", "e", 2) // missed
	time.Sleep(3 * window)           // the window passing is what is tested
	h.release()

	rec := recReconnected(t, c, "s")
	if rec.Recovered || rec.Sid == first.Sid {
		t.Fatalf("reconnection after the window %v: want a new socket, not recovered", rec)
	}
	recExpectResync(t, c, "s")
	// A new socket: its old rooms are not restored.
	_ = h.srv.Broadcast(&Broadcast{Nsp: "/org/1", Rooms: []string{"room-a"}, Event: "e", Args: []any{3}})
	_ = h.srv.Emit("/org/1", "e", 4)
	recExpect(t, c, "s", "e", 4)
}

// A pid is a bearer secret for a socket's state, never a pass: the namespace's admission
// runs first, whatever pid is presented.
func TestRecoveryPIDNeverBypassesAdmission(t *testing.T) {
	h := startRecHarness(t, time.Minute)
	c := testenv.StartNode(t)
	mSid := recConnect(t, c, "m", h.url("/org/1"), recOpts("mallory", nil)).Sid
	msock := h.nextSocket()
	pid := msock.pid
	withPID := map[string]any{"pid": pid, "offset": "0-0"}

	// Mallory's own pid of org 1 presented to org 2, where she is no member.
	if ce, err := c.ConnectErr("m2", h.url("/org/2"), recOpts("mallory", withPID)); err != nil || ce.Message != "forbidden" {
		t.Fatalf("mallory joining /org/2 with her /org/1 pid: %v, %v; want forbidden", ce, err)
	}
	// Her pid stolen by eve, a member of nothing, presented to org 1.
	if ce, err := c.ConnectErr("e1", h.url("/org/1"), recOpts("eve", withPID)); err != nil || ce.Message != "forbidden" {
		t.Fatalf("eve joining /org/1 with mallory's pid: %v, %v; want forbidden", ce, err)
	}
	// The refused attempts took nothing: mallory still gets her socket back.
	gone := recGone(msock)
	c.Close("m")
	recAwait(t, gone, "mallory's socket closing")
	if res := recConnect(t, c, "m1", h.url("/org/1"), recOpts("mallory", withPID)); res.Sid != mSid {
		t.Fatalf("mallory's own pid gave socket %q, want her old %q", res.Sid, mSid)
	}
	h.nextSocket()

	// A pid of org 1 presented by a member of org 2: admitted as a new socket, told to resync.
	recConnect(t, c, "m3", h.url("/org/1"), recOpts("mallory", nil))
	pid2 := h.nextSocket().pid
	if res := recConnect(t, c, "a2", h.url("/org/2"), recOpts("alice", map[string]any{"pid": pid2, "offset": "0-0"})); res.Recovered {
		t.Fatalf("alice recovered a socket of another namespace: %+v", res)
	}
	recExpectResync(t, c, "a2")
	// An unknown pid: the same.
	recConnect(t, c, "a1", h.url("/org/1"), recOpts("alice", map[string]any{"pid": "forged", "offset": "0-0"}))
	recExpectResync(t, c, "a1")
}

func TestRecoveryOffSendsNoOffsetAndNoResync(t *testing.T) {
	h := startRecHarness(t, 0)
	c := testenv.StartNode(t)
	recConnect(t, c, "s", h.url("/org/1"), recOpts("alice", nil))
	sock := h.nextSocket()
	_ = h.srv.Emit("/org/1", "e", 1)
	ev, err := c.WaitEvent("s", "e", recWait)
	if err != nil || len(ev.Args) != 1 {
		t.Fatalf("event %v, %v: want the payload only, no offset", ev, err)
	}
	recCut(t, h, c, "s", sock)
	if rec := recReconnected(t, c, "s"); rec.Recovered {
		t.Fatalf("recovered with recovery off: %v", rec)
	}
	_ = h.srv.Emit("/org/1", "e", 2)
	recExpect(t, c, "s", "e", 2)
}

// A client whose network changed reconnects before the server notices that the old
// transport is dead (that takes up to a ping timeout). The recovered socket takes the old
// one's ID; when the old transport finally closes, no ghost may stay in the namespace.
func TestRecoveryWhileOldTransportIsStillOpenLeavesNoGhost(t *testing.T) {
	h := startRecHarness(t, time.Minute)
	c := testenv.StartNode(t)
	first := recConnect(t, c, "s", h.url("/org/1"), recOpts("alice", nil))
	old := h.nextSocket()
	_ = h.srv.Emit("/org/1", "e", 1)
	recExpect(t, c, "s", "e", 1)

	h.proxy.cutClients() // the client sees a transport close; the server sees nothing
	if rec := recReconnected(t, c, "s"); !rec.Recovered || rec.Sid != first.Sid {
		t.Fatalf("reconnection %v: want recovered with socket id %s", rec, first.Sid)
	}
	live := h.nextSocket()
	oldGone, liveGone := recGone(old), recGone(live)
	c.Close("s") // the client leaves
	recAwait(t, liveGone, "live socket closing")
	h.proxy.dropAll() // and the old transport finally closes
	recAwait(t, oldGone, "old socket closing")
	if ns := h.srv.Namespace("/org/1"); ns != nil {
		t.Fatalf("namespace /org/1 still has %d socket(s) after every transport closed: a ghost stayed", ns.Len())
	}
}

// recProxy forwards TCP connections to the server. cutClients closes the client sides
// only: the server keeps a half-dead connection, as after a network change.
type recProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	clients map[net.Conn]bool
	servers map[net.Conn]bool
}

func startRecProxy(t *testing.T, target string) *recProxy {
	p := &recProxy{ln: testenv.Listen(t), target: target, clients: map[net.Conn]bool{}, servers: map[net.Conn]bool{}}
	go func() {
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	t.Cleanup(p.dropAll)
	return p
}

func (p *recProxy) forward(c net.Conn) {
	s, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	p.clients[c], p.servers[s] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c) }() // ends when the client side is closed
	_, _ = io.Copy(c, s)
	_ = c.Close() // the server closed: tell the client
}

// cutClients closes every client-side connection and leaves the server sides open.
func (p *recProxy) cutClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.clients {
		_ = c.Close()
		delete(p.clients, c)
	}
}

// dropAll closes every connection, both sides.
func (p *recProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.clients {
		_ = c.Close()
		delete(p.clients, c)
	}
	for s := range p.servers {
		_ = s.Close()
		delete(p.servers, s)
	}
}
