package drive_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"github.com/syncgate/syncgate/internal/testenv"
)

// node is one Watcher of a two-node test, with its own callbacks.
type node struct {
	w      *drive.Watcher
	rec    *recorder
	cancel context.CancelFunc // kills the node
}

func startNode(t *testing.T, fake *fakedrive.Server, rdb redis.UniversalClient, id string, leaseTTL time.Duration) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{rec: newRecorder(), cancel: cancel}
	cfg := fastConfig(fake, n.rec)
	cfg.Redis, cfg.NodeID, cfg.LeaseTTL = rdb, id, leaseTTL
	cfg.RedisPrefix = "test:" + t.Name() + ":"
	n.w = startWatcher(t, ctx, cfg)
	t.Cleanup(cancel)
	return n
}

func (n *node) watch(t *testing.T, u drive.User, watcher, scope, file string) {
	t.Helper()
	if _, err := n.w.Watch(context.Background(), u, drive.Sub{Watcher: watcher, Scope: scope}, file); err != nil {
		t.Fatalf("Watch %s: %v", watcher, err)
	}
}

// forEachRedis runs test on one Redis and on a 3-master Redis Cluster: the leases, page
// tokens and change channel work on both (each feed's keys share a hash tag).
func forEachRedis(t *testing.T, test func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("redis", func(t *testing.T) {
		r := testenv.StartRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		test(t, rdb)
	})
	t.Run("redis cluster", func(t *testing.T) {
		rc := testenv.StartRedisCluster(t, 3, 0)
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
		t.Cleanup(func() { _ = rdb.Close() })
		test(t, rdb)
	})
}

// Two nodes with sockets of the same users: each feed is polled by one
// node only, each change is reported once per scope across both nodes,
// and when the polling node dies the other takes over after the lease
// expires.
func TestTwoNodesPollEachFeedOnceAndSurvivorTakesOver(t *testing.T) {
	forEachRedis(t, twoNodesPollEachFeedOnceAndSurvivorTakesOver)
}

func twoNodesPollEachFeedOnceAndSurvivorTakesOver(t *testing.T, rdb redis.UniversalClient) {
	const leaseTTL = 600 * time.Millisecond
	fake := fakedrive.Start(t, fakedrive.Config{})
	fake.AddFile("f1", "a", "alice", "bob")
	fake.AddFile("f2", "b", "alice", "bob")
	a := startNode(t, fake, rdb, "node-a", leaseTTL)
	b := startNode(t, fake, rdb, "node-b", leaseTTL)
	tok := func(name string) drive.User { // each node holds its own session's token source
		return drive.User{Key: name, Tokens: staticToken(fake.Token(name))}
	}
	a.watch(t, tok("alice"), "a-alice", "/org/1", "f1")
	a.watch(t, tok("bob"), "a-bob", "/org/1", "f2")
	b.watch(t, tok("alice"), "b-alice", "/org/1", "f1") // same scope as on A
	b.watch(t, tok("bob"), "b-bob", "/org/2", "f2")     // another scope

	waitFor(t, "node A polling both feeds", func() bool {
		return fake.Count(fakedrive.ChangesList, "alice") >= 3 && fake.Count(fakedrive.ChangesList, "bob") >= 3
	}, fake)
	v1, v2 := fake.Touch("f1"), fake.Touch("f2")
	reported := func(scope, file string, v int64) int {
		return a.rec.count(changedEv{scope, file, v}) + b.rec.count(changedEv{scope, file, v})
	}
	waitFor(t, "the changes reported", func() bool {
		return reported("/org/1", "f1", v1) > 0 && reported("/org/1", "f2", v2) > 0 && reported("/org/2", "f2", v2) > 0
	}, fake, a.rec, b.rec)
	before := fake.Count(fakedrive.ChangesList, "")
	waitFor(t, "more polls", func() bool { return fake.Count(fakedrive.ChangesList, "") >= before+6 }, fake)
	for _, c := range []changedEv{{"/org/1", "f1", v1}, {"/org/1", "f2", v2}, {"/org/2", "f2", v2}} {
		if n := reported(c.Scope, c.File, c.Version); n != 1 {
			t.Errorf("%+v reported %d times across the nodes, want once", c, n)
		}
	}
	sa, sb := a.w.Stats(), b.w.Stats()
	if sa.HeldFeeds != 2 || sb.HeldFeeds != 0 || sb.Calls[drive.CallChangesList] != 0 {
		t.Fatalf("A holds %d feeds, B holds %d and polled %d times; want A polling both, B none",
			sa.HeldFeeds, sb.HeldFeeds, sb.Calls[drive.CallChangesList])
	}

	// Kill A: no lease release, its goroutines just stop.
	a.cancel()
	killed := time.Now()
	v1 = fake.Touch("f1")
	waitFor(t, "B reporting the change after the takeover", func() bool {
		return b.rec.count(changedEv{"/org/1", "f1", v1}) == 1
	}, fake, b.rec)
	took := time.Since(killed)
	// The leases of the two feeds expire at different times; B takes both.
	waitFor(t, "B holding both feeds", func() bool { return b.w.Stats().HeldFeeds == 2 }, fake)
	v2 = fake.Touch("f2")
	waitFor(t, "B reporting bob's feed too", func() bool {
		return b.rec.count(changedEv{"/org/2", "f2", v2}) == 1
	}, fake, b.rec)
	t.Logf("takeover and report %v after the kill (lease %v)", took.Round(time.Millisecond), leaseTTL)
	if took > 3*leaseTTL {
		t.Fatalf("takeover took %v, want about the lease expiry (%v)", took, leaseTTL)
	}
	if a.rec.count(changedEv{Version: v1}) != 0 {
		t.Fatal("the killed node reported a change")
	}
}

// A node that closes hands its feeds over at once (it releases the
// leases), and the page token it stored means nothing is missed.
func TestClosedNodeHandsOverWithoutLoss(t *testing.T) {
	forEachRedis(t, closedNodeHandsOverWithoutLoss)
}

func closedNodeHandsOverWithoutLoss(t *testing.T, rdb redis.UniversalClient) {
	const leaseTTL = 3 * time.Second // a takeover by expiry would be slow
	fake := fakedrive.Start(t, fakedrive.Config{})
	fake.AddFile("f1", "a", "alice")
	a := startNode(t, fake, rdb, "node-a", leaseTTL)
	b := startNode(t, fake, rdb, "node-b", leaseTTL)
	a.watch(t, drive.User{Key: "alice", Tokens: staticToken(fake.Token("alice"))}, "a1", "/org/1", "f1")
	b.watch(t, drive.User{Key: "alice", Tokens: staticToken(fake.Token("alice"))}, "b1", "/org/2", "f1")
	if st := a.w.Stats(); st.HeldFeeds != 1 {
		t.Fatalf("A holds %d feeds, want 1", st.HeldFeeds)
	}
	if err := a.w.Close(); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	v := fake.Touch("f1") // after A's last poll: only B can report it
	waitFor(t, "B reporting the change", func() bool { return b.rec.count(changedEv{"/org/2", "f1", v}) == 1 }, fake, b.rec)
	if took := time.Since(closed); took > leaseTTL*2/3 {
		t.Fatalf("handover took %v, want well under the lease expiry %v", took, leaseTTL)
	}
}
