package sessions

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestLoginFlow(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	resp, _ := b.generate()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	before := b.cookie()
	if before == "" {
		t.Fatal("no cookie after generate_cookie")
	}
	b.mustLogin()
	after := b.cookie()
	if after == before {
		t.Fatal("session ID not rotated at login")
	}
	s := b.session()
	if s.User == nil || s.User.Subject != "user-1" || s.User.Email != "user1@example.test" {
		t.Fatalf("user %+v", s.User)
	}
	tok, err := h.m.Token(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !h.idp.AccessTokenValid(tok.AccessToken) {
		t.Fatal("the session's access token is not valid at the provider")
	}
	if _, err := h.m.FromRequest(h.requestWithCookie(before)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("pre-login cookie still valid: %v", err)
	}
	if st := h.idp.Stats(); st.Authorizations != 1 || st.Exchanges != 1 || st.Userinfo != 1 {
		t.Fatalf("provider stats %+v", st)
	}
	// The API behind RequireSession sees the bearer token, never the cookie.
	resp, body := b.do(b.c, http.MethodGet, "/api/echo", http.Header{"Cookie": {"other=1"}})
	if resp.StatusCode != http.StatusOK || body != "Bearer "+tok.AccessToken+"\nother=1" {
		t.Fatalf("upstream saw %d %q", resp.StatusCode, body)
	}
}

// Login without calling generate_cookie first still works: login creates the session.
func TestLoginWithoutPriorCookie(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
}

// Without a state, a callback could carry any code: login CSRF.
func TestCallbackWithoutStateRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	cb, _ := url.Parse(b.startLogin())
	q := cb.Query()
	q.Del("state")
	cb.RawQuery = q.Encode()
	resp, _ := b.do(b.c, http.MethodGet, cb.String(), nil)
	if resp.StatusCode != http.StatusBadRequest || b.session().LoggedIn() {
		t.Fatalf("status %d, logged in %v", resp.StatusCode, b.session().LoggedIn())
	}
}

// A replayed callback URL (browser history, a leaked Referer) must not log
// anyone in a second time.
func TestCallbackReplayRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	cb := b.startLogin()
	resp, body := b.do(b.c, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusOK || body != landingBody {
		t.Fatalf("first callback: %d %q", resp.StatusCode, body)
	}
	loggedIn := b.cookie()
	resp, _ = b.do(b.c, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d, want 400", resp.StatusCode)
	}
	if b.cookie() != loggedIn || !b.session().LoggedIn() {
		t.Fatal("a refused replay changed the session")
	}
	if st := h.idp.Stats(); st.Exchanges != 1 {
		t.Fatalf("exchanges %d, want 1: the replay reached the provider", st.Exchanges)
	}
}

// Login CSRF: an attacker starts a login, and makes the victim's browser
// finish it, so that the victim works in the attacker's account.
func TestCallbackStateOfAnotherSessionRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	attacker, victim := h.browser(), h.browser()
	cb := attacker.startLogin()
	victim.generate()
	resp, _ := victim.do(victim.c, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("victim's callback with the attacker's state: %d, want 400", resp.StatusCode)
	}
	if victim.session().LoggedIn() {
		t.Fatal("victim got logged in with the attacker's code")
	}
	if h.idp.Stats().Exchanges != 0 {
		t.Fatal("the attacker's code was exchanged")
	}
	// The state was consumed by the refused attempt: it is dead for everyone.
	resp, _ = attacker.do(attacker.c, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("state reusable after a refused callback: %d", resp.StatusCode)
	}
}

// PKCE: a code obtained with another challenge (an attacker who swapped the
// authorization request) is refused at the exchange.
func TestPKCEVerifierMismatchRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	resp, _ := b.do(b.once, http.MethodGet, DefaultLoginPath, nil)
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	q := authURL.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("authorization URL without PKCE S256: %s", authURL)
	}
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	authURL.RawQuery = q.Encode()
	resp, _ = b.do(b.c, http.MethodGet, authURL.String(), nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("callback: %d, want 403", resp.StatusCode)
	}
	if b.session().LoggedIn() {
		t.Fatal("logged in with a mismatched verifier")
	}
	if st := h.idp.Stats(); st.Exchanges != 0 || st.Rejected != 1 {
		t.Fatalf("provider stats %+v, want the exchange rejected", st)
	}
}

