package namespaces

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/syncgate/syncgate/engineio"
)

// maxPendingPackets bounds what a client may send to a namespace whose admission is still
// running; past it the connection is closed. Their bytes are bounded too (Options.PendingBytes).
const maxPendingPackets = 128

// maxPendingAdmissions bounds the admissions one connection may have running at once (each
// may wait on the upstream); a CONNECT past it waits for one to finish, in order. What
// waits is bounded by maxNamespacesPerConn and its bytes by Options.PendingBytes.
const maxPendingAdmissions = 4

// packetOverhead is what one held packet costs besides its payload (struct, slice headers).
const packetOverhead = 128

// maxNamespacesPerConn bounds the namespaces one connection may join or be joining, so a
// client cannot start unbounded admissions (each may call the upstream). A CONNECT past it
// is refused and counts as a refused admission (Options.MaxAdmitFailures).
const maxNamespacesPerConn = 32

var errTooManyNamespaces = errors.New("too many namespaces on one connection")

// admission is a CONNECT waiting for one of the connection's maxPendingAdmissions slots.
type admission struct {
	h            *Handler
	p            packet
	st           *nsState
	connectBytes int
}

// nsState is one namespace of one connection: admitting, draining, or connected.
type nsState struct {
	sock     *Socket  // nil while the admission runs
	buf      []packet // packets received while admitting or draining, in order
	bufBytes int      // what buf holds, charged to client.held
	draining bool
}

// client is one Engine.IO connection and the namespaces it joined.
type client struct {
	srv  *Server
	conn *engineio.Conn

	mu           sync.Mutex
	sockets      map[string]*nsState
	closed       bool
	connected    bool // has joined a namespace at least once
	connectTimer *time.Timer
	ctx          context.Context // ends when the connection closes
	cancel       context.CancelFunc

	// Bytes held for namespaces not admitted yet (CONNECT payloads of running admissions,
	// packets buffered while admitting, binary attachments of a packet for a namespace that
	// is not admitted), against one budget: past Options.PendingBytes the connection closes.
	held     int
	pending  int         // admissions running
	waiting  []admission // CONNECTs waiting for a slot, in arrival order
	failures int         // refused admissions so far (each CONNECT counts, retries included)

	overBudgetSeen bool // the connection is being closed for its budget (counted once)

	partial     *packet // binary packet waiting for attachments (reader only)
	partialHeld int     // of held, what partial holds (reader only)
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c, sockets: make(map[string]*nsState)}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	return cl
}

// OnMessage implements engineio.Listener. Calls are serialised by engineio.
func (c *client) OnMessage(data []byte, binary bool) {
	c.srv.observer().traffic(true, 1, len(data))
	if binary {
		if c.partial == nil {
			c.protocolError("unexpected binary attachment")
			return
		}
		c.partial.buffers = append(c.partial.buffers, data)
		if !c.chargePartial(len(data)) {
			c.partial = nil
			return
		}
		if len(c.partial.buffers) == c.partial.attachments {
			p := *c.partial
			c.partial = nil
			c.release(c.partialHeld) // dispatch charges it again if it has to wait
			c.partialHeld = 0
			c.dispatch(p)
		}
		return
	}
	if c.partial != nil {
		c.protocolError("text packet while waiting for binary attachments")
		return
	}
	p, err := decodePacket(data)
	if err != nil {
		c.protocolError(err.Error())
		return
	}
	if p.attachments > 0 {
		c.partial = &p
		if !c.chargePartial(len(data)) {
			c.partial = nil
		}
		return
	}
	c.dispatch(p)
}

// chargePartial charges n more bytes of the packet being assembled when it is for a
// namespace with no admitted socket (admitting, or not joined at all); it reports false, and
// closes the connection, past the budget.
func (c *client) chargePartial(n int) bool {
	c.mu.Lock()
	if st := c.sockets[c.partial.nsp]; st != nil && st.sock != nil && c.partialHeld == 0 {
		c.mu.Unlock()
		return true // an admitted namespace: its packets are handled as they come
	}
	c.partialHeld += n
	c.held += n
	over := c.held > c.srv.opts.PendingBytes
	c.mu.Unlock()
	if over {
		c.overBudget()
		return false
	}
	return true
}

// release gives back n held bytes.
func (c *client) release(n int) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	c.held -= n
	c.mu.Unlock()
}

// overBudget closes a connection that made the server hold more than its budget for
// namespaces it is not admitted to.
func (c *client) overBudget() {
	c.mu.Lock()
	first := !c.overBudgetSeen
	c.overBudgetSeen = true
	c.mu.Unlock()
	if first { // frames already read may run into the budget again before the close
		c.srv.stats.ClosedOverBudget.Add(1)
	}
	c.protocolError("too many bytes held while admission is pending")
}

// heldSize is what a buffered packet costs: its payload, attachments and bookkeeping. The
// text payload is a slice of the received message, whose size it approximates.
func heldSize(p packet) int {
	n := packetOverhead + len(p.nsp) + len(p.data)
	for _, b := range p.buffers {
		n += len(b)
	}
	return n
}

