package fanout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/namespaces/adaptertest"
)

// newRedisAdapter returns an initialised RedisAdapter on url (client settings as in
// production: ParseRedisURL), ready when wantReady. Its hooks are released and it is closed
// when the test ends.
func newRedisAdapter(t *testing.T, url string, o fanout.RedisOptions, hooks *adaptertest.HookLog, wantReady bool) *fanout.Redis {
	t.Helper()
	rdb, err := fanout.ParseRedisURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.Client = rdb
	o.Logger = slog.New(slog.DiscardHandler)
	a := fanout.NewRedis(o)
	a.Init(hooks.Hooks())
	t.Cleanup(func() {
		hooks.Release()
		done := make(chan struct{})
		go func() { _ = a.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("RedisAdapter.Close did not return within 10s")
		}
	})
	if wantReady {
		waitReady(t, a, true)
	}
	return a
}

// waitReady polls a.Ready() until it is want, for at most 20s.
func waitReady(t *testing.T, a namespaces.Adapter, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for a.Ready() != want {
		if time.Now().After(deadline) {
			t.Fatalf("adapter Ready() still %v after 20s", !want)
		}
		time.Sleep(10 * time.Millisecond) // polling a status: nothing to await
	}
}

// redisAdmin is a plain client of r for the test's own commands.
func redisAdmin(t *testing.T, r *testenv.Redis) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func redisDo(t *testing.T, rdb *redis.Client, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Do(ctx, args...).Err(); err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
}

// aclNode creates a Redis user for one node and returns its URL. Turning the user off and
// killing its connections cuts that node from Redis while the others and the data stay:
// a network partition.
func aclNode(t *testing.T, r *testenv.Redis, name string) string {
	t.Helper()
	redisDo(t, redisAdmin(t, r), "ACL", "SETUSER", name, "on", ">pw", "~*", "&*", "+@all")
	return fmt.Sprintf("redis://%s:pw@%s/0", name, r.Addr())
}

func partition(t *testing.T, r *testenv.Redis, name string) {
	t.Helper()
	rdb := redisAdmin(t, r)
	redisDo(t, rdb, "ACL", "SETUSER", name, "off")
	redisDo(t, rdb, "CLIENT", "KILL", "USER", name)
}

func heal(t *testing.T, r *testenv.Redis, name string) {
	t.Helper()
	redisDo(t, redisAdmin(t, r), "ACL", "SETUSER", name, "on")
}

func TestRedisAdapterBehaviours(t *testing.T) {
	adaptertest.Behaviours(t, func(t *testing.T, window time.Duration, perNsp int, hooks *adaptertest.HookLog) namespaces.Adapter {
		r := testenv.StartRedis(t)
		return newRedisAdapter(t, r.URL(), fanout.RedisOptions{RecoveryWindow: window, PerNamespace: int64(perNsp)}, hooks, true)
	})
}

func TestRedisAdapterFansOutToOtherNodesOnceInOrder(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)
	x1 := &namespaces.Broadcast{Nsp: "/org/1", Event: "x1", Args: []any{map[string]any{"personId": 3}}, Rooms: []string{"view:2"}}
	if err := a.Publish(x1); err != nil {
		t.Fatal(err)
	}
	x2 := adaptertest.PublishTo(t, a, "/org/2", "x2")
	hb.WaitFor(t, "x1 and x2 on node B", func(got []*namespaces.Broadcast, _ []string) bool { return len(got) >= 2 })
	got := hb.Delivered()
	if got[0].Offset != x1.Offset || adaptertest.WireOf(got[0]) != adaptertest.WireOf(x1) || got[1].Offset != x2.Offset || got[1].Nsp != "/org/2" {
		t.Fatalf("node B got %s %s / %s %s, want %s %s / %s",
			got[0].Offset, adaptertest.WireOf(got[0]), got[1].Offset, got[1].Nsp, x1.Offset, adaptertest.WireOf(x1), x2.Offset)
	}
	// B's publish reaches both nodes after x1, in bus order (namespaces are kept in order each,
	// not against each other: see TestRedisAdapterBusWorkersKeepEachNamespaceInOrder): every
	// node delivers its own publishes from the bus too, exactly once.
	adaptertest.PublishTo(t, b, "/org/1", "z")
	ha.WaitFor(t, "z on node A", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "z") })
	hb.WaitFor(t, "z on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "z") })
	for name, h := range map[string]*adaptertest.HookLog{"A": ha, "B": hb} {
		if seq := h.Sequence(); len(seq) != 3 || !slices.Equal(slices.DeleteFunc(seq, func(e string) bool { return e == "x2" }), []string{"x1", "z"}) {
			t.Fatalf("node %s delivered %q, want x1, x2 and z once each, x1 before z", name, h.Sequence())
		}
	}
}

