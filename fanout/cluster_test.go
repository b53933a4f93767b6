package fanout_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
)

// quietRedis drops go-redis's own log lines (dial failures while a master is down, which
// these tests cause on purpose).
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

const waitLong = 20 * time.Second

var discard = slog.New(slog.DiscardHandler)

// recorder is a node's AdapterHooks: what its sockets would have been sent.
type recorder struct {
	mu      sync.Mutex
	got     map[string][]*namespaces.Broadcast // by namespace
	resyncs map[string]int                     // by namespace ("" = all)
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{got: map[string][]*namespaces.Broadcast{}, resyncs: map[string]int{}, changed: make(chan struct{})}
}

func (r *recorder) hooks() namespaces.AdapterHooks {
	return namespaces.AdapterHooks{
		DeliverLocal: func(b *namespaces.Broadcast) int {
			r.record(func() { r.got[b.Nsp] = append(r.got[b.Nsp], b) })
			return 1
		},
		Resync: func(nsp, _ string) { r.record(func() { r.resyncs[nsp]++ }) },
	}
}

func (r *recorder) record(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
	close(r.changed)
	r.changed = make(chan struct{})
}

// events returns the event names delivered for nsp, in order.
func (r *recorder) events(nsp string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.got[nsp]))
	for _, b := range r.got[nsp] {
		out = append(out, b.Event)
	}
	return out
}

func (r *recorder) resynced(nsp string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resyncs[nsp] + r.resyncs[""]
}

// waitFor waits until cond holds (checked after every delivery or resync), for waitLong.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitLong)
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond): // conditions on counters outside the recorder
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", waitLong, what)
		}
	}
}

