package namespaces

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncgate/syncgate/engineio"
)

// ErrInvalidNamespace is the connect_error of a namespace no handler matches (the
// protocol's own message).
var ErrInvalidNamespace = errors.New("Invalid namespace")

// ConnectRequest is what an admission hook decides on.
type ConnectRequest struct {
	Namespace string
	Handshake *engineio.Handshake
	Auth      json.RawMessage // the CONNECT payload (the client's auth object), nil when absent
	EngineID  string
}

// ConnectError is an admission refusal with data for the client's connect_error.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }

// Handler serves the namespaces whose name Match accepts.
type Handler struct {
	// Match reports whether name is served by this handler. Names no handler matches are
	// refused with "Invalid namespace".
	Match func(name string) bool
	// Admit decides whether a socket may join. It may block on the network; ctx ends when
	// the client goes away or after Options.AdmitTimeout. A non-nil error refuses the
	// socket: the client's connect_error carries err.Error() (and ConnectError.Data). The
	// returned value is kept as Socket.Data. nil Admit admits everyone.
	Admit func(ctx context.Context, req *ConnectRequest) (any, error)
	// OnConnect runs for every admitted socket before any of its packets is handled.
	OnConnect func(s *Socket)
	// RecoverRoom decides, for a socket recovering a previous session, whether it gets
	// room back (nil: every room). Rooms whose membership was checked against something
	// that may have changed while the socket was away should be refused here.
	RecoverRoom func(s *Socket, room string) bool
	// OnEvent handles events no Socket.On handler claims. ack is nil when the client
	// asked for none.
	OnEvent func(s *Socket, event string, args []any, ack func(args ...any))
}

// Options configure a Server.
type Options struct {
	Engine         engineio.Options // OnOpen is set by the Server
	Adapter        Adapter          // default: NewMemoryAdapter(RecoveryWindow, 0)
	AdmitTimeout   time.Duration    // default 10s
	ConnectTimeout time.Duration    // a connection that joins no namespace in this time is closed; default 45s
	// RecoveryWindow enables connection state recovery: a socket that reconnects within it
	// gets the broadcasts it missed, or an EventResync when they cannot all be known. 0
	// disables recovery (no pid is handed out, broadcasts carry no offset).
	RecoveryWindow time.Duration
	// PendingBytes is the budget of one connection for what the server holds on behalf of
	// namespaces it is not admitted to yet: CONNECT payloads of running admissions, packets
	// sent while an admission runs, binary attachments of a packet for such a namespace.
	// Past it the connection is closed. Default: Engine.MaxPayload + 64 KiB (one message).
	PendingBytes int
	// MaxAdmitFailures is how many refused admissions (every CONNECT an Admit hook refuses,
	// retries included) one connection may have; the next refusal closes the connection.
	// Default 10; negative: no limit.
	MaxAdmitFailures int
	Logger           *slog.Logger
}

// pendingSlack is what the default PendingBytes allows beyond one message: the CONNECT
// packet and bookkeeping.
const pendingSlack = 64 << 10

// defaultMaxAdmitFailures is Options.MaxAdmitFailures' default.
const defaultMaxAdmitFailures = 10

// Server is a Socket.IO v5 server.
type Server struct {
	engine  *engineio.Server
	adapter Adapter
	opts    Options
	log     *slog.Logger

	stats Stats
	obs   atomic.Pointer[Observer] // SetObserver (inspect.go)

	mu       sync.RWMutex
	handlers []*Handler
	nsps     map[string]*Namespace

	stopRefresh chan struct{}
	refreshDone chan struct{}
	closeOnce   sync.Once
}

// NewServer creates a Socket.IO server.
func NewServer(opts Options) *Server {
	if opts.AdmitTimeout <= 0 {
		opts.AdmitTimeout = 10 * time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 45 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PendingBytes <= 0 {
		maxPayload := opts.Engine.MaxPayload
		if maxPayload <= 0 {
			maxPayload = 1_000_000 // engineio's default
		}
		opts.PendingBytes = maxPayload + pendingSlack
	}
	if opts.MaxAdmitFailures == 0 {
		opts.MaxAdmitFailures = defaultMaxAdmitFailures
	}
	s := &Server{opts: opts, log: opts.Logger, nsps: make(map[string]*Namespace)}
	s.adapter = opts.Adapter
	if s.adapter == nil {
		s.adapter = NewMemoryAdapter(opts.RecoveryWindow, 0)
	}
	s.adapter.Init(AdapterHooks{DeliverLocal: s.DeliverLocal, Resync: s.resyncLocal})
	eo := opts.Engine
	eo.Logger = opts.Logger
	eo.OnOpen = s.onOpen
	s.engine = engineio.NewServer(eo)
	s.stopRefresh, s.refreshDone = make(chan struct{}), make(chan struct{})
	if opts.RecoveryWindow > 0 {
		go s.refreshSessions(opts.RecoveryWindow / 3)
	} else {
		close(s.refreshDone)
	}
	return s
}

// refreshSessions saves every live socket's session again each period, so a socket that
// lives longer than the recovery window still has a session to recover when its node dies
// without saying goodbye.
func (s *Server) refreshSessions(period time.Duration) {
	defer close(s.refreshDone)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stopRefresh:
			return
		case <-t.C:
		}
		for _, name := range s.Namespaces() {
			ns := s.Namespace(name)
			if ns == nil {
				continue
			}
			ns.mu.RLock()
			socks := append([]*Socket(nil), ns.list...)
			ns.mu.RUnlock()
			for _, sock := range socks {
				select {
				case <-s.stopRefresh:
					return
				default:
				}
				sock.persistRooms()
			}
		}
	}
}

