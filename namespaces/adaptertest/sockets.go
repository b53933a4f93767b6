package adaptertest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
)

// Sockets is a Server with real websocket clients spread over the namespaces
// /org/0../org/{nsps-1}, every socket in room "r"; the clients only count the bytes they
// get. For delivery benchmarks of the server and of fan-out engines.
type Sockets struct {
	Server *namespaces.Server
	got    atomic.Int64
}

// NewSockets starts a Server with opts (its Engine options set for benchmarks: no ping, a
// large queue) and connects nsps × perNsp sockets to it; everything stops on tb.Cleanup.
func NewSockets(tb testing.TB, nsps, perNsp int, opts namespaces.Options) *Sockets {
	tb.Helper()
	opts.Engine = engineio.Options{PingInterval: time.Hour, MaxQueueBytes: 1 << 30}
	f := &Sockets{Server: namespaces.NewServer(opts)}
	joined := make(chan struct{}, nsps*perNsp)
	f.Server.Handle(namespaces.Handler{
		Match:     func(string) bool { return true },
		OnConnect: func(s *namespaces.Socket) { s.Join("r"); joined <- struct{}{} },
	})
	hs := httptest.NewServer(f.Server)
	tb.Cleanup(func() {
		_ = f.Server.Close()
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

// Await waits until the clients have received total bytes, for at most 10 s.
func (f *Sockets) Await(tb testing.TB, total int64) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.got.Load() < total {
		if time.Now().After(deadline) {
			tb.Fatalf("clients got %d bytes, want %d", f.got.Load(), total)
		}
		time.Sleep(20 * time.Microsecond) // polling a byte count: nothing to await
	}
}