// TestRedisAdapterBusWorkersKeepEachNamespaceInOrder: with several bus workers, the
// broadcasts of one namespace reach it in bus order, and a resync marker for every
// namespace comes after everything read before it and before everything read after it.
func TestRedisAdapterBusWorkersKeepEachNamespaceInOrder(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{BusWorkers: 1}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{BusWorkers: 4}, hb, true)
	const nsps, each = 24, 20
	publishRound := func(from, to int) {
		for i := from; i < to; i++ {
			for n := range nsps {
				adaptertest.PublishTo(t, a, fmt.Sprintf("/org/%d", n), fmt.Sprintf("e%d.%d", n, i))
			}
		}
	}
	// Node B's deliveries wait until it has read the marker: its workers then hold the first
	// round, and a marker handled without waiting for them would overtake it.
	entered := hb.Hold()
	publishRound(0, each/2)
	// What a lost node's marker looks like on the bus (the lease script writes it).
	redisDo(t, redisAdmin(t, r), "XADD", "syncgate:{sg}:bus", "*", "p", `{"nsp":"*","event":"resync","resync":true}`, "n", "test")
	publishRound(each/2, each)
	<-entered
	for deadline := time.Now().Add(20 * time.Second); b.Stats().BusRead.Load() < nsps*each/2+1; {
		if time.Now().After(deadline) {
			t.Fatalf("node B read %d bus entries, want the marker's (%d)", b.Stats().BusRead.Load(), nsps*each/2+1)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter: nothing to await
	}
	hb.Release()
	hb.WaitFor(t, "every broadcast on node B", func(got []*namespaces.Broadcast, _ []string) bool { return len(got) == nsps*each })
	seq := hb.Sequence()
	marker := slices.Index(seq, "resync:")
	if marker < 0 || slices.Contains(seq[marker+1:], "resync:") {
		t.Fatalf("node B: want exactly one resync of every namespace, got %q", seq)
	}
	next := make([]int, nsps)
	for pos, e := range seq {
		if pos == marker {
			continue
		}
		var n, i int
		if _, err := fmt.Sscanf(e, "e%d.%d", &n, &i); err != nil {
			t.Fatalf("node B delivered %q", e)
		}
		if i != next[n] {
			t.Fatalf("namespace %d: got #%d, want #%d (namespace out of order)", n, i, next[n])
		}
		next[n]++
		if (pos < marker) != (i < each/2) {
			t.Fatalf("namespace %d #%d at %d, the resync at %d: the resync must separate the rounds", n, i, pos, marker)
		}
	}
}

func TestRedisAdapterSessionSavedOnOneNodeIsTakenOnAnotherOnce(t *testing.T) {
	r := testenv.StartRedis(t)
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	ctx := context.Background()
	if err := a.SaveSession(ctx, namespaces.SessionState{PID: "p", SID: "s", Nsp: "/org/1", Rooms: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	if st, err := b.TakeSession(ctx, "p"); err != nil || st == nil || st.SID != "s" || !slices.Equal(st.Rooms, []string{"r"}) {
		t.Fatalf("TakeSession on node B = %+v, %v", st, err)
	}
	if st, err := a.TakeSession(ctx, "p"); err != nil || st != nil {
		t.Fatalf("TakeSession on node A after B took it = %+v, %v; want nil", st, err)
	}
}

func TestRedisAdapterPartitionedNodeCatchesUpWithoutResync(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, aclNode(t, r, "nodeA"), fanout.RedisOptions{}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)

	partition(t, r, "nodeA")
	waitReady(t, a, false)
	for i := range 5 {
		adaptertest.PublishTo(t, b, "/org/1", fmt.Sprintf("e%d", i))
	}
	heal(t, r, "nodeA")
	waitReady(t, a, true)
	adaptertest.PublishTo(t, b, "/org/1", "after")
	ha.WaitFor(t, "the events of the partition", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "after") })
	// Redis kept the bus: A resumes where it stopped, with no resync.
	if seq := ha.Sequence(); !slices.Equal(seq, []string{"e0", "e1", "e2", "e3", "e4", "after"}) {
		t.Fatalf("node A after the partition: %q, want e0..e4 and after, no resync", seq)
	}
}

