package sessions

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/oauthtest"
)

// An expired access token is refreshed, the new one is stored, and a node
// restarted on the same bolt file keeps the user logged in with it.
func TestExpiredTokenRefreshedPersistedAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	idp := oauthtest.Start(t, oauthtest.Config{AccessTTL: time.Hour})
	clock := newClock()
	h := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock})
	b := h.browser()
	b.mustLogin()
	s := b.session()
	old := s.Token.AccessToken

	clock.Advance(time.Hour) // expired (and within RefreshEarly of it)
	resp, body := b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request with an expired token: %d", resp.StatusCode)
	}
	fresh := strings.TrimPrefix(strings.SplitN(body, "\n", 2)[0], "Bearer ")
	if fresh == old || !idp.AccessTokenValid(fresh) {
		t.Fatalf("upstream got %q, want a new valid token", fresh)
	}
	if n := idp.Stats().Refreshes; n != 1 {
		t.Fatalf("refreshes %d, want 1", n)
	}

	// Restart: a new Manager on the reopened file, same URL, same browser.
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st2.Close() })
	h2 := newHarness(t, harnessOpts{store: st2, idp: idp, clock: clock, srv: h.srv})
	b.h = h2
	resp, body = b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "Bearer "+fresh+"\n") {
		t.Fatalf("after restart: %d %q, want the refreshed token", resp.StatusCode, body)
	}
	if n := idp.Stats().Refreshes; n != 1 {
		t.Fatalf("refreshes %d after restart, want still 1", n)
	}
}

// A refused refresh (the user revoked the app) ends the session: 401 to the
// caller, sockets closed, record deleted.
func TestRefreshRefusedEndsSession(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	s := b.session()
	e := make(ended, 1)
	if _, err := h.m.Register(t.Context(), s.ID, e.onEnd); err != nil {
		t.Fatal(err)
	}
	h.idp.RevokeRefreshTokens()
	h.clock.Advance(2 * time.Hour)

	resp, body := b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "Bearer") {
		t.Fatalf("after a refused refresh: %d %q, want 401", resp.StatusCode, body)
	}
	if c := setCookieOf(resp, DefaultCookieName); c == nil || c.MaxAge >= 0 {
		t.Fatal("the 401 did not drop the cookie")
	}
	if r := e.wait(t, "refused refresh"); !errors.Is(r, ErrRefreshFailed) {
		t.Fatalf("reason %v, want ErrRefreshFailed", r)
	}
	if _, err := h.store.Get(t.Context(), s.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session kept after a refused refresh: %v", err)
	}
	if _, err := h.m.Token(t.Context(), s); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("Token of the ended session: %v", err)
	}
}

// A provider outage is not a refusal: the session survives and the caller
// gets ErrUnavailable (503), then the refresh works once the provider is back.
func TestRefreshOutageKeepsSession(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	h.idp.SetOutage(true)
	h.clock.Advance(2 * time.Hour)
	resp, _ := b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: %d, want 503", resp.StatusCode)
	}
	if _, err := h.m.Token(t.Context(), b.session()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Token during outage: %v", err)
	}
	h.idp.SetOutage(false)
	resp, _ = b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the outage: %d", resp.StatusCode)
	}
}

// Concurrent requests with an expired token share one refresh: with
// rotating refresh tokens, a second refresh would use a dead token and end
// the session.
func TestConcurrentRefreshesShareOne(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	s := b.session()
	h.clock.Advance(2 * time.Hour)
	const callers = 10
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := h.m.Token(t.Context(), s)
			if err == nil && !h.idp.AccessTokenValid(tok.AccessToken) {
				err = errors.New("invalid token")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := h.idp.Stats().Refreshes; n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

// Two nodes, one store: the node holding a stale copy finds the token the
// other node refreshed instead of using the rotated-away refresh token.
func TestRefreshRaceBetweenNodes(t *testing.T) {
	c := redisClient(t)
	st := NewRedisStore(c, "")
	idp := oauthtest.Start(t, oauthtest.Config{})
	clock := newClock()
	a := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock})
	bNode := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock})
	br := a.browser()
	br.mustLogin()
	stale := br.session()
	clock.Advance(2 * time.Hour)
	tokA, err := a.m.Token(t.Context(), stale)
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := bNode.m.Token(t.Context(), stale) // stale copy: expired token, old refresh token
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	if tokB.AccessToken != tokA.AccessToken || idp.Stats().Refreshes != 1 {
		t.Fatalf("second node refreshed again (%d refreshes)", idp.Stats().Refreshes)
	}
}
