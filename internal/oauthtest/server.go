package oauthtest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Defaults for the zero values of Config.
const (
	DefaultClientID     = "syncgate-test"
	DefaultClientSecret = "syncgate-test-secret"
	DefaultAccessTTL    = time.Hour
	codeTTL             = time.Minute
)

// User is who the server logs in; userinfo answers it as OpenID Connect claims.
type User struct {
	Subject string `json:"sub"`
	Email   string `json:"email"`
	Name    string `json:"name"`
}

// Config configures Start.
type Config struct {
	ClientID, ClientSecret string        // defaults DefaultClientID, DefaultClientSecret
	RedirectURLs           []string      // the registered redirect_uris (exact match); more with AddRedirectURL
	User                   User          // default {Subject: "user-1", Email: "user1@example.test", Name: "User One"}
	AccessTTL              time.Duration // lifetime of access tokens (expires_in); default 1h
	KeepRefreshToken       bool          // answer refreshes without a new refresh token (default: rotate, old one dies)
}

// Stats are the server's counters.
type Stats struct {
	Authorizations int // authorize requests that redirected back with a code
	Exchanges      int // authorization codes exchanged for tokens
	Refreshes      int // successful refresh_token grants
	Rejected       int // token requests refused (any error answer)
	Userinfo       int // userinfo requests answered 200
}

// Server is a running authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	URL string // base URL, http://127.0.0.1:PORT

	srv *httptest.Server

	mu      sync.Mutex
	cfg     Config
	codes   map[string]*grant     // authorization code → grant
	access  map[string]*accessTok // access token → info
	refresh map[string]*refreshTok
	deny    bool
	outage  bool
	stats   Stats
}

type grant struct {
	clientID, redirectURI, challenge string
	user                             User
	expires                          time.Time
	used                             bool
	issued                           []string // tokens issued from it, revoked if the code is replayed
}

type accessTok struct {
	user    User
	expires time.Time
	revoked bool
}

type refreshTok struct {
	user    User
	revoked bool
}

// Start runs a server on a free port of 127.0.0.1, closed on t.Cleanup.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.User == (User{}) {
		cfg.User = User{Subject: "user-1", Email: "user1@example.test", Name: "User One"}
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	s := &Server{
		cfg:     cfg,
		codes:   make(map[string]*grant),
		access:  make(map[string]*accessTok),
		refresh: make(map[string]*refreshTok),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	s.srv = httptest.NewServer(mux) // binds 127.0.0.1:0
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AuthURL, TokenURL and UserinfoURL are the endpoints' absolute URLs.
func (s *Server) AuthURL() string     { return s.URL + "/authorize" }
func (s *Server) TokenURL() string    { return s.URL + "/token" }
func (s *Server) UserinfoURL() string { return s.URL + "/userinfo" }

// Endpoint is the oauth2.Endpoint of this server (client credentials in the
// Authorization header).
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.AuthURL(), TokenURL: s.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
}

// ClientID and ClientSecret are the one registered client's credentials.
func (s *Server) ClientID() string     { s.mu.Lock(); defer s.mu.Unlock(); return s.cfg.ClientID }
func (s *Server) ClientSecret() string { s.mu.Lock(); defer s.mu.Unlock(); return s.cfg.ClientSecret }

// AddRedirectURL registers one more accepted redirect_uri (several
// clients, e.g. two gateway nodes, may share the server).
func (s *Server) AddRedirectURL(u string) {
	s.mu.Lock()
	s.cfg.RedirectURLs = append(s.cfg.RedirectURLs, u)
	s.mu.Unlock()
}

// SetUser changes who the next authorizations log in.
func (s *Server) SetUser(u User) { s.mu.Lock(); s.cfg.User = u; s.mu.Unlock() }

// SetDeny makes authorize redirect back with error=access_denied (the user
// said no) while on.
func (s *Server) SetDeny(on bool) { s.mu.Lock(); s.deny = on; s.mu.Unlock() }

// SetOutage makes the token endpoint answer 503 while on.
func (s *Server) SetOutage(on bool) { s.mu.Lock(); s.outage = on; s.mu.Unlock() }

// RevokeRefreshTokens kills every refresh token issued so far (as a user
// revoking the app's access would); later refreshes get invalid_grant.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refresh {
		r.revoked = true
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats { s.mu.Lock(); defer s.mu.Unlock(); return s.stats }

// AccessTokenValid reports whether tok is an access token this server issued
// that is neither expired nor revoked.
func (s *Server) AccessTokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.access[tok]
	return a != nil && !a.revoked && time.Now().Before(a.expires)
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
