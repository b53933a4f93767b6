package namespaces

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/syncgate/syncgate/engineio"
)

// ErrDisconnected is returned for operations on a socket that has left its namespace.
var ErrDisconnected = errors.New("namespaces: socket disconnected")

// EventFunc handles one event; ack is nil when the client asked for none.
type EventFunc func(s *Socket, args []any, ack func(args ...any))

// Socket is one admitted client in one namespace.
type Socket struct {
	id      string
	nspName string
	nsp     *Namespace // set when the socket joins its namespace
	client  *client
	handler *Handler
	data    any
	ctx     context.Context
	cancel  context.CancelFunc

	idx   int                 // position in nsp.list, guarded by nsp.mu
	rooms map[string]struct{} // guarded by nsp.mu

	mu           sync.Mutex
	events       map[string]EventFunc
	onDisconnect []func(reason string)
	disconnected bool
	reason       string
	acks         map[int64]chan []any
	nextAck      int64

	// connection state recovery (recovery.go)
	pid        string
	recovered  bool
	recovering atomic.Bool // fast-path flag for deliver; holding is the truth, under mu
	holding    bool
	held       []heldBroadcast
	lastOff    offset // the newest offset sent, under mu
	hasLast    bool
	saveMu     sync.Mutex // one session save at a time, so an older room set never overwrites a newer one
	// senderKeys are the recovery session IDs this socket answers to as a sender (its own,
	// and the one its client presented when it reconnected): see Broadcast.ExceptSender.
	senderKeys atomic.Pointer[[2]string]
	// localIDs are the bus IDs of broadcasts delivered here without an offset (queued
	// during a Redis outage), kept in the recovery session; skipIDs are those of a
	// recovered session: their late copies from the bus are not delivered again. Under mu.
	localIDs []string
	skipIDs  map[string]struct{}
}

// maxLocalIDs bounds Socket.localIDs.
const maxLocalIDs = 128

// ExceptSelf makes b leave out this socket (its sender), on every node, also after a
// reconnect that gave it a new socket ID.
func (s *Socket) ExceptSelf(b *Broadcast) {
	b.Except = append(b.Except, s.id)
	if k := s.senderKeys.Load(); k != nil {
		b.ExceptSender = k[0]
	}
}

func newSocket(c *client, nsp string, h *Handler, data any) *Socket {
	s := &Socket{id: newID(), nspName: nsp, client: c, handler: h, data: data, holding: true}
	s.recovering.Store(true) // broadcasts are held until the CONNECT answer is out (finishRecovery)
	// Not a child of c.ctx: the client cancels each of its sockets itself when it closes
	// (OnClose → onClose, or cancel on a failed join), and a child context would cost
	// every idle socket its parent's children map and done channel (~450 bytes).
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// newID returns a random 120-bit identifier, base64url encoded.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Recovered reports whether the socket recovered a previous session and got every
// broadcast it missed.
func (s *Socket) Recovered() bool { return s.recovered }

// ID returns the socket ID (distinct from the Engine.IO session ID).
func (s *Socket) ID() string { return s.id }

// Namespace returns the namespace name.
func (s *Socket) Namespace() string { return s.nspName }

// Handshake returns the request that opened the underlying connection.
func (s *Socket) Handshake() *engineio.Handshake { return s.client.conn.Handshake() }

// Transport returns the underlying connection's transport.
func (s *Socket) Transport() string { return s.client.conn.Transport() }

// Data returns what the admission hook returned.
func (s *Socket) Data() any { return s.data }

// Context ends when the socket disconnects.
func (s *Socket) Context() context.Context { return s.ctx }

// On registers the handler of one event, replacing any previous one.
func (s *Socket) On(event string, f EventFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.events = make(map[string]EventFunc)
	}
	s.events[event] = f
}

// OnDisconnect registers f to run once when the socket leaves; at once if it already has.
func (s *Socket) OnDisconnect(f func(reason string)) {
	s.mu.Lock()
	if s.disconnected {
		reason := s.reason
		s.mu.Unlock()
		f(reason)
		return
	}
	s.onDisconnect = append(s.onDisconnect, f)
	s.mu.Unlock()
}

// Join adds the socket to room (on this node). With connection state recovery on, the
// socket's saved session is updated before Join returns, so a node that dies right after
// (kill -9: no goodbye) leaves a session that brings the room back on another node.
func (s *Socket) Join(room string) {
	if ns := s.nsp; ns != nil {
		o := s.client.srv.observer()
		had := o != nil && s.InRoom(room)
		ns.join(s, room)
		s.persistRooms()
		if o != nil && !had {
			o.joined(s, room)
		}
	}
}

// Leave removes the socket from room (and from its saved session, as Join).
func (s *Socket) Leave(room string) {
	if ns := s.nsp; ns != nil {
		o := s.client.srv.observer()
		had := o != nil && s.InRoom(room)
		ns.leave(s, room)
		s.persistRooms()
		if had {
			o.left(s, room)
		}
	}
}

