package adminui

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
)

// The watcher turns what the public server's Observer reports into the reference's events
// for every connected admin. The observer is installed only while an admin is connected;
// its callbacks only queue (they run on the public server's hot paths, some under locks),
// and one goroutine serialises and emits.

// Bounds of the queues. Lifecycle changes (connect, disconnect, rooms) past their bound are
// dropped and the admins get a fresh all_sockets at the next tick instead; events
// (event_received, event_sent) past theirs are dropped and counted.
const (
	maxLifecycleQueue = 16384
	maxEventQueue     = 1024
	// maxEventArgsBytes bounds the arguments shown for one event; larger ones are elided.
	maxEventArgsBytes = 2048
)

type noteKind int

const (
	noteHello noteKind = iota // an admin connected: send it every socket
	noteConnected
	noteDisconnected
	noteJoined
	noteLeft
	noteReceived
	noteSent
)

type note struct {
	kind   noteKind
	sock   *namespaces.Socket
	text   string // room, disconnect reason, or event name
	args   []any
	at     time.Time
	result chan struct{} // noteHello: closed once handled
}

type watcher struct {
	s   *Server
	obs *namespaces.Observer

	mu     sync.Mutex // admins and the observer's installation
	admins int

	lifecycle chan note
	events    chan note
	resync    atomic.Bool  // a lifecycle change was dropped
	dropped   atomic.Int64 // events dropped
	agg       aggregate

	quit      chan struct{}
	done      chan struct{}
	startOnce sync.Once // the goroutine starts with the first admin: New starts nothing
	stopOnce  sync.Once
	started   atomic.Bool

	polling map[*namespaces.Socket]struct{} // run goroutine only: sockets last seen on polling
}

func newWatcher(s *Server) *watcher {
	w := &watcher{
		s:         s,
		lifecycle: make(chan note, maxLifecycleQueue),
		events:    make(chan note, maxEventQueue),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		polling:   make(map[*namespaces.Socket]struct{}),
	}
	w.obs = &namespaces.Observer{
		Opened: func(string, string) { w.agg.add("rawConnection", "", 1) },
		Closed: func(_, reason string) { w.agg.add("rawDisconnection", reason, 1) },
		Connected: func(s *namespaces.Socket) {
			w.queue(note{kind: noteConnected, sock: s, at: time.Now()})
		},
		Disconnected: func(s *namespaces.Socket, reason string) {
			w.queue(note{kind: noteDisconnected, sock: s, text: reason, at: time.Now()})
		},
		Joined: func(s *namespaces.Socket, room string) {
			w.queue(note{kind: noteJoined, sock: s, text: room, at: time.Now()})
		},
		Left: func(s *namespaces.Socket, room string) {
			w.queue(note{kind: noteLeft, sock: s, text: room, at: time.Now()})
		},
		Received: func(s *namespaces.Socket, event string, args []any) {
			w.queueEvent(note{kind: noteReceived, sock: s, text: event, args: args, at: time.Now()})
		},
		Sent: func(s *namespaces.Socket, event string, args []any) {
			w.queueEvent(note{kind: noteSent, sock: s, text: event, args: args, at: time.Now()})
		},
		Traffic: func(in bool, messages, bytes int) {
			if in {
				w.agg.add("packetsIn", "", messages)
				w.agg.add("bytesIn", "", bytes)
			} else {
				w.agg.add("packetsOut", "", messages)
				w.agg.add("bytesOut", "", bytes)
			}
		},
	}
	return w
}

func (w *watcher) queue(n note) {
	select {
	case w.lifecycle <- n:
	default:
		w.resync.Store(true)
	}
}

func (w *watcher) queueEvent(n note) {
	select {
	case w.events <- n:
	default:
		w.dropped.Add(1)
	}
}

// attach starts watching for a new admin and sends it every socket.
func (w *watcher) attach(admin *namespaces.Socket) {
	w.startOnce.Do(func() {
		w.started.Store(true)
		go w.run()
	})
	w.mu.Lock()
	w.admins++
	if w.admins == 1 {
		w.s.opts.Public.SetObserver(w.obs)
	}
	w.mu.Unlock()
	admin.OnDisconnect(func(string) {
		w.mu.Lock()
		w.admins--
		if w.admins == 0 {
			w.s.opts.Public.SetObserver(nil)
		}
		w.mu.Unlock()
	})
	// After the observer: nothing that happens from here on is missed. Through the
	// lifecycle queue (blocking: it is never dropped), so changes queued before it are
	// sent before the list that already includes them.
	select {
	case w.lifecycle <- note{kind: noteHello, sock: admin}:
	case <-w.quit:
	}
}