// newEngine returns an initialised engine on the cluster, closed when the test ends.
func newEngine(t *testing.T, c *testenv.RedisCluster, o fanout.ClusterOptions) (*fanout.Cluster, *recorder) {
	t.Helper()
	rdb, err := fanout.NewClusterClient(c.Seeds(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	o.Client = rdb
	o.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("FANOUT_TEST_LOG") != "" { // FANOUT_TEST_LOG=1 go test -v: the engines' logs, debug level
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.Linger == 0 {
		o.Linger = 200 * time.Millisecond
	}
	a := fanout.NewCluster(o)
	rec := newRecorder()
	a.Init(rec.hooks())
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { _ = a.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("Cluster.Close did not return within 15s")
		}
	})
	return a, rec
}

func publish(t *testing.T, a *fanout.Cluster, nsp, event string) *namespaces.Broadcast {
	t.Helper()
	b := &namespaces.Broadcast{Nsp: nsp, Event: event, Args: []any{map[string]any{"id": event}}}
	if err := a.Publish(b); err != nil {
		t.Fatalf("publish %s %s: %v", nsp, event, err)
	}
	return b
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func org(i int) string { return "/org/" + strconv.Itoa(i) }

// Three nodes, 30 orgs, each node with sockets in a third of them plus a shared one: every
// node gets exactly the events of its orgs, each org's in publish order, whichever node
// published them, and reads none of the others from Redis.
func TestClusterCrossNodeDeliveryManyOrgsIsolated(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	const orgs, perOrg = 30, 8
	var nodes []*fanout.Cluster
	var recs []*recorder
	for range 3 {
		a, r := newEngine(t, c, fanout.ClusterOptions{})
		nodes, recs = append(nodes, a), append(recs, r)
	}
	interest := func(n, o int) bool { return o == 0 || o%3 == n }
	for o := range orgs {
		for n, a := range nodes {
			if interest(n, o) {
				a.Subscribe(org(o))
			}
		}
	}
	for i := range perOrg {
		for o := range orgs {
			publish(t, nodes[(o+i)%3], org(o), fmt.Sprintf("e%d", i))
		}
	}
	for n, r := range recs {
		for o := range orgs {
			if !interest(n, o) {
				continue
			}
			r.waitFor(t, fmt.Sprintf("node %d: the events of %s", n, org(o)), func() bool { return len(r.events(org(o))) >= perOrg })
		}
	}
	wantReceived := 0
	for n, r := range recs {
		got := 0
		for o := range orgs {
			ev := r.events(org(o))
			if !interest(n, o) {
				if len(ev) != 0 {
					t.Errorf("node %d got %d events of %s, where it has no socket", n, len(ev), org(o))
				}
				continue
			}
			got += len(ev)
			if want := seq("e", perOrg); !equal(ev, want) {
				t.Errorf("node %d, %s: got %v, want %v", n, org(o), ev, want)
			}
			if k := r.resynced(org(o)); k != 0 {
				t.Errorf("node %d, %s: %d resyncs, want none", n, org(o), k)
			}
		}
		if wantReceived = got; nodes[n].Stats().Received.Load() != int64(got) {
			t.Errorf("node %d read %d broadcasts from Redis, want %d (its orgs' only)", n, nodes[n].Stats().Received.Load(), got)
		}
	}
	if wantReceived == orgs*perOrg {
		t.Fatalf("test set-up: a node is interested in every org")
	}
}

// A node whose sockets left an org stops reading it after the linger: the events published
// meanwhile are not read from Redis at all, and its subscription count goes back to zero.
func TestClusterInterestNoSocketsReadsNothing(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{Linger: 300 * time.Millisecond})
	const nsp = "/org/7"
	for i := range 20 {
		publish(t, a, nsp, "before"+strconv.Itoa(i))
	}
	b.Subscribe(nsp)
	if got := b.Stats().Subscriptions.Load(); got != 1 {
		t.Fatalf("subscriptions after a join = %d, want 1", got)
	}
	publish(t, a, nsp, "live")
	rb.waitFor(t, "the live event", func() bool { return len(rb.events(nsp)) == 1 })
	if ev := rb.events(nsp); ev[0] != "live" {
		t.Fatalf("a node that joined got %v: want only what was published after the join", ev)
	}
	b.Unsubscribe(nsp)
	rb.waitFor(t, "the linger to end", func() bool { return b.Stats().Subscriptions.Load() == 0 })
	before := b.Stats().Received.Load()
	for i := range 50 {
		publish(t, a, nsp, "after"+strconv.Itoa(i))
	}
	publish(t, a, "/org/8", "other") // another org entirely
	// The events are in Redis (A can read them back) but B never read them.
	if missed, complete, err := a.Missed(context.Background(), nsp, mustOffset(t, publish(t, a, nsp, "mark"))); err != nil || !complete || len(missed) != 0 {
		t.Fatalf("Missed after the newest = %d, %v, %v", len(missed), complete, err)
	}
	b.Subscribe(nsp) // a round trip on B's subscription connection, after every publish above
	b.Unsubscribe(nsp)
	if got := b.Stats().Received.Load(); got != before {
		t.Fatalf("node without sockets in %s read %d of its broadcasts from Redis, want 0", nsp, got-before)
	}
	if ev := rb.events(nsp); len(ev) != 1 {
		t.Fatalf("node without sockets delivered %v", ev)
	}
}

func mustOffset(t *testing.T, b *namespaces.Broadcast) string {
	t.Helper()
	if b.Offset == "" {
		t.Fatal("broadcast published without an offset")
	}
	return b.Offset
}

// A socket joins while another node publishes to its org non-stop: once Subscribe has
// returned (before the CONNECT answer), every event published from then on arrives, in
// order, with no resync.
func TestClusterJoinDuringPublishRace(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	for round := range 5 {
		b, rb := newEngine(t, c, fanout.ClusterOptions{})
		nsp := "/org/race" + strconv.Itoa(round)
		var mu sync.Mutex
		var published []string
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := "e" + strconv.Itoa(i)
				if err := a.Publish(&namespaces.Broadcast{Nsp: nsp, Event: ev}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				published = append(published, ev)
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(round*3) * time.Millisecond) // joins land at different points of the stream
		b.Subscribe(nsp)
		mu.Lock()
		// Every event published after Subscribe returned must arrive; the one publish that
		// may be in flight now is concurrent with the join, so it is not counted.
		from := min(len(published)+1, 5000)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // let events flow past the join
		close(stop)
		<-done
		mu.Lock()
		want := published[from:]
		all := published
		mu.Unlock()
		last := all[len(all)-1]
		rb.waitFor(t, "the last event", func() bool {
			ev := rb.events(nsp)
			return len(ev) > 0 && ev[len(ev)-1] == last
		})
		got := rb.events(nsp)
		// What arrived is a contiguous run of the stream ending with its last event, and it
		// covers everything published after Subscribe returned.
		start := len(all) - len(got)
		if start < 0 || !equal(got, all[start:]) || len(got) < len(want) {
			t.Fatalf("round %d: got %d events (first %v), want a contiguous tail of the %d published covering the last %d",
				round, len(got), got[:min(3, len(got))], len(all), len(want))
		}
		if k := rb.resynced(nsp); k != 0 {
			t.Fatalf("round %d: %d resyncs, want none", round, k)
		}
	}
}

// A live message that never reached a subscriber (written to the log, but not published
// on the channel) is found by the next message's "previous offset" and read from the log;
// when the log no longer holds the subscriber's position, the namespace resyncs instead.
func TestClusterGapCaughtUpFromLogOrResync(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{})
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	const nsp = "/org/gap"
	b.Subscribe(nsp)
	p1 := publish(t, a, nsp, "one")
	rb.waitFor(t, "one", func() bool { return len(rb.events(nsp)) == 1 })

	// "two" is logged but its live message is lost.
	logKey, lastKey := keysOf(t, admin, nsp)
	ctx := context.Background()
	id, err := admin.XAdd(ctx, &redis.XAddArgs{Stream: logKey, Values: []any{"p", `{"nsp":"/org/gap","event":"two","id":"x.2"}`}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Set(ctx, lastKey, id, 0).Err(); err != nil {
		t.Fatal(err)
	}
	publish(t, a, nsp, "three")
	rb.waitFor(t, "three", func() bool { return len(rb.events(nsp)) == 3 })
	if got := rb.events(nsp); !equal(got, []string{"one", "two", "three"}) || rb.resynced(nsp) != 0 {
		t.Fatalf("after a lost live message: got %v and %d resyncs, want one two three and none", got, rb.resynced(nsp))
	}
	if b.Stats().CaughtUp.Load() != 1 {
		t.Fatalf("caught up %d from the log, want 1", b.Stats().CaughtUp.Load())
	}

	// Now the lost message and B's position are both trimmed away: B cannot prove what it
	// missed, so the namespace resyncs, and live delivery goes on.
	id, _ = admin.XAdd(ctx, &redis.XAddArgs{Stream: logKey, Values: []any{"p", `{"nsp":"/org/gap","event":"four","id":"x.4"}`}}).Result()
	_ = admin.Set(ctx, lastKey, id, 0)
	if err := admin.XTrimMinID(ctx, logKey, id).Err(); err != nil {
		t.Fatal(err)
	}
	publish(t, a, nsp, "five")
	rb.waitFor(t, "a resync", func() bool { return rb.resynced(nsp) == 1 })
	rb.waitFor(t, "five", func() bool { ev := rb.events(nsp); return ev[len(ev)-1] == "five" })
	publish(t, a, nsp, "six")
	rb.waitFor(t, "six", func() bool { ev := rb.events(nsp); return ev[len(ev)-1] == "six" })
	if rb.resynced(nsp) != 1 {
		t.Fatalf("resyncs = %d, want exactly 1", rb.resynced(nsp))
	}
	_ = p1
}

// keysOf returns the log and last-offset keys of nsp, found in the cluster.
func keysOf(t *testing.T, admin *redis.ClusterClient, nsp string) (logKey, lastKey string) {
	t.Helper()
	for i := range 64 {
		tag := "{sg" + strconv.Itoa(i) + "}"
		k := "syncgate:" + tag + ":log:" + nsp
		if n, err := admin.Exists(context.Background(), k).Result(); err == nil && n == 1 {
			return k, "syncgate:" + tag + ":last:" + nsp
		}
	}
	t.Fatalf("no log key for %s", nsp)
	return "", ""
}

// The subscription connection is killed by the server while another node publishes: the
// node reconnects by itself and reads what it missed from the log, with no resync.
func TestClusterSubscriptionLossCaughtUp(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{})
	const nsp = "/org/loss"
	b.Subscribe(nsp)
	publish(t, a, nsp, "e0")
	rb.waitFor(t, "e0", func() bool { return len(rb.events(nsp)) == 1 })
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	logKey, _ := keysOf(t, admin, nsp)
	owner := c.MasterOf(logKey)
	if out, err := c.CLI(owner, "client", "kill", "type", "pubsub"); err != nil {
		t.Fatalf("client kill: %v %s", err, out)
	}
	for i := 1; i < 50; i++ {
		publish(t, a, nsp, "e"+strconv.Itoa(i))
	}
	rb.waitFor(t, "e49", func() bool { ev := rb.events(nsp); return ev[len(ev)-1] == "e49" })
	if got := rb.events(nsp); !equal(got, seq("e", 50)) || rb.resynced(nsp) != 0 {
		t.Fatalf("after a lost subscription: got %d events %v…, %d resyncs; want e0…e49 and none", len(got), got[:min(5, len(got))], rb.resynced(nsp))
	}
	if b.Stats().Reconnects.Load() == 0 {
		t.Fatal("no reconnect counted")
	}
}

// A socket's session saved on one node is taken on another, and the broadcasts it missed
// are read there from the log, complete; an unknown or trimmed offset is not.
func TestClusterRecoveryAcrossNodes(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{PerNamespace: 10})
	b, _ := newEngine(t, c, fanout.ClusterOptions{PerNamespace: 10})
	ctx := context.Background()
	const nsp = "/org/rec"
	st := namespaces.SessionState{PID: "pid1", SID: "sid1", Nsp: nsp, Rooms: []string{"r"}}
	if err := a.SaveSession(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := b.TakeSession(ctx, "pid1")
	if err != nil || got == nil || got.SID != "sid1" || got.Rooms[0] != "r" {
		t.Fatalf("TakeSession on the other node = %+v, %v", got, err)
	}
	if again, _ := a.TakeSession(ctx, "pid1"); again != nil {
		t.Fatal("a session was taken twice")
	}
	first := publish(t, a, nsp, "seen")
	publish(t, b, nsp, "m1")
	publish(t, a, nsp, "m2")
	missed, complete, err := b.Missed(ctx, nsp, first.Offset)
	if err != nil || !complete || len(missed) != 2 || missed[0].Event != "m1" || missed[1].Event != "m2" {
		t.Fatalf("Missed = %d, %v, %v", len(missed), complete, err)
	}
	if !namespaces.OffsetAfter(missed[1].Offset, missed[0].Offset) || missed[0].BusID() == "" {
		t.Fatalf("missed broadcasts lack offsets or IDs: %+v", missed)
	}
	if _, complete, _ := b.Missed(ctx, nsp, "1-0"); complete {
		t.Fatal("an offset from before the window was called complete")
	}
	for i := range 12 { // the log keeps 10
		publish(t, a, nsp, "x"+strconv.Itoa(i))
	}
	if _, complete, _ := b.Missed(ctx, nsp, first.Offset); complete {
		t.Fatal("a trimmed offset was called complete")
	}
}

// A master is killed while one node publishes to a dozen orgs non-stop and another reads
// them all; its replica takes over. Every org on the reading node gets every event, in
// order, or a resync; both nodes carry on by themselves, and the events published after
// the failover arrive.
func TestClusterMasterFailoverDuringLoad(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 1)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{})
	const orgs = 12
	for o := range orgs {
		b.Subscribe(org(o))
	}
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	first := publish(t, a, org(0), "first")
	logKey, _ := keysOf(t, admin, org(0))
	victim := c.MasterOf(logKey)
	// An org whose master survives, and an offset in it, for recovery after the failover.
	survivor, survivorOff := -1, ""
	for o := 1; o < orgs && survivor < 0; o++ {
		p := publish(t, a, org(o), "first")
		if k, _ := keysOf(t, admin, org(o)); c.MasterOf(k) != victim {
			survivor, survivorOff = o, p.Offset
		}
	}
	if survivor < 0 {
		t.Fatal("test set-up: every org on one master")
	}

	published := make([][]string, orgs)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			o := i % orgs
			ev := "e" + strconv.Itoa(i)
			if err := a.Publish(&namespaces.Broadcast{Nsp: org(o), Event: ev}); err != nil {
				t.Error(err)
				return
			}
			published[o] = append(published[o], ev)
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	victim.Kill()
	c.WaitFailover(victim) // a replica takes over, with load going on
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-done
	// Both nodes find their way back by themselves: subscriptions re-made, queue written.
	rb.waitFor(t, "both nodes ready", func() bool { return a.Ready() && b.Ready() })
	for o := range orgs {
		publish(t, a, org(o), "end")
		published[o] = append(published[o], "end")
	}
	t.Cleanup(func() {
		if t.Failed() {
			for o := range orgs {
				ev := rb.events(org(o))
				t.Logf("%s: %d delivered, last %v, %d resyncs; published %d", org(o), len(ev), ev[max(0, len(ev)-3):], rb.resynced(org(o)), len(published[o]))
			}
			for _, n := range c.Nodes {
				if n.Running() {
					out, _ := c.CLI(n, "pubsub", "shardchannels")
					role, _ := c.CLI(n, "role")
					t.Logf("node %s (%s): shard channels %q", n.Addr(), strings.Fields(role)[0], out)
				}
			}
			admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
			lk, _ := keysOf(t, admin, org(0))
			xl, err := admin.XLen(context.Background(), lk).Result()
			t.Logf("org0 log %s len %d %v", lk, xl, err)
			ch := strings.Replace(lk, ":log:", ":ch:", 1)
			n, err := admin.SPublish(context.Background(), ch, "1-1 0-0 {}").Result()
			t.Logf("spublish to %s reached %d %v", ch, n, err)
			time.Sleep(500 * time.Millisecond)
			t.Logf("B stats: received %d caught up %d reconnects %d resyncs %d; A: published %d failures %d replayed %d",
				b.Stats().Received.Load(), b.Stats().CaughtUp.Load(), b.Stats().Reconnects.Load(), b.Stats().Resyncs.Load(),
				a.Stats().Published.Load(), a.Stats().PublishFailures.Load(), a.Stats().Replayed.Load())
		}
	})
	for o := range orgs {
		rb.waitFor(t, "the end event of "+org(o), func() bool {
			ev := rb.events(org(o))
			return len(ev) > 0 && ev[len(ev)-1] == "end"
		})
	}
	checkEveryEventOrResync(t, rb, published)
	// Recovery from before the failover is not called complete where the master changed
	// (its last writes may be lost), and still is elsewhere.
	ctx := context.Background()
	if _, complete, err := b.Missed(ctx, org(0), first.Offset); complete || err != nil {
		t.Errorf("recovery of %s from before its master failed over: complete %v, err %v; want incomplete", org(0), complete, err)
	}
	if missed, complete, err := b.Missed(ctx, org(survivor), survivorOff); !complete || err != nil || len(missed) == 0 {
		t.Errorf("recovery of %s (master survived): %d missed, complete %v, err %v; want complete", org(survivor), len(missed), complete, err)
	}
	resynced := 0
	for o := range orgs {
		if rb.resynced(org(o)) > 0 {
			resynced++
		}
	}
	if resynced == 0 {
		t.Error("no org resynced, yet a master holding org 0's log was killed")
	}
	if b.Stats().Reconnects.Load() == 0 {
		t.Error("the reading node counted no reconnect")
	}
}

