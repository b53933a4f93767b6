package fakedrive

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// DefaultPageSize is the largest page changes.list and files.list answer
// when Config.PageSize is zero: small, so that clients must follow
// nextPageToken.
const DefaultPageSize = 2

// Config configures Start.
type Config struct {
	// PageSize caps every page (default DefaultPageSize); a client's larger
	// pageSize is cut down to it.
	PageSize int
	// Authenticate, when set, maps bearer tokens issued elsewhere (for
	// example by internal/oauthtest) to a user, besides the tokens of
	// Server.Token.
	Authenticate func(token string) (user string, ok bool)
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	URL string // http://127.0.0.1:PORT

	srv *httptest.Server
	cfg Config

	mu      sync.Mutex
	tokens  map[string]string // access token → user
	revoked map[string]bool   // user → every token refused (401)
	noScope map[string]bool   // user → token lacks a Drive scope (403)
	files   map[string]*file
	log     []change // the change log; a page token is an index into it
	faults  []*fault
	latency time.Duration
	calls   callLog
}

// file is one Drive file.
type file struct {
	id, name string
	version  int64
	readers  map[string]bool
	order    int // creation order, newest listed first
}

// Start runs a fake on a free port of 127.0.0.1, closed on t.Cleanup.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	s := &Server{
		cfg:     cfg,
		tokens:  make(map[string]string),
		revoked: make(map[string]bool),
		noScope: make(map[string]bool),
		files:   make(map[string]*file),
	}
	s.calls.init()
	s.srv = httptest.NewServer(s.routes()) // binds 127.0.0.1:0
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the base URL to pass to option.WithEndpoint.
func (s *Server) Endpoint() string { return s.URL + "/drive/v3/" }

// Token issues a new access token of user. Tokens stay valid until Revoke.
func (s *Server) Token(user string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = user
	s.mu.Unlock()
	return tok
}

// Revoke makes every token of user invalid (401 authError), as a user
// removing the app's access would.
func (s *Server) Revoke(user string) {
	s.mu.Lock()
	s.revoked[user] = true
	s.mu.Unlock()
}

// SetNoDriveScope makes user's tokens lack a Drive scope: every call
// answers 403 insufficientPermissions, as Google does.
func (s *Server) SetNoDriveScope(user string, on bool) {
	s.mu.Lock()
	s.noScope[user] = on
	s.mu.Unlock()
}

// AddFile creates file id at version 1, readable by readers.
func (s *Server) AddFile(id, name string, readers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &file{id: id, name: name, version: 1, readers: make(map[string]bool), order: len(s.files)}
	for _, r := range readers {
		f.readers[r] = true
	}
	s.files[id] = f
	s.log = append(s.log, change{fileID: id})
}

// Touch changes file id: its version goes up by one and the change enters
// every reader's change feed. It returns the new version.
func (s *Server) Touch(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	if f == nil {
		panic("fakedrive: Touch of unknown file " + id)
	}
	f.version++
	s.log = append(s.log, change{fileID: id})
	return f.version
}

// Share adds user to the readers of file id.
func (s *Server) Share(id, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil {
		f.readers[user] = true
	}
}

// Unshare removes user from the readers of file id; user's change feed
// lists the file as removed, as Google does on loss of access.
func (s *Server) Unshare(id, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil {
		delete(f.readers, user)
	}
	s.log = append(s.log, change{fileID: id, lostBy: user})
}

// Version returns the current version of file id (0 if unknown).
func (s *Server) Version(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[id]; f != nil {
		return f.version
	}
	return 0
}

// userOf returns who holds the request's bearer token, or "" and the
// error to answer.
func (s *Server) userOf(r *http.Request) (string, *apiError) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return "", errAuth()
	}
	tok := h[len(prefix):]
	s.mu.Lock()
	user, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok && s.cfg.Authenticate != nil {
		user, ok = s.cfg.Authenticate(tok)
	}
	if !ok {
		return "", errAuth()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked[user] {
		return user, errAuth()
	}
	if s.noScope[user] {
		return user, errScope()
	}
	return user, nil
}

// SetLatency makes every call take at least d before it is answered.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}
