package adminui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/namespaces"
)

// Namespace is the admin namespace, as the reference server and the UI name it.
const Namespace = "/admin"

// Refusals of a CONNECT to /admin (the UI's connect_error). "invalid credentials" is the
// reference's own message: the UI shows its login form again on it.
var (
	ErrDisabled           = errors.New("admin UI disabled: set --admin-ui-user and --admin-ui-password-hash")
	ErrInvalidCredentials = errors.New("invalid credentials")
)

// Options configure a Server.
type Options struct {
	// Public is the Socket.IO server inspected (the gateway's): read through namespaces'
	// inspection API, acted on only through Socket.Join, Leave and Disconnect.
	Public *namespaces.Server
	// User and PasswordHash (bcrypt) admit the UI, as the reference's basic auth. Both
	// empty: /admin refuses everyone with ErrDisabled.
	User         string
	PasswordHash string
	// Origins are the browser origins (exact scheme://host[:port]) the UI may be served
	// from, e.g. https://admin.socket.io; they get CORS with credentials. Empty: only
	// same-host pages and non-browser clients.
	Origins []string
	// ServerID names this node in the UI's server list; default hostname#pid.
	ServerID string
	// AllowJoin decides whether the UI may make sockets of nsp join room; nil: the JOIN
	// actions are not offered.
	AllowJoin func(nsp, room string) bool
	// Emit sends an event from the UI to the sockets of nsp (in room, when not ""), after
	// whatever checks the caller makes; nil: EMIT is not offered.
	Emit func(nsp, room, event string, args []any) error
	// ReadOnly offers no action in the config and carries none out: the UI may look only
	// (the reference's readonly option, enforced here on the server).
	ReadOnly bool
	// StatsInterval is how often server_stats go out (the reference: 2s).
	StatsInterval time.Duration
	// SessionTTL is how long a login's session ID (kept by the UI to log in again after
	// a reload) is valid; default 24h.
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Server serves Engine.IO/Socket.IO with the namespace /admin for the Admin UI. Mount it at
// /socket.io/ of the admin listener. It is safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	sio     *namespaces.Server
	origins *auth.Origins
	hash    []byte
	enabled bool
	started time.Time
	host    string

	checking chan struct{} // one bcrypt comparison at a time: a login flood costs one core

	closeOnce sync.Once
	closeErr  error

	sessMu   sync.Mutex
	sessions map[string]time.Time // session ID → expiry

	w *watcher
}

// maxSessions bounds the remembered session IDs; the oldest goes first.
const maxSessions = 1000

// New validates o and builds the admin Socket.IO server.
func New(o Options) (*Server, error) {
	if o.Public == nil {
		return nil, errors.New("adminui: no public server")
	}
	if (o.User == "") != (o.PasswordHash == "") {
		return nil, errors.New("adminui: the user and the password hash go together")
	}
	if o.PasswordHash != "" {
		if _, err := bcrypt.Cost([]byte(o.PasswordHash)); err != nil {
			return nil, fmt.Errorf("adminui: password hash is not a bcrypt hash: %w", err)
		}
	}
	origins, err := auth.NewOrigins(o.Origins)
	if err != nil {
		return nil, fmt.Errorf("adminui: origins: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 2 * time.Second
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 24 * time.Hour
	}
	host, _ := os.Hostname()
	if o.ServerID == "" {
		o.ServerID = fmt.Sprintf("%s#%d", host, os.Getpid())
	}
	s := &Server{
		opts:     o,
		log:      o.Logger,
		origins:  origins,
		hash:     []byte(o.PasswordHash),
		enabled:  o.User != "",
		started:  time.Now(),
		host:     host,
		checking: make(chan struct{}, 1),
		sessions: make(map[string]time.Time),
	}
	s.sio = namespaces.NewServer(namespaces.Options{
		Engine: engineio.Options{
			AllowRequest: origins.Allowed,
			MaxPayload:   100_000, // the UI sends small commands
		},
		Logger: o.Logger,
	})
	s.w = newWatcher(s)
	s.sio.Handle(namespaces.Handler{
		Match:     func(name string) bool { return name == Namespace },
		Admit:     s.admit,
		OnConnect: s.onConnect,
	})
	return s, nil
}

// Enabled reports whether a user and password hash were given.
func (s *Server) Enabled() bool { return s.enabled }

// ServeHTTP serves the Engine.IO endpoint. A preflight from an allowed origin that asks for
// private network access (Chrome: a public page such as https://admin.socket.io reaching a
// gateway on a private address) gets it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Private-Network") == "true" &&
		r.Header.Get("Origin") != "" && s.origins.Allowed(r) == nil {
		w.Header().Set("Access-Control-Allow-Private-Network", "true")
	}
	s.sio.ServeHTTP(w, r)
}

