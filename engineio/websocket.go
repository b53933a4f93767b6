package engineio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Websocket pings a client may send: far more than any keepalive needs (browsers send none;
// Node's ws pings when told to, every few seconds at most).
const (
	pingRate  = 20  // per second, sustained
	pingBurst = 100 // at once
)

// openWebSocket starts a session directly on websocket, with a reader goroutine of its own.
func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request, ip netip.Addr, release func()) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		return // the upgrader has answered the client
	}
	c := s.newConn(r, WebSocket, ip, release)
	if c == nil {
		_ = ws.Close()
		return
	}
	c.mu.Lock() // the open packet goes first, before anything OnOpen may have queued
	c.queue = append([]*Packet{{text: s.handshake(c, []string{})}}, c.queue...)
	c.mu.Unlock()
	c.attach(ws)
	c.startHeartbeat()
	// The reader runs on its own goroutine and the handler returns: net/http's per-connection
	// buffers (about 9 KB) are then released instead of living as long as the websocket.
	go c.readLoop()
}

// attach makes ws the session's transport and installs the control-frame handlers, which
// queue their answers so that only the writer goroutine ever writes to the connection.
func (c *Conn) attach(ws *websocket.Conn) {
	ws.SetReadLimit(int64(c.srv.opts.MaxPayload))
	ws.SetPingHandler(c.onPing)
	ws.SetCloseHandler(func(code int, _ string) error {
		// Answer the client's Close frame with the same code, then close (RFC 6455 §5.5.1).
		payload := []byte{}
		if code != websocket.CloseNoStatusReceived {
			payload = binary.BigEndian.AppendUint16(nil, uint16(code))
		}
		c.mu.Lock()
		if !c.wsCloseSent {
			c.wsCloseSent = true
			c.queue = append(c.queue, rawFrame(controlFrame(opClose, payload)))
		}
		c.mu.Unlock()
		return nil
	})
	c.mu.Lock()
	c.ws = ws
	c.netConn = ws.NetConn()
	c.transport = WebSocket
	c.kickLocked()
	c.mu.Unlock()
}

// onPing answers a websocket ping with a pong, queued for the writer. A client that floods
// pings and never reads must not grow the server:
//   - a pong the writer has not taken yet is replaced by the newer one (RFC 6455 §5.5.3
//     lets an endpoint answer only the most recent ping), so the queue holds one pong at most;
//   - every pong counts against MaxQueueBytes until the writer drains the queue, like a message;
//   - pings beyond pingRate/pingBurst close the session as a slow consumer: whatever the
//     kernel's socket buffers absorb before the writer blocks (megabytes of pongs on a
//     default Linux), such a client is not asking for pongs it needs.
func (c *Conn) onPing(data string) error {
	pong := rawFrame(controlFrame(opPong, []byte(data)))
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if c.pings == nil {
		c.pings = rate.NewLimiter(pingRate, pingBurst)
	}
	flood := !c.pings.Allow()
	if !flood {
		if c.pongAt > 0 {
			c.queue[c.pongAt-1] = pong
		} else {
			c.queue = append(c.queue, pong)
			c.pongAt = len(c.queue)
		}
		c.queued += len(pong.frame) + 10 // as Packet.size counts a message
	}
	if flood || c.queued > c.srv.opts.MaxQueueBytes {
		c.mu.Unlock()
		c.srv.opts.Logger.Debug("engine.io: websocket client dropped", "sid", c.id, "reason", "slow consumer", "ping_flood", flood)
		c.closeWith("slow consumer", false)
		return nil
	}
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// readLoop reads websocket messages until the connection fails or closes.
func (c *Conn) readLoop() {
	ws := c.ws
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			reason := "transport error"
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				reason = "transport close"
				c.closeWith(reason, true) // flushes the queued Close answer
				return
			}
			c.closeWith(reason, false)
			return
		}
		if typ == websocket.BinaryMessage {
			c.deliver([]inPacket{{typ: typeMessage, data: data, binary: true}})
			continue
		}
		p, err := decodeText(data)
		if err != nil {
			c.closeWith("parse error", false)
			return
		}
		c.deliver([]inPacket{p})
	}
}

// writeLoop drains the queue onto the websocket, writing every queued frame in one writev.
// It runs only while there is something to write: a goroutine parked per idle connection
// would cost its stack (measured: +2.1 KiB stack and +0.7 KiB heap per idle websocket, see
// BenchmarkIdleWebsocketMemory) and saved no CPU per delivery (BenchmarkDeliveryLatencyBound),
// since a kick wakes a goroutine either way. What it writes with is kept on the Conn.
func (c *Conn) writeLoop(nc net.Conn) {
	for {
		batch, more := c.nextBatch()
		if !more {
			return
		}
		err := c.writeBatch(nc, batch)
		c.recycle(batch)
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.queue = c.queue[:0]
			c.pongAt = 0
			c.mu.Unlock()
			c.closeWith("transport error", false)
			return
		}
	}
}

