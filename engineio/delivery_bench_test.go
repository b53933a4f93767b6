package engineio

import (
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchFleet is an engineio server on loopback with n websocket clients whose readers only
// count the bytes they receive, so a benchmark measures the server's delivery path (plus a
// constant client cost) and can await a broadcast's arrival at every client.
type benchFleet struct {
	srv   *Server
	http  *httptest.Server
	conns []*Conn
	got   atomic.Int64  // bytes received by all clients
	want  atomic.Int64  // the reader that sees got reach want signals done
	done  chan struct{} // one signal per awaited target
}

func newBenchFleet(tb testing.TB, n int) *benchFleet {
	tb.Helper()
	f := &benchFleet{done: make(chan struct{}, 1)}
	opened := make(chan *Conn, n)
	f.srv = NewServer(Options{
		PingInterval:  time.Hour,
		MaxQueueBytes: 1 << 30,
		OnOpen: func(c *Conn) Listener {
			opened <- c
			return nopListener{}
		},
	})
	f.http = httptest.NewServer(f.srv)
	tb.Cleanup(func() {
		f.srv.Close()
		f.http.Close()
	})
	url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			tb.Fatalf("dial: %v", err)
		}
		if _, _, err := ws.ReadMessage(); err != nil { // the open packet
			tb.Fatalf("open packet: %v", err)
		}
		nc := ws.NetConn()
		tb.Cleanup(func() { _ = nc.Close() })
		go f.read(nc)
		f.conns = append(f.conns, <-opened)
	}
	return f
}

func (f *benchFleet) read(nc net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := nc.Read(buf)
		if err != nil {
			return
		}
		if f.got.Add(int64(n)) == f.want.Load() {
			select {
			case f.done <- struct{}{}:
			default:
			}
		}
	}
}

// await blocks until the clients have received total bytes.
func (f *benchFleet) await(tb testing.TB, total int64) {
	f.want.Store(total)
	if f.got.Load() >= total {
		select { // a reader may have signalled already
		case <-f.done:
		default:
		}
		return
	}
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		tb.Fatalf("clients got %d bytes, want %d", f.got.Load(), total)
	}
}

type nopListener struct{}

func (nopListener) OnMessage([]byte, bool) {}
func (nopListener) OnClose(string)         {}

// BenchmarkDeliveryLatencyBound sends one shared packet to every connection and waits for
// every client to receive it before the next: the rate-bound case, where each delivery
// costs a writer wakeup and a write. ns/op and allocs/op are per broadcast.
func BenchmarkDeliveryLatencyBound(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			f := newBenchFleet(b, n)
			p := NewMessage([]byte(`2/org/1,["person.updated",{"id":42}]`))
			frame := int64(len(p.wsFrame()))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for _, c := range f.conns {
					_ = c.Send(p)
				}
				f.await(b, int64(i+1)*frame*int64(n))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

// BenchmarkDeliveryBacklog queues broadcasts as fast as Send takes them and waits once at
// the end: the throughput case, where the writer batches queued frames into one writev.
func BenchmarkDeliveryBacklog(b *testing.B) {
	const n = 100
	f := newBenchFleet(b, n)
	p := NewMessage([]byte(`2/org/1,["person.updated",{"id":42}]`))
	frame := int64(len(p.wsFrame()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, c := range f.conns {
			_ = c.Send(p)
		}
	}
	f.await(b, int64(b.N)*frame*n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
