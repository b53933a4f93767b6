package engineio

import (
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// openPolling answers a polling handshake with the open packet.
func (s *Server) openPolling(w http.ResponseWriter, r *http.Request, ip netip.Addr, release func()) {
	c := s.newConn(r, Polling, ip, release)
	if c == nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	c.startHeartbeat()
	s.writePayload(w, r, s.handshake(c, []string{WebSocket}))
}

// pollGet answers a long-polling GET with the queued packets, waiting until there is one.
// A second GET while one is pending is a protocol error: 400, and the session is closed.
func (c *Conn) pollGet(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport != Polling {
		c.mu.Unlock()
		c.srv.fail(w, r, codeBadRequest)
		return
	}
	if c.pollWaiting {
		c.mu.Unlock()
		c.srv.fail(w, r, codeBadRequest)
		c.closeWith("transport error", false)
		return
	}
	c.pollWaiting = true
	for len(c.queue) == 0 && !c.closed && c.transport == Polling && !c.probed {
		c.mu.Unlock()
		select {
		case <-c.pollCh:
		case <-r.Context().Done():
			c.mu.Lock()
			c.pollWaiting = false
			c.mu.Unlock()
			c.closeWith("transport close", false)
			return
		}
		c.mu.Lock()
	}
	c.pollWaiting = false
	var batch []*Packet
	if c.transport == Polling {
		batch = c.takeLocked()
		// A close packet goes out alone, on the poll after the packets queued before it:
		// the official client drops the rest of a payload once it reads a close.
		for i, p := range batch {
			if p == closePacket && i > 0 {
				c.queue = append(c.queue, batch[i:]...)
				batch = batch[:i]
				break
			}
		}
	}
	pendingClose := len(c.queue) > 0
	if c.transport != Polling {
		// Still pending when the upgrade completed: a conforming client has stopped polling
		// by then (it sends the upgrade packet after its last poll returned).
		c.mu.Unlock()
		c.srv.fail(w, r, codeBadRequest)
		return
	}
	closed, upgraded := c.closed, c.transport != Polling || c.probed
	clientClosed := c.reason == reasonClientClose
	c.mu.Unlock()

	var body []byte
	switch {
	case len(batch) > 0:
		n := len(batch) - 1
		for _, p := range batch {
			if !p.wsOnly {
				n += len(p.pollingBytes())
			}
		}
		body = make([]byte, 0, n)
		for i, p := range batch {
			if p.wsOnly {
				continue
			}
			if i > 0 && len(body) > 0 {
				body = append(body, recordSeparator)
			}
			body = append(body, p.pollingBytes()...)
		}
		c.recycle(batch)
	case upgraded, closed && clientClosed:
		body = noopPacket.text // an upgrade is under way, or the client closed: end this poll cleanly
	case closed:
		body = closePacket.text
	}
	if c.lingering && !pendingClose {
		c.srv.remove(c) // the GET that was on its way got its answer
	}
	c.srv.writePayload(w, r, body)
}

// pollPost reads a payload of packets from the client and answers "ok".
func (c *Conn) pollPost(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport != Polling {
		c.mu.Unlock()
		c.srv.fail(w, r, codeBadRequest)
		return
	}
	if c.posting {
		c.mu.Unlock()
		c.srv.fail(w, r, codeBadRequest)
		c.closeWith("transport error", false)
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()

	// The body must arrive within the heartbeat budget: a client that sends the headers and
	// then dribbles the body would otherwise hold this handler (and the session's POST
	// slot) for as long as it likes. Once the body is in, the deadline is lifted (net/http
	// sets its own again for the next request on the connection).
	o := c.srv.opts
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(o.PingInterval + o.PingTimeout)); err != nil {
		o.Logger.Debug("engine.io: no read deadline on a polling POST", "err", err)
	}
	max := o.MaxPayload
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil || len(body) > max {
		// What is left of the body is not read (net/http would otherwise try to drain it,
		// at the client's pace): the connection ends with this answer.
		w.Header().Set("Connection", "close")
	} else {
		_ = rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		c.srv.fail(w, r, codeBadRequest)
		c.closeWith("transport error", false)
		return
	}
	if len(body) > max {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		c.closeWith("transport error", false)
		return
	}
	packets, err := decodePayload(body)
	if err != nil {
		c.srv.fail(w, r, codeBadRequest)
		c.closeWith("parse error", false)
		return
	}
	c.deliver(packets)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", "2")
	_, _ = io.WriteString(w, "ok")
}

func (s *Server) writePayload(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}
