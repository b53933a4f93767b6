package interop

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
)

// waitTimeout bounds every wait on the server's side.
const waitTimeout = 10 * time.Second

// refusedOrg is the org whose namespace the test server refuses, with data.
const refusedOrg = "9"

// testServer is syncgate's Socket.IO server on a real loopback listener, with the handlers
// the tests need. Every namespace under /org/ exists; /org/9 is refused with data; any other
// name is an invalid namespace.
//
// Events the sockets handle:
//   - "echo": acknowledged with its own arguments when an ack is asked for, else emitted
//     back to the socket as "echo" with the same arguments;
//   - "join" ROOM: joins ROOM, acknowledged with ROOM;
//   - "whoami": acknowledged with the socket's namespace and ID.
type testServer struct {
	URL string // http://127.0.0.1:PORT

	cfg  serverConfig
	ln   *trackingListener
	http *httptest.Server
	srv  atomic.Pointer[namespaces.Server]
	reg  *registry
}

// serverConfig tunes a test server; the zero value is the defaults.
type serverConfig struct {
	Front  func(http.Handler) http.Handler // wraps the Socket.IO handler (to hold or observe requests)
	Engine engineio.Options                // heartbeat and limits
}

// startServer starts a test server, closed on cleanup.
func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{cfg: cfg, reg: newRegistry()}
	ts.srv.Store(ts.newSocketServer())

	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.srv.Load().ServeHTTP(w, r)
	})
	if cfg.Front != nil {
		h = cfg.Front(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", h)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	ts.ln = &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	ts.http = httptest.NewUnstartedServer(mux)
	ts.http.Listener = ts.ln
	ts.http.Start()
	ts.URL = ts.http.URL
	// Cleanups run last-in first-out: the Socket.IO server closes its sessions (releasing
	// pending polls) before the HTTP server waits for its requests to end.
	t.Cleanup(ts.http.Close)
	t.Cleanup(func() { _ = ts.srv.Load().Close() })
	return ts
}

// server returns the Socket.IO server now serving.
func (ts *testServer) server() *namespaces.Server { return ts.srv.Load() }

// restart replaces the Socket.IO server by a new one with the same handlers, behind the same
// listener, and closes the old one (every session ends with "server shutting down").
func (ts *testServer) restart() {
	old := ts.srv.Swap(ts.newSocketServer())
	_ = old.Close()
}

// cutConnections closes every TCP connection the listener accepted: a network failure.
func (ts *testServer) cutConnections() { ts.ln.closeAll() }

func (ts *testServer) newSocketServer() *namespaces.Server {
	srv := namespaces.NewServer(namespaces.Options{Engine: ts.cfg.Engine, Logger: slog.New(slog.DiscardHandler)})
	srv.Handle(namespaces.Handler{
		Match: func(name string) bool { return strings.HasPrefix(name, "/org/") },
		Admit: func(_ context.Context, req *namespaces.ConnectRequest) (any, error) {
			if req.Namespace == "/org/"+refusedOrg {
				return nil, &namespaces.ConnectError{
					Message: "forbidden",
					Data:    map[string]any{"org": refusedOrg, "reason": "not a member"},
				}
			}
			return nil, nil
		},
		OnConnect: func(s *namespaces.Socket) {
			s.OnDisconnect(func(reason string) { ts.reg.gone(s, reason) })
			ts.reg.connected(s)
		},
		OnEvent: ts.onEvent,
	})
	return srv
}

func (ts *testServer) onEvent(s *namespaces.Socket, event string, args []any, ack func(...any)) {
	ts.reg.event(s, event, args)
	switch event {
	case "echo":
		if ack != nil {
			ack(args...)
			return
		}
		_ = s.Emit("echo", args...)
	case "join":
		if len(args) == 1 {
			if room, ok := args[0].(string); ok {
				s.Join(room)
				if ack != nil {
					ack(room)
				}
			}
		}
	case "whoami":
		if ack != nil {
			ack(s.Namespace(), s.ID())
		}
	}
}

// socket waits until the socket with ID sid has been admitted (its OnConnect ran) and
// returns it.
func (ts *testServer) socket(t *testing.T, sid string) *namespaces.Socket {
	t.Helper()
	var s *namespaces.Socket
	ts.reg.wait(t, "socket "+sid+" admitted", func(r *registry) bool {
		s = r.sockets[sid]
		return s != nil
	})
	return s
}

// gone waits until the socket with ID sid has disconnected and returns the reason.
func (ts *testServer) gone(t *testing.T, sid string) string {
	t.Helper()
	var reason string
	ts.reg.wait(t, "socket "+sid+" disconnected", func(r *registry) bool {
		var ok bool
		reason, ok = r.reasons[sid]
		return ok
	})
	return reason
}

// registry records what the server's handlers saw, for the tests to wait on.
type registry struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	sockets map[string]*namespaces.Socket
	admits  map[string]int    // namespace -> sockets admitted so far
	reasons map[string]string // socket ID -> disconnect reason
	leaves  map[string]int    // namespace -> sockets disconnected so far
	events  []serverEvent
}

// serverEvent is one event a socket received.
type serverEvent struct {
	Socket string
	Event  string
	Args   []any
}

func newRegistry() *registry {
	return &registry{
		changed: make(chan struct{}),
		sockets: map[string]*namespaces.Socket{},
		admits:  map[string]int{},
		reasons: map[string]string{},
		leaves:  map[string]int{},
	}
}

func (r *registry) update(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *registry) connected(s *namespaces.Socket) {
	r.update(func() {
		r.sockets[s.ID()] = s
		r.admits[s.Namespace()]++
	})
}

func (r *registry) gone(s *namespaces.Socket, reason string) {
	r.update(func() {
		r.reasons[s.ID()] = reason
		r.leaves[s.Namespace()]++
	})
}

func (r *registry) event(s *namespaces.Socket, event string, args []any) {
	r.update(func() { r.events = append(r.events, serverEvent{s.ID(), event, args}) })
}

// wait calls cond under the registry's lock until it holds, up to waitTimeout.
func (r *registry) wait(t *testing.T, what string, cond func(*registry) bool) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("server: no %s within %v (admitted %v, disconnected %v)", what, waitTimeout, r.admits, r.leaves)
		}
	}
}

// trackingListener remembers every connection it accepted so that a test can cut them all.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err // as is: http.Server inspects the listener's own error
	}
	l.mu.Lock()
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	return c, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
	}
	clear(l.conns)
}

// orgURL is the URL of namespace /org/ORG on ts.
func (ts *testServer) orgURL(org string) string { return ts.URL + "/org/" + org }

// nsLen is the number of sockets of namespace name on srv, 0 when it does not exist.
func nsLen(srv *namespaces.Server, name string) int {
	if ns := srv.Namespace(name); ns != nil {
		return ns.Len()
	}
	return 0
}
