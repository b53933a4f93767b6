package namespaces

import (
	"context"
	"encoding/json"

	"github.com/syncgate/syncgate/engineio"
)

// Connection state recovery, as in the reference server (≥ 4.6): the CONNECT answer
// carries a private session ID (pid) and every broadcast carries its log offset as the last
// argument. A client that reconnects sends {pid, offset} in its CONNECT payload; once the
// namespace's admission hook has admitted it again, it gets its old socket ID and rooms
// back, then every broadcast it missed, then live traffic, in order and without
// duplicates. When that cannot be done completely it gets an EventResync instead.

// recovery is what prepareRecovery found for one connecting socket.
type recovery struct {
	offset   string
	attempt  bool // the client asked to recover
	state    *SessionState
	missed   []*Broadcast // lookupMissed: what the socket missed, when complete
	complete bool
}

// rooms are the saved rooms to join with the namespace.
func (rec recovery) rooms() []string {
	if rec.state == nil {
		return nil
	}
	return rec.state.Rooms
}

// prepareRecovery gives sock a pid and, if the client asks to recover a saved session of
// this namespace, its old ID and rooms. (Every new socket holds live broadcasts from its
// join until finishRecovery: after the missed ones, if any, and always after the CONNECT
// answer.)
func (s *Server) prepareRecovery(ctx context.Context, sock *Socket, connect []byte) recovery {
	if s.opts.RecoveryWindow <= 0 {
		return recovery{}
	}
	sock.pid = newID()
	var req struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if len(connect) > 0 {
		_ = json.Unmarshal(connect, &req)
	}
	sock.senderKeys.Store(&[2]string{sock.pid, req.PID})
	if req.PID == "" {
		return recovery{}
	}
	rec := recovery{attempt: true, offset: req.Offset}
	if o, err := parseOffset(req.Offset); err == nil {
		// Whatever happens next, the client has every broadcast of this log up to its
		// offset: one the bus reader delivers late is not sent again.
		sock.lastOff, sock.hasLast = o, true
	}
	if req.Offset == "" {
		// It never received a broadcast, so nothing tells what it missed: a fresh socket
		// (new ID and pid, so the client does not believe it recovered), told to resync.
		return rec
	}
	st, err := s.adapter.TakeSession(ctx, req.PID)
	if err != nil {
		s.log.Warn("recovery session lookup failed", "nsp", sock.nspName, "err", err)
	}
	if st == nil || st.Nsp != sock.nspName {
		return rec
	}
	if ns := s.Namespace(st.Nsp); ns != nil {
		if old := ns.Socket(st.SID); old != nil {
			// Its old transport is still open here (the client gave up on it first): that
			// socket is stale; it leaves before the recovered one takes its ID.
			old.Disconnect(false)
		}
	}
	rec.state = st
	sock.id, sock.pid = st.SID, st.PID
	sock.senderKeys.Store(&[2]string{st.PID, req.PID})
	if len(st.Seen) > 0 {
		sock.localIDs = append([]string(nil), st.Seen...)
		sock.skipIDs = make(map[string]struct{}, len(st.Seen))
		for _, id := range st.Seen {
			sock.skipIDs[id] = struct{}{}
		}
	}
	return rec
}

// lookupMissed runs after the socket joined its namespace (live broadcasts held) and
// before the CONNECT answer: it fetches what the socket missed. When that is not known
// completely the socket gets a fresh pid, so the client does not report itself recovered
// (socket.recovered is false) and is told to resync; it keeps its ID and rooms.
func (s *Server) lookupMissed(ctx context.Context, sock *Socket, rec *recovery) {
	if rec.state == nil {
		return
	}
	missed, complete, err := s.adapter.Missed(ctx, sock.nspName, rec.offset)
	if err != nil {
		s.log.Warn("recovery log lookup failed", "nsp", sock.nspName, "err", err)
	}
	rec.missed, rec.complete = missed, complete && err == nil
	if !rec.complete {
		sock.pid = newID()
		sock.senderKeys.Store(&[2]string{sock.pid, rec.state.PID})
	}
}

// finishRecovery runs after the CONNECT answer: it restores rooms, sends the missed
// broadcasts, then what was held meanwhile; or it tells the client to resync.
func (s *Server) finishRecovery(ctx context.Context, sock *Socket, rec recovery) {
	if s.opts.RecoveryWindow <= 0 {
		sock.releaseHeld()
		return
	}
	if rec.state != nil {
		// The saved rooms were joined with the namespace (Server.join), so no room
		// broadcast could pass the socket by; those the handler refuses are left now, and
		// what was held for them is dropped by releaseHeld.
		for _, r := range rec.state.Rooms {
			if h := sock.handler; h.RecoverRoom != nil && !h.RecoverRoom(sock, r) {
				sock.Leave(r)
			}
		}
		if rec.complete {
			missed := rec.missed
			if o, err := parseOffset(rec.offset); err == nil {
				sock.mu.Lock()
				sock.lastOff, sock.hasLast = o, true // what the client already has
				sock.mu.Unlock()
			}
			for _, b := range missed {
				if sock.targetedBy(b) {
					if pkts, err := b.packets(); err == nil {
						sock.sendInOrder(b, pkts)
					}
				}
			}
			sock.recovered = true
			s.stats.Recoveries.Add(1)
			sock.releaseHeld()
			s.saveSession(sock)
			return
		}
	}
	sock.releaseHeld()
	s.saveSession(sock)
	if rec.attempt {
		s.stats.RecoveryFailures.Add(1)
		s.stats.Resyncs.Add(1)
		_ = sock.Emit(EventResync, map[string]string{"reason": "recovery failed"})
	}
}

