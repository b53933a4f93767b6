package fanout

import (
	"fmt"
	"github.com/gorilla/websocket"
	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
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
			f := newBenchNsps(b, nsps, per)
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
				DeliverLocal: func(bc *namespaces.Broadcast) int { <-gate; return f.srv.DeliverLocal(bc) },
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
			f.await(b, want)
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/delivery")
		})
	}
}

// benchNsps is a server with sockets spread over namespaces /org/0../org/{nsps-1}, every
// socket in room "r"; the clients' readers only count the bytes they get.
type benchNsps struct {
	srv *namespaces.Server
	got atomic.Int64
}

func newBenchNsps(tb testing.TB, nsps, perNsp int) *benchNsps {
	tb.Helper()
	f := &benchNsps{srv: namespaces.NewServer(namespaces.Options{Engine: engineio.Options{PingInterval: time.Hour, MaxQueueBytes: 1 << 30}})}
	joined := make(chan struct{}, nsps*perNsp)
	f.srv.Handle(namespaces.Handler{
		Match:     func(string) bool { return true },
		OnConnect: func(s *namespaces.Socket) { s.Join("r"); joined <- struct{}{} },
	})
	hs := httptest.NewServer(f.srv)
	tb.Cleanup(func() {
		_ = f.srv.Close()
		hs.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	for i := range nsps * perNsp {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			tb.Fatalf("dial: %v", err)
		}
		tb.Cleanup(func() { _ = ws.NetConn().Close() })
		if _, _, err := ws.ReadMessage(); err != nil { // open
			tb.Fatalf("open: %v", err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "40/org/%d,", i%nsps)); err != nil {
			tb.Fatalf("connect: %v", err)
		}
		if _, _, err := ws.ReadMessage(); err != nil { // CONNECT answer
			tb.Fatalf("connect answer: %v", err)
		}
		<-joined
		nc := ws.NetConn()
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := nc.Read(buf)
				if err != nil {
					return
				}
				f.got.Add(int64(n))
			}
		}()
	}
	return f
}

// await waits until the clients have received total bytes.
func (f *benchNsps) await(tb testing.TB, total int64) {
	deadline := time.Now().Add(10 * time.Second)
	for f.got.Load() < total {
		if time.Now().After(deadline) {
			tb.Fatalf("clients got %d bytes, want %d", f.got.Load(), total)
		}
		time.Sleep(20 * time.Microsecond) // polling a byte count: nothing to await
	}
}
