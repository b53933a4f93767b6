package multinode

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
)

// clusterNodes starts a 3-master Redis Cluster and count gateways on it (--redis-cluster),
// named A, B, C…, all ready.
func clusterNodes(t *testing.T, api *testenv.FakeAPI, count int, flags ...string) []*node {
	t.Helper()
	_, out := clusterNodesOn(t, testenv.StartRedisCluster(t, 3, 0), api, count, flags...)
	return out
}

// clusterNodesOn starts count gateways on the cluster rc.
func clusterNodesOn(t *testing.T, rc *testenv.RedisCluster, api *testenv.FakeAPI, count int, flags ...string) (*testenv.RedisCluster, []*node) {
	t.Helper()
	var out []*node
	for i := range count {
		n := startNodeWith(t, api, string(rune('A'+i)), nil, append([]string{"--redis-cluster", rc.Seeds()}, flags...)...)
		n.waitReadyz(http.StatusOK)
		out = append(out, n)
	}
	return rc, out
}

func clusterStats(t *testing.T, n *node) *fanout.ClusterStats {
	t.Helper()
	c, ok := n.g.Sockets().Adapter().(*fanout.Cluster)
	if !ok {
		t.Fatalf("node %s: adapter %T, want *fanout.Cluster (--redis-cluster)", n.name, n.g.Sockets().Adapter())
	}
	return c.Stats()
}

// Three gateways on a Redis Cluster, nine orgs, each node with sockets in its own three
// (and org 1 on two nodes): mutations through any node reach exactly the org's sockets on
// every node, and a node reads from Redis only the broadcasts of the orgs it has sockets in.
func TestRedisClusterNodesDeliverAndReadOnlyTheirOrgs(t *testing.T) {
	const orgs = 9
	ns := clusterNodes(t, members(t, orgs), 3)
	c := testenv.StartNode(t)
	home := func(org int) int { return (org - 1) / 3 } // A: 1-3, B: 4-6, C: 7-9
	var names, urls []string
	for org := 1; org <= orgs; org++ {
		names = append(names, fmt.Sprintf("s%d", org))
		urls = append(urls, ns[home(org)].url(fmt.Sprintf("/org/%d", org)))
	}
	names, urls = append(names, "b1"), append(urls, ns[1].url("/org/1")) // org 1 on B too
	connectAll(t, c, names, urls, once("alice"))
	if got := clusterStats(t, ns[0]).Subscriptions.Load(); got != 3 {
		t.Fatalf("node A reads %d orgs, want its 3", got)
	}

	// Each org mutated six times through one node, mostly not its home (publishes are
	// asynchronous to the API answer, so only one node's publishes of an org are ordered).
	via := func(org int) *node { return ns[org%3] }
	for round := range 2 {
		for org := 1; org <= orgs; org++ {
			for i := range ns {
				via(org).addRow(org, 100*round+10*i+org)
			}
		}
	}
	for org := 1; org <= orgs; org++ {
		sockets := []string{fmt.Sprintf("s%d", org)}
		if org == 1 {
			sockets = append(sockets, "b1")
		}
		for _, s := range sockets {
			var want []row
			for round := range 2 {
				for i := range ns {
					want = append(want, row{"personview.addrow", 100*round + 10*i + org})
				}
			}
			expectRows(t, c, s, want...)
		}
	}
	// Each node read its own orgs' broadcasts only: 3 orgs × 6 for A and C, 4 orgs for B.
	// (Every addrow fires one broadcast; the expectRows above saw each of them arrive.)
	for i, want := range []int64{3 * 6, 4 * 6, 3 * 6} {
		if got := clusterStats(t, ns[i]).Received.Load(); got != want {
			t.Errorf("node %s read %d broadcasts from Redis, want %d (its orgs' only, of %d published)", ns[i].name, got, want, orgs*6)
		}
	}
}

