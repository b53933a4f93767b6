package sessions

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Route is one HTTP route of the Manager, for mounting on any router.
type Route struct {
	Method, Path string
	Handler      http.Handler
}

// Routes returns POST GeneratePath, GET LoginPath, GET CallbackPath and POST LogoutPath.
func (m *Manager) Routes() []Route {
	return []Route{
		{http.MethodPost, m.cfg.GeneratePath, http.HandlerFunc(m.generate)},
		{http.MethodGet, m.cfg.LoginPath, getOnly(m.login)},
		{http.MethodGet, m.cfg.CallbackPath, getOnly(m.callback)},
		{http.MethodPost, m.cfg.LogoutPath, http.HandlerFunc(m.logout)},
	}
}

// Handler serves Routes (other paths 404, other methods 405).
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range m.Routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	return mux
}

// getOnly refuses HEAD, which routers let through on GET routes: a HEAD
// must not start a login or consume a state.
func getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			httpError(w, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		h(w, r)
	})
}

// generateResponse is the body of POST generate_cookie.
type generateResponse struct {
	New      bool `json:"new"`       // a new session (and cookie) was issued
	LoggedIn bool `json:"logged_in"` // the session holds a token
}

// generate keeps a valid session (no Set-Cookie) and otherwise issues a
// brand-new one: a submitted value that is not a live session is never
// adopted.
func (m *Manager) generate(w http.ResponseWriter, r *http.Request) {
	if err := m.cfg.CheckOrigin(r); err != nil {
		m.log.Info("generate_cookie refused", "reason", err.Error(), "remote", r.RemoteAddr)
		writeJSONError(w, http.StatusForbidden, "forbidden")
		return
	}
	s, err := m.FromRequest(r)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, generateResponse{LoggedIn: s.LoggedIn()})
		return
	case !errors.Is(err, ErrNoSession):
		m.log.Warn("generate_cookie: store unavailable", "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	c, _, err := m.create(r.Context(), nil, nil)
	if err != nil {
		m.log.Warn("generate_cookie: creating a session failed", "err", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	m.setCookie(w, c)
	writeJSON(w, http.StatusOK, generateResponse{New: true})
}

// logout ends the session everywhere and drops the cookie. It answers 204
// whether or not there was a session.
func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	if err := m.cfg.CheckOrigin(r); err != nil {
		m.log.Info("logout refused", "reason", err.Error(), "remote", r.RemoteAddr)
		writeJSONError(w, http.StatusForbidden, "forbidden")
		return
	}
	if c := m.cookieValue(r); c != "" {
		if err := m.end(r.Context(), hashKey(c), ErrLoggedOut); err != nil {
			m.log.Warn("logout: store unavailable", "err", err)
			writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
	}
	m.clearCookie(w)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
