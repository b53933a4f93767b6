package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/triggers"
)

// What a socket may send: subscribe/unsubscribe to declared rooms, and declared client
// events, relayed IDs-only to the rest of its org (never to itself, never across orgs).
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
	EventRateLimited = "rate_limited"
)

// maxRoomsPerSocket bounds the rooms one socket may subscribe to.
const maxRoomsPerSocket = 100

// admission is what an admitted socket keeps: who it is, which org it joined, and its
// client-event budget.
type admission struct {
	org     string
	cred    auth.Credentials
	session string // session mode: the session ID

	once    sync.Once
	limiter *rate.Limiter
	dropped atomic.Int64 // events dropped by the rate limit
	warned  atomic.Bool
}

// OwnerKeys implements namespaces.Owner: a request made with the same credential comes from
// the owner of this socket.
func (a *admission) OwnerKeys() []string { return ownerKeys(a.cred) }

// ownerKeys is the credential that identifies a user: the Authorization header when there is
// one, else the Cookie header. Never both: with a bearer token the cookies may be shared by
// many users (language, consent), and matching on them would let one user silence another's
// socket.
func ownerKeys(c auth.Credentials) []string {
	switch {
	case c.Authorization != "":
		return []string{hashKey("a", c.Authorization)}
	case c.Cookie != "":
		return []string{hashKey("c", c.Cookie)}
	}
	return nil
}

func hashKey(kind, v string) string {
	h := sha256.Sum256([]byte(kind + ":" + v))
	return hex.EncodeToString(h[:16])
}

// ClientEventStats counts client traffic that was not relayed.
type ClientEventStats struct {
	Relayed     atomic.Int64
	Undeclared  atomic.Int64
	Malformed   atomic.Int64
	RateLimited atomic.Int64
	Kicked      atomic.Int64 // sockets disconnected for flooding
}

// onClientEvent handles everything a socket emits.
func (g *Gateway) onClientEvent(s *namespaces.Socket, event string, args []any, ack func(...any)) {
	a := s.Data().(*admission)
	set := g.triggers.Load()
	reply := func(v any) {
		if ack != nil {
			ack(v)
		}
	}
	if !g.allow(s, a) {
		return
	}
	if g.onDriveEvent(s, a, event, args, reply) {
		return
	}
	switch event {
	case EventSubscribe, EventUnsubscribe:
		room, _ := roomArg(args)
		if room == "" || !set.RoomAllowed(room) {
			g.clientStats.Malformed.Add(1)
			reply(map[string]any{"ok": false, "error": "forbidden"})
			return
		}
		if event == EventSubscribe {
			if len(s.Rooms()) >= maxRoomsPerSocket {
				reply(map[string]any{"ok": false, "error": "too many rooms"})
				return
			}
			s.Join(room)
		} else {
			s.Leave(room)
		}
		reply(map[string]any{"ok": true})
		return
	}
	ce := set.ClientEvent(event)
	if ce == nil {
		g.clientStats.Undeclared.Add(1)
		reply(map[string]any{"ok": false, "error": "undeclared"})
		return
	}
	if len(args) != 1 {
		g.clientStats.Malformed.Add(1)
		reply(map[string]any{"ok": false, "error": "malformed"})
		return
	}
	data, room, err := ce.Validate(args[0])
	if err != nil {
		g.clientStats.Malformed.Add(1)
		reply(map[string]any{"ok": false, "error": "malformed"})
		return
	}
	data["by"] = s.ID()
	b := &namespaces.Broadcast{Nsp: s.Namespace(), Event: ce.Name, Args: []any{data}}
	s.ExceptSelf(b)
	if room != "" {
		b.Rooms = []string{room}
	}
	if err := g.sio.Broadcast(b); err != nil {
		g.log.Warn("client event not relayed", "org", a.org, "event", ce.Name, "err", err)
		reply(map[string]any{"ok": false, "error": "unavailable"})
		return
	}
	g.clientStats.Relayed.Add(1)
	reply(map[string]any{"ok": true})
}

// allow applies the per-socket rate limit: over it the event is dropped and the socket
// gets one rate_limited event; a socket that keeps flooding (over twice the burst dropped)
// is disconnected.
func (g *Gateway) allow(s *namespaces.Socket, a *admission) bool {
	a.once.Do(func() {
		a.limiter = rate.NewLimiter(rate.Limit(g.cfg.ClientEventRate), g.cfg.ClientEventBurst)
	})
	if a.limiter.Allow() {
		return true
	}
	g.clientStats.RateLimited.Add(1)
	n := a.dropped.Add(1)
	if a.warned.CompareAndSwap(false, true) {
		_ = s.Emit(EventRateLimited, map[string]any{"limit": g.cfg.ClientEventRate, "burst": g.cfg.ClientEventBurst})
	}
	if n > int64(2*g.cfg.ClientEventBurst) {
		g.clientStats.Kicked.Add(1)
		g.log.Warn("socket disconnected for flooding", "org", a.org, "sid", s.ID(), "dropped", n)
		// The namespace only, not the connection: over polling a closed connection loses the
		// queued DISCONNECT, and a client that sees "transport close" reconnects by itself;
		// "io server disconnect" makes it stay away.
		s.Disconnect(false)
	}
	return false
}

// roomArg reads the room of a subscribe: "view:2" or {"room": "view:2"}.
func roomArg(args []any) (string, error) {
	if len(args) == 0 {
		return "", errors.New("no room")
	}
	switch v := args[0].(type) {
	case string:
		return v, nil
	case map[string]any:
		if r, ok := v["room"].(string); ok {
			return r, nil
		}
	}
	return "", errors.New("no room")
}

// validateRoom is shared by the publish API: a room must fill a declared template.
func validateRoom(set *triggers.Set, room string) bool { return room == "" || set.RoomAllowed(room) }
