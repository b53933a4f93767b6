package engineio

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Conn is one Engine.IO session. Its transport is long-polling or websocket and may change
// once, from polling to websocket, by an upgrade.
type Conn struct {
	srv      *Server
	id       string
	hs       *Handshake
	listener Listener

	msgMu sync.Mutex // serialises delivery to the listener (polling POSTs may overlap)

	mu        sync.Mutex
	transport string
	closed    bool
	reason    string
	queue     []*Packet
	spare     []*Packet
	queued    int    // bytes in queue
	pongAt    int    // 1 + index in queue of the websocket pong not yet taken by the writer; 0: none
	release   func() // gives the session's per-IP slot back (Options.AcquireSlot); nil once done

	// long-polling
	pollCh      chan struct{} // wakes the pending GET
	pollWaiting bool
	posting     bool

	// websocket
	netConn       net.Conn
	ws            *websocket.Conn
	writing       bool        // a writer goroutine is running
	writeDeadline time.Time   // the write deadline last set on netConn (writer only)
	frames        [][]byte    // the writer's frame list, reused from write to write (writer only)
	wbufs         net.Buffers // what one writev still has to write (writer only; a field, so it does not escape per write)
	wsCloseSent   bool
	pings         *rate.Limiter // websocket pings the client may still send (onPing); made on its first ping
	upgrading     bool
	probed        bool // the upgrade probe succeeded: polls are answered with a noop at once
	lingering     bool // closed by the client, still known until one GET is answered

	expires atomic.Int64 // unix nanoseconds after which a silent session is dead

	pingTimer *time.Timer
	pongTimer *time.Timer
	closeOnce sync.Once
}

// reasonClientClose is the close reason when the client sent a close packet.
const reasonClientClose = "transport close"

// ID returns the session ID.
func (c *Conn) ID() string { return c.id }

// Handshake returns the request that opened the session.
func (c *Conn) Handshake() *Handshake { return c.hs }

// Transport returns the current transport name.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Send queues p for the client. It never blocks: a session whose queue passes
// Options.MaxQueueBytes is closed as a slow consumer and ErrSlowConsumer is returned.
func (c *Conn) Send(p *Packet) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.queue = append(c.queue, p)
	c.queued += p.size()
	if c.queued > c.srv.opts.MaxQueueBytes {
		c.mu.Unlock()
		c.closeWith("slow consumer", false)
		return ErrSlowConsumer
	}
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// Close closes the session after flushing what is queued (a polling client receives a close
// packet, a websocket client a Close frame).
func (c *Conn) Close() { c.closeWith("forced close", true) }

// kickLocked makes the active transport drain the queue. c.mu is held.
func (c *Conn) kickLocked() {
	if c.transport == WebSocket && c.netConn != nil {
		if !c.writing {
			c.writing = true
			go c.writeLoop(c.netConn)
		}
		return
	}
	select {
	case c.pollCh <- struct{}{}:
	default:
	}
}

// takeLocked removes and returns the queued packets. c.mu is held.
func (c *Conn) takeLocked() []*Packet {
	batch := c.queue
	c.queue = c.spare[:0]
	c.spare = nil
	c.queued = 0
	c.pongAt = 0
	return batch
}

// recycle hands a written batch back for reuse, dropping its packet references.
func (c *Conn) recycle(batch []*Packet) {
	if cap(batch) > maxKeptFrames {
		return // a burst's long list is not kept by an idle connection
	}
	clear(batch)
	c.mu.Lock()
	if c.spare == nil {
		c.spare = batch[:0]
	}
	c.mu.Unlock()
}