func TestRedisAdapterQueuesDuringPartitionAndMarksOverflow(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, aclNode(t, r, "nodeA"), fanout.RedisOptions{MaxPending: 2}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)

	partition(t, r, "nodeA")
	waitReady(t, a, false)
	for i := range 5 {
		if p := adaptertest.PublishTo(t, a, "/org/1", fmt.Sprintf("p%d", i)); p.Offset != "" {
			t.Fatalf("publish %d during the partition has offset %q", i, p.Offset)
		}
	}
	// Local sockets got all five at once.
	if seq := ha.Sequence(); !slices.Equal(seq, []string{"p0", "p1", "p2", "p3", "p4"}) {
		t.Fatalf("node A delivered %q during the partition, want p0..p4", seq)
	}
	heal(t, r, "nodeA")
	waitReady(t, a, true)
	after := adaptertest.PublishTo(t, a, "/org/1", "after")
	hb.WaitFor(t, "the queue on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "after") })
	// Two were queued and come late, in order; the three that did not fit are a resync.
	if seq := hb.Sequence(); !slices.Equal(seq, []string{"p0", "p1", "resync:/org/1", "after"}) {
		t.Fatalf("node B got %q, want p0, p1, resync:/org/1, after", seq)
	}
	// The log says so too: recovering from p0 is incomplete, from "after" complete.
	p0 := hb.Delivered()[0]
	if _, complete, _ := b.Missed(context.Background(), "/org/1", p0.Offset); complete {
		t.Fatal("Missed from p0 is complete, though p2..p4 were never logged")
	}
	if _, complete, err := b.Missed(context.Background(), "/org/1", after.Offset); !complete || err != nil {
		t.Fatalf("Missed from the newest offset: complete %v, %v", complete, err)
	}
}

func TestRedisAdapterRedisDownDeliversLocallyThenLateOrResync(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)
	r.Stop()
	waitReady(t, a, false)
	adaptertest.PublishTo(t, a, "/org/1", "down")
	if !adaptertest.HasEvent(ha.Delivered(), "down") {
		t.Fatal("a publish with Redis down was not delivered to the local sockets at once")
	}
	r.Start()
	waitReady(t, a, true)
	waitReady(t, b, true)
	adaptertest.PublishTo(t, a, "/org/1", "up")
	hb.WaitFor(t, "up on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "up") })
	if !adaptertest.HasEvent(hb.Delivered(), "down") && len(hb.Resynced()) == 0 {
		t.Fatalf("node B got %q: the event published while Redis was down neither arrived nor was covered by a resync", hb.Sequence())
	}
}

func TestRedisAdapterMissedAfterRedisRestartIsIncomplete(t *testing.T) {
	r := testenv.StartRedis(t)
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	x := adaptertest.PublishTo(t, a, "/org/1", "x")
	r.Stop()
	waitReady(t, a, false)
	r.Start() // empty: no persistence
	waitReady(t, a, true)
	if _, complete, _ := a.Missed(context.Background(), "/org/1", x.Offset); complete {
		t.Fatal("Missed from an offset of the Redis that died is complete: its log is gone")
	}
}

// A client may reconnect the moment Redis is back, before this node's bus reader noticed
// the restart (here: it is busy delivering). The log it asks about is gone; saying
// "complete, nothing missed" would be a silent loss.
func TestRedisAdapterMissedRightAfterRedisRestartIsIncomplete(t *testing.T) {
	r := testenv.StartRedis(t)
	ha := &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	x := adaptertest.PublishTo(t, a, "/org/1", "x")
	busy := ha.Hold()
	adaptertest.PublishTo(t, b, "/org/2", "y")
	<-busy // A's reader is delivering y
	r.Kill()
	r.Start()
	missed, complete, err := a.Missed(context.Background(), "/org/1", x.Offset)
	ha.Release()
	if complete && err == nil {
		t.Fatalf("Missed from an offset of the Redis that died = %s, complete: the log is gone, recovery must fail", adaptertest.EventNames(missed))
	}
}