// A socket moves from node A to node B of a Redis Cluster deployment while events are
// published through both: it recovers on B with everything it missed, once, in order.
func TestRedisClusterRecoveryAcrossNodes(t *testing.T) {
	ns := clusterNodes(t, members(t, 1), 2)
	a, b := ns[0], ns[1]
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	first := connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	connect(t, c, "w", b.url("/org/1"), once("alice")) // a witness on B
	a.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})
	expectRows(t, c, "w", row{"personview.addrow", 1})

	moveClient(t, c, "s", lb, b)
	a.addRow(1, 2)
	b.addRow(1, 3)
	expectRows(t, c, "w", row{"personview.addrow", 2}, row{"personview.addrow", 3})
	lb.Resume()
	ev := reconnected(t, c, "s")
	if !ev.Recovered || ev.Sid != first.Sid {
		t.Fatalf("socket s reconnected to node B: %v, want recovered with sid %q", ev, first.Sid)
	}
	b.addRow(1, 4) // live
	expectRows(t, c, "s", row{"personview.addrow", 2}, row{"personview.addrow", 3}, row{"personview.addrow", 4})
}

// Two gateways find their Redis through a Sentinel (--redis-sentinel): they run the
// single-Redis engine on the primary it names, and share events as with --redis.
func TestRedisSentinelNodesShareEvents(t *testing.T) {
	api := members(t, 1)
	primary := testenv.StartRedis(t)
	s := testenv.StartRedisSentinel(t, "syncgate", primary)
	flags := []string{"--redis-sentinel", "syncgate@" + s.Addr()}
	a := startNodeWith(t, api, "A", nil, flags...)
	b := startNodeWith(t, api, "B", nil, flags...)
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	if _, ok := a.g.Sockets().Adapter().(*fanout.Redis); !ok {
		t.Fatalf("adapter %T, want the single-Redis engine", a.g.Sockets().Adapter())
	}
	c := testenv.StartNode(t)
	connect(t, c, "sb", b.url("/org/1"), once("alice"))
	a.addRow(1, 7)
	expectRows(t, c, "sb", row{"personview.addrow", 7})
}

// A Redis Cluster master is killed during a stream of mutations and its replica takes over:
// both gateways carry on by themselves, and every socket of every org, on both nodes, gets
// every event or a resync after it (never silence), each event once and in order.
func TestRedisClusterMasterFailoverDuringStreamLosesNothingSilently(t *testing.T) {
	const orgs = 6
	rc, ns := clusterNodesOn(t, testenv.StartRedisCluster(t, 3, 1), members(t, orgs), 2)
	a, b := ns[0], ns[1]
	c := testenv.StartNode(t)
	var names, urls []string
	for org := 1; org <= orgs; org++ {
		for _, n := range ns {
			names = append(names, fmt.Sprintf("%s%d", n.name, org))
			urls = append(urls, n.url(fmt.Sprintf("/org/%d", org)))
		}
	}
	connectAll(t, c, names, urls, once("alice"))
	cols := map[string]*collector{}
	for _, s := range names {
		cols[s] = collect(c, s, isEndMarker)
	}
	st := startStream(a, 5*time.Millisecond, func(i int) int { return 1 + i%orgs })
	st.waitMore(t, 30)
	logKey := a.g.Sockets().Adapter().(*fanout.Cluster).LogKey("/org/1")
	victim := rc.MasterOf(logKey)
	victim.Kill()
	rc.WaitFailover(victim)
	st.waitMore(t, 30)
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	total := st.end(t)
	for org := 1; org <= orgs; org++ {
		a.deleteRow(org, 0) // the end markers
	}
	var sum tally
	resynced := 0
	for _, s := range names {
		org := int(s[1] - '0')
		tl, lost := account(t, st, st.sentTo(org), cols[s].wait(t))
		sum.add(tl)
		if tl.Resyncs > 0 {
			resynced++
		}
		if tl.Lost != 0 {
			t.Errorf("socket %s lost %d events silently (neither received nor covered by a resync): %v", s, tl.Lost, lost)
		}
		if tl.Duplicates != 0 || tl.Disorder != 0 || tl.Foreign != 0 {
			t.Errorf("socket %s: %v", s, tl)
		}
	}
	if resynced == 0 {
		t.Error("no socket resynced, yet the master of org 1's log was killed")
	}
	t.Logf("%d mutations through node A, master %s killed and replaced: %d sockets, %v", total, victim.Addr(), len(names), sum)
}