func (w *watcher) stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	w.startOnce.Do(func() {}) // no goroutine from here on
	if w.started.Load() {
		<-w.done
	}
	w.s.opts.Public.SetObserver(nil)
}

func (w *watcher) watching() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.admins > 0
}

func (w *watcher) run() {
	defer close(w.done)
	t := time.NewTicker(w.s.opts.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-w.quit:
			return
		case n := <-w.lifecycle:
			w.handle(n)
		case n := <-w.events:
			w.handle(n)
		case <-t.C:
			w.tick()
		}
	}
}

// emit sends one event to every admin of this node.
func (w *watcher) emit(event string, args ...any) {
	_ = w.s.sio.Emit(Namespace, event, args...)
}

func (w *watcher) handle(n note) {
	switch n.kind {
	case noteHello:
		list := w.snapshot()
		_ = n.sock.Emit("all_sockets", list)
		_ = n.sock.Emit("server_stats", w.stats(false))
	case noteConnected:
		if n.sock.Context().Err() != nil {
			return // already gone: its disconnect is (or was) reported, never a ghost
		}
		ser := w.serialize(n.sock)
		if ser.Transport == engineio.Polling {
			w.polling[n.sock] = struct{}{}
		}
		w.emit("socket_connected", ser, stamp(n.at))
	case noteDisconnected:
		delete(w.polling, n.sock)
		w.emit("socket_disconnected", n.sock.Namespace(), n.sock.ID(), n.text, stamp(n.at))
	case noteJoined:
		w.emit("room_joined", n.sock.Namespace(), n.text, n.sock.ID(), stamp(n.at))
	case noteLeft:
		w.emit("room_left", n.sock.Namespace(), n.text, n.sock.ID(), stamp(n.at))
	case noteReceived:
		w.emit("event_received", n.sock.Namespace(), n.sock.ID(), eventArgs(n.text, n.args), stamp(n.at))
	case noteSent:
		w.emit("event_sent", n.sock.Namespace(), n.sock.ID(), eventArgs(n.text, n.args), stamp(n.at))
	}
}

// tick sends the stats, a fresh list after a dropped change, and transport upgrades (the
// reference's socket_updated), found by looking again at the sockets last seen on polling.
func (w *watcher) tick() {
	if !w.watching() {
		w.agg.take() // nothing is counted for no one
		clear(w.polling)
		return
	}
	if w.resync.Swap(false) {
		w.emit("all_sockets", w.snapshot())
	}
	for sock := range w.polling {
		if sock.Context().Err() != nil {
			delete(w.polling, sock)
			continue
		}
		if tr := sock.Transport(); tr != engineio.Polling {
			delete(w.polling, sock)
			w.emit("socket_updated", map[string]any{"id": sock.ID(), "nsp": sock.Namespace(), "transport": tr})
		}
	}
	if n := w.dropped.Swap(0); n > 0 {
		w.s.log.Debug("admin UI: events not shown (queue full)", "dropped", n)
	}
	w.emit("server_stats", w.stats(true))
}

// snapshot serialises every socket of the public server and notes those on polling.
func (w *watcher) snapshot() []serialized {
	socks := w.s.opts.Public.Sockets()
	out := make([]serialized, 0, len(socks))
	for _, sock := range socks {
		ser := w.serialize(sock)
		if ser.Transport == engineio.Polling {
			w.polling[sock] = struct{}{}
		}
		out = append(out, ser)
	}
	return out
}

// serverStats is the reference's server_stats.
type serverStats struct {
	ServerID            string          `json:"serverId"`
	Hostname            string          `json:"hostname"`
	PID                 int             `json:"pid"`
	Uptime              float64         `json:"uptime"` // seconds
	ClientsCount        int             `json:"clientsCount"`
	PollingClientsCount int             `json:"pollingClientsCount"`
	AggregatedEvents    []aggregated    `json:"aggregatedEvents"`
	Namespaces          []namespaceSize `json:"namespaces"`
}

type namespaceSize struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

func (w *watcher) stats(withEvents bool) serverStats {
	pub := w.s.opts.Public
	byTransport := pub.CountByTransport()
	st := serverStats{
		ServerID:            w.s.opts.ServerID,
		Hostname:            w.s.host,
		PID:                 os.Getpid(),
		Uptime:              time.Since(w.s.started).Seconds(),
		ClientsCount:        byTransport[engineio.Polling] + byTransport[engineio.WebSocket],
		PollingClientsCount: byTransport[engineio.Polling],
		AggregatedEvents:    []aggregated{},
		Namespaces:          []namespaceSize{},
	}
	if withEvents {
		st.AggregatedEvents = w.agg.take()
	}
	names := pub.Namespaces()
	sort.Strings(names)
	for _, name := range names {
		if ns := pub.Namespace(name); ns != nil {
			st.Namespaces = append(st.Namespaces, namespaceSize{Name: name, SocketsCount: ns.Len()})
		}
	}
	return st
}

