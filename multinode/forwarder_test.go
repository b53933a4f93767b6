package multinode

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// forwarder is a TCP forwarder on loopback, a stand-in for a load balancer: clients (or a
// node's Redis connections) connect to it and it forwards to a target that the test can
// switch. When either side of a forwarded connection closes, both are closed, so a client
// behind it sees a node's death as a transport close.
type forwarder struct {
	t  testing.TB
	ln net.Listener

	mu     sync.Mutex
	target string
	paused bool
	gate   chan struct{} // non-nil while stalled: closed by Unstall
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// startForwarder forwards a new loopback port to target until the test ends.
func startForwarder(t testing.TB, target string) *forwarder {
	t.Helper()
	f := &forwarder{t: t, ln: testenv.Listen(t), target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		_ = f.ln.Close()
		f.Unstall()
		f.DropAll()
		f.wg.Wait()
	})
	return f
}

// Addr is the forwarder's "127.0.0.1:PORT".
func (f *forwarder) Addr() string { return f.ln.Addr().String() }

// SetTarget forwards new connections to addr; open ones stay where they are.
func (f *forwarder) SetTarget(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = addr
}

// Pause closes new connections as soon as they are accepted (connection refused, as seen
// by the client) until Resume.
func (f *forwarder) Pause() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = true
}

// Resume forwards new connections again.
func (f *forwarder) Resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = false
}

// Stall holds every byte in both directions, on open connections and new ones, as a
// network partition does (nothing is refused or closed), until Unstall.
func (f *forwarder) Stall() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate == nil {
		f.gate = make(chan struct{})
	}
}

// Unstall lets the held bytes and connections through.
func (f *forwarder) Unstall() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
}

// pass returns once nothing is stalled.
func (f *forwarder) pass() {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g != nil {
		<-g
	}
}

// DropAll closes every forwarded connection, both sides.
func (f *forwarder) DropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // listener closed at the end of the test
		}
		f.mu.Lock()
		target, paused := f.target, f.paused
		f.mu.Unlock()
		if paused {
			_ = c.Close()
			continue
		}
		f.wg.Add(1)
		go f.forward(c, target)
	}
}

func (f *forwarder) forward(c net.Conn, target string) {
	defer f.wg.Done()
	f.pass()
	up, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	f.mu.Lock()
	f.conns[c] = struct{}{}
	f.conns[up] = struct{}{}
	f.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				f.pass()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done // one side ended: end both
	_ = c.Close()
	_ = up.Close()
	<-done
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, up)
	f.mu.Unlock()
}
