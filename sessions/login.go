package sessions

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// maxStateLen bounds the state parameter accepted on the callback (ours are 43).
const maxStateLen = 256

// maxUserinfoBytes bounds the userinfo body read.
const maxUserinfoBytes = 1 << 20

// login starts the OAuth flow: a random state bound to the session (created
// here if needed) and a PKCE verifier are stored, and the browser is sent to
// the provider. Query parameters (a "return to" URL, ...) are ignored: the
// landing path is fixed by configuration, so there is no open redirect.
func (m *Manager) login(w http.ResponseWriter, r *http.Request) {
	s, err := m.FromRequest(r)
	if errors.Is(err, ErrNoSession) {
		var c string
		c, s, err = m.create(r.Context(), nil, nil)
		if err == nil {
			m.setCookie(w, c)
		}
	}
	if err != nil {
		m.log.Warn("login: store unavailable", "err", err)
		httpError(w, http.StatusServiceUnavailable, "Service unavailable, try again later.")
		return
	}
	state, err := newSecret()
	if err != nil {
		httpError(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	verifier := oauth2.GenerateVerifier()
	st := &LoginState{SessionID: s.ID, Verifier: verifier, ExpiresAt: m.cfg.Now().Add(m.cfg.StateTTL)}
	if err := m.store.PutState(r.Context(), hashKey(state), st); err != nil {
		m.log.Warn("login: storing the state failed", "err", err)
		httpError(w, http.StatusServiceUnavailable, "Service unavailable, try again later.")
		return
	}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, m.cfg.OAuth.AuthOptions...)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, m.cfg.OAuth.Config.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback finishes the flow: the state must be known, unused, fresh and
// bound to this request's session; the code is exchanged with the PKCE
// verifier; the token goes into a brand-new session (new cookie) and the
// old one is deleted; the browser lands on the configured path.
func (m *Manager) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		httpError(w, http.StatusBadRequest, "Login failed: missing state. Start again.")
		return
	}
	// Taken (deleted) before anything else: a state works once, whatever follows.
	st, err := m.store.TakeState(ctx, hashKey(state))
	if errors.Is(err, ErrNotFound) {
		m.log.Info("login callback refused: unknown or used state", "remote", r.RemoteAddr)
		httpError(w, http.StatusBadRequest, "Login failed: this login link is not valid (any more). Start again.")
		return
	}
	if err != nil {
		m.log.Warn("login callback: store unavailable", "err", err)
		httpError(w, http.StatusServiceUnavailable, "Service unavailable, try again later.")
		return
	}
	if !m.cfg.Now().Before(st.ExpiresAt) {
		httpError(w, http.StatusBadRequest, "Login failed: the login took too long. Start again.")
		return
	}
	old, err := m.FromRequest(r)
	if err != nil || subtle.ConstantTimeCompare([]byte(old.ID), []byte(st.SessionID)) != 1 {
		// Someone else's state (login CSRF), or a browser that lost its cookie.
		m.log.Info("login callback refused: state of another session", "remote", r.RemoteAddr)
		httpError(w, http.StatusBadRequest, "Login failed: this login was started elsewhere. Start again.")
		return
	}
	if q.Get("error") != "" {
		httpError(w, http.StatusForbidden, "Login was refused by the identity provider.")
		return
	}
	code := q.Get("code")
	if code == "" {
		httpError(w, http.StatusBadRequest, "Login failed: missing code. Start again.")
		return
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, m.cfg.HTTPClient)
	tok, err := m.cfg.OAuth.Config.Exchange(octx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			m.log.Info("login callback: code exchange refused", "error_code", re.ErrorCode)
			httpError(w, http.StatusForbidden, "Login failed: the identity provider refused the code. Start again.")
			return
		}
		m.log.Warn("login callback: code exchange failed", "err", err)
		httpError(w, http.StatusBadGateway, "Login failed: the identity provider is unreachable. Try again later.")
		return
	}
	tok = m.stamp(tok)
	user, err := m.userinfo(octx, tok)
	if err != nil {
		m.log.Warn("login callback: userinfo failed", "err", err)
		httpError(w, http.StatusBadGateway, "Login failed: could not read your profile. Try again later.")
		return
	}
	c, s, err := m.create(ctx, tok, user)
	if err != nil {
		m.log.Warn("login callback: creating the session failed", "err", err)
		httpError(w, http.StatusServiceUnavailable, "Service unavailable, try again later.")
		return
	}
	if err := m.end(ctx, old.ID, ErrRotated); err != nil {
		m.log.Warn("login callback: deleting the pre-login session failed", "session", shortID(old.ID), "err", err)
	}
	m.setCookie(w, c)
	m.log.Info("logged in", "session", shortID(s.ID), "subject", subject(user))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, m.cfg.LandingPath, http.StatusSeeOther)
}

// userinfo reads the provider's claims about the token's user; nil when no
// userinfo URL is configured.
func (m *Manager) userinfo(ctx context.Context, tok *oauth2.Token) (*User, error) {
	if m.cfg.OAuth.UserinfoURL == "" {
		return nil, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.cfg.OAuth.UserinfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("sessions: userinfo request: %w", err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sessions: userinfo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("sessions: userinfo: status %d", resp.StatusCode)
	}
	var u User
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUserinfoBytes)).Decode(&u); err != nil {
		return nil, fmt.Errorf("sessions: userinfo body: %w", err)
	}
	return &u, nil
}

func subject(u *User) string {
	if u == nil {
		return ""
	}
	return u.Subject
}

// httpError answers a short plain-text page; it never echoes the request.
func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}
