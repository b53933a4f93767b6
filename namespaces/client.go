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
// running; past it the connection is closed.
const maxPendingPackets = 128

// maxNamespacesPerConn bounds the namespaces one connection may join or be joining, so a
// client cannot start unbounded admissions (each may call the upstream).
const maxNamespacesPerConn = 32

var errTooManyNamespaces = errors.New("too many namespaces on one connection")

// nsState is one namespace of one connection: admitting, draining, or connected.
type nsState struct {
	sock     *Socket  // nil while the admission runs
	buf      []packet // packets received while admitting or draining, in order
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

	partial *packet // binary packet waiting for attachments (reader only)
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c, sockets: make(map[string]*nsState)}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	return cl
}

// OnMessage implements engineio.Listener. Calls are serialised by engineio.
func (c *client) OnMessage(data []byte, binary bool) {
	if binary {
		if c.partial == nil {
			c.protocolError("unexpected binary attachment")
			return
		}
		c.partial.buffers = append(c.partial.buffers, data)
		if len(c.partial.buffers) == c.partial.attachments {
			p := *c.partial
			c.partial = nil
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
		return
	}
	c.dispatch(p)
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
		c.mu.Unlock()
		c.sendConnectError(p.nsp, errTooManyNamespaces)
		return
	}
	st := &nsState{}
	c.sockets[p.nsp] = st
	c.mu.Unlock()
	go c.admit(h, p, st)
}

func (c *client) admit(h *Handler, p packet, st *nsState) {
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
		if err != nil {
			c.mu.Lock()
			if c.sockets[p.nsp] == st {
				delete(c.sockets, p.nsp)
			}
			c.mu.Unlock()
			c.sendConnectError(p.nsp, err)
			return
		}
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
	c.connectTimer.Stop()
	// Joined first, so no broadcast sent after the client sees CONNECT can miss it; what
	// arrives meanwhile is held and sent after the CONNECT answer by finishRecovery.
	c.srv.join(sock, h, rec.rooms())
	c.mu.Unlock()
	c.srv.lookupMissed(c.ctx, sock, &rec) // decides the pid the CONNECT answer carries
	c.mu.Lock()
	if !c.closed {
		c.sendText(encodePacket(pConnect, p.nsp, -1, 0, connectJSON(sock)))
	}
	c.mu.Unlock()
	c.srv.finishRecovery(c.ctx, sock, rec)

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
	c.connectTimer.Stop()
	socks := make([]*Socket, 0, len(c.sockets))
	for _, st := range c.sockets {
		if st.sock != nil {
			socks = append(socks, st.sock)
		}
	}
	c.sockets = nil
	c.mu.Unlock()
	c.cancel()
	for _, s := range socks {
		s.onClose(reason)
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
