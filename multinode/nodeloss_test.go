package multinode

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// Every way a node can go away — SIGTERM, kill -9, a kill between the upstream's answer
// and the publish — must leave each socket with every event or a resync (issue 20).

// roomTriggers fire view.row.added into room view:{viewId} and personview.deleterow to
// the whole org (the end marker of a stream).
var roomTriggers = []byte(`triggers:
  - event: view.row.added
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
    room: view:{viewId}
  - event: personview.deleterow
    method: DELETE
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
rooms:
  - view:{viewId}
`)

func roomSet(t *testing.T) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("rooms.yaml", roomTriggers)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// subscribe joins socket name to room and fails unless the gateway acked it.
func subscribe(t *testing.T, c *testenv.Node, name, room string) {
	t.Helper()
	raw, err := c.EmitAck(name, waitLong, "subscribe", room)
	if err != nil {
		t.Fatalf("socket %s: subscribe %s: %v", name, room, err)
	}
	var ack struct{ OK bool }
	if len(raw) != 1 || json.Unmarshal(raw[0], &ack) != nil || !ack.OK {
		t.Fatalf("socket %s: subscribe %s answered %s", name, room, raw)
	}
}

// expectRoomRow waits for view.row.added {personId: id} on socket name, nothing before it.
func expectRoomRow(t *testing.T, c *testenv.Node, name string, id int) {
	t.Helper()
	ev := waitOnly(t, c, name, "view.row.added")
	if got := personID(t, ev); got != id {
		t.Fatalf("socket %s: view.row.added personId %d, want %d", name, got, id)
	}
}

// roomPair starts node A as a real process (so it can be killed) with extra flags, node B
// in process, and socket s on A (through a forwarder that will send it to B) subscribed
// to room view:2 with one room event received, so it has an offset to recover from.
func roomPair(t *testing.T, aFlags ...string) (r *testenv.Redis, c *testenv.Node, lb *forwarder, a, b *node, stopA func(syscall.Signal)) {
	t.Helper()
	api := members(t, 1)
	r = testenv.StartRedis(t)
	args := append([]string{"--upstream", api.URL()}, redisFlag(r.URL(), "A")...)
	proc, a := binaryNodeTriggers(t, "A", roomTriggers, append(args, aFlags...)...)
	b = startNodeSet(t, api, "B", nil, roomSet(t), redisFlag(r.URL(), "B")...)
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c = testenv.StartNode(t)
	lb = startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	subscribe(t, c, "s", "view:2")
	a.addRow(1, 1)
	expectRoomRow(t, c, "s", 1)
	exited := make(chan struct{})
	go func() { _, _ = proc.Process.Wait(); close(exited) }()
	stopA = func(sig syscall.Signal) {
		t.Helper()
		lb.SetTarget(b.addr)
		if err := proc.Process.Signal(sig); err != nil {
			t.Fatalf("signal node A: %v", err)
		}
		select {
		case <-exited:
		case <-time.After(waitLong):
			t.Fatalf("node A did not exit after %v", sig)
		}
	}
	return r, c, lb, a, b, stopA
}

// A socket that joined a room and whose node is killed (no disconnect path runs at all)
// recovers on the other node with its room: before, the session saved at connect time —
// without the room — was recovered, and every room event was missed without a resync.
func TestKilledNodeSocketRecoversWithItsRooms(t *testing.T) {
	_, c, _, _, b, stopA := roomPair(t, "--node-lease", "1m") // no "node lost" resync during the test
	stopA(syscall.SIGKILL)
	if rec := reconnected(t, c, "s"); !rec.Recovered {
		t.Fatalf("socket s reconnected to B without recovering: %v", rec)
	}
	b.addRow(1, 2)
	expectRoomRow(t, c, "s", 2)
}

// Same after SIGTERM: the sockets' sessions are saved before the Redis client closes, and
// the node says goodbye (its lease is gone at once, so nobody is told "node lost").
func TestStoppedNodeSocketRecoversWithItsRoomsAndSaysGoodbye(t *testing.T) {
	r, c, _, _, b, stopA := roomPair(t)
	stopA(syscall.SIGTERM)
	if rec := reconnected(t, c, "s"); !rec.Recovered {
		t.Fatalf("socket s reconnected to B without recovering: %v", rec)
	}
	b.addRow(1, 2)
	expectRoomRow(t, c, "s", 2)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rdb.Close()
	leases, err := rdb.ZCard(context.Background(), "syncgate:{sg}:leases").Result()
	if err != nil || leases != 1 {
		t.Fatalf("leases after A's graceful stop: %d (%v), want 1 (B's)", leases, err)
	}
}