// Every slot of the master holding org 0's log moves to another master (redis-cli --cluster
// reshard) while one node publishes to a dozen orgs and another reads them all: every org
// gets every event, once and in order, with no resync, and delivery goes on from the new
// owner.
func TestClusterReshardDuringLoad(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{})
	const orgs = 12
	for o := range orgs {
		b.Subscribe(org(o))
	}
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	publish(t, a, org(0), "first")
	logKey, _ := keysOf(t, admin, org(0))
	from := c.MasterOf(logKey)
	var to *testenv.ClusterNode
	for _, m := range c.Masters() {
		if m != from {
			to = m
			break
		}
	}
	published := make([][]string, orgs)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			o := i % orgs
			ev := "e" + strconv.Itoa(i)
			if err := a.Publish(&namespaces.Broadcast{Nsp: org(o), Event: ev}); err != nil {
				t.Error(err)
				return
			}
			published[o] = append(published[o], ev)
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if out, err := c.Reshard(from, to, 5461); err != nil {
		close(stop)
		<-done
		t.Fatalf("reshard: %v\n%s", err, out)
	}
	if c.MasterOf(logKey) != to {
		t.Fatalf("org 0's log did not move")
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-done
	rb.waitFor(t, "both nodes ready", func() bool { return a.Ready() && b.Ready() })
	for o := range orgs {
		publish(t, a, org(o), "end")
		published[o] = append(published[o], "end")
	}
	for o := range orgs {
		rb.waitFor(t, "the end event of "+org(o), func() bool {
			ev := rb.events(org(o))
			return len(ev) > 0 && ev[len(ev)-1] == "end"
		})
	}
	checkEveryEventOrResync(t, rb, published)
	// A planned move loses nothing (MIGRATE moves keys whole): the reading node reconnects to
	// the new owner and reads what it missed from the log, usually without resyncing anyone.
	// The promise is every event or a resync (checked above): on a loaded machine the node
	// may not tell a move from a failover in time and resync the orgs of the moved slot.
	resyncs := 0
	for o := range orgs {
		resyncs += rb.resynced(org(o))
	}
	t.Logf("resyncs after the reshard: %d (0 expected unless the move looked like a failover)", resyncs)
	if b.Stats().Reconnects.Load() == 0 {
		t.Error("org 0's slot moved, yet the reading node did not reconnect")
	}
}

