package sessions

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.generate()
	anon := b.cookie()
	b.mustLogin()
	good := b.cookie()
	forged, _ := newSecret()

	req := func(cookie, origin string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://app.example/socket.io/?EIO=4&transport=websocket", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: cookie})
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	if s, err := h.m.Admit(req(good, "https://app.example")); err != nil || !s.LoggedIn() {
		t.Fatalf("valid handshake refused: %v", err)
	}
	cases := []struct {
		name           string
		cookie, origin string
		want           error
	}{
		// Cross-site websocket hijacking: another site opens a socket with the user's cookie.
		{"cross-site origin", good, "https://evil.example", ErrOrigin},
		// Prefix/suffix look-alikes of the allowed origin.
		{"look-alike origin", good, "https://app.example.evil.example", ErrOrigin},
		{"no cookie", "", "https://app.example", ErrNoSession},
		{"forged cookie", forged, "https://app.example", ErrNoSession},
		{"pre-login cookie rotated away", anon, "https://app.example", ErrNoSession},
	}
	for _, c := range cases {
		if _, err := h.m.Admit(req(c.cookie, c.origin)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	b2 := h.browser()
	b2.generate()
	if _, err := h.m.Admit(req(b2.cookie(), "https://app.example")); !errors.Is(err, ErrNotLoggedIn) {
		t.Errorf("anonymous session: %v, want ErrNotLoggedIn", err)
	}
}

// The memberships call carries the cookie (the cache key of auth.Memberships)
// and SetUpstreamAuth swaps it for the bearer token at send time, refreshed
// if needed — so a long-lived socket's re-checks keep working after a refresh.
func TestSetUpstreamAuthFromCookie(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	out := func() (*http.Request, error) {
		r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://upstream.example/v1/users/me/memberships", nil)
		r.Header.Set("Cookie", DefaultCookieName+"="+b.cookie()+"; zsid=keep")
		r.Header.Set("Authorization", "Bearer client-supplied")
		return r, h.m.SetUpstreamAuth(r)
	}
	r, err := out()
	if err != nil {
		t.Fatal(err)
	}
	first := r.Header.Get("Authorization")
	if first == "Bearer client-supplied" || !h.idp.AccessTokenValid(first[len("Bearer "):]) || r.Header.Get("Cookie") != "zsid=keep" {
		t.Fatalf("outgoing Authorization %q Cookie %q", first, r.Header.Get("Cookie"))
	}
	h.clock.Advance(2 * time.Hour)
	r, err = out()
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("Authorization"); got == first || !h.idp.AccessTokenValid(got[len("Bearer "):]) {
		t.Fatalf("after expiry: %q, want a refreshed token", got)
	}

	// No session: no Authorization at all (never the client's own).
	r, _ = http.NewRequest(http.MethodGet, "http://upstream.example/", nil)
	r.Header.Set("Authorization", "Bearer client-supplied")
	if err := h.m.SetUpstreamAuth(r); !errors.Is(err, ErrNoSession) || r.Header.Get("Authorization") != "" {
		t.Fatalf("no session: %v, Authorization %q", err, r.Header.Get("Authorization"))
	}
	h.idp.SetOutage(true)
	h.clock.Advance(2 * time.Hour)
	if _, err := out(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("outage: %v, want ErrUnavailable", err)
	}
}

// Only requests of logged-in sessions pass RequireSession.
func TestRequireSessionRefusals(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	if resp, _ := b.do(b.c, http.MethodGet, "/api/echo", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
	b.generate()
	if resp, _ := b.do(b.c, http.MethodGet, "/api/echo", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
}