// A node that was behind on the bus when Redis died, and reads on once it is back, must
// resync its sockets: what it had not read is gone. Here Redis lived less than 2s.
func TestRedisAdapterQuickRedisRestartLosesNothingSilently(t *testing.T) {
	r := testenv.StartRedis(t)
	hb := &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, &adaptertest.HookLog{}, true)
	newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)
	busy := hb.Hold()
	adaptertest.PublishTo(t, a, "/org/1", "x1")
	<-busy // B is delivering x1
	if x2 := adaptertest.PublishTo(t, a, "/org/1", "x2"); x2.Offset == "" {
		t.Fatal("x2 was not written to Redis")
	}
	r.Kill()
	r.Start()
	adaptertest.PublishTo(t, a, "/org/1", "x3")
	waitReady(t, a, true) // x3 is on the new Redis's bus (nothing is queued)
	hb.Release()
	hb.WaitFor(t, "x3 on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "x3") })
	if !adaptertest.HasEvent(hb.Delivered(), "x2") && len(hb.Resynced()) == 0 {
		t.Fatalf("node B got %q: x2, unread when Redis died, was lost without a resync", hb.Sequence())
	}
}

// A reader that falls behind the bus's length finds the entries after its position gone:
// its sockets must resync, not skip them.
func TestRedisAdapterReaderBehindTrimmedBusResyncs(t *testing.T) {
	r := testenv.StartRedis(t)
	hb := &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{BusLength: 10}, &adaptertest.HookLog{}, true)
	newRedisAdapter(t, r.URL(), fanout.RedisOptions{BusLength: 10}, hb, true)
	busy := hb.Hold()
	adaptertest.PublishTo(t, a, "/org/1", "e0")
	<-busy
	for i := 1; i <= 300; i++ {
		adaptertest.PublishTo(t, a, "/org/1", fmt.Sprintf("e%d", i))
	}
	hb.Release()
	hb.WaitFor(t, "e300 on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "e300") })
	if n := len(hb.Delivered()); n != 301 && len(hb.Resynced()) == 0 {
		t.Fatalf("node B delivered %d of 301 broadcasts and no resync: the trimmed ones were skipped silently", n)
	}
}

// waitPSubscribed waits until n connections of r listen to emitter channels: readiness.
func waitPSubscribed(t *testing.T, r *testenv.Redis, n int) {
	t.Helper()
	rdb := redisAdmin(t, r)
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := rdb.ClientList(context.Background()).Result()
		got := strings.Count(list, " psub=1 ")
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pattern subscribers after 20s (%v), want %d", got, err, n)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis's state: nothing to await
	}
}