// A state older than StateTTL is refused: a stale login link must not work.
func TestCallbackStateExpiredRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	cb := b.startLogin()
	h.clock.Advance(DefaultStateTTL + time.Second)
	resp, _ := b.do(b.c, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusBadRequest || b.session().LoggedIn() {
		t.Fatalf("expired state: %d", resp.StatusCode)
	}
}

func TestLoginDeniedByUser(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.idp.SetDeny(true)
	b := h.browser()
	resp, _ := b.login()
	if resp.StatusCode != http.StatusForbidden || b.session().LoggedIn() {
		t.Fatalf("denied login: %d", resp.StatusCode)
	}
}

// Session fixation: the attacker plants a session cookie it knows in the
// victim's browser; after the victim logs in, that cookie must be worthless.
func TestSessionFixationAttackerCookieRotated(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	attacker, victim := h.browser(), h.browser()
	attacker.generate()
	planted := attacker.cookie()
	victim.setCookie(planted)
	victim.mustLogin()
	if victim.cookie() == planted {
		t.Fatal("the victim kept the attacker's session ID after login")
	}
	if _, err := h.m.FromRequest(h.requestWithCookie(planted)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("planted cookie after the victim's login: %v, want ErrNoSession", err)
	}
	resp, body := attacker.do(attacker.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "Bearer") {
		t.Fatalf("attacker with the planted cookie: %d %q", resp.StatusCode, body)
	}
}

// Open redirect: a login must never send the browser to a URL from the
// request; the landing path is configuration.
func TestOpenRedirectAttemptsIgnored(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	evil := "https://evil.example/phish"
	resp, body := b.do(b.c, http.MethodGet, DefaultLoginPath+"?return_to="+url.QueryEscape(evil)+"&next=//evil.example&redirect_uri="+url.QueryEscape(evil), nil)
	if resp.Request.URL.Host != b.base.Host || resp.Request.URL.Path != DefaultLandingPath || body != landingBody {
		t.Fatalf("login ended at %s", resp.Request.URL)
	}

	// Parameters added to the callback are ignored too.
	b2 := h.browser()
	cb := b2.startLogin() + "&return_to=" + url.QueryEscape(evil) + "&next=//evil.example"
	resp, _ = b2.do(b2.once, http.MethodGet, cb, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != DefaultLandingPath {
		t.Fatalf("callback: %d Location %q, want 303 %q", resp.StatusCode, resp.Header.Get("Location"), DefaultLandingPath)
	}
}

// A landing path that browsers would read as another host is refused at startup.
func TestLandingPathMustBeLocal(t *testing.T) {
	for _, p := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "evil", "/a?next=//evil", "/a\r\nSet-Cookie: x=1"} {
		_, err := New(Config{
			Store:       NewMemoryStore(),
			OAuth:       OAuth{Config: &oauth2.Config{RedirectURL: "https://app.example/auth/callback"}},
			LandingPath: p,
		})
		if !errors.Is(err, ErrConfig) {
			t.Errorf("LandingPath %q accepted", p)
		}
	}
}

// A HEAD (link prefetchers, scanners) must not consume the state of a login
// in progress.
func TestHeadOnCallbackConsumesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	cb := b.startLogin()
	if resp, _ := b.do(b.c, http.MethodHead, cb, nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD callback: %d, want 405", resp.StatusCode)
	}
	if resp, body := b.do(b.c, http.MethodGet, cb, nil); resp.StatusCode != http.StatusOK || body != landingBody {
		t.Fatalf("GET callback after HEAD: %d %q", resp.StatusCode, body)
	}
}
