package namespaces

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

const idleClientEnv = "NAMESPACES_IDLE_CLIENT"

// BenchmarkIdleSocketMemory connects idle Socket.IO sockets (websocket, one namespace,
// recovery on as in the gateway) from another process and reports what each costs this
// one: Go heap in use and goroutine stacks per socket. b.N is ignored. With
// NAMESPACES_IDLE_HEAP_PROFILE=file it writes the heap profile of the idle sockets.
func BenchmarkIdleSocketMemory(b *testing.B) {
	const n = 2000
	srv := NewServer(Options{RecoveryWindow: 2 * time.Minute})
	srv.Handle(Handler{Match: func(string) bool { return true }})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = srv.Close() }()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	holdSockets(b, url, 20)()
	for srv.Engine().Count() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	heap0, stack0 := goMemory()
	stop := holdSockets(b, url, n)
	defer stop()
	time.Sleep(time.Second)
	heap1, stack1 := goMemory()
	if path := os.Getenv("NAMESPACES_IDLE_HEAP_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	b.ReportMetric(float64(heap1-heap0)/1024/n, "heap-KiB/socket")
	b.ReportMetric(float64(stack1-stack0)/1024/n, "stack-KiB/socket")
}

func goMemory() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

func holdSockets(tb testing.TB, url string, n int) (stop func()) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleSocketClientProcess$")
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

// TestIdleSocketClientProcess is the client side of BenchmarkIdleSocketMemory.
func TestIdleSocketClientProcess(t *testing.T) {
	spec := os.Getenv(idleClientEnv)
	if spec == "" {
		t.Skip("client process of BenchmarkIdleSocketMemory")
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
		if err := ws.WriteMessage(websocket.TextMessage, []byte("40/org/1,")); err != nil {
			t.Fatalf("connect: %v", err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			t.Fatalf("connect answer: %v", err)
		}
		conns = append(conns, ws)
	}
	fmt.Println("ready")
	_, _ = os.Stdin.Read(make([]byte, 1))
	for _, ws := range conns {
		_ = ws.Close()
	}
}
