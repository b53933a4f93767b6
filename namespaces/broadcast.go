package namespaces

import (
	"sync"

	"github.com/syncgate/syncgate/engineio"
)

// Broadcast is one event for the sockets of a namespace, optionally narrowed to rooms.
type Broadcast struct {
	Nsp    string   // namespace name, e.g. "/org/1"
	Rooms  []string // only sockets in one of these rooms (or with one of these socket IDs); empty = all
	Except []string // never sockets in these rooms (or with these socket IDs)
	Event  string
	Args   []any  // the event's arguments after its name
	Offset string // connection-state-recovery offset, appended as the last argument when set
	Local  bool   // this node's sockets only: not through the adapter, not logged

	// SkipSocket is left out when it belongs to the same user as SkipOwners: its socket
	// data implements Owner and shares one of these keys. This lets the originator of a
	// change skip its own event without letting anyone silence another user's socket.
	SkipSocket string
	SkipOwners []string

	// ExceptSender leaves out the socket that sent a client event, by its recovery session
	// (see Socket.ExceptSelf): unlike its socket ID, that also matches the sender after a
	// reconnect whose recovery failed and gave it a new ID.
	ExceptSender string

	// TraceID is the W3C trace ID of the API call that caused the broadcast (tracing on,
	// the call sampled; package tracing). It travels to every node, and each node that
	// delivers the broadcast logs it, tying the delivery to the request.
	TraceID string

	busID string // fan-out engines (package fanout): unique per publish, kept across a replay after an outage

	once   sync.Once
	pkts   []*engineio.Packet
	size   int // bytes of pkts' payloads (for Observer.Traffic)
	err    error
	off    offset // Offset parsed, when hasOff
	hasOff bool
}

// packets encodes the broadcast once; every receiver on this node shares the result.
func (b *Broadcast) packets() ([]*engineio.Packet, error) {
	b.once.Do(func() {
		if o, err := parseOffset(b.Offset); err == nil {
			b.off, b.hasOff = o, true
		}
		args := make([]any, 0, len(b.Args)+2)
		args = append(args, b.Event)
		args = append(args, b.Args...)
		if b.Offset != "" {
			args = append(args, b.Offset)
		}
		enc, err := encodeArgs(pEvent, b.Nsp, -1, args)
		if err != nil {
			b.err = err
			return
		}
		b.pkts = enc.packets()
		b.size = len(enc.text)
		for _, buf := range enc.buffers {
			b.size += len(buf)
		}
	})
	return b.pkts, b.err
}

// Broadcast sends b to its sockets on every node, through the adapter.
func (s *Server) Broadcast(b *Broadcast) error {
	if b.Local {
		s.DeliverLocal(b)
		return nil
	}
	return s.adapter.Publish(b)
}

// Emit broadcasts event to every socket of namespace nsp on every node.
func (s *Server) Emit(nsp, event string, args ...any) error {
	return s.Broadcast(&Broadcast{Nsp: nsp, Event: event, Args: args})
}

// DeliverLocal sends b to the matching sockets of this node and returns how many got it. It
// never creates a namespace: a broadcast to a namespace nobody joined here reaches no one.
func (s *Server) DeliverLocal(b *Broadcast) int {
	ns := s.Namespace(b.Nsp)
	if ns == nil {
		return 0
	}
	pkts, err := b.packets()
	if err != nil {
		s.log.Error("broadcast not encodable", "nsp", b.Nsp, "event", b.Event, "err", err)
		return 0
	}
	n := ns.deliver(b, pkts)
	if b.TraceID != "" {
		s.log.Info("broadcast delivered", "nsp", b.Nsp, "event", b.Event, "sockets", n, "trace_id", b.TraceID)
	}
	if o := s.observer(); o != nil {
		o.traffic(false, n*len(pkts), n*b.size)
	}
	s.stats.Broadcasts.Add(1)
	s.stats.Deliveries.Add(int64(n))
	if b.Event == EventResync {
		s.stats.Resyncs.Add(int64(n))
	}
	return n
}

// resyncLocal emits EventResync to this node's sockets of nsp ("" = every namespace).
func (s *Server) resyncLocal(nsp, reason string) {
	names := []string{nsp}
	if nsp == "" {
		names = s.Namespaces()
	}
	for _, n := range names {
		s.DeliverLocal(&Broadcast{Nsp: n, Event: EventResync, Args: []any{map[string]string{"reason": reason}}})
	}
}

// Owner is implemented by socket data (what the admission hook returned) that can say who
// the socket belongs to, as opaque keys (e.g. hashes of credentials).
type Owner interface {
	OwnerKeys() []string
}

// skips reports whether b's originator rule leaves s out.
func (b *Broadcast) skips(s *Socket) bool {
	if b.ExceptSender != "" {
		if k := s.senderKeys.Load(); k != nil && (k[0] == b.ExceptSender || k[1] == b.ExceptSender) {
			return true
		}
	}
	if b.SkipSocket == "" || s.id != b.SkipSocket {
		return false
	}
	o, ok := s.data.(Owner)
	if !ok {
		return false
	}
	for _, k := range o.OwnerKeys() {
		for _, want := range b.SkipOwners {
			if k == want {
				return true
			}
		}
	}
	return false
}