// checkEveryEventOrResync checks, for every org, that the events delivered came once each
// and in publish order, and that if any is missing the org got a resync.
func checkEveryEventOrResync(t *testing.T, rb *recorder, published [][]string) {
	t.Helper()
	for o := range published {
		got := rb.events(org(o))
		pos := map[string]int{}
		for i, e := range got {
			if _, dup := pos[e]; dup {
				t.Errorf("%s: %s delivered twice", org(o), e)
			}
			pos[e] = i
		}
		missing, prev := 0, -1
		for _, e := range published[o] {
			i, ok := pos[e]
			if !ok {
				missing++
				continue
			}
			if i < prev {
				t.Errorf("%s: %s delivered out of order", org(o), e)
			}
			prev = i
		}
		r := rb.resynced(org(o))
		if missing > 0 && r == 0 {
			t.Errorf("%s: %d of %d events never arrived and no resync: silence", org(o), missing, len(published[o]))
		}
		t.Logf("%s: %d published, %d missing, %d resyncs", org(o), len(published[o]), missing, r)
	}
}

// The master of an org stops taking writes for 3 s (CLIENT PAUSE WRITE): a publish times out
// and is delivered on its own node at once and queued. The paused write is carried out when
// the pause ends and the queue writes it again: each node delivers it exactly once, and the
// publishing node is not ready while anything is queued.
func TestClusterPublishOutageQueuedAndDeliveredOnce(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, ra := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{})
	const nsp = "/org/pause"
	a.Subscribe(nsp)
	b.Subscribe(nsp)
	publish(t, a, nsp, "before")
	rb.waitFor(t, "before", func() bool { return len(rb.events(nsp)) == 1 })
	ra.waitFor(t, "ready", a.Ready)
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	logKey, _ := keysOf(t, admin, nsp)
	if out, err := c.CLI(c.MasterOf(logKey), "client", "pause", "3000", "write"); err != nil {
		t.Fatalf("client pause: %v %s", err, out)
	}
	start := time.Now()
	pb := publish(t, a, nsp, "during") // times out after 2s: delivered here, queued
	t.Logf("publish during the pause took %v, offset %q", time.Since(start), pb.Offset)
	if got := ra.events(nsp); len(got) != 2 || got[1] != "during" {
		t.Fatalf("publishing node delivered %v, want before, during at once", got)
	}
	if a.Ready() {
		t.Fatal("ready with a publish queued")
	}
	if a.Stats().PublishFailures.Load() != 1 {
		t.Fatalf("publish failures = %d, want 1", a.Stats().PublishFailures.Load())
	}
	publish(t, a, nsp, "after") // queued behind "during", in order
	rb.waitFor(t, "during and after on the other node", func() bool { return len(rb.events(nsp)) >= 3 })
	ra.waitFor(t, "the queue written", a.Ready)
	publish(t, a, nsp, "last")
	rb.waitFor(t, "last", func() bool { ev := rb.events(nsp); return ev[len(ev)-1] == "last" })
	ra.waitFor(t, "last here", func() bool { ev := ra.events(nsp); return ev[len(ev)-1] == "last" })
	want := []string{"before", "during", "after", "last"}
	if got := rb.events(nsp); !equal(got, want) {
		t.Errorf("other node got %v, want %v (each once, in order)", got, want)
	}
	if got := ra.events(nsp); !equal(got, want) {
		t.Errorf("publishing node got %v, want %v (each once, in order)", got, want)
	}
	if rb.resynced(nsp)+ra.resynced(nsp) != 0 {
		t.Errorf("resyncs: %d and %d, want none", ra.resynced(nsp), rb.resynced(nsp))
	}
}

