package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Listener receives the traffic of one session. OnMessage calls are serialised per session and
// arrive in order; OnClose is called exactly once, after which no OnMessage follows.
type Listener interface {
	OnMessage(data []byte, binary bool)
	OnClose(reason string)
}

// Options configure a Server. Zero values take the defaults shown.
type Options struct {
	PingInterval   time.Duration // default 25s
	PingTimeout    time.Duration // default 20s
	UpgradeTimeout time.Duration // default 10s
	WriteTimeout   time.Duration // deadline of one websocket write, default 10s
	MaxPayload     int           // maxHttpBufferSize: largest message or polling body, default 1,000,000
	MaxQueueBytes  int           // outgoing bytes queued per session before it is dropped as a slow consumer, default 1 MiB

	// AllowRequest vets every request before any session is created or used (the Origin
	// check lives here). A non-nil error answers 403 {"code":4,"message":"Forbidden"}.
	AllowRequest func(r *http.Request) error

	// ClientIP returns the client address of a handshake, kept in Handshake.ClientIP and
	// given to AcquireSlot. Default: the peer address (r.RemoteAddr).
	ClientIP func(r *http.Request) netip.Addr

	// AcquireSlot, when set, is asked for a slot of the client IP before a handshake (either
	// transport) creates a session; ok false answers 429 {"code":3,"message":"Too many
	// connections"} and no session exists. release is called exactly once when the session
	// ends, or at once if no session comes of the handshake.
	AcquireSlot func(ip netip.Addr) (release func(), ok bool)

	// OnOpen is called for every new session before any of its messages is read; it returns
	// the session's Listener. It must not block.
	OnOpen func(c *Conn) Listener

	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 20 * time.Second
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 1_000_000
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Engine.IO error codes, answered as JSON with status 400 (403 for Forbidden).
const (
	codeTransportUnknown   = 0
	codeUnknownSID         = 1
	codeBadHandshakeMethod = 2
	codeBadRequest         = 3
	codeForbidden          = 4
	codeUnsupportedVersion = 5
)

var errorMessages = map[int]string{
	codeTransportUnknown:   "Transport unknown",
	codeUnknownSID:         "Session ID unknown",
	codeBadHandshakeMethod: "Bad handshake method",
	codeBadRequest:         "Bad request",
	codeForbidden:          "Forbidden",
	codeUnsupportedVersion: "Unsupported protocol version",
}

// Transport names.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Server is an Engine.IO v4 server. Create it with NewServer and mount it as an http.Handler.
type Server struct {
	opts     Options
	upgrader websocket.Upgrader

	mu       sync.RWMutex
	sessions map[string]*Conn
	closed   bool

	closing closeTracker // listeners' OnClose calls still running (WaitClosed)
}

// NewServer returns a server with opts (defaults filled in).
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, sessions: make(map[string]*Conn)}
	s.upgrader = websocket.Upgrader{
		// Clients send little (CONNECTs, pongs, the odd client event): a larger message
		// takes more reads, and every idle websocket keeps 768 bytes less.
		ReadBufferSize:  256,
		WriteBufferSize: 1024,
		// Frames are written by syncgate's own writer; gorilla's write buffer is only
		// borrowed from the pool for the rare write through gorilla itself.
		WriteBufferPool: &sync.Pool{},
		// The Origin is checked by AllowRequest before the upgrade, for both transports.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return s
}

// Options returns the effective options.
func (s *Server) Options() Options { return s.opts }

