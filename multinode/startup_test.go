package multinode

import (
	"net/http"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

// downRedis starts a redis-server and stops it: its port is where Redis will be.
func downRedis(t *testing.T) *testenv.Redis {
	t.Helper()
	r := testenv.StartRedis(t)
	r.Stop()
	return r
}

func TestRedisDownAtStartup(t *testing.T) {
	api := members(t, 1)
	r := downRedis(t)
	a := startNode(t, api, "A", r.URL())
	b := startNode(t, api, "B", r.URL())
	c := testenv.StartNode(t)

	// The nodes start and serve, single-node: not ready, but local events flow.
	if code := a.readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("node A /readyz = %d with Redis down, want 503", code)
	}
	if code := b.readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("node B /readyz = %d with Redis down, want 503", code)
	}
	connect(t, c, "a", a.url("/org/1"), once("alice"))
	connect(t, c, "b", b.url("/org/1"), once("alice"))
	a.addRow(1, 1)
	if got := personID(t, waitOnly(t, c, "a", "personview.addrow")); got != 1 {
		t.Fatalf("local socket got person %d, want 1", got)
	}

	// Redis comes up on its port: both nodes become ready, and events cross nodes.
	r.Start()
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	a.addRow(1, 2)
	// Socket b may first get event 1 (queued by A while Redis was down) or a resync.
	ev, err := c.WaitEvent("b", "personview.addrow", waitLong)
	for err == nil && personID(t, ev) == 1 {
		ev, err = c.WaitEvent("b", "personview.addrow", waitLong)
	}
	if err != nil {
		t.Fatalf("socket on node B: %v", err)
	}
	if got := personID(t, ev); got != 2 {
		t.Fatalf("socket on node B got person %d, want 2", got)
	}
	b.addRow(1, 3)
	for _, want := range []int{2, 3} {
		if got := personID(t, waitOnly(t, c, "a", "personview.addrow")); got != want {
			t.Fatalf("socket on node A got person %d, want %d", got, want)
		}
	}
}

// A node that served sockets before it ever reached Redis cannot know what the other
// nodes published meanwhile: when it connects, its sockets must get those events or a
// resync. Here node B reaches Redis (through a forwarder held shut) only after node A
// flushed what it queued during the outage.
func TestNodeStartedDuringOutageGetsQueuedEventsOrResync(t *testing.T) {
	api := members(t, 1)
	r := downRedis(t)
	gate := startForwarder(t, r.Addr())
	gate.Pause()
	a := startNode(t, api, "A", r.URL())
	b := startNode(t, api, "B", "redis://"+gate.Addr()+"/0")
	c := testenv.StartNode(t)
	connect(t, c, "a", a.url("/org/1"), once("alice"))
	connect(t, c, "b", b.url("/org/1"), once("alice"))

	a.addRow(1, 1) // queued by A: Redis is down
	waitOnly(t, c, "a", "personview.addrow")
	r.Start()
	a.waitReadyz(http.StatusOK) // A is connected and has flushed its queue
	gate.Resume()
	b.waitReadyz(http.StatusOK)

	a.addRow(1, 2) // the barrier
	ev, err := c.WaitEvent("b", "personview.addrow", waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if personID(t, ev) == 1 {
		return // delivered late, as promised
	}
	for _, s := range ev.Skipped {
		if s.Event == "resync" {
			return
		}
	}
	t.Fatalf("socket on node B got %v (skipped %v): event 1, published while Redis was down, was lost without a resync", ev, ev.Skipped)
}