// emitterMessage encodes a reference redis-adapter broadcast: [uid, packet, opts].
func emitterMessage(t *testing.T, nsp string, typ int, data []any, rooms []string) string {
	t.Helper()
	b, err := msgpack.Marshal([]any{"emitter",
		map[string]any{"type": typ, "data": data, "nsp": nsp},
		map[string]any{"rooms": rooms, "except": []string{}, "flags": map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Anyone who can PUBLISH on Redis can feed the emitter listener: what is not a plain event
// for the namespace of its channel must be dropped, and the listener must live on.
func TestRedisAdapterEmitterListenerDropsMalformedMessages(t *testing.T) {
	r := testenv.StartRedis(t)
	hooks := &adaptertest.HookLog{}
	newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hooks, true)
	waitPSubscribed(t, r, 1)
	rdb := redisAdmin(t, r)
	ctx := context.Background()
	ev := []any{"bad", map[string]any{"personId": 1}}
	for _, m := range []struct{ why, channel, msg string }{
		{"not msgpack", "socket.io#/org/1#", "\xc1garbage"},
		{"not an array", "socket.io#/org/1#", string(mustBytes(msgpack.Marshal(map[string]any{"a": 1})))},
		{"a binary event (type 5)", "socket.io#/org/1#", emitterMessage(t, "/org/1", 5, ev, nil)},
		{"a CONNECT (type 0)", "socket.io#/org/1#", emitterMessage(t, "/org/1", 0, ev, nil)},
		{"no event name", "socket.io#/org/1#", emitterMessage(t, "/org/1", 2, []any{}, nil)},
		{"a numeric event name", "socket.io#/org/1#", emitterMessage(t, "/org/1", 2, []any{42}, nil)},
		// A message naming another namespace than its channel's (/org/10 is not /org/1).
		{"namespace of another channel", "socket.io#/org/2#", emitterMessage(t, "/org/1", 2, ev, nil)},
		{"namespace with a longer ID", "socket.io#/org/1#", emitterMessage(t, "/org/10", 2, ev, nil)},
	} {
		if err := rdb.Publish(ctx, m.channel, m.msg).Err(); err != nil {
			t.Fatalf("%s: PUBLISH: %v", m.why, err)
		}
	}
	good := emitterMessage(t, "/org/1", 2, []any{"person.updated", map[string]any{"personId": 3}}, []string{"view:2"})
	if err := rdb.Publish(ctx, "socket.io#/org/1#view:2#", good).Err(); err != nil {
		t.Fatal(err)
	}
	hooks.WaitFor(t, "the well-formed message", func(got []*namespaces.Broadcast, _ []string) bool { return len(got) > 0 })
	got := hooks.Delivered()
	args, _ := json.Marshal(got[0].Args)
	if len(got) != 1 || got[0].Nsp != "/org/1" || got[0].Event != "person.updated" || string(args) != `[{"personId":3}]` ||
		!slices.Equal(got[0].Rooms, []string{"view:2"}) || got[0].Offset != "" {
		t.Fatalf("delivered %s (first: %+v, args %s); want only person.updated to /org/1 room view:2, args [{\"personId\":3}], no offset",
			adaptertest.EventNames(got), got[0], args)
	}
}

func mustBytes(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRedisAdapterRefusesBinaryArguments(t *testing.T) {
	r := testenv.StartRedis(t)
	hooks := &adaptertest.HookLog{}
	a := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hooks, true)
	if err := a.Publish(&namespaces.Broadcast{Nsp: "/org/1", Event: "bin", Args: []any{[]byte{1, 2}}}); err == nil {
		t.Fatal("a broadcast with binary arguments was accepted")
	}
	if got := hooks.Delivered(); len(got) != 0 {
		t.Fatalf("a refused broadcast was delivered: %s", adaptertest.EventNames(got))
	}
}

func TestRedisAdapterClosesWhileRedisIsDown(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb, err := fanout.ParseRedisURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	a := fanout.NewRedis(fanout.RedisOptions{Client: rdb, Logger: slog.New(slog.DiscardHandler)})
	a.Init((&adaptertest.HookLog{}).Hooks())
	waitReady(t, a, true)
	r.Stop()
	waitReady(t, a, false)
	done := make(chan struct{})
	go func() { _ = a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10s with Redis down")
	}
}

// TestRedisAdapterFallbackDeliversUnreadFirstWithoutOffsets: when a publish has to be
// delivered locally (this node cut off from Redis), this node's earlier publishes that Redis
// took but the bus reader had not delivered yet go first, in order, once each, and without
// their offsets: they may overtake another node's earlier entry, which a socket would
// otherwise drop as old when the reader delivers it later (an event lost, silently).
func TestRedisAdapterFallbackDeliversUnreadFirstWithoutOffsets(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, aclNode(t, r, "nodeA"), fanout.RedisOptions{BusWorkers: 1}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)

	entered := ha.Hold() // node A's reader gets stuck delivering the gate
	adaptertest.PublishTo(t, b, "/org/9", "gate")
	<-entered
	adaptertest.PublishTo(t, b, "/org/1", "fromB")
	adaptertest.PublishTo(t, a, "/org/1", "fromA") // on the bus, not read back by A yet
	partition(t, r, "nodeA")
	done := make(chan struct{})
	go func() { // its fallback waits for the stuck delivery to finish
		defer close(done)
		if p := adaptertest.PublishTo(t, a, "/org/1", "fromA2"); p.Offset != "" {
			t.Errorf("fromA2 published while cut off has offset %q", p.Offset)
		}
	}()
	ha.Release()
	<-done
	heal(t, r, "nodeA")
	waitReady(t, a, true)
	adaptertest.PublishTo(t, b, "/org/1", "after")
	ha.WaitFor(t, "after on node A", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "after") })

	var seq []string
	offsets := map[string]string{}
	for _, d := range ha.Delivered() {
		if d.Nsp == "/org/1" {
			seq = append(seq, d.Event)
			offsets[d.Event] = d.Offset
		}
	}
	slices.Sort(seq)
	if !slices.Equal(seq, []string{"after", "fromA", "fromA2", "fromB"}) {
		t.Fatalf("node A delivered %q to /org/1, want after, fromA, fromA2 and fromB once each", seq)
	}
	if offsets["fromA"] != "" || offsets["fromA2"] != "" {
		t.Fatalf("the fallback delivered fromA with offset %q and fromA2 with %q, want none", offsets["fromA"], offsets["fromA2"])
	}
	if offsets["fromB"] == "" {
		t.Fatal("fromB, read from the bus, has no offset")
	}
	order := ha.Sequence()
	if slices.Index(order, "fromA") > slices.Index(order, "fromA2") {
		t.Fatalf("node A delivered %q: fromA after fromA2", order)
	}
}

