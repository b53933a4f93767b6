package namespaces

import (
	"sync"
	"sync/atomic"

	"github.com/syncgate/syncgate/engineio"
)

// Namespace is a live namespace: its sockets on this node and their rooms.
type Namespace struct {
	name    string
	handler *Handler

	mu      sync.RWMutex
	sockets map[string]*Socket
	list    []*Socket // the same sockets, for fast iteration; Socket.idx is the position
	rooms   map[string]map[*Socket]struct{}

	obs *atomic.Pointer[Observer] // the server's (inspect.go)
}

func newNamespace(name string, h *Handler) *Namespace {
	return &Namespace{
		name:    name,
		handler: h,
		sockets: make(map[string]*Socket),
		rooms:   make(map[string]map[*Socket]struct{}),
	}
}

// Name returns the namespace name.
func (ns *Namespace) Name() string { return ns.name }

// Len returns the number of sockets in the namespace on this node.
func (ns *Namespace) Len() int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return len(ns.list)
}

// Socket returns the socket with the given ID, or nil.
func (ns *Namespace) Socket(id string) *Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.sockets[id]
}

func (ns *Namespace) add(s *Socket, rooms []string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.sockets[s.id] = s
	s.idx = len(ns.list)
	ns.list = append(ns.list, s)
	for _, r := range rooms {
		ns.joinLocked(s, r)
	}
}

// remove drops s and its rooms and returns how many sockets remain.
func (ns *Namespace) remove(s *Socket) int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s.idx >= len(ns.list) || ns.list[s.idx] != s {
		return len(ns.list)
	}
	if ns.sockets[s.id] == s {
		delete(ns.sockets, s.id)
	}
	last := ns.list[len(ns.list)-1]
	ns.list[s.idx] = last
	last.idx = s.idx
	ns.list[len(ns.list)-1] = nil
	ns.list = ns.list[:len(ns.list)-1]
	for room := range s.rooms {
		ns.leaveLocked(s, room)
	}
	return len(ns.list)
}

func (ns *Namespace) join(s *Socket, room string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.sockets[s.id] != s {
		return // disconnected meanwhile
	}
	ns.joinLocked(s, room)
}

func (ns *Namespace) joinLocked(s *Socket, room string) {
	members := ns.rooms[room]
	if members == nil {
		members = make(map[*Socket]struct{})
		ns.rooms[room] = members
	}
	members[s] = struct{}{}
	if s.rooms == nil {
		s.rooms = make(map[string]struct{})
	}
	s.rooms[room] = struct{}{}
}

func (ns *Namespace) leave(s *Socket, room string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.leaveLocked(s, room)
}

func (ns *Namespace) leaveLocked(s *Socket, room string) {
	if members := ns.rooms[room]; members != nil {
		delete(members, s)
		if len(members) == 0 {
			delete(ns.rooms, room)
		}
	}
	delete(s.rooms, room)
}

// deliver queues pkts on every socket b targets and returns how many. The common cases
// allocate nothing: the whole namespace, or one room (a trigger's target) walked in place.
func (ns *Namespace) deliver(b *Broadcast, pkts []*engineio.Packet) int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	x := ns.exclusionLocked(b.Except)
	n := 0
	var obs *Observer // inspect.go: nil unless a tool watches
	if ns.obs != nil {
		obs = ns.obs.Load()
	}
	send := func(s *Socket) {
		if !x.excludes(s) && !b.skips(s) {
			s.deliver(b, pkts)
			n++
			if obs != nil {
				obs.sent(s, b.Event, b.Args)
			}
		}
	}
	switch len(b.Rooms) {
	case 0:
		for _, s := range ns.list {
			send(s)
		}
	case 1:
		r := b.Rooms[0]
		members := ns.rooms[r]
		for s := range members {
			send(s)
		}
		if s := ns.sockets[r]; s != nil {
			if _, dup := members[s]; !dup {
				send(s)
			}
		}
	default:
		for s := range ns.membersLocked(b.Rooms) {
			send(s)
		}
	}
	return n
}

// exclusion is the set of sockets a broadcast's Except leaves out: a short list is checked
// against each socket's own rooms, a long one is collected into a set once.
type exclusion struct {
	rooms []string
	set   map[*Socket]struct{}
}

// exclusionSetOver is the Except length from which a set is built.
const exclusionSetOver = 4

func (ns *Namespace) exclusionLocked(except []string) exclusion {
	if len(except) > exclusionSetOver {
		return exclusion{set: ns.membersLocked(except)}
	}
	return exclusion{rooms: except}
}

// excludes reports whether s is left out. ns.mu is held (s.rooms is guarded by it).
func (x exclusion) excludes(s *Socket) bool {
	if x.set != nil {
		_, ok := x.set[s]
		return ok
	}
	for _, r := range x.rooms {
		if _, in := s.rooms[r]; in || s.id == r {
			return true
		}
	}
	return false
}

// membersLocked returns the sockets in any of rooms; a name that is a socket ID stands for
// that socket (every socket is implicitly in the room named by its ID).
func (ns *Namespace) membersLocked(rooms []string) map[*Socket]struct{} {
	if len(rooms) == 0 {
		return nil
	}
	out := make(map[*Socket]struct{})
	for _, r := range rooms {
		for s := range ns.rooms[r] {
			out[s] = struct{}{}
		}
		if s := ns.sockets[r]; s != nil {
			out[s] = struct{}{}
		}
	}
	return out
}
