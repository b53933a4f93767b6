package adminui

import (
	"github.com/syncgate/syncgate/namespaces"
)

// What the UI may do, on this node's sockets only, with the reference's Socket.IO v4
// arguments (a filter is a room or a socket ID; none means the whole namespace):
//
//	_disconnect (nsp, close, filter)  the sockets leave nsp; close: their connections close too
//	leave       (nsp, room, filter)   the sockets leave room
//	join        (nsp, room, filter)   the sockets join room, if Options.AllowJoin allows it
//	emit        (nsp, filter, event, ...args)  through Options.Emit, if given
//
// A namespace is always named explicitly and is matched exactly: an action never reaches
// another namespace (another org) than the one it names.

func (s *Server) registerActions(admin *namespaces.Socket) {
	admin.On("_disconnect", func(_ *namespaces.Socket, args []any, _ func(...any)) {
		nsp, ok := str(args, 0)
		if !ok {
			return
		}
		closeConn, _ := arg(args, 1).(bool)
		filter, _ := str(args, 2)
		n := 0
		for _, sock := range s.targets(nsp, filter) {
			sock.Disconnect(closeConn)
			n++
		}
		s.log.Info("admin UI: disconnect", "nsp", nsp, "filter", filter, "close", closeConn, "sockets", n)
	})
	admin.On("leave", func(_ *namespaces.Socket, args []any, _ func(...any)) {
		nsp, ok1 := str(args, 0)
		room, ok2 := str(args, 1)
		if !ok1 || !ok2 {
			return
		}
		filter, _ := str(args, 2)
		n := 0
		for _, sock := range s.targets(nsp, filter) {
			sock.Leave(room)
			n++
		}
		s.log.Info("admin UI: leave", "nsp", nsp, "room", room, "filter", filter, "sockets", n)
	})
	admin.On("join", func(_ *namespaces.Socket, args []any, _ func(...any)) {
		nsp, ok1 := str(args, 0)
		room, ok2 := str(args, 1)
		if !ok1 || !ok2 {
			return
		}
		if s.opts.AllowJoin == nil || !s.opts.AllowJoin(nsp, room) {
			s.log.Warn("admin UI: join refused", "nsp", nsp, "room", room)
			return
		}
		filter, _ := str(args, 2)
		n := 0
		for _, sock := range s.targets(nsp, filter) {
			if room != sock.ID() {
				sock.Join(room)
				n++
			}
		}
		s.log.Info("admin UI: join", "nsp", nsp, "room", room, "filter", filter, "sockets", n)
	})
	admin.On("emit", func(_ *namespaces.Socket, args []any, _ func(...any)) {
		if s.opts.Emit == nil {
			return
		}
		nsp, ok1 := str(args, 0)
		event, ok2 := str(args, 2)
		if !ok1 || !ok2 {
			return
		}
		filter, _ := str(args, 1)
		if err := s.opts.Emit(nsp, filter, event, args[3:]); err != nil {
			s.log.Warn("admin UI: emit refused", "nsp", nsp, "room", filter, "event", event, "err", err)
			return
		}
		s.log.Info("admin UI: emit", "nsp", nsp, "room", filter, "event", event)
	})
}

// targets are the sockets of nsp on this node matching filter ("": all of them).
func (s *Server) targets(nsp, filter string) []*namespaces.Socket {
	ns := s.opts.Public.Namespace(nsp)
	if ns == nil {
		return nil
	}
	if filter == "" {
		return ns.SocketsIn()
	}
	return ns.SocketsIn(filter)
}

func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// str is argument i when it is a non-empty string.
func str(args []any, i int) (string, bool) {
	v, ok := arg(args, i).(string)
	return v, ok && v != ""
}