// serialized is the reference's SerializedSocket.
type serialized struct {
	ID        string         `json:"id"`
	ClientID  string         `json:"clientId"`
	Transport string         `json:"transport"`
	Nsp       string         `json:"nsp"`
	Data      map[string]any `json:"data"`
	Handshake handshake      `json:"handshake"`
	Rooms     []string       `json:"rooms"`
}

type handshake struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"` // ms since the epoch
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// Redacted stands for a credential's value: the UI shows that one was sent, never what.
const Redacted = "[redacted]"

// serialize describes a socket for the UI. Credentials never leave: Cookie and
// Authorization are shown as Redacted, every query value too (a token may travel there),
// the CONNECT auth payload and the socket's admission data not at all, and the client is
// named by a hash of its Engine.IO ID (which is itself a credential of the connection).
func (w *watcher) serialize(sock *namespaces.Socket) serialized {
	hs := sock.Handshake()
	h := handshake{Headers: map[string]string{}, Query: map[string]string{}, URL: "/socket.io/"}
	if hs != nil {
		h.Address = address(hs)
		if hs.Host != "" {
			h.Headers["host"] = hs.Host
		}
		for name, vals := range hs.Header {
			switch hn := lower(name); hn {
			case "x-request-id":
				if len(vals) > 0 {
					h.Headers[hn] = vals[0]
				}
			default: // Cookie, Authorization: see engineio.HandshakeHeaders
				h.Headers[hn] = Redacted
			}
		}
		for k := range hs.Query {
			h.Query[k] = Redacted
		}
		h.Issued = hs.Time.UnixMilli()
		h.Time = hs.Time.UTC().Format(time.RFC1123)
		h.Secure = hs.Secure
	}
	rooms := append([]string{sock.ID()}, sock.Rooms()...) // every socket is in its own room
	sort.Strings(rooms[1:])
	return serialized{
		ID:        sock.ID(),
		ClientID:  clientID(sock.EngineID()),
		Transport: sock.Transport(),
		Nsp:       sock.Namespace(),
		Data:      map[string]any{},
		Handshake: h,
		Rooms:     rooms,
	}
}

// clientID names a connection without revealing its Engine.IO ID.
func clientID(engineID string) string {
	sum := sha256.Sum256([]byte("syncgate-admin-ui:" + engineID))
	return hex.EncodeToString(sum[:6])
}

func address(hs *engineio.Handshake) string {
	if hs.ClientIP.IsValid() {
		return hs.ClientIP.Unmap().String()
	}
	if host, _, err := net.SplitHostPort(hs.RemoteAddr); err == nil {
		return host
	}
	return hs.RemoteAddr
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// stamp is a timestamp as the reference sends one (a JavaScript Date in JSON).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// eventArgs is [event, ...args] as the UI expects, as JSON, or the event and a note of the
// size when the arguments are too large to show.
func eventArgs(event string, args []any) json.RawMessage {
	all := append([]any{event}, args...)
	b, err := json.Marshal(all)
	if err != nil || len(b) > maxEventArgsBytes {
		b, _ = json.Marshal([]any{event, fmt.Sprintf("(%d bytes of arguments not shown)", len(b))})
	}
	return b
}

// aggregate counts the reference's aggregated events (the dashboard's charts) between two
// ticks.
type aggregate struct {
	mu     sync.Mutex
	counts map[[2]string]int
}

type aggregated struct {
	Timestamp int64  `json:"timestamp"` // ms
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

func (a *aggregate) add(typ, sub string, n int) {
	a.mu.Lock()
	if a.counts == nil {
		a.counts = make(map[[2]string]int)
	}
	a.counts[[2]string{typ, sub}] += n
	a.mu.Unlock()
}

func (a *aggregate) take() []aggregated {
	a.mu.Lock()
	counts := a.counts
	a.counts = nil
	a.mu.Unlock()
	now := time.Now().UnixMilli()
	now -= now % 1000
	out := make([]aggregated, 0, len(counts))
	for k, n := range counts {
		out = append(out, aggregated{Timestamp: now, Type: k[0], SubType: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].SubType < out[j].SubType
	})
	return out
}