// closeWith ends the session. graceful flushes the queue first (and sends a close packet or
// frame); otherwise the network connection is cut at once.
func (c *Conn) closeWith(reason string, graceful bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.reason = reason
	if release := c.release; release != nil {
		c.release = nil
		defer release() // after c.mu is unlocked
	}
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.pongTimer != nil {
		c.pongTimer.Stop()
	}
	nc := c.netConn
	if c.transport == WebSocket && nc != nil {
		if graceful {
			if !c.wsCloseSent {
				c.wsCloseSent = true
				c.queue = append(c.queue, rawFrame(controlFrame(opClose, []byte{0x03, 0xe8})))
			}
			c.kickLocked() // the writer closes nc once the queue is drained
			time.AfterFunc(c.srv.opts.WriteTimeout, func() { _ = nc.Close() })
		} else {
			_ = nc.Close()
		}
	}
	lingering := false
	if c.transport != WebSocket || nc == nil {
		if graceful {
			c.queue = append(c.queue, closePacket)
		}
		// A client that closes by POST while no GET is pending may have one on the way: the
		// session stays known for a moment (at most a second) so that GET is answered with a
		// noop instead of a 400.
		// Likewise a graceful close while no GET is pending: the packets it queued (a
		// Socket.IO DISCONNECT, the close packet) wait for the client's next poll.
		lingering = (reason == reasonClientClose || graceful) && !c.pollWaiting
		c.lingering = lingering
		select { // wake a pending GET: it answers with what is queued, or a close packet
		case c.pollCh <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
	if lingering {
		linger := min(c.srv.opts.PingTimeout, time.Second)
		if graceful {
			linger = min(c.srv.opts.PingTimeout, 3*time.Second)
		}
		time.AfterFunc(linger, func() { c.srv.remove(c) })
	} else {
		c.srv.remove(c)
	}
	// OnClose runs on its own goroutine so closeWith may be called from anywhere, a listener
	// included; taking msgMu there makes it wait for a message being handled.
	c.closeOnce.Do(func() {
		c.srv.closing.add()
		go func() {
			defer c.srv.closing.done()
			c.msgMu.Lock()
			defer c.msgMu.Unlock()
			c.listener.OnClose(reason)
		}()
	})
}

// startHeartbeat arms the server-driven ping: a ping every PingInterval, and the session is
// closed if no pong arrives within PingTimeout.
func (c *Conn) startHeartbeat() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.touch()
	c.pongTimer = time.AfterFunc(time.Hour, func() { c.closeWith("ping timeout", false) })
	c.pongTimer.Stop()
	c.pingTimer = time.AfterFunc(c.srv.opts.PingInterval, c.ping)
}

func (c *Conn) ping() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.pongTimer.Reset(c.srv.opts.PingTimeout)
	c.mu.Unlock()
	_ = c.Send(pingPacket)
}

func (c *Conn) pong() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.pongTimer == nil {
		return
	}
	if c.pongTimer.Stop() {
		c.touch()
		c.pingTimer.Reset(c.srv.opts.PingInterval)
	}
}

// touch moves the session's deadline: a session that answers no ping is dead
// PingInterval+PingTimeout after its last sign of life, even if a timer runs late.
func (c *Conn) touch() {
	o := c.srv.opts
	c.expires.Store(time.Now().Add(o.PingInterval + o.PingTimeout).UnixNano())
}

// expired reports whether the session outlived its deadline without a pong.
func (c *Conn) expired() bool {
	e := c.expires.Load()
	return e != 0 && time.Now().UnixNano() > e
}

// onPacket handles one decoded packet from the client. Called with msgMu held.
func (c *Conn) onPacket(p inPacket) {
	switch p.typ {
	case typeMessage:
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed {
			c.listener.OnMessage(p.data, p.binary)
		}
	case typePong:
		c.pong()
	case typeClose:
		c.closeWith(reasonClientClose, false)
	default:
		// ping, upgrade and noop mean nothing on an established transport; open is never sent
		// by a client. They are ignored, as the reference server does.
	}
}

// deliver runs onPacket for each packet under msgMu.
func (c *Conn) deliver(ps []inPacket) {
	c.msgMu.Lock()
	defer c.msgMu.Unlock()
	for _, p := range ps {
		c.onPacket(p)
	}
}
