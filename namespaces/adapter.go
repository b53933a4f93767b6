package namespaces

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// Adapter carries broadcasts to the sockets that should get them: on this node only
// (MemoryAdapter) or on every node (package fanout: fanout.Redis, fanout.Cluster). Rooms are tracked locally by each node's
// Server; the adapter moves broadcasts, keeps the recent ones of each namespace for
// connection state recovery, and keeps recovery sessions.
type Adapter interface {
	// Init gives the adapter the server's hooks. It is called once, by NewServer, before
	// anything else.
	Init(h AdapterHooks)
	// Publish delivers b on every node, this one included, and sets b.Offset when the
	// broadcast was logged for recovery. It returns an error only when b reached nobody.
	Publish(b *Broadcast) error
	// Missed returns the broadcasts of nsp logged after offset, oldest first. complete is
	// false when some of them may be gone (trimmed, lost, or offset unknown).
	Missed(ctx context.Context, nsp, offset string) (missed []*Broadcast, complete bool, err error)
	// SaveSession keeps a socket's recovery state for the recovery window.
	SaveSession(ctx context.Context, s SessionState) error
	// TakeSession returns and forgets the state saved under pid, or nil.
	TakeSession(ctx context.Context, pid string) (*SessionState, error)
	// Ready reports whether broadcasts currently reach every node.
	Ready() bool
	// Close releases the adapter's resources.
	Close() error
}

// AdapterHooks are the server functions an adapter calls.
type AdapterHooks struct {
	// DeliverLocal sends a broadcast to this node's matching sockets.
	DeliverLocal func(*Broadcast) int
	// Resync tells this node's sockets of nsp ("" = every namespace) that they may have
	// missed events, with an EventResync.
	Resync func(nsp, reason string)
}

// SessionState is what connection state recovery restores: the socket's ID and rooms.
type SessionState struct {
	PID   string   `json:"pid"`
	SID   string   `json:"sid"`
	Nsp   string   `json:"nsp"`
	Rooms []string `json:"rooms,omitempty"`
	// Seen are bus IDs of broadcasts the socket got without an offset (during a Redis
	// outage): a recovered socket does not get their late copies again.
	Seen []string `json:"seen,omitempty"`
}

// EventResync is emitted to a socket that may have missed events: after a failed recovery,
// or when this node lost its link to the other nodes. The payload is {"reason": "..."}.
// A client that receives it must treat all cached data of the namespace as stale.
const EventResync = "resync"

// offset is a log position "ms-seq", the format of Redis stream IDs.
type offset struct{ ms, seq uint64 }

var errBadOffset = errors.New("namespaces: malformed offset")

func parseOffset(s string) (offset, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return offset{}, errBadOffset
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return offset{}, errBadOffset
	}
	return offset{a, b}, nil
}

func (o offset) String() string {
	var b [41]byte
	out := strconv.AppendUint(b[:0], o.ms, 10)
	out = append(out, '-')
	return string(strconv.AppendUint(out, o.seq, 10))
}

func (o offset) less(p offset) bool { return o.ms < p.ms || (o.ms == p.ms && o.seq < p.seq) }

// OffsetAfter reports whether offset a comes after b; malformed offsets come after nothing.
func OffsetAfter(a, b string) bool {
	oa, err1 := parseOffset(a)
	ob, err2 := parseOffset(b)
	return err1 == nil && err2 == nil && ob.less(oa)
}

// InterestAdapter is an Adapter that reads from its fan-out only the namespaces this node
// has sockets in (the Redis Cluster engine, package fanout). The Server calls Subscribe for
// every socket that joins a namespace, after it joined and before its CONNECT answer, and
// Unsubscribe for every socket that leaves; the adapter keeps the count.
type InterestAdapter interface {
	Adapter
	// Subscribe returns once broadcasts to nsp published from now on reach this node, or
	// after a bounded wait (the adapter then tells nsp's sockets to resync once they do).
	Subscribe(nsp string)
	// Unsubscribe drops one socket's interest in nsp; the adapter may linger before it
	// stops reading the namespace.
	Unsubscribe(nsp string)
}

// BusID returns the broadcast's fan-out ID: unique per publish and kept across a replay
// after an outage, so a socket that got it once does not get it again. Engines outside
// this package set it with SetBusID.
func (b *Broadcast) BusID() string { return b.busID }

// SetBusID sets the broadcast's fan-out ID (see BusID).
func (b *Broadcast) SetBusID(id string) { b.busID = id }
