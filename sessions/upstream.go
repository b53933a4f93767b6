package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

type ctxKey struct{}

// authorized is what RequireSession leaves in the request context.
type authorized struct {
	s   *Session
	tok *oauth2.Token
}

// FromContext returns the session and access token RequireSession resolved.
func FromContext(ctx context.Context) (*Session, *oauth2.Token, bool) {
	a, ok := ctx.Value(ctxKey{}).(authorized)
	return a.s, a.tok, ok
}

// RequireSession lets through only requests of a logged-in session with a
// valid (refreshed if needed) access token, which it leaves in the context
// for SetUpstreamAuth. Mutating methods must also pass CheckOrigin (CSRF).
// Refusals: 403 {"error":"forbidden"} (origin), 401 {"error":"unauthorized"}
// (no session, not logged in, ended — the cookie is dropped), 503
// {"error":"unavailable"} (store or provider unreachable).
func (m *Manager) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !safeMethod(r.Method) {
			if err := m.cfg.CheckOrigin(r); err != nil {
				m.log.Info("session request refused", "reason", err.Error(), "method", r.Method, "remote", r.RemoteAddr)
				writeJSONError(w, http.StatusForbidden, "forbidden")
				return
			}
		}
		s, err := m.FromRequest(r)
		var tok *oauth2.Token
		if err == nil {
			tok, err = m.Token(r.Context(), s)
		}
		switch {
		case err == nil:
			ctx := context.WithValue(r.Context(), ctxKey{}, authorized{s: s, tok: tok})
			next.ServeHTTP(w, r.WithContext(ctx))
		case errors.Is(err, ErrNoSession), errors.Is(err, ErrSessionEnded):
			m.clearCookie(w)
			writeJSONError(w, http.StatusUnauthorized, "unauthorized")
		case errors.Is(err, ErrNotLoggedIn):
			writeJSONError(w, http.StatusUnauthorized, "unauthorized")
		default:
			m.log.Warn("session request: unavailable", "err", err)
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		}
	})
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// SetUpstreamAuth prepares an outgoing upstream request (r is the request to
// send, e.g. httputil.ProxyRequest.Out or the memberships call): it removes
// the session cookie and any Authorization header, then sets
// "Authorization: Bearer <access token>" from the context (RequireSession)
// or, failing that, from the session of r's own session cookie (refreshed if
// needed, without counting as a use). On error no Authorization is set: the
// caller should not send r if the error wraps ErrUnavailable (a transient
// failure the upstream would misread as "unauthorized").
func (m *Manager) SetUpstreamAuth(r *http.Request) error {
	_, tok, ok := FromContext(r.Context())
	var err error
	if !ok {
		tok, err = m.tokenOfCookie(r)
	}
	m.StripCookie(r.Header)
	r.Header.Del("Authorization")
	if err == nil && tok == nil {
		err = ErrNotLoggedIn
	}
	if err != nil {
		return err
	}
	tok.SetAuthHeader(r)
	return nil
}

func (m *Manager) tokenOfCookie(r *http.Request) (*oauth2.Token, error) {
	c := m.cookieValue(r)
	if c == "" {
		return nil, ErrNoSession
	}
	s, err := m.lookup(r.Context(), hashKey(c), false)
	if err != nil {
		return nil, err
	}
	return m.Token(r.Context(), s)
}

// Admit decides a socket handshake in session mode: the Origin must pass
// CheckOrigin (wrapped in ErrOrigin) and the request must carry the cookie
// of a logged-in session (ErrNoSession, ErrNotLoggedIn). It counts as a use
// of the session.
func (m *Manager) Admit(r *http.Request) (*Session, error) {
	if err := m.cfg.CheckOrigin(r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOrigin, err)
	}
	s, err := m.FromRequest(r)
	if err != nil {
		return nil, err
	}
	if !s.LoggedIn() {
		return nil, ErrNotLoggedIn
	}
	return s, nil
}
