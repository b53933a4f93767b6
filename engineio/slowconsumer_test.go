package engineio

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// smallBuffers shrinks the kernel send buffer of every accepted connection, so a client that
// stops reading fills the path quickly and the server's queue must absorb the rest.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestSlowConsumerIsDisconnected: a client that never reads must not make the server buffer
// without bound; past MaxQueueBytes the session is dropped.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	const limit = 64 << 10
	ts := startServer(t, Options{MaxQueueBytes: limit, PingInterval: time.Hour},
		func(l net.Listener) net.Listener { return smallBuffers{l} })
	dialer := &websocket.Dialer{
		ReadBufferSize: 1024,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			return c, err
		},
	}
	ws := ts.dialWS(dialer, "EIO=4&transport=websocket", nil)
	readText(t, ws) // the open packet; from here on the client reads nothing
	r := ts.session()

	p := NewMessage(make([]byte, 1024))
	sent := 0
	var err error
	for ; sent < 1_000_000; sent++ {
		if err = r.conn.Send(p); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("after %d sends: Send error %v, want ErrSlowConsumer", sent, err)
	}
	r.conn.mu.Lock()
	queued := r.conn.queued
	r.conn.mu.Unlock()
	if queued > limit+p.size() {
		t.Errorf("queue held %d bytes, over the %d-byte limit by more than one packet", queued, limit)
	}
	if err := r.conn.Send(p); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after the drop: %v, want ErrClosed", err)
	}
	if reason := awaitClose(t, r); reason != "slow consumer" {
		t.Errorf("close reason %q, want slow consumer", reason)
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d after the drop, want 0", n)
	}
	// The client, once it reads again, gets what the kernel held and then the end.
	if err := readUntilClosed(t, ws); err == nil {
		t.Fatal("connection not closed")
	}
}
