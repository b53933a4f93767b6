package sessions

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// An idle session must end: a cookie left on a shared computer expires.
func TestIdleExpiry(t *testing.T) {
	const idle = time.Hour
	h := newHarness(t, harnessOpts{config: func(c *Config) { c.IdleTTL = idle; c.AnonymousTTL = 10 * time.Minute }})
	b := h.browser()
	b.generate()
	h.clock.Advance(10*time.Minute + time.Second)
	if b.session() != nil {
		t.Fatal("anonymous session outlived AnonymousTTL")
	}

	b.mustLogin()
	cookie := b.cookie()
	// Use keeps it alive: six uses 50 minutes apart span 5 hours.
	for i := 0; i < 6; i++ {
		h.clock.Advance(50 * time.Minute)
		if resp, _ := b.do(b.c, http.MethodGet, "/api/echo", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("use %d: %d", i, resp.StatusCode)
		}
	}
	h.clock.Advance(idle + time.Second)
	resp, _ := b.do(b.c, http.MethodGet, "/api/echo", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after idle: %d, want 401", resp.StatusCode)
	}
	if _, err := h.m.FromRequest(h.requestWithCookie(cookie)); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	if _, err := h.store.Get(t.Context(), hashKey(cookie)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session still stored: %v", err)
	}
}

// However busy, a session ends AbsoluteTTL after creation: a stolen cookie
// is not usable forever.
func TestAbsoluteExpiry(t *testing.T) {
	h := newHarness(t, harnessOpts{config: func(c *Config) { c.IdleTTL = time.Hour; c.AbsoluteTTL = 3 * time.Hour }})
	b := h.browser()
	b.mustLogin()
	for i := 0; i < 5; i++ { // 2.5 h of steady use
		h.clock.Advance(30 * time.Minute)
		if b.session() == nil {
			t.Fatalf("ended early, after %d uses", i)
		}
	}
	h.clock.Advance(31 * time.Minute)
	if b.session() != nil {
		t.Fatal("session outlived AbsoluteTTL")
	}
}

// The sweep closes the sockets of a session that expires while nobody makes
// a request (sockets alone don't keep it alive).
func TestSweepEndsSocketsOfExpiredSession(t *testing.T) {
	h := newHarness(t, harnessOpts{config: func(c *Config) { c.IdleTTL = time.Hour; c.SweepInterval = 10 * time.Millisecond }})
	b := h.browser()
	b.mustLogin()
	e := make(ended, 1)
	unregister, err := h.m.Register(t.Context(), b.session().ID, e.onEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	h.clock.Advance(time.Hour + time.Second)
	if r := e.wait(t, "sweep"); !errors.Is(r, ErrExpired) {
		t.Fatalf("reason %v, want ErrExpired", r)
	}
}

// A registration whose socket closed is dropped; the others stay.
func TestUnregister(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	id := b.session().ID
	gone, stays := make(ended, 1), make(ended, 1)
	unregister, err := h.m.Register(t.Context(), id, gone.onEnd)
	if err != nil {
		t.Fatal(err)
	}
	unregisterToo, err := h.m.Register(t.Context(), id, stays.onEnd)
	if err != nil {
		t.Fatal(err)
	}
	unregister()
	unregister() // idempotent
	if n := registrations(h.m, id); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}
	if err := h.m.Revoke(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if r := stays.wait(t, "revoke"); !errors.Is(r, ErrRevoked) {
		t.Fatalf("reason %v", r)
	}
	unregisterToo() // after the end: harmless
	if n := registrations(h.m, id); n != 0 {
		t.Fatalf("%d registrations after the end, want 0", n)
	}
}

func registrations(m *Manager, id string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.live[id]; l != nil {
		return len(l.regs)
	}
	return 0
}