// A node killed after the upstream accepted a mutation but before its event reached Redis:
// the event is gone for good, so every socket of every node is told to resync once the
// dead node's lease ends, and a socket of the dead node recovering after that is not told
// it recovered everything.
func TestNodeKilledBeforePublishingMakesEverySocketResync(t *testing.T) {
	api := members(t, 1)
	accepted := make(chan struct{}, 1)
	api.HandleFunc("PUT", "/orgs/1/people/views/2/rows/99", func(w http.ResponseWriter, req *http.Request) {
		accepted <- struct{}{} // the upstream has done the mutation; the answer never leaves
		<-req.Context().Done()
	})
	r := testenv.StartRedis(t)
	args := append([]string{"--upstream", api.URL(), "--node-lease", "1s"}, redisFlag(r.URL(), "A")...)
	proc, a := binaryNodeTriggers(t, "A", roomTriggers, args...)
	b := startNodeSet(t, api, "B", nil, roomSet(t), redisFlag(r.URL(), "B")...)
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	subscribe(t, c, "s", "view:2")
	connect(t, c, "w", b.url("/org/1"), once("alice"))
	subscribe(t, c, "w", "view:2")
	a.addRow(1, 1)
	expectRoomRow(t, c, "s", 1)
	expectRoomRow(t, c, "w", 1)

	go func() { _, _ = a.send("PUT", rowPath(1, 99)) }() // fails when A dies
	select {
	case <-accepted:
	case <-time.After(waitLong):
		t.Fatal("the upstream never saw the PUT")
	}
	lb.Pause() // s stays away until the loss is declared
	lb.SetTarget(b.addr)
	if err := proc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	expectResync(t, c, "w", "node lost")
	// The resync can reach w before B's lease keeper has counted its declaration.
	ra := b.g.Sockets().Adapter().(*fanout.Redis)
	for deadline := time.Now().Add(waitLong); ra.Stats().NodesLost.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ra.Stats().NodesLost.Load(); n != 1 {
		t.Fatalf("node B declared %d nodes lost, want 1", n)
	}
	lb.Resume()
	rec := reconnected(t, c, "s")
	if rec.Recovered {
		t.Fatalf("socket s recovered after node A was lost with an unpublished event: %v", rec)
	}
	expectResync(t, c, "s", "recovery failed")
}

// After Redis lost its data, each socket gets one resync ("redis reconnected"), not a
// second one mislabelled "events lost" when the bus sequence starts over.
func TestRedisRestartResyncsOnce(t *testing.T) {
	r, a, b := twoNodes(t, members(t, 1))
	c := socketOnEach(t, a, b)
	r.Kill()
	r.Start()
	expectResync(t, c, "sa", "redis reconnected")
	expectResync(t, c, "sb", "redis reconnected")
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	a.addRow(1, 2)
	expectRows(t, c, "sa", row{"personview.addrow", 2})
	expectRows(t, c, "sb", row{"personview.addrow", 2})
}

// A node cut from Redis by a network stall (packets held, nothing refused) longer than its
// lease: the other nodes resync their sockets when the lease ends, and get its events late
// once the stall ends; its own sockets get what the others published, or a resync.
func TestNodeStalledFromRedisLosesNothingSilently(t *testing.T) {
	api := members(t, 1)
	r := testenv.StartRedis(t)
	link := startForwarder(t, r.Addr()) // node A's network path to Redis
	a := startNode(t, api, "A", "redis://"+link.Addr()+"/0", "--node-lease", "1s")
	b := startNode(t, api, "B", r.URL())
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c := socketOnEach(t, a, b)

	link.Stall()
	a.addRow(1, 2) // Redis does not answer: delivered on A, queued for the others
	expectRows(t, c, "sa", row{"personview.addrow", 2})
	expectResync(t, c, "sb", "node lost") // A's lease ended
	link.Unstall()
	expectRows(t, c, "sb", row{"personview.addrow", 2}) // late, not never
	b.addRow(1, 3)
	expectRows(t, c, "sb", row{"personview.addrow", 3})
	ev, err := c.WaitEvent("sa", "personview.addrow", waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if got := personID(t, ev); got != 3 {
		t.Fatalf("socket sa: personview.addrow %d, want 3", got)
	}
	for _, sk := range ev.Skipped {
		if sk.Event != "resync" {
			t.Fatalf("socket sa received %v before row 3; only resyncs may come first", ev.Skipped)
		}
	}
}

// socketOnEach connects socket sa to node a and sb to node b (org 1, no reconnection) and
// returns once both got a first event, row 1 through a.
func socketOnEach(t *testing.T, a, b *node) *testenv.Node {
	t.Helper()
	c := testenv.StartNode(t)
	connect(t, c, "sa", a.url("/org/1"), once("alice"))
	connect(t, c, "sb", b.url("/org/1"), once("alice"))
	a.addRow(1, 1)
	expectRows(t, c, "sa", row{"personview.addrow", 1})
	expectRows(t, c, "sb", row{"personview.addrow", 1})
	return c
}