// nextBatch takes what is queued. When nothing is, the writer stops (closing the
// connection if the session is closed) and more is false.
func (c *Conn) nextBatch() (batch []*Packet, more bool) {
	c.mu.Lock()
	if len(c.queue) == 0 {
		c.writing = false
		done, nc := c.closed, c.netConn
		c.mu.Unlock()
		if done {
			_ = nc.Close()
		}
		return nil, false
	}
	batch = c.takeLocked()
	c.mu.Unlock()
	return batch, true
}

// maxKeptFrames bounds the frame and packet lists a connection keeps between writes.
const maxKeptFrames = 16

// maxWritevFrames bounds the frames written by one writev.
const maxWritevFrames = 64

// writeBatch writes batch's frames with one writev.
func (c *Conn) writeBatch(nc net.Conn, batch []*Packet) error {
	frames := c.frames[:0]
	for _, p := range batch {
		frames = append(frames, p.wsFrame())
	}
	// The deadline is moved only when half of it is used up: re-arming the poller's
	// timer on every write cost ~4% of a broadcast's CPU.
	if now := time.Now(); now.After(c.writeDeadline.Add(-c.srv.opts.WriteTimeout / 2)) {
		c.writeDeadline = now.Add(c.srv.opts.WriteTimeout)
		_ = nc.SetWriteDeadline(c.writeDeadline)
	}
	var err error
	for rest := frames; len(rest) > 0 && err == nil; {
		// At most maxWritevFrames per writev: the kernel call keeps its iovec array on
		// the connection for good (up to 16 KiB after a burst of 1,024 frames), and
		// that many frames already make the call's own cost negligible.
		n := min(len(rest), maxWritevFrames)
		c.wbufs = rest[:n] // WriteTo consumes c.wbufs; frames keeps the backing array
		_, err = c.wbufs.WriteTo(nc)
		rest = rest[n:]
	}
	c.wbufs = nil
	clear(frames) // the frames belong to shared packets: do not keep them alive
	if cap(frames) <= maxKeptFrames {
		c.frames = frames[:0]
	} else {
		c.frames = nil // a burst's long list is not kept by an idle connection
	}
	return err
}

var (
	probePing = []byte("2probe")
	probePong = []byte("3probe")
)

// upgrade moves a polling session to websocket: probe, then the client's upgrade packet.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, c *Conn) {
	c.mu.Lock()
	if c.closed || c.transport != Polling || c.upgrading {
		c.mu.Unlock()
		// A second websocket for a session that already has one: accept, then close it at
		// once, as the reference server does (browsers get no readable HTTP error on a
		// websocket handshake anyway).
		if ws, err := s.upgrader.Upgrade(w, r, nil); err == nil {
			_ = ws.NetConn().Close()
		}
		return
	}
	c.upgrading = true
	c.mu.Unlock()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		c.abortUpgrade(nil)
		return
	}
	ws.SetReadLimit(int64(s.opts.MaxPayload))
	_ = ws.SetReadDeadline(time.Now().Add(s.opts.UpgradeTimeout))

	typ, data, err := ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage || !bytes.Equal(data, probePing) {
		c.abortUpgrade(ws)
		return
	}
	frame := make([]byte, 2+len(probePong))
	putFrameHeader(frame, opText, len(probePong))
	copy(frame[2:], probePong)
	_ = ws.NetConn().SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if _, err := ws.NetConn().Write(frame); err != nil {
		c.abortUpgrade(ws)
		return
	}
	// After a short grace, polls are answered with a noop at once (a pending one is
	// released), so the client can pause polling and send the upgrade packet. A conforming
	// client sends that packet only once its last poll has returned; one that sent it right
	// behind the probe completes within the grace, and a poll still pending then gets 400,
	// as after an upgrade.
	wake := func() {
		select {
		case c.pollCh <- struct{}{}:
		default:
		}
	}
	grace := time.AfterFunc(50*time.Millisecond, func() {
		c.mu.Lock()
		if c.upgrading {
			c.probed = true
		}
		c.mu.Unlock()
		wake()
	})

	typ, data, err = ws.ReadMessage()
	grace.Stop()
	if err != nil || typ != websocket.TextMessage || len(data) != 1 || data[0] != typeUpgrade {
		c.abortUpgrade(ws)
		return
	}
	_ = ws.SetReadDeadline(time.Time{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ws.Close()
		return
	}
	c.upgrading = false
	c.probed = false
	c.mu.Unlock()
	c.attach(ws) // switches the transport and flushes the queue over the websocket
	select {     // a poll still pending answers with a noop
	case c.pollCh <- struct{}{}:
	default:
	}
	go c.readLoop() // see openWebSocket
}

func (c *Conn) abortUpgrade(ws *websocket.Conn) {
	c.mu.Lock()
	c.upgrading = false
	c.probed = false
	c.mu.Unlock()
	if ws != nil {
		_ = ws.Close()
	}
}