// ServeHTTP serves the Engine.IO endpoint (mount it at /socket.io/).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Adapter returns the adapter in use.
func (s *Server) Adapter() Adapter { return s.adapter }

// Handle registers h. Handlers are tried in registration order.
func (s *Server) Handle(h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hh := h
	s.handlers = append(s.handlers, &hh)
}

// Close closes every connection, waits (up to ctx's end) until every socket has left and
// saved its recovery session, then closes the adapter.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.CloseConnections(ctx)
	return s.adapter.Close()
}

// CloseConnections closes every connection at the transport level (the clients reconnect,
// elsewhere behind a load balancer) and waits, up to ctx's end, until each socket has run
// its disconnect path, recovery session saved included. The adapter stays open.
func (s *Server) CloseConnections(ctx context.Context) {
	s.closeOnce.Do(func() { close(s.stopRefresh) })
	s.engine.Close()
	s.engine.WaitClosed(ctx)
	select {
	case <-s.refreshDone:
	case <-ctx.Done():
	}
}

func (s *Server) handlerFor(name string) *Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.handlers {
		if h.Match(name) {
			return h
		}
	}
	return nil
}

// Namespace returns the live namespace called name, or nil. Namespaces exist while they have
// sockets; nothing but an admitted socket creates one.
func (s *Server) Namespace(name string) *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps[name]
}

// Namespaces returns the names of the live namespaces.
func (s *Server) Namespaces() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.nsps))
	for n := range s.nsps {
		out = append(out, n)
	}
	return out
}

// join adds an admitted socket to its namespace, and to rooms at the same instant (a
// recovered session's), creating the namespace under the server lock so creation and
// removal never race.
func (s *Server) join(sock *Socket, h *Handler, rooms []string) {
	s.mu.Lock()
	ns := s.nsps[sock.nspName]
	if ns == nil {
		ns = newNamespace(sock.nspName, h)
		ns.obs = &s.obs
		s.nsps[sock.nspName] = ns
	}
	sock.nsp = ns
	ns.add(sock, rooms)
	s.mu.Unlock()
}

// leave removes a socket; an empty namespace is dropped.
func (s *Server) leave(sock *Socket) {
	s.mu.Lock()
	ns := sock.nsp
	if ns != nil && ns.remove(sock) == 0 && s.nsps[ns.name] == ns {
		delete(s.nsps, ns.name)
	}
	s.mu.Unlock()
	if ia, ok := s.adapter.(InterestAdapter); ok && ns != nil {
		ia.Unsubscribe(ns.name)
	}
}

// subscribe tells an InterestAdapter that sock joined its namespace; it returns once the
// namespace's broadcasts reach this node. Called after join, outside every lock.
func (s *Server) subscribe(sock *Socket) {
	if ia, ok := s.adapter.(InterestAdapter); ok {
		ia.Subscribe(sock.nspName)
	}
}

func (s *Server) onOpen(c *engineio.Conn) engineio.Listener {
	cl := newClient(s, c)
	s.observer().opened(c.ID(), c.Transport())
	cl.connectTimer = time.AfterFunc(s.opts.ConnectTimeout, cl.connectTimeout)
	return cl
}

// Stats counts what the server did since it started (for metrics).
type Stats struct {
	Broadcasts       atomic.Int64 // broadcasts delivered on this node (local or from other nodes)
	Deliveries       atomic.Int64 // socket deliveries on this node
	Resyncs          atomic.Int64 // resync events sent to sockets
	Recoveries       atomic.Int64 // sockets that recovered every missed broadcast
	RecoveryFailures atomic.Int64 // reconnecting sockets told to resync instead
	// Connections closed by an admission limit: over Options.PendingBytes, or past
	// Options.MaxAdmitFailures refused admissions.
	ClosedOverBudget    atomic.Int64
	ClosedAdmitFailures atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// CountByTransport returns the number of Engine.IO sessions per transport.
func (s *Server) CountByTransport() map[string]int { return s.engine.CountByTransport() }