// Close disconnects every admin and stops watching the public server. It may be called
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.sio.Close() // admins leave: the observer is removed with the last one
		s.w.stop()
	})
	return s.closeErr
}

// login is what an admitted admin socket keeps: the session ID made by its login, sent to
// the UI once connected ("" when it came with a session ID).
type login struct{ newSession string }

// credentials is the auth object the UI sends with its CONNECT.
type credentials struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	SessionID string `json:"sessionId"`
}

func (s *Server) admit(ctx context.Context, req *namespaces.ConnectRequest) (any, error) {
	if !s.enabled {
		return nil, ErrDisabled
	}
	var c credentials
	if len(req.Auth) > 0 {
		_ = json.Unmarshal(req.Auth, &c) // malformed: no credentials
	}
	if c.SessionID != "" && s.validSession(c.SessionID) {
		return &login{}, nil
	}
	if c.Username == "" && c.Password == "" {
		return nil, ErrInvalidCredentials
	}
	select { // a comparison costs ~90ms of CPU at cost 10 (measured here): one at a time
	case s.checking <- struct{}{}:
	case <-ctx.Done():
		return nil, ErrInvalidCredentials
	}
	pwErr := bcrypt.CompareHashAndPassword(s.hash, []byte(c.Password))
	<-s.checking
	userOK := subtle.ConstantTimeCompare([]byte(c.Username), []byte(s.opts.User)) == 1
	if pwErr != nil || !userOK {
		s.log.Warn("admin UI login refused", "remote", req.Handshake.RemoteAddr)
		return nil, ErrInvalidCredentials
	}
	s.log.Info("admin UI login", "user", s.opts.User, "remote", req.Handshake.RemoteAddr)
	return &login{newSession: s.newSession()}, nil
}

func (s *Server) newSession() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := time.Now()
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for k, exp := range s.sessions {
		if now.After(exp) {
			delete(s.sessions, k)
		}
	}
	if len(s.sessions) >= maxSessions {
		oldest, at := "", time.Time{}
		for k, exp := range s.sessions {
			if oldest == "" || exp.Before(at) {
				oldest, at = k, exp
			}
		}
		delete(s.sessions, oldest)
	}
	s.sessions[id] = now.Add(s.opts.SessionTTL)
	return id
}

func (s *Server) validSession(id string) bool {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	exp, ok := s.sessions[id]
	if ok && time.Now().After(exp) {
		delete(s.sessions, id)
		return false
	}
	return ok
}

// onConnect greets an admitted UI the way the reference does: its session, the config,
// every socket, then the stats and live changes.
func (s *Server) onConnect(sock *namespaces.Socket) {
	if l, _ := sock.Data().(*login); l != nil && l.newSession != "" {
		_ = sock.Emit("session", l.newSession)
	}
	if !s.opts.ReadOnly {
		s.registerActions(sock)
	}
	_ = sock.Emit("config", map[string]any{"supportedFeatures": s.features()})
	s.w.attach(sock)
}

// Features of the reference's config (lib/typed-events.ts). ALL_EVENTS is its development
// mode: without it, and with AGGREGATED_EVENTS, the UI shows no socket, room or event list.
const (
	featEmit        = "EMIT"
	featJoin        = "JOIN"
	featLeave       = "LEAVE"
	featDisconnect  = "DISCONNECT"
	featMJoin       = "MJOIN"
	featMLeave      = "MLEAVE"
	featMDisconnect = "MDISCONNECT"
	featAggregated  = "AGGREGATED_EVENTS"
	featAllEvents   = "ALL_EVENTS"
)

func (s *Server) features() []string {
	if s.opts.ReadOnly {
		return []string{featAggregated, featAllEvents}
	}
	f := []string{featLeave, featDisconnect, featMLeave, featMDisconnect}
	if s.opts.AllowJoin != nil {
		f = append(f, featJoin, featMJoin)
	}
	if s.opts.Emit != nil {
		f = append(f, featEmit)
	}
	return append(f, featAggregated, featAllEvents)
}