// The master of an org stops answering while a socket joins: the join waits no longer than
// SubscribeWait, and once the subscription is made the org's sockets are told to resync
// (events published meanwhile may have passed them by); live delivery follows.
func TestClusterSlowSubscriptionAdmitsThenResyncs(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	a, _ := newEngine(t, c, fanout.ClusterOptions{})
	b, rb := newEngine(t, c, fanout.ClusterOptions{SubscribeWait: 300 * time.Millisecond})
	const nsp = "/org/slow"
	publish(t, a, nsp, "before")
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = admin.Close() })
	logKey, _ := keysOf(t, admin, nsp)
	if out, err := c.CLI(c.MasterOf(logKey), "client", "pause", "1500", "all"); err != nil {
		t.Fatalf("client pause: %v %s", err, out)
	}
	start := time.Now()
	b.Subscribe(nsp)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a join waited %v for its subscription, want about SubscribeWait (300ms)", d)
	}
	rb.waitFor(t, "a resync once subscribed", func() bool { return rb.resynced(nsp) == 1 })
	publish(t, a, nsp, "after")
	rb.waitFor(t, "after", func() bool { ev := rb.events(nsp); return len(ev) > 0 && ev[len(ev)-1] == "after" })
	if got := rb.events(nsp); !equal(got, []string{"after"}) || rb.resynced(nsp) != 1 {
		t.Fatalf("got %v and %d resyncs, want after and 1", got, rb.resynced(nsp))
	}
	if !b.Ready() {
		t.Fatal("not ready after the subscription was made")
	}
}
