package namespaces

// Read-only inspection of a Server for operator tools (package adminui): which sockets are
// live, and an Observer told what happens to them. Nothing here changes what a socket gets;
// tools act on sockets only through Socket's own methods (Join, Leave, Disconnect).

// Observer is told what happens on a Server. Every field is optional. The calls are made on
// the goroutine that did the thing, some while a namespace lock is held (Sent): they must
// return at once (queue, never block) and must not call back into the Server.
type Observer struct {
	// Opened and Closed: an Engine.IO connection began or ended (reason as engineio says).
	Opened func(engineID, transport string)
	Closed func(engineID, reason string)
	// Connected: an admitted socket joined its namespace (and its recovered rooms); called
	// before Handler.OnConnect. Disconnected: it left (after its rooms were dropped).
	Connected    func(s *Socket)
	Disconnected func(s *Socket, reason string)
	// Joined and Left: the socket entered or left a room it was not (or was) in.
	Joined func(s *Socket, room string)
	Left   func(s *Socket, room string)
	// Received: the socket sent an event (before any handler runs). Sent: an event was queued
	// for the socket, by Socket.Emit or by a broadcast that reached it.
	Received func(s *Socket, event string, args []any)
	Sent     func(s *Socket, event string, args []any)
	// Traffic counts Socket.IO messages read (in) or queued (out) and their bytes.
	Traffic func(in bool, messages, bytes int)
}

// SetObserver installs o (nil removes it). One observer at a time; with none installed
// the hooks cost one atomic load.
func (s *Server) SetObserver(o *Observer) { s.obs.Store(o) }

func (s *Server) observer() *Observer { return s.obs.Load() }

// Sockets returns every live socket of this node, all namespaces.
func (s *Server) Sockets() []*Socket {
	s.mu.RLock()
	nss := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		nss = append(nss, ns)
	}
	s.mu.RUnlock()
	var out []*Socket
	for _, ns := range nss {
		ns.mu.RLock()
		out = append(out, ns.list...)
		ns.mu.RUnlock()
	}
	return out
}

// SocketsIn returns the sockets of the namespace in any of rooms (a socket ID stands for
// that socket, as in a Broadcast); no rooms: every socket of the namespace.
func (ns *Namespace) SocketsIn(rooms ...string) []*Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	if len(rooms) == 0 {
		return append([]*Socket(nil), ns.list...)
	}
	set := ns.membersLocked(rooms)
	out := make([]*Socket, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	return out
}

// EngineID returns the ID of the socket's Engine.IO connection. It is a credential of that
// connection (a long-polling request needs only it): never show it whole.
func (s *Socket) EngineID() string { return s.client.conn.ID() }

// InRoom reports whether the socket is in room.
func (s *Socket) InRoom(room string) bool {
	ns := s.nsp
	if ns == nil {
		return false
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	_, in := s.rooms[room]
	return in
}

func (o *Observer) opened(engineID, transport string) {
	if o != nil && o.Opened != nil {
		o.Opened(engineID, transport)
	}
}

func (o *Observer) closed(engineID, reason string) {
	if o != nil && o.Closed != nil {
		o.Closed(engineID, reason)
	}
}

func (o *Observer) connected(s *Socket) {
	if o != nil && o.Connected != nil {
		o.Connected(s)
	}
}

func (o *Observer) disconnected(s *Socket, reason string) {
	if o != nil && o.Disconnected != nil {
		o.Disconnected(s, reason)
	}
}

func (o *Observer) joined(s *Socket, room string) {
	if o != nil && o.Joined != nil {
		o.Joined(s, room)
	}
}

func (o *Observer) left(s *Socket, room string) {
	if o != nil && o.Left != nil {
		o.Left(s, room)
	}
}

func (o *Observer) received(s *Socket, event string, args []any) {
	if o != nil && o.Received != nil {
		o.Received(s, event, args)
	}
}

func (o *Observer) sent(s *Socket, event string, args []any) {
	if o != nil && o.Sent != nil {
		o.Sent(s, event, args)
	}
}

func (o *Observer) traffic(in bool, messages, bytes int) {
	if o != nil && o.Traffic != nil && messages > 0 {
		o.Traffic(in, messages, bytes)
	}
}