func (c *client) protocolError(why string) {
	c.srv.log.Debug("socket.io protocol error, closing connection", "sid", c.conn.ID(), "why", why)
	c.conn.Close()
}

// dispatch routes a complete packet to its namespace.
func (c *client) dispatch(p packet) {
	if p.typ == pConnect {
		c.connect(p)
		return
	}
	c.mu.Lock()
	st := c.sockets[p.nsp]
	if st == nil {
		c.mu.Unlock()
		return // not joined: ignored, as the reference server does
	}
	if st.sock == nil || st.draining {
		if len(st.buf) >= maxPendingPackets {
			c.mu.Unlock()
			c.protocolError("too many packets while admission is pending")
			return
		}
		n := heldSize(p)
		if c.held+n > c.srv.opts.PendingBytes {
			c.mu.Unlock()
			c.overBudget()
			return
		}
		c.held += n
		st.bufBytes += n
		st.buf = append(st.buf, p)
		c.mu.Unlock()
		return
	}
	sock := st.sock
	c.mu.Unlock()
	sock.handle(p)
}

// connect starts the admission of a namespace. The hook runs on its own goroutine so a slow
// upstream holds up neither this connection's other namespaces nor other connections.
func (c *client) connect(p packet) {
	h := c.srv.handlerFor(p.nsp)
	if h == nil {
		c.sendConnectError(p.nsp, ErrInvalidNamespace)
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if st := c.sockets[p.nsp]; st != nil {
		sock := st.sock
		c.mu.Unlock()
		if sock != nil { // already connected: confirm again, idempotently
			c.sendText(encodePacket(pConnect, p.nsp, -1, 0, sidJSON(sock.id)))
		}
		return
	}
	if len(c.sockets) >= maxNamespacesPerConn {
		over := c.countFailureLocked()
		c.mu.Unlock()
		c.refuse(p.nsp, errTooManyNamespaces, over)
		return
	}
	n := heldSize(p) // the CONNECT payload stays held until the hook has answered
	if c.held+n > c.srv.opts.PendingBytes {
		c.mu.Unlock()
		c.overBudget()
		return
	}
	c.held += n
	st := &nsState{}
	c.sockets[p.nsp] = st
	if c.pending >= maxPendingAdmissions {
		c.waiting = append(c.waiting, admission{h: h, p: p, st: st, connectBytes: n})
		c.mu.Unlock()
		return
	}
	c.pending++
	c.mu.Unlock()
	go c.admit(h, p, st, n)
}

// countFailureLocked counts one refused admission; it reports whether this refusal took
// the connection past Options.MaxAdmitFailures (only that one does: it is closed once).
// c.mu is held.
func (c *client) countFailureLocked() bool {
	c.failures++
	return c.srv.opts.MaxAdmitFailures > 0 && c.failures == c.srv.opts.MaxAdmitFailures+1
}

// refuse answers a CONNECT with err, and closes the connection when over says this
// refusal took it past Options.MaxAdmitFailures.
func (c *client) refuse(nsp string, err error, over bool) {
	c.sendConnectError(nsp, err)
	if over {
		c.srv.stats.ClosedAdmitFailures.Add(1)
		c.srv.log.Info("closing connection: too many refused admissions",
			"sid", c.conn.ID(), "limit", c.srv.opts.MaxAdmitFailures)
		c.conn.Close()
	}
}

// nextAdmissionLocked hands the slot of an admission that just ended to the oldest waiting
// CONNECT, if any, and returns it to be started. c.mu is held.
func (c *client) nextAdmissionLocked() *admission {
	if c.closed || len(c.waiting) == 0 {
		return nil
	}
	next := c.waiting[0]
	c.waiting[0] = admission{}
	c.waiting = c.waiting[1:]
	if len(c.waiting) == 0 {
		c.waiting = nil
	}
	c.pending++
	return &next
}

// admitted ends a running admission: its CONNECT payload is released. When err refuses the
// socket, its buffered packets are dropped and the refusal counts against the connection's
// Options.MaxAdmitFailures; it reports whether this refusal took the connection past it.
// The slot it held goes to the oldest waiting CONNECT, which is started here.
func (c *client) admitted(st *nsState, nsp string, connectBytes int, err error) (overLimit bool) {
	c.mu.Lock()
	c.pending--
	c.held -= connectBytes
	if err != nil {
		c.held -= st.bufBytes
		st.buf, st.bufBytes = nil, 0
		if c.sockets[nsp] == st {
			delete(c.sockets, nsp)
		}
		overLimit = !c.closed && c.countFailureLocked()
	}
	var next *admission
	if !overLimit {
		next = c.nextAdmissionLocked()
	}
	c.mu.Unlock()
	if next != nil {
		go c.admit(next.h, next.p, next.st, next.connectBytes)
	}
	return overLimit
}

func (c *client) admit(h *Handler, p packet, st *nsState, connectBytes int) {
	var data any
	if h.Admit != nil {
		ctx, cancel := context.WithTimeout(c.ctx, c.srv.opts.AdmitTimeout)
		var err error
		data, err = h.Admit(ctx, &ConnectRequest{
			Namespace: p.nsp,
			Handshake: c.conn.Handshake(),
			Auth:      json.RawMessage(p.data),
			EngineID:  c.conn.ID(),
		})
		cancel()
		over := c.admitted(st, p.nsp, connectBytes, err)
		if err != nil {
			c.refuse(p.nsp, err, over)
			return
		}
	} else {
		c.admitted(st, p.nsp, connectBytes, nil)
	}
	sock := newSocket(c, p.nsp, h, data)
	rec := c.srv.prepareRecovery(c.ctx, sock, p.data)
	c.mu.Lock()
	if c.closed || c.sockets[p.nsp] != st {
		c.mu.Unlock()
		sock.cancel()
		return
	}
	st.sock = sock
	st.draining = true
	c.connected = true
	c.stopConnectTimerLocked()
	// Joined first, so no broadcast sent after the client sees CONNECT can miss it; what
	// arrives meanwhile is held and sent after the CONNECT answer by finishRecovery.
	c.srv.join(sock, h, rec.rooms())
	c.mu.Unlock()
	// An InterestAdapter reads the namespace from now on, before the CONNECT answer.
	c.srv.subscribe(sock)
	c.srv.lookupMissed(c.ctx, sock, &rec) // decides the pid the CONNECT answer carries
	c.mu.Lock()
	if !c.closed {
		c.sendText(encodePacket(pConnect, p.nsp, -1, 0, connectJSON(sock)))
	}
	c.mu.Unlock()
	c.srv.finishRecovery(c.ctx, sock, rec)

	c.srv.observer().connected(sock)
	if h.OnConnect != nil {
		h.OnConnect(sock)
	}
	for { // packets that arrived during admission, in order, then live handling
		c.mu.Lock()
		if len(st.buf) == 0 {
			st.draining = false
			c.mu.Unlock()
			return
		}
		batch := st.buf
		st.buf = nil
		c.held -= st.bufBytes
		st.bufBytes = 0
		c.mu.Unlock()
		for _, q := range batch {
			sock.handle(q)
		}
	}
}

// forget removes the namespace state of sock (after a DISCONNECT either way).
func (c *client) forget(sock *Socket) {
	c.mu.Lock()
	if st := c.sockets[sock.nspName]; st != nil && st.sock == sock {
		delete(c.sockets, sock.nspName)
	}
	c.mu.Unlock()
}

// OnClose implements engineio.Listener.
func (c *client) OnClose(reason string) {
	c.mu.Lock()
	c.closed = true
	c.stopConnectTimerLocked()
	socks := make([]*Socket, 0, len(c.sockets))
	for _, st := range c.sockets {
		if st.sock != nil {
			socks = append(socks, st.sock)
		}
	}
	c.sockets = nil
	c.waiting = nil
	c.mu.Unlock()
	c.cancel()
	for _, s := range socks {
		s.onClose(reason)
	}
	c.srv.observer().closed(c.conn.ID(), reason)
}

// stopConnectTimerLocked stops the connect timeout and lets its timer go: a connected
// client keeps nothing of it. c.mu is held.
func (c *client) stopConnectTimerLocked() {
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
}

func (c *client) connectTimeout() {
	c.mu.Lock()
	idle := !c.connected && !c.closed
	c.mu.Unlock()
	if idle {
		c.conn.Close()
	}
}

func (c *client) sendText(b []byte) { _ = c.conn.Send(engineio.NewMessage(b)) }

func (c *client) sendPackets(pkts []*engineio.Packet) {
	for _, p := range pkts {
		if c.conn.Send(p) != nil {
			return
		}
	}
}

func (c *client) sendConnectError(nsp string, err error) {
	body := map[string]any{"message": err.Error()}
	var ce *ConnectError
	if errors.As(err, &ce) && ce.Data != nil {
		body["data"] = ce.Data
	}
	b, _ := json.Marshal(body)
	c.sendText(encodePacket(pConnectError, nsp, -1, 0, b))
}

func sidJSON(id string) []byte {
	b, _ := json.Marshal(map[string]string{"sid": id})
	return b
}

// connectJSON is the CONNECT answer: the socket ID, and the recovery pid when recovery is on.
func connectJSON(s *Socket) []byte {
	if s.pid == "" {
		return sidJSON(s.id)
	}
	b, _ := json.Marshal(map[string]string{"sid": s.id, "pid": s.pid})
	return b
}

// packets turns an encoded Socket.IO packet into Engine.IO packets.
func (e encoded) packets() []*engineio.Packet {
	out := make([]*engineio.Packet, 0, 1+len(e.buffers))
	out = append(out, engineio.NewMessage(e.text))
	for _, b := range e.buffers {
		out = append(out, engineio.NewBinaryMessage(b))
	}
	return out
}