// TestRedisAdapterUnreadForgottenWhenRedisLosesItsData: an own publish that Redis took and
// then lost (restarted empty) before this node read it back is covered by the resync; a
// later fallback must not deliver it, stale, after newer events.
func TestRedisAdapterUnreadForgottenWhenRedisLosesItsData(t *testing.T) {
	r := testenv.StartRedis(t)
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a := newRedisAdapter(t, aclNode(t, r, "nodeA"), fanout.RedisOptions{BusWorkers: 1}, ha, true)
	b := newRedisAdapter(t, r.URL(), fanout.RedisOptions{}, hb, true)

	entered := ha.Hold() // node A's reader gets stuck delivering the gate
	adaptertest.PublishTo(t, b, "/org/9", "gate")
	<-entered
	adaptertest.PublishTo(t, a, "/org/1", "stale") // taken by Redis, not read back by A
	r.Stop()
	r.Start() // empty: no persistence
	aclNode(t, r, "nodeA")
	ha.Release()
	waitReady(t, a, true)
	ha.WaitFor(t, "node A's resync", func(_ []*namespaces.Broadcast, res []string) bool { return len(res) > 0 })
	partition(t, r, "nodeA")
	waitReady(t, a, false)
	adaptertest.PublishTo(t, a, "/org/1", "later") // delivered locally: nothing may go before it
	if adaptertest.HasEvent(ha.Delivered(), "stale") {
		t.Fatalf("node A delivered %q: the event lost with Redis's data came after the resync", ha.Sequence())
	}
	if !adaptertest.HasEvent(ha.Delivered(), "later") {
		t.Fatalf("node A delivered %q, want later delivered locally at once", ha.Sequence())
	}
}

// TestRedisAdapterSentinelFailoverResyncsAndCarriesOn: the primary dies and Sentinel promotes
// its replica. The replica has the data set (same epoch), but asynchronous replication may
// have lost writes the primary acknowledged, without a trace on the bus: every node resyncs
// (another server process), recoveries from before are not complete, and the bus carries on.
func TestRedisAdapterSentinelFailoverResyncsAndCarriesOn(t *testing.T) {
	primary := testenv.StartRedis(t)
	replica := testenv.StartRedisReplica(t, primary)
	s := testenv.StartRedisSentinel(t, "sg", primary)
	newNode := func(h *adaptertest.HookLog) *fanout.Redis {
		rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "sg", SentinelAddrs: []string{s.Addr()},
			PoolSize: 4, MaxRetries: 1, DialTimeout: 2 * time.Second})
		a := fanout.NewRedis(fanout.RedisOptions{Client: rdb, Logger: slog.New(slog.DiscardHandler)})
		a.Init(h.Hooks())
		t.Cleanup(func() { h.Release(); _ = a.Close() })
		waitReady(t, a, true)
		return a
	}
	ha, hb := &adaptertest.HookLog{}, &adaptertest.HookLog{}
	a, b := newNode(ha), newNode(hb)
	before := adaptertest.PublishTo(t, a, "/org/1", "before")
	hb.WaitFor(t, "before on node B", func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "before") })

	primary.Kill()
	s.WaitMaster(t, "sg", replica.Port())
	waitReady(t, a, true)
	waitReady(t, b, true)
	adaptertest.PublishTo(t, a, "/org/1", "after")
	for name, h := range map[string]*adaptertest.HookLog{"A": ha, "B": hb} {
		h.WaitFor(t, "after on node "+name, func(got []*namespaces.Broadcast, _ []string) bool { return adaptertest.HasEvent(got, "after") })
		seq := h.Sequence()
		if r, e := slices.Index(seq, "resync:"), slices.Index(seq, "after"); r < 0 || r > e {
			t.Fatalf("node %s delivered %q: want a resync of every namespace before after", name, seq)
		}
		if n := len(slices.DeleteFunc(slices.Clone(seq), func(e string) bool { return e != "before" })); n != 1 {
			t.Fatalf("node %s delivered before %d times", name, n)
		}
	}
	if _, complete, err := b.Missed(context.Background(), "/org/1", before.Offset); complete || err != nil {
		t.Fatalf("recovery from before the failover: complete %v, %v; want incomplete", complete, err)
	}
}
