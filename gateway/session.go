package gateway

import (
	"context"
	"errors"
	"fmt"
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

// EventSessionEnded is emitted to a socket before it is closed because its session ended
// (logout, expiry, refused token refresh); payload {"reason": "..."}.
const EventSessionEnded = "session_ended"

// newSessions builds the session manager and its store from the configuration.
func newSessions(cfg Config, origins *auth.Origins, g *Gateway) (*sessions.Manager, sessions.Store, error) {
	var store sessions.Store
	spec := cfg.SessionStore
	if spec == "" {
		spec = "bolt:syncgate-sessions.db"
		if cfg.Redis != "" {
			spec = "redis"
		}
	}
	switch {
	case spec == "memory":
		store = sessions.NewMemoryStore()
	case spec == "redis":
		if cfg.Redis == "" {
			return nil, nil, errors.New("--session-store redis needs --redis")
		}
		rdb, err := namespaces.ParseRedisURL(cfg.Redis)
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
	if cfg.Redis != "" {
		rdb, err := namespaces.ParseRedisURL(cfg.Redis)
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

// allowSocket vets an Engine.IO handshake in session mode: allowed Origin and a valid,
// logged-in session cookie.
func (g *Gateway) allowSocket(r *http.Request) error {
	_, err := g.sessions.Admit(r)
	return err
}

// proxyRewrite puts the session's bearer token on a proxied call and strips the cookie.
func (g *Gateway) proxyRewrite(pr *httputil.ProxyRequest) {
	if err := g.sessions.SetUpstreamAuth(pr.Out); err != nil {
		g.log.Warn("session token not available for upstream call", "err", err)
	}
}

// registerSession closes the socket, with a session_ended event, when its session ends.
func (g *Gateway) registerSession(s *namespaces.Socket, id string) {
	unregister, err := g.sessions.Register(context.Background(), id, func(reason error) {
		_ = s.Emit(EventSessionEnded, map[string]string{"reason": reason.Error()})
		s.Disconnect(true)
	})
	if err != nil {
		_ = s.Emit(EventSessionEnded, map[string]string{"reason": err.Error()})
		s.Disconnect(true)
		return
	}
	s.OnDisconnect(func(string) { unregister() })
}
