package fanout_test

import (
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
)

// BenchmarkClusterPublish measures one publish (script: XADD, trim, SPUBLISH) on a
// 3-master cluster, sequentially from one node, with one subscribed node reading each org.
// go test -run '^$' -bench ClusterPublish -benchtime 5000x ./fanout/
func BenchmarkClusterPublish(b *testing.B) {
	c := testenv.StartRedisCluster(b, 3, 0)
	pub := newBenchEngine(b, c)
	sub := newBenchEngine(b, c)
	const orgs = 64
	for o := range orgs {
		sub.Subscribe(org(o))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := pub.Publish(&namespaces.Broadcast{Nsp: org(i % orgs), Event: "person.updated", Args: []any{map[string]any{"personId": i}}}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	deadline := time.Now().Add(waitLong)
	for sub.Stats().Received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a counter: nothing to await
	}
	if got := sub.Stats().Received.Load(); got != int64(b.N) {
		b.Fatalf("subscriber read %d of %d", got, b.N)
	}
}

func newBenchEngine(b *testing.B, c *testenv.RedisCluster) *fanout.Cluster {
	rdb, err := fanout.NewClusterClient(c.Seeds(), "", "")
	if err != nil {
		b.Fatal(err)
	}
	a := fanout.NewCluster(fanout.ClusterOptions{Client: rdb, Logger: discard})
	a.Init(namespaces.AdapterHooks{DeliverLocal: func(*namespaces.Broadcast) int { return 0 }, Resync: func(string, string) {}})
	b.Cleanup(func() { _ = a.Close() })
	return a
}

// TestClusterReadsScaleWithInterestNotDeployment: four nodes, 200 orgs each with sockets on
// one node only; 2,000 broadcasts over all orgs. Each node reads about a quarter of them
// from Redis (its orgs'), where one shared bus would make each read all 2,000.
func TestClusterReadsScaleWithInterestNotDeployment(t *testing.T) {
	c := testenv.StartRedisCluster(t, 3, 0)
	const nodes, orgs, total = 4, 200, 2000
	var es []*fanout.Cluster
	for range nodes {
		a, _ := newEngine(t, c, fanout.ClusterOptions{})
		es = append(es, a)
	}
	for o := range orgs {
		es[o%nodes].Subscribe(org(o))
	}
	for i := range total {
		publish(t, es[i%nodes], org(i%orgs), "e"+strconv.Itoa(i))
	}
	var sum int64
	for n, a := range es {
		want := int64(total / nodes) // 200 orgs, 10 broadcasts each, 50 orgs per node
		deadline := time.Now().Add(waitLong)
		for a.Stats().Received.Load() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling a counter: nothing to await
		}
		got := a.Stats().Received.Load()
		sum += got
		if got != want {
			t.Errorf("node %d read %d broadcasts, want %d (its orgs' only)", n, got, want)
		}
		if s := a.Stats().Subscriptions.Load(); s != orgs/nodes {
			t.Errorf("node %d has %d subscriptions, want %d", n, s, orgs/nodes)
		}
	}
	t.Logf("%d nodes read %d broadcasts in all for %d published (one shared bus: %d)", nodes, sum, total, nodes*total)
}

// BenchmarkSingleRedisPublish is BenchmarkClusterPublish on today's single-Redis engine
// (per-org log + shared bus), for comparison.
func BenchmarkSingleRedisPublish(b *testing.B) {
	r := testenv.StartRedis(b)
	var as []*fanout.Redis
	for range 2 {
		rdb, err := fanout.ParseRedisURL(r.URL())
		if err != nil {
			b.Fatal(err)
		}
		a := fanout.NewRedis(fanout.RedisOptions{Client: rdb, Logger: discard})
		a.Init(namespaces.AdapterHooks{DeliverLocal: func(*namespaces.Broadcast) int { return 0 }, Resync: func(string, string) {}})
		b.Cleanup(func() { _ = a.Close() })
		as = append(as, a)
	}
	for !as[0].Ready() || !as[1].Ready() {
		time.Sleep(10 * time.Millisecond) // polling a status: nothing to await
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := as[0].Publish(&namespaces.Broadcast{Nsp: org(i % 64), Event: "person.updated", Args: []any{map[string]any{"personId": i}}}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