// saveSession records the socket's state so that it can be recovered for the window after
// it disconnects, even when this node dies without saying goodbye. It runs when the socket
// is connected, after every room change, when the socket is lost, and every third of the
// window while it lives (RefreshSessions), so the saved rooms are always the socket's own.
func (s *Server) saveSession(sock *Socket) {
	if s.opts.RecoveryWindow <= 0 || sock.pid == "" {
		return
	}
	sock.saveMu.Lock()
	defer sock.saveMu.Unlock()
	sock.mu.Lock()
	seen := append([]string(nil), sock.localIDs...)
	sock.mu.Unlock()
	st := SessionState{PID: sock.pid, SID: sock.id, Nsp: sock.nspName, Rooms: sock.Rooms(), Seen: seen}
	if err := s.adapter.SaveSession(context.Background(), st); err != nil {
		s.log.Warn("recovery session not saved", "nsp", sock.nspName, "err", err)
	}
}

// heldBroadcast is a live broadcast that arrived while missed ones were being fetched.
type heldBroadcast struct {
	b    *Broadcast
	pkts []*engineio.Packet
}

// deliver sends a broadcast's packets to the socket, or holds them while it recovers.
// Broadcasts with an offset go out in offset order and at most once: one already sent (for
// instance replayed by a recovery before this node's bus reader caught up) is dropped.
func (sock *Socket) deliver(b *Broadcast, pkts []*engineio.Packet) {
	if !b.hasOff && !sock.recovering.Load() {
		if b.busID != "" {
			sock.noteLocal(b.busID)
		}
		sock.client.sendPackets(pkts)
		return
	}
	sock.mu.Lock()
	if sock.holding {
		sock.held = append(sock.held, heldBroadcast{b, pkts})
		sock.mu.Unlock()
		return
	}
	send := sock.advanceLocked(b)
	sock.mu.Unlock()
	if send {
		sock.client.sendPackets(pkts)
	}
}

// noteLocal remembers the bus ID of a broadcast sent without an offset.
func (sock *Socket) noteLocal(id string) {
	sock.mu.Lock()
	if len(sock.localIDs) >= maxLocalIDs {
		sock.localIDs = sock.localIDs[1:]
	}
	sock.localIDs = append(sock.localIDs, id)
	sock.mu.Unlock()
}

// advanceLocked records b as sent, and reports false if an offset at or after b's was
// sent already, or if the client got b before, without an offset. sock.mu is held.
func (sock *Socket) advanceLocked(b *Broadcast) bool {
	if !b.hasOff {
		if b.busID != "" {
			if len(sock.localIDs) >= maxLocalIDs {
				sock.localIDs = sock.localIDs[1:]
			}
			sock.localIDs = append(sock.localIDs, b.busID)
		}
		return true
	}
	if _, dup := sock.skipIDs[b.busID]; dup && b.busID != "" {
		return false
	}
	if sock.hasLast && !sock.lastOff.less(b.off) {
		return false
	}
	sock.lastOff, sock.hasLast = b.off, true
	return true
}

// sendInOrder sends one replayed broadcast through the same at-most-once rule.
func (sock *Socket) sendInOrder(b *Broadcast, pkts []*engineio.Packet) {
	sock.mu.Lock()
	send := sock.advanceLocked(b)
	sock.mu.Unlock()
	if send {
		sock.client.sendPackets(pkts)
	}
}

// releaseHeld sends the held broadcasts not sent already and still meant for the socket
// (its rooms may have narrowed since), in order, and goes back to live delivery.
func (sock *Socket) releaseHeld() {
	for {
		sock.mu.Lock()
		held := sock.held
		sock.held = nil
		if len(held) == 0 {
			sock.holding = false
			sock.recovering.Store(false)
			sock.mu.Unlock()
			return
		}
		sock.mu.Unlock()
		keep := held[:0]
		for _, h := range held {
			if sock.targetedBy(h.b) { // takes the namespace lock: not under sock.mu
				keep = append(keep, h)
			}
		}
		var out [][]*engineio.Packet
		sock.mu.Lock()
		for _, h := range keep {
			if sock.advanceLocked(h.b) {
				out = append(out, h.pkts)
			}
		}
		sock.mu.Unlock()
		for _, pkts := range out {
			sock.client.sendPackets(pkts)
		}
	}
}

// targetedBy reports whether broadcast b is meant for this socket (rooms and except).
func (sock *Socket) targetedBy(b *Broadcast) bool {
	ns := sock.nsp
	if ns == nil {
		return false
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	in := func(names []string) bool {
		for _, r := range names {
			if r == sock.id {
				return true
			}
			if _, ok := sock.rooms[r]; ok {
				return true
			}
		}
		return false
	}
	if len(b.Rooms) > 0 && !in(b.Rooms) || b.skips(sock) {
		return false
	}
	return !in(b.Except)
}