// ServeHTTP implements the Engine.IO endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodOptions {
		s.preflight(w, r)
		return
	}
	if q.Get("EIO") != "4" {
		s.fail(w, r, codeUnsupportedVersion)
		return
	}
	transport := q.Get("transport")
	if transport != Polling && transport != WebSocket {
		s.fail(w, r, codeTransportUnknown)
		return
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			s.opts.Logger.Debug("engine.io request refused", "err", err, "remote", r.RemoteAddr)
			s.fail(w, r, codeForbidden)
			return
		}
	}
	s.cors(w, r) // vetted once: every answer from here on carries the grant
	sid := q.Get("sid")
	isWS := websocket.IsWebSocketUpgrade(r)
	if transport == WebSocket && !isWS {
		s.fail(w, r, codeBadRequest)
		return
	}
	if sid == "" {
		if transport == Polling && r.Method != http.MethodGet {
			s.fail(w, r, codeBadHandshakeMethod)
			return
		}
		ip := s.clientIP(r)
		release := func() {}
		if s.opts.AcquireSlot != nil {
			var ok bool
			if release, ok = s.opts.AcquireSlot(ip); !ok {
				s.failStatus(w, http.StatusTooManyRequests, codeBadRequest, "Too many connections")
				return
			}
		}
		if transport == WebSocket {
			s.openWebSocket(w, r, ip, release)
		} else {
			s.openPolling(w, r, ip, release)
		}
		return
	}
	c := s.get(sid)
	if c != nil && c.expired() {
		c.closeWith("ping timeout", false)
		c = nil
	}
	if c == nil {
		s.fail(w, r, codeUnknownSID)
		return
	}
	if transport == WebSocket {
		s.upgrade(w, r, c)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c.pollGet(w, r)
	case http.MethodPost:
		c.pollPost(w, r)
	default:
		s.fail(w, r, codeBadRequest)
	}
}

// Count returns the number of open sessions.
func (s *Server) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.sessions)
}

// CountByTransport returns the number of open sessions per transport.
func (s *Server) CountByTransport() map[string]int {
	s.mu.RLock()
	conns := make([]*Conn, 0, len(s.sessions))
	for _, c := range s.sessions {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	out := map[string]int{Polling: 0, WebSocket: 0}
	for _, c := range conns {
		out[c.Transport()]++
	}
	return out
}

// Close closes every session with reason "server shutting down" and refuses new ones.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.sessions))
	for _, c := range s.sessions {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith("server shutting down", true)
	}
}

// WaitClosed waits until the OnClose of every closed session has returned, or ctx ends.
// After Close it tells when every listener has seen its session end.
func (s *Server) WaitClosed(ctx context.Context) {
	s.closing.mu.Lock()
	if s.closing.n == 0 {
		s.closing.mu.Unlock()
		return
	}
	idle := s.closing.idle
	s.closing.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// closeTracker counts OnClose calls in progress; idle is closed when the count drops to 0.
type closeTracker struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (t *closeTracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
}

func (t *closeTracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

func (s *Server) get(sid string) *Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sessions[sid]
}

func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[c.id] = c
	return true
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.sessions[c.id] == c {
		delete(s.sessions, c.id)
	}
	s.mu.Unlock()
}

// newSID returns a random 120-bit session ID, base64url encoded (20 characters).
func newSID() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engineio: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) handshake(c *Conn, upgrades []string) []byte {
	b, _ := json.Marshal(struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int      `json:"maxPayload"`
	}{c.id, upgrades, s.opts.PingInterval.Milliseconds(), s.opts.PingTimeout.Milliseconds(), s.opts.MaxPayload})
	return append([]byte{typeOpen}, b...)
}

// clientIP is the client address of r: Options.ClientIP, or the peer address.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	if s.opts.ClientIP != nil {
		return s.opts.ClientIP(r)
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// newConn creates, registers and opens a session: the Listener is in place before the caller
// reads any message. release is the session's per-IP slot, given back when it closes. It
// returns nil (and releases the slot) when the server is closed.
func (s *Server) newConn(r *http.Request, transport string, ip netip.Addr, release func()) *Conn {
	c := &Conn{
		srv:       s,
		id:        newSID(),
		transport: transport,
		pollCh:    make(chan struct{}, 1),
		hs:        newHandshake(r, ip),
		release:   release,
	}
	if !s.register(c) {
		release()
		return nil
	}
	c.listener = s.opts.OnOpen(c)
	return c
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	s.failStatus(w, status, code, errorMessages[code])
}

// failStatus answers an Engine.IO error with status and a JSON body {"code","message"}.
func (s *Server) failStatus(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message})
	_, _ = w.Write(b)
}

// cors adds CORS headers with credentials. It is called only once the Origin has passed
// AllowRequest: a refused or unvetted origin never gets a grant, not even on an error answer.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			s.fail(w, r, codeForbidden)
			return
		}
	}
	s.cors(w, r)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	h.Set("Access-Control-Max-Age", strconv.Itoa(600))
	w.WriteHeader(http.StatusNoContent)
}

// Errors returned by Conn.Send.
var (
	ErrClosed       = errors.New("engineio: session closed")
	ErrSlowConsumer = errors.New("engineio: slow consumer: outgoing queue over limit")
)
