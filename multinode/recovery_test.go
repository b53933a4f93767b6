package multinode

import (
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// moveClient breaks the connections behind lb and sends the next ones to target, keeping
// the client off (its reconnection attempts refused) until lb.Resume. It returns once the
// client saw its socket disconnect.
func moveClient(t *testing.T, c *testenv.Node, name string, lb *forwarder, target *node) {
	t.Helper()
	lb.Pause()
	lb.SetTarget(target.addr)
	lb.DropAll()
	ev, err := c.WaitDisconnect(name, waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Reason != "transport close" && ev.Reason != "transport error" {
		t.Fatalf("socket %s disconnected for %q, want a transport failure (which reconnects)", name, ev.Reason)
	}
}

// reconnected waits for the socket's reconnection and returns its notice.
func reconnected(t *testing.T, c *testenv.Node, name string) testenv.Event {
	t.Helper()
	ev, err := c.WaitNotice(name, testenv.TypeConnect, waitLong)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// expectResync waits for a resync with the given reason, nothing before it.
func expectResync(t *testing.T, c *testenv.Node, name, reason string) {
	t.Helper()
	ev := waitOnly(t, c, name, "resync")
	var p struct{ Reason string }
	if err := ev.Arg(0, &p); err != nil || p.Reason != reason {
		t.Fatalf("socket %s: resync %v, want reason %q", name, ev, reason)
	}
}

func TestRecoveryAcrossNodesReplaysMissedEventsOnceInOrder(t *testing.T) {
	_, a, b := twoNodes(t, members(t, 1))
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	first := connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	connect(t, c, "w", b.url("/org/1"), once("alice")) // a witness on B
	a.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})

	// Node A's connection breaks; the client will come back through B.
	moveClient(t, c, "s", lb, b)
	// Publishing is off the request path, so calls answered by different nodes are ordered
	// only once the first node's events are on the bus: wait for A's, through the witness on
	// B, before B's calls (lag_test.go has a node that lags).
	a.addRow(1, 2)
	a.addRow(1, 3)
	witness := func(want ...int) {
		t.Helper()
		for _, id := range want {
			ev, err := c.WaitEvent("w", "personview.addrow", waitLong)
			if err != nil {
				t.Fatal(err)
			}
			if got := personID(t, ev); got != id {
				t.Fatalf("witness: person %d, want %d", got, id)
			}
		}
	}
	witness(1, 2, 3)
	b.addRow(1, 4)
	b.addRow(1, 5)
	witness(4, 5)
	lb.Resume()

	ev := reconnected(t, c, "s")
	if !ev.Recovered {
		t.Fatalf("socket s reconnected to node B without recovering: %v", ev)
	}
	if ev.Sid != first.Sid {
		t.Fatalf("recovered socket id %q, want the old %q", ev.Sid, first.Sid)
	}
	b.addRow(1, 6) // live
	expectRows(t, c, "s", row{"personview.addrow", 2}, row{"personview.addrow", 3},
		row{"personview.addrow", 4}, row{"personview.addrow", 5}, row{"personview.addrow", 6})
}

func TestRecoveryAfterWindowGetsResync(t *testing.T) {
	const window = 300 * time.Millisecond
	_, a, b := twoNodes(t, members(t, 1), "--recovery-window", window.String())
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	a.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})

	moveClient(t, c, "s", lb, b)
	a.addRow(1, 2) // missed
	// Time itself is what is tested: the offset and the saved session must be older than
	// the window when the client comes back.
	time.Sleep(3 * window)
	lb.Resume()
	if ev := reconnected(t, c, "s"); ev.Recovered {
		t.Fatalf("socket s recovered after the window: %v", ev)
	}
	expectResync(t, c, "s", "recovery failed")
	b.addRow(1, 3)
	expectRows(t, c, "s", row{"personview.addrow", 3})
}

// A pid is a bearer secret for a socket's state; presenting one must never stand in for
// the membership check of the namespace being joined.
func TestRecoveryPIDNeverBypassesMembership(t *testing.T) {
	api := members(t, 2)
	api.SetMemberships("mallory", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("carol", testenv.Membership{Org: 2, Role: "admin"})
	_, a, b := twoNodes(t, api)
	c := testenv.StartNode(t)
	hdr := func(cred string) http.Header { return http.Header{"Cookie": {"zsid=" + cred}} }
	sid, pid := rawSession(t, a.addr, "/org/1", hdr("mallory"))
	withPID := func(cred, pid string) map[string]any {
		o := once(cred)
		o["auth"] = map[string]any{"pid": pid, "offset": "0-0"}
		return o
	}

	// Mallory's real pid of org 1, presented to org 2 where she is no member.
	ce, err := c.ConnectErr("m2", b.url("/org/2"), withPID("mallory", pid))
	if err != nil || ce.Message != "forbidden" {
		t.Fatalf("mallory joining org 2 with her org-1 pid: %v, %v; want connect_error forbidden", ce, err)
	}
	// Someone else presenting it (a stolen pid) to org 1 itself.
	ce, err = c.ConnectErr("e1", b.url("/org/1"), withPID("eve", pid))
	if err != nil || ce.Message != "forbidden" {
		t.Fatalf("eve joining org 1 with mallory's pid: %v, %v; want connect_error forbidden", ce, err)
	}
	// The refused attempts took nothing: the owner still recovers her socket, on any node.
	if res := connect(t, c, "m1", b.url("/org/1"), withPID("mallory", pid)); res.Sid != sid {
		t.Fatalf("mallory's own pid gave socket %q, want her old socket %q", res.Sid, sid)
	}

	// A member of org 2 presenting a pid of org 1: admitted, nothing restored, told to resync.
	_, pid2 := rawSession(t, a.addr, "/org/1", hdr("mallory"))
	res := connect(t, c, "c2", b.url("/org/2"), withPID("carol", pid2))
	if res.Recovered {
		t.Fatalf("carol recovered with a pid of another namespace: %+v", res)
	}
	expectResync(t, c, "c2", "recovery failed")
	// An unknown (forged) pid: the same.
	connect(t, c, "c3", b.url("/org/2"), withPID("carol", "forged-pid-0000000000"))
	expectResync(t, c, "c3", "recovery failed")
	// And both are ordinary members of org 2 now.
	b.addRow(2, 7)
	for _, s := range []string{"c2", "c3"} {
		expectRows(t, c, s, row{"personview.addrow", 7})
	}
}
