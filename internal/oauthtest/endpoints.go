package oauthtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authorize auto-approves the configured user: it checks the client, the
// exact redirect_uri and a PKCE S256 challenge, then redirects back with a
// single-use code and the state unchanged. A bad client or redirect_uri is a
// 400 page, never a redirect (RFC 6749 §4.1.2.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.Get("client_id") != s.cfg.ClientID {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !slices.Contains(s.cfg.RedirectURLs, redirect) {
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{}
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	switch {
	case q.Get("response_type") != "code":
		v.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		v.Set("error", "invalid_request")
		v.Set("error_description", "PKCE S256 required")
	case s.deny:
		v.Set("error", "access_denied")
	default:
		code := randomToken()
		s.codes[code] = &grant{
			clientID:    s.cfg.ClientID,
			redirectURI: redirect,
			challenge:   q.Get("code_challenge"),
			user:        s.cfg.User,
			expires:     time.Now().Add(codeTTL),
		}
		v.Set("code", code)
		s.stats.Authorizations++
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// token serves the authorization_code (with PKCE) and refresh_token grants.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outage {
		s.stats.Rejected++
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1 {
		s.fail(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.exchange(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	default:
		s.fail(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("code")
	g := s.codes[code]
	if g == nil || time.Now().After(g.expires) || g.clientID != s.cfg.ClientID {
		s.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	if g.used {
		// A replayed code: revoke everything it issued (RFC 6749 §4.1.2).
		for _, t := range g.issued {
			if a := s.access[t]; a != nil {
				a.revoked = true
			}
			if rt := s.refresh[t]; rt != nil {
				rt.revoked = true
			}
		}
		s.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	g.used = true
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		s.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(want), []byte(g.challenge)) != 1 {
		s.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	resp := s.issue(g.user, true)
	g.issued = append(g.issued, resp.AccessToken, resp.RefreshToken)
	s.stats.Exchanges++
	s.answer(w, resp)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	old := r.PostForm.Get("refresh_token")
	rt := s.refresh[old]
	if rt == nil || rt.revoked {
		s.fail(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	resp := s.issue(rt.user, !s.cfg.KeepRefreshToken)
	if !s.cfg.KeepRefreshToken {
		rt.revoked = true
	}
	s.stats.Refreshes++
	s.answer(w, resp)
}

// issue mints an access token, and a refresh token when withRefresh. Callers hold s.mu.
func (s *Server) issue(u User, withRefresh bool) tokenResponse {
	resp := tokenResponse{
		AccessToken: randomToken(),
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.cfg.AccessTTL / time.Second),
	}
	s.access[resp.AccessToken] = &accessTok{user: u, expires: time.Now().Add(s.cfg.AccessTTL)}
	if withRefresh {
		resp.RefreshToken = randomToken()
		s.refresh[resp.RefreshToken] = &refreshTok{user: u}
	}
	return resp
}

func (s *Server) answer(w http.ResponseWriter, resp tokenResponse) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}

// fail answers an RFC 6749 §5.2 error. Callers hold s.mu.
func (s *Server) fail(w http.ResponseWriter, status int, code string) {
	s.stats.Rejected++
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// userinfo answers the token's user as OpenID Connect claims, or 401.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	a := s.access[tok]
	valid := ok && a != nil && !a.revoked && time.Now().Before(a.expires)
	if valid {
		s.stats.Userinfo++
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.user)
}
