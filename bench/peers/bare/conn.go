package main

import (
	"net"
	"sync"

	"github.com/gorilla/websocket"
)

// maxQueued is the slow-consumer bound: bytes queued for one connection before it is cut.
const maxQueued = 1 << 20

// conn is one websocket: a queue of shared frames and one writer goroutine that writes the
// whole queue with one writev each time it wakes.
type conn struct {
	nc   net.Conn
	wake chan struct{}

	mu     sync.Mutex
	queue  [][]byte
	spare  [][]byte
	queued int
	closed bool
}

func newConn(ws *websocket.Conn) *conn {
	c := &conn{nc: ws.NetConn(), wake: make(chan struct{}, 1)}
	// Control frames are answered through the queue too, so only the writer writes.
	ws.SetPingHandler(func(data string) error {
		c.send(append([]byte{0x8A, byte(len(data))}, data...))
		return nil
	})
	ws.SetCloseHandler(func(int, string) error { return nil })
	go c.writer()
	return c
}

// send queues a frame (shared, never modified) for the writer.
func (c *conn) send(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += len(frame)
	if c.queued > maxQueued {
		c.closed = true
		_ = c.nc.Close()
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writer drains the queue until the connection is closed.
func (c *conn) writer() {
	var backing [][]byte
	for range c.wake {
		c.mu.Lock()
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil
		c.queued = 0
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		backing = append(backing[:0], batch...)
		bufs := net.Buffers(backing)
		// No write deadline: moving it costs a timer update per write, and this peer is the
		// limit the others are measured against. A client that stops reading is cut off by
		// maxQueued instead.
		_, err := bufs.WriteTo(c.nc)
		clear(batch)
		c.mu.Lock()
		c.spare = batch[:0]
		c.mu.Unlock()
		if err != nil {
			c.shutdown()
			return
		}
	}
}

// shutdown closes the connection and wakes the writer so that it returns.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.closed = true
	select {
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
	_ = c.nc.Close()
}
