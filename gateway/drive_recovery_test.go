package gateway_test

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

// cutProxy forwards loopback TCP to target; cut drops every connection open now, as a
// network outage does, while new connections still go through.
type cutProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	target string
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{ln: testenv.Listen(t), target: target}
	t.Cleanup(func() { _ = p.ln.Close(); p.cut() })
	go func() {
		for {
			c, err := p.ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// A socket that recovers its connection gets its rooms back, drive:{fileId} included; the
// Drive watch behind the room must be checked again, or the socket keeps receiving a file
// its user can no longer read.
func TestDriveRecoveredSocketIsRecheckedNotLeaked(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1, "dave": 1})
	env.drive.AddFile("plan1", "Plan", "alice", "dave")
	n := env.startDriveNode()
	ab, alice := env.loginAs(n, "alice")
	_, dave := env.loginAs(n, "dave")
	px := startCutProxy(t, n.addr)
	ws := testenv.StartNode(t)
	o := sockOpts("websocket", n.base, alice)
	o["reconnection"] = true
	o["reconnectionDelay"] = 50
	connect(t, ws, "a", "http://"+px.ln.Addr().String()+"/org/1", o)
	connect(t, ws, "d", n.base+"/org/1", sockOpts("websocket", n.base, dave))
	watch(t, ws, "a", "plan1", 1)
	watch(t, ws, "d", "plan1", 1)
	env.drive.Touch("plan1") // a broadcast, so that the client has an offset to recover from
	waitChanged(t, ws, "a", "plan1", 2)
	waitChanged(t, ws, "d", "plan1", 2)

	env.drive.Unshare("plan1", "alice") // while alice's socket is away
	px.cut()
	if _, err := ws.WaitDisconnect("a", 0); err != nil {
		t.Fatal(err)
	}
	ev, err := ws.WaitNotice("a", testenv.TypeConnect, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Recovered {
		t.Fatalf("reconnection %v did not recover: the scenario needs a recovered socket", ev)
	}
	env.drive.Touch("plan1")
	waitChanged(t, ws, "d", "plan1", 3)
	if got := ab.api(n, "PUT", addRowIn("1")); got != http.StatusOK {
		t.Fatalf("PUT: %d", got)
	}
	ev, err = ws.WaitEvent("a", "personview.addrow", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev.Skipped {
		if e.Event == gateway.EventDriveChanged {
			t.Fatalf("recovered socket of alice got %v for a file alice can no longer read", e)
		}
	}
}
