package namespaces

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/syncgate/syncgate/engineio"
)

// benchNsps is a server with sockets spread over namespaces /org/0../org/{nsps-1}, every
// socket in room "r"; the clients' readers only count frames' bytes.
type benchNsps struct {
	srv *Server
	got atomic.Int64
}

func newBenchNsps(tb testing.TB, nsps, perNsp int, window time.Duration) *benchNsps {
	tb.Helper()
	f := &benchNsps{srv: NewServer(Options{Engine: engineio.Options{PingInterval: time.Hour, MaxQueueBytes: 1 << 30}, RecoveryWindow: window})}
	joined := make(chan struct{}, nsps*perNsp)
	f.srv.Handle(Handler{
		Match:     func(string) bool { return true },
		OnConnect: func(s *Socket) { s.Join("r"); joined <- struct{}{} },
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

// BenchmarkRoomBroadcast delivers one broadcast to room "r" of a namespace of 1,000 sockets
// (DeliverLocal: the fan-out without the adapter). Before this change every room broadcast
// collected its receivers into a new map.
func BenchmarkRoomBroadcast(b *testing.B) {
	f := newBenchNsps(b, 1, 1000, 0)
	bc := &Broadcast{Nsp: "/org/0", Rooms: []string{"r"}, Event: "person.updated", Args: []any{map[string]any{"id": 42}}}
	if n := f.srv.DeliverLocal(bc); n != 1000 {
		b.Fatalf("delivered to %d sockets, want 1000", n)
	}
	frame := int64(2 + len(`42/org/0,["person.updated",{"id":42}]`)) // header + Engine.IO text
	f.await(b, 1000*frame)
	b.ReportAllocs()
	b.ResetTimer()
	var inCall time.Duration // the caller's share: what a bus reader spends per broadcast
	for i := range b.N {
		t0 := time.Now()
		f.srv.DeliverLocal(bc) // the same encoded packet each time: the fan-out alone is measured
		inCall += time.Since(t0)
		f.await(b, int64(i+2)*1000*frame)
	}
	b.ReportMetric(float64(inCall.Nanoseconds())/float64(b.N*1000), "caller-ns/delivery")
}

// await waits until the clients have received total bytes.
func (f *benchNsps) await(tb testing.TB, total int64) {
	deadline := time.Now().Add(10 * time.Second)
	for f.got.Load() < total {
		if time.Now().After(deadline) {
			tb.Fatalf("clients got %d bytes, want %d", f.got.Load(), total)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// BenchmarkMemoryAdapterParallel publishes, from every P, broadcasts to 8 namespaces of 50
// sockets each through the memory adapter with recovery on: the log and the fan-out of one
// namespace no longer hold the others up.
func BenchmarkMemoryAdapterParallel(b *testing.B) {
	const nsps = 8
	f := newBenchNsps(b, nsps, 50, time.Minute)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		nsp := fmt.Sprintf("/org/%d", next.Add(1)%nsps)
		for pb.Next() {
			_ = f.srv.Broadcast(&Broadcast{Nsp: nsp, Event: "person.updated", Args: []any{map[string]any{"id": 42}}})
		}
	})
	b.StopTimer()
	time.Sleep(100 * time.Millisecond)
}