// persistRooms saves the session of a live socket after a room change. While the socket
// is still being connected (recovering), finishRecovery saves it once at the end.
func (s *Socket) persistRooms() {
	if s.recovering.Load() {
		return
	}
	s.mu.Lock()
	gone := s.disconnected
	s.mu.Unlock()
	if !gone {
		s.client.srv.saveSession(s)
	}
}

// Rooms returns the rooms the socket joined.
func (s *Socket) Rooms() []string {
	ns := s.nsp
	if ns == nil {
		return nil
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	out := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		out = append(out, r)
	}
	return out
}

// Emit sends an event to this socket only.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(-1, event, args)
}

// EmitWithAck sends an event and waits for the client's acknowledgement or ctx's end.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	s.mu.Lock()
	if s.disconnected {
		s.mu.Unlock()
		return nil, ErrDisconnected
	}
	id := s.nextAck
	s.nextAck++
	ch := make(chan []any, 1)
	if s.acks == nil {
		s.acks = make(map[int64]chan []any)
	}
	s.acks[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}()
	if err := s.emit(id, event, args); err != nil {
		return nil, err
	}
	select {
	case res, ok := <-ch:
		if !ok {
			return nil, ErrDisconnected
		}
		return res, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("namespaces: ack of %q: %w", event, ctx.Err())
	}
}

func (s *Socket) emit(id int64, event string, args []any) error {
	s.mu.Lock()
	gone := s.disconnected
	s.mu.Unlock()
	if gone {
		return ErrDisconnected
	}
	all := make([]any, 0, len(args)+1)
	all = append(all, event)
	all = append(all, args...)
	enc, err := encodeArgs(pEvent, s.nspName, id, all)
	if err != nil {
		return err
	}
	if o := s.client.srv.observer(); o != nil {
		o.sent(s, event, args)
		o.traffic(false, 1, len(enc.text))
	}
	s.client.sendPackets(enc.packets())
	return nil
}

// Disconnect makes the socket leave its namespace, telling the client. With closeConn the
// whole underlying connection is closed too.
func (s *Socket) Disconnect(closeConn bool) {
	s.client.sendText(encodePacket(pDisconnect, s.nspName, -1, 0, nil))
	s.client.forget(s)
	s.onClose("server namespace disconnect")
	if closeConn {
		s.client.conn.Close()
	}
}

// handle processes one packet for this socket.
func (s *Socket) handle(p packet) {
	switch p.typ {
	case pEvent, pBinaryEvent:
		args, err := decodeArgs(p.data, p.buffers)
		if err != nil || len(args) == 0 {
			s.client.protocolError("bad event payload")
			return
		}
		event := fmt.Sprint(args[0])
		s.client.srv.observer().received(s, event, args[1:])
		var ack func(...any)
		if p.id >= 0 {
			ack = s.ackFunc(p.id)
		}
		s.mu.Lock()
		f := s.events[event]
		s.mu.Unlock()
		switch {
		case f != nil:
			f(s, args[1:], ack)
		case s.handler.OnEvent != nil:
			s.handler.OnEvent(s, event, args[1:], ack)
		}
	case pAck, pBinaryAck:
		args, err := decodeArgs(p.data, p.buffers)
		if err != nil {
			s.client.protocolError("bad ack payload")
			return
		}
		s.mu.Lock()
		ch := s.acks[p.id]
		delete(s.acks, p.id)
		s.mu.Unlock()
		if ch != nil {
			ch <- args
		}
	case pDisconnect:
		s.client.forget(s)
		s.onClose("client namespace disconnect")
	}
}

// ackFunc returns a function that answers the client's ack id once.
func (s *Socket) ackFunc(id int64) func(...any) {
	var once sync.Once
	return func(args ...any) {
		once.Do(func() {
			enc, err := encodeArgs(pAck, s.nspName, id, args)
			if err != nil {
				s.client.srv.log.Error("ack not encodable", "nsp", s.nspName, "err", err)
				return
			}
			s.client.sendPackets(enc.packets())
		})
	}
}

// onClose runs once: the socket leaves its namespace and rooms, pending acks fail, and the
// OnDisconnect callbacks run.
func (s *Socket) onClose(reason string) {
	s.mu.Lock()
	if s.disconnected {
		s.mu.Unlock()
		return
	}
	s.disconnected = true
	s.reason = reason
	cbs := s.onDisconnect
	s.onDisconnect = nil
	for id, ch := range s.acks {
		close(ch)
		delete(s.acks, id)
	}
	s.mu.Unlock()
	s.cancel()
	if reason != "client namespace disconnect" && reason != "server namespace disconnect" {
		s.client.srv.saveSession(s) // an unexpected loss: keep the session for recovery
	}
	s.client.srv.leave(s)
	s.client.srv.observer().disconnected(s, reason)
	for _, f := range cbs {
		f(reason)
	}
}
