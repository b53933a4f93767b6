package fanout

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/namespaces/adaptertest"
)

// BenchmarkRedisBusWorkers measures what a node spends to deliver another node's
// broadcasts: node A publishes to 8 namespaces of 50 sockets each (every socket in room
// "r"), node B reads them from the bus and fans them out with 1 worker (on the reader, as
// before) or with one per P. Node B's deliveries are held while A publishes (Redis round
// trips are not what is measured); the clock runs from their release until B's clients
// have every byte. One op is one broadcast, i.e. 50 deliveries.
func BenchmarkRedisBusWorkers(b *testing.B) {
	r := testenv.StartRedis(b)
	for _, workers := range []int{1, defaultBusWorkers()} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			const nsps, per = 8, 50
			f := adaptertest.NewSockets(b, nsps, per, namespaces.Options{})
			quiet := slog.New(slog.DiscardHandler)
			newAdapter := func(w int) *Redis {
				rdb, err := ParseRedisURL(r.URL())
				if err != nil {
					b.Fatal(err)
				}
				return NewRedis(RedisOptions{Client: rdb, BusWorkers: w, Logger: quiet})
			}
			nodeB := newAdapter(workers)
			gate := make(chan struct{})
			nodeB.Init(namespaces.AdapterHooks{
				DeliverLocal: func(bc *namespaces.Broadcast) int { <-gate; return f.Server.DeliverLocal(bc) },
				Resync:       func(string, string) {},
			})
			nodeA := newAdapter(1)
			nodeA.Init(namespaces.AdapterHooks{DeliverLocal: func(*namespaces.Broadcast) int { return 0 }, Resync: func(string, string) {}})
			b.Cleanup(func() { _ = nodeA.Close(); _ = nodeB.Close() })
			for !nodeA.Ready() || !nodeB.Ready() {
				time.Sleep(5 * time.Millisecond) // polling a status: nothing to await
			}
			frame := func(n int) int64 { return int64(2 + len(fmt.Sprintf(`42/org/%d,["person.updated",{"id":42}]`, n))) }
			var want int64
			b.ReportAllocs()
			b.ResetTimer()
			b.StopTimer()
			for i := range b.N {
				n := i % nsps
				if err := nodeA.Publish(&namespaces.Broadcast{Nsp: fmt.Sprintf("/org/%d", n), Rooms: []string{"r"}, Event: "person.updated", Args: []any{map[string]any{"id": 42}}}); err != nil {
					b.Fatal(err)
				}
				want += per * frame(n)
			}
			b.StartTimer()
			close(gate)
			f.Await(b, want)
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/delivery")
		})
	}
}
