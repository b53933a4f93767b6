package engineio

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// idleClientEnv makes the test binary a client process that holds idle websockets (see
// TestIdleClientProcess): the server's memory is then measured without the clients'.
const idleClientEnv = "ENGINEIO_IDLE_CLIENT"

// BenchmarkIdleWebsocketMemory connects idle websockets from another process to a server in
// this one and reports what each costs this process: RSS (VmRSS growth), Go heap in use and
// goroutine stacks, per connection. b.N is ignored: one measurement per run.
func BenchmarkIdleWebsocketMemory(b *testing.B) {
	const n = 2000
	srv := NewServer(Options{OnOpen: func(*Conn) Listener { return nopListener{} }})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/engine.io/?EIO=4&transport=websocket"

	stopWarm := holdIdle(b, url, 20) // warm-up: every code path a connection takes is loaded
	stopWarm()
	for srv.Count() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	rss0, heap0, stack0 := idleMemory()
	stop := holdIdle(b, url, n)
	defer stop()
	for deadline := time.Now().Add(time.Minute); srv.Count() < n; {
		if time.Now().After(deadline) {
			b.Fatalf("%d sessions open, want %d", srv.Count(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	rss1, heap1, stack1 := idleMemory()
	if path := os.Getenv("ENGINEIO_IDLE_HEAP_PROFILE"); path != "" { // what the idle connections hold
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	b.ReportMetric(float64(rss1-rss0)/1024/n, "rss-KiB/conn")
	b.ReportMetric(float64(heap1-heap0)/1024/n, "heap-KiB/conn")
	b.ReportMetric(float64(stack1-stack0)/1024/n, "stack-KiB/conn")
	b.ReportMetric(float64(runtime.NumGoroutine())/n, "goroutines/conn")
}

// idleMemory collects garbage and returns VmRSS, HeapInuse and StackInuse.
func idleMemory() (rss, heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return rss, int64(ms.HeapInuse), int64(ms.StackInuse)
}

// holdIdle starts a client process holding n websockets to url; stop ends it.
func holdIdle(tb testing.TB, url string, n int) (stop func()) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientProcess$")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+strconv.Itoa(n)+" "+url)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("client process: %v", err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !bytes.HasPrefix(sc.Bytes(), []byte("ready")) {
	}
	return func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
}

// TestIdleClientProcess is the client side of BenchmarkIdleWebsocketMemory; it does
// nothing unless started by it.
func TestIdleClientProcess(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		t.Skip("client process of BenchmarkIdleWebsocketMemory")
	}
	ns, url, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(ns)
	conns := make([]*websocket.Conn, 0, n)
	for range n {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatalf("open packet: %v", err)
		}
		conns = append(conns, ws)
	}
	fmt.Println("ready")
	_, _ = os.Stdin.Read(make([]byte, 1)) // until the parent closes stdin
	for _, ws := range conns {
		_ = ws.Close()
	}
}

// BenchmarkIdleAfterBurstMemory reports the Go heap each websocket keeps once a burst of
// queued frames (500 per connection, written by the writer in as few writevs as it may)
// has been delivered: what an idle connection holds after a busy moment. b.N is ignored.
func BenchmarkIdleAfterBurstMemory(b *testing.B) {
	const n, burst = 200, 500
	f := newBenchFleet(b, n)
	p := NewMessage([]byte(`2/org/1,["person.updated",{"id":42}]`))
	frame := int64(len(p.wsFrame()))
	_, heap0, _ := idleMemory()
	for _, c := range f.conns {
		for range burst {
			_ = c.Send(p)
		}
	}
	f.await(b, frame*n*burst)
	_, heap1, _ := idleMemory()
	b.ReportMetric(float64(heap1-heap0)/n, "kept-B/conn")
}
