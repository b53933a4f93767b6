package interop

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// reconnectOpts pins the transport and makes the client's reconnection backoff short.
func reconnectOpts(transport string) map[string]any {
	return map[string]any{
		"transports":           []string{transport},
		"reconnectionDelay":    50,
		"reconnectionDelayMax": 100,
	}
}

// TestNodeReconnectsAfterNetworkCut: every TCP connection to the server is cut (for
// polling, while the client's long-poll is pending, so the server can notice); the server
// drops the session and the client reconnects by itself, to a new socket that gets events.
func TestNodeReconnectsAfterNetworkCut(t *testing.T) {
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			polls := newPollWatch()
			ts := startServer(t, serverConfig{Front: polls.wrap})
			res := connect(t, node, tr, ts.orgURL("1"), reconnectOpts(tr))
			ts.socket(t, res.Sid)
			if tr == "polling" {
				polls.waitPending(t)
			}

			ts.cutConnections()
			if reason := ts.gone(t, res.Sid); reason != "transport error" && reason != "transport close" {
				t.Fatalf("server saw the old socket leave with %q, want a transport error or close", reason)
			}
			assertReconnected(t, ts, node, tr, res.Sid)
		})
	}
}

// TestNodeReconnectsAfterServerRestart: the Socket.IO server is closed (every session ends
// with "server shutting down") and a new one serves the same address; the client reconnects
// by itself and gets the new server's events.
func TestNodeReconnectsAfterServerRestart(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			res := connect(t, node, tr, ts.orgURL("1"), reconnectOpts(tr))
			ts.socket(t, res.Sid)

			ts.restart()
			if reason := ts.gone(t, res.Sid); reason != "server shutting down" {
				t.Fatalf("server saw the old socket leave with %q, want %q", reason, "server shutting down")
			}
			assertReconnected(t, ts, node, tr, res.Sid)
		})
	}
}

// assertReconnected checks that socket name, whose socket oldSid was dropped by the server,
// disconnected for a reason that makes socket.io-client reconnect, did reconnect, and gets
// events on its new socket. It then closes the socket.
func assertReconnected(t *testing.T, ts *testServer, node *testenv.Node, name, oldSid string) {
	t.Helper()
	dis, err := node.WaitDisconnect(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if dis.Reason != "transport close" && dis.Reason != "transport error" {
		t.Fatalf("client disconnect reason %q: socket.io-client does not reconnect after it", dis.Reason)
	}
	con, err := node.WaitNotice(name, testenv.TypeConnect, 0)
	if err != nil {
		t.Fatal(err)
	}
	if con.Sid == "" || con.Sid == oldSid {
		t.Fatalf("reconnected with socket ID %q, old one %q", con.Sid, oldSid)
	}
	ts.socket(t, con.Sid)
	srv := ts.server()
	if n := nsLen(srv, "/org/1"); n != 1 {
		t.Fatalf("/org/1 holds %d sockets after the reconnection, want 1", n)
	}
	if err := srv.Emit("/org/1", "after.reconnect", name); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, node, name, "after.reconnect")
	assertJSON(t, "event args", ev.Args, []any{name})

	node.Close(name)
	ts.gone(t, con.Sid)
}

// pollWatch counts the long-polling GETs of established sessions being served.
type pollWatch struct {
	mu      sync.Mutex
	pending int
	changed chan struct{} // closed and replaced on every change
}

func newPollWatch() *pollWatch { return &pollWatch{changed: make(chan struct{})} }

func (p *pollWatch) add(d int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending += d
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pollWatch) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method == http.MethodGet && q.Get("transport") == "polling" && q.Get("sid") != "" {
			p.add(1)
			defer p.add(-1)
		}
		next.ServeHTTP(w, r)
	})
}

// waitPending waits until a long-poll is being served.
func (p *pollWatch) waitPending(t *testing.T) {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		n, changed := p.pending, p.changed
		p.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("no long-poll pending within %v", waitTimeout)
		}
	}
}
