package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/sessions"
)

// Session mode (--auth session): syncgate owns the user's login and session, as an app's
// own server would in front of the platform API. The browser holds only an opaque session
// cookie; the upstream only ever sees "Authorization: Bearer <access token>" from the
// session, never the cookie; a socket is admitted only with a valid, logged-in session and
// an allowed Origin, and is closed when its session ends, on every node.

// EventSessionEnded is emitted to a socket before it is closed because its session ended;
// payload {"reason": CODE}, CODE one of "logged_out", "expired", "refresh_failed" (the
// provider refused to renew the token), "rotated" (replaced by a new login), "revoked",
// "unavailable" (the session could not be checked) or "ended".
const EventSessionEnded = "session_ended"

// sessionEndReason is the stable code of why a session ended, for clients.
func sessionEndReason(err error) string {
	switch {
	case errors.Is(err, sessions.ErrLoggedOut):
		return "logged_out"
	case errors.Is(err, sessions.ErrExpired):
		return "expired"
	case errors.Is(err, sessions.ErrRefreshFailed):
		return "refresh_failed"
	case errors.Is(err, sessions.ErrRotated):
		return "rotated"
	case errors.Is(err, sessions.ErrRevoked):
		return "revoked"
	case errors.Is(err, sessions.ErrUnavailable):
		return "unavailable"
	default:
		return "ended"
	}
}

// newSessions builds the session manager and its store from the configuration.
func newSessions(cfg Config, origins *auth.Origins, g *Gateway) (*sessions.Manager, sessions.Store, error) {
	var store sessions.Store
	spec := cfg.SessionStore
	if spec == "" {
		spec = "bolt:syncgate-sessions.db"
		if cfg.anyRedis() {
			spec = "redis"
		}
	}
	switch {
	case spec == "memory":
		store = sessions.NewMemoryStore()
	case spec == "redis":
		if !cfg.anyRedis() {
			return nil, nil, errors.New("--session-store redis needs --redis, --redis-sentinel or --redis-cluster")
		}
		rdb, err := g.redisClient()
		if err != nil {
			return nil, nil, err
		}
		store = sessions.NewRedisStore(rdb, sessions.DefaultRedisPrefix)
	case strings.HasPrefix(spec, "bolt:"):
		bs, err := sessions.OpenBolt(strings.TrimPrefix(spec, "bolt:"))
		if err != nil {
			return nil, nil, fmt.Errorf("--session-store %s: %w", spec, err)
		}
		store = bs
	default:
		return nil, nil, fmt.Errorf("--session-store %q: want memory, bolt:PATH or redis", spec)
	}
	provider := sessions.Provider{
		Name:         cfg.OAuthProvider,
		ClientID:     cfg.OAuthClientID,
		ClientSecret: cfg.OAuthClientSecret,
		RedirectURL:  cfg.OAuthRedirectURL,
		Scopes:       cfg.OAuthScopes,
		AuthURL:      cfg.OAuthAuthURL,
		TokenURL:     cfg.OAuthTokenURL,
		UserinfoURL:  cfg.OAuthUserinfoURL,
	}
	oa, err := provider.OAuth()
	if err != nil {
		_ = store.Close()
		return nil, nil, fmt.Errorf("--oauth-*: %w", err)
	}
	sc := sessions.Config{
		Store:       store,
		OAuth:       oa,
		CookieName:  cfg.SessionCookie,
		Insecure:    cfg.InsecureCookies,
		LandingPath: cfg.LandingPath,
		CheckOrigin: origins.Allowed,
		Logger:      g.log,
	}
	if cfg.APIPrefix != "/api" {
		sc.GeneratePath = cfg.APIPrefix + "/generate_cookie"
	}
	if cfg.anyRedis() { // the end of a session reaches every node
		rdb, err := g.redisClient()
		if err != nil {
			_ = store.Close()
			return nil, nil, err
		}
		sc.Redis = rdb
	}
	m, err := sessions.New(sc)
	if err != nil {
		_ = store.Close()
		return nil, nil, fmt.Errorf("sessions: %w", err)
	}
	return m, store, nil
}

// sessionCredentials are what identify a socket's user in session mode: the session
// cookie alone. The memberships call swaps it for the session's bearer token when it is
// sent (sessionRewrite), so the cache key survives token refreshes.
func (g *Gateway) sessionCredentials(h http.Header) auth.Credentials {
	r := &http.Request{Header: h}
	c, err := r.Cookie(g.sessions.CookieName())
	if err != nil || c.Value == "" {
		return auth.Credentials{}
	}
	return auth.Credentials{Cookie: g.sessions.CookieName() + "=" + c.Value}
}

// sessionOf returns the live session a handshake carries.
func (g *Gateway) sessionOf(h http.Header) (*sessions.Session, error) {
	return g.sessions.FromRequest(&http.Request{Header: h})
}

// allowSocket vets Engine.IO requests in session mode: a handshake needs an allowed Origin
// and a valid, logged-in session cookie. Later requests of an open Engine.IO session (they
// carry its sid) need the allowed Origin only: the session was checked at the handshake (and
// again at every namespace CONNECT), and its end closes the sockets through registerSession;
// requiring it here would refuse the very poll that fetches the session_ended goodbye, and
// cost a store lookup per poll.
func (g *Gateway) allowSocket(r *http.Request) error {
	if r.URL.Query().Get("sid") != "" {
		return g.origins.Allowed(r)
	}
	_, err := g.sessions.Admit(r)
	return err
}

// proxyRewrite puts the session's bearer token on a proxied call and strips the cookie.
func (g *Gateway) proxyRewrite(pr *httputil.ProxyRequest) {
	if err := g.sessions.SetUpstreamAuth(pr.Out); err != nil {
		g.log.Warn("session token not available for upstream call", "err", err)
	}
}

// sessionAuthTransport sends a memberships call with the session's bearer token in place of
// the session cookie (the credentials the check is keyed by). A call for which no token can
// be had is not sent at all: without a token the upstream answers 401, and the check would
// read a passing provider or store outage as a logout and drop the user's sockets. The
// membership check reads the error as "unavailable" (sockets kept, a new CONNECT refused);
// a session that really ended closes its sockets itself, with session_ended.
type sessionAuthTransport struct {
	next http.RoundTripper
	m    *sessions.Manager
	log  *slog.Logger
}

func (t sessionAuthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context()) // a RoundTripper must not modify its request
	if err := t.m.SetUpstreamAuth(out); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		t.log.Info("membership check not sent: no session token", "err", err)
		return nil, fmt.Errorf("gateway: session token for the membership check: %w", err)
	}
	return t.next.RoundTrip(out)
}

// registerSession closes the socket, with a session_ended event, when its session ends.
//
// Each namespace socket of the session has its own registration, so disconnecting the
// socket (not the whole connection) closes all of them; a new CONNECT on the leftover
// connection is refused by admit. Closing the connection here would put the Engine.IO close
// packet in the same long-polling payload as session_ended, and the official client
// handles the close before the (deferred) event, dropping the event.
func (g *Gateway) registerSession(s *namespaces.Socket, id string) {
	unregister, err := g.sessions.Register(context.Background(), id, func(reason error) {
		_ = s.Emit(EventSessionEnded, map[string]string{"reason": sessionEndReason(reason)})
		s.Disconnect(false)
	})
	if err != nil {
		_ = s.Emit(EventSessionEnded, map[string]string{"reason": sessionEndReason(err)})
		s.Disconnect(false)
		return
	}
	s.OnDisconnect(func(string) { unregister() })
}
