package sessions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCookieAttributes(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		h := newHarness(t, harnessOpts{config: func(c *Config) { c.Insecure = insecure }})
		b := h.browser()
		resp, _ := b.generate()
		c := setCookieOf(resp, DefaultCookieName)
		if c == nil {
			t.Fatal("no Set-Cookie")
		}
		raw, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil || len(raw) < 16 {
			t.Fatalf("cookie value %q: not base64url of at least 128 bits", c.Value)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge <= 0 || c.Secure == insecure {
			t.Fatalf("insecure=%v: cookie %q", insecure, resp.Header.Get("Set-Cookie"))
		}
	}
}

func TestGenerateKeepsValidSession(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	resp, body := b.generate()
	first := b.cookie()
	if !strings.Contains(body, `"new":true`) {
		t.Fatalf("first generate: %s", body)
	}
	resp, body = b.generate()
	if setCookieOf(resp, DefaultCookieName) != nil {
		t.Fatal("a valid session got a new cookie")
	}
	var got generateResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.New || got.LoggedIn {
		t.Fatalf("second generate: %s", body)
	}
	if b.cookie() != first {
		t.Fatal("cookie changed")
	}
	b.mustLogin()
	_, body = b.generate()
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.New || !got.LoggedIn {
		t.Fatalf("generate after login: %s", body)
	}
}

// Session fixation via generate_cookie: a submitted value that is not a live
// session must never become one, or an attacker could choose the victim's ID.
func TestGenerateNeverAdoptsSubmittedCookie(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	forged, _ := newSecret() // well formed, but never issued
	b0 := h.browser()
	b0.generate()
	expired := b0.cookie()
	h.clock.Advance(DefaultAnonymousTTL + 1)
	for name, v := range map[string]string{
		"forged":    forged,
		"expired":   expired,
		"too long":  forged + "AAAA",
		"bad chars": strings.Repeat("%", cookieLen),
		"hash of a": hashKey(forged), // the store key is not a credential
	} {
		b := h.browser()
		resp, _ := b.do(b.c, http.MethodPost, DefaultGeneratePath, http.Header{"Cookie": {DefaultCookieName + "=" + v}})
		c := setCookieOf(resp, DefaultCookieName)
		if resp.StatusCode != http.StatusOK || c == nil {
			t.Fatalf("%s: %d, no new cookie", name, resp.StatusCode)
		}
		if c.Value == v {
			t.Fatalf("%s: the submitted value was adopted", name)
		}
		if _, err := h.m.FromRequest(h.requestWithCookie(v)); !errors.Is(err, ErrNoSession) {
			t.Fatalf("%s: submitted value is a session: %v", name, err)
		}
	}
}

// CSRF: another site must not be able to create or end a session through
// the user's browser.
func TestCrossSiteGenerateAndLogoutRefused(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	evil := http.Header{"Origin": {"https://evil.example"}}
	resp, _ := b.do(b.c, http.MethodPost, DefaultGeneratePath, evil)
	if resp.StatusCode != http.StatusForbidden || setCookieOf(resp, DefaultCookieName) != nil {
		t.Fatalf("cross-site generate: %d", resp.StatusCode)
	}
	b.mustLogin()
	resp, _ = b.do(b.c, http.MethodPost, DefaultLogoutPath, evil)
	if resp.StatusCode != http.StatusForbidden || !b.session().LoggedIn() {
		t.Fatalf("cross-site logout: %d", resp.StatusCode)
	}
	resp, _ = b.do(b.c, http.MethodPost, "/api/echo", evil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site mutation through RequireSession: %d", resp.StatusCode)
	}
	// Same origin passes.
	resp, _ = b.do(b.c, http.MethodPost, "/api/echo", http.Header{"Origin": {h.srv.URL}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("same-origin mutation: %d", resp.StatusCode)
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	b := h.browser()
	b.mustLogin()
	s := b.session()
	cookie := b.cookie()
	e := make(ended, 2)
	for i := 0; i < 2; i++ {
		if _, err := h.m.Register(t.Context(), s.ID, e.onEnd); err != nil {
			t.Fatal(err)
		}
	}
	resp, _ := b.do(b.c, http.MethodPost, DefaultLogoutPath, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if c := setCookieOf(resp, DefaultCookieName); c == nil || c.MaxAge >= 0 {
		t.Fatal("logout did not drop the cookie")
	}
	for i := 0; i < 2; i++ {
		if r := e.wait(t, "logout"); !errors.Is(r, ErrLoggedOut) {
			t.Fatalf("reason %v", r)
		}
	}
	if _, err := h.store.Get(context.Background(), s.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session still stored after logout: %v", err)
	}
	// The old cookie, replayed, is nobody.
	resp, _ = b.do(b.c, http.MethodGet, "/api/echo", http.Header{"Cookie": {DefaultCookieName + "=" + cookie}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("old cookie after logout: %d", resp.StatusCode)
	}
	if _, err := h.m.Register(t.Context(), s.ID, e.onEnd); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Register after logout: %v", err)
	}
}

// A leaked store (backup, Redis dump) must not yield usable cookies: only
// hashes of cookie values are stored.
func TestStoreHoldsHashesOnly(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			var dump func() []byte
			var st Store
			switch kind.name {
			case "memory":
				ms := NewMemoryStore()
				st, dump = ms, func() []byte { return memDump(ms) }
			case "bolt":
				path := filepath.Join(t.TempDir(), "s.db")
				bs, err := OpenBolt(path)
				if err != nil {
					t.Fatal(err)
				}
				st = bs
				dump = func() []byte {
					_ = bs.Close() // flush and unlock, then read the file as an attacker would
					b, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					return b
				}
			case "redis":
				c := redisClient(t)
				st = NewRedisStore(c, "")
				dump = func() []byte { return redisDump(t, c) }
			}
			h := newHarness(t, harnessOpts{store: st})
			b := h.browser()
			b.generate()
			anon := b.cookie()
			cb := b.startLogin()
			state := queryParam(t, cb, "state")
			b.do(b.c, http.MethodGet, cb, nil)
			b2 := h.browser()
			b2.startLogin() // a pending state stays in the store
			pending := b2.cookie()
			loggedIn := b.cookie()
			all := dump()
			for name, secret := range map[string]string{"logged-in cookie": loggedIn, "pre-login cookie": anon, "pending cookie": pending, "state": state} {
				if bytes.Contains(all, []byte(secret)) {
					t.Errorf("the store holds a %s in clear", name)
				}
			}
			if !bytes.Contains(all, []byte(hashKey(loggedIn))) {
				t.Error("the logged-in session's hash is not in the store: the dump saw nothing")
			}
		})
	}
}

func TestStripCookie(t *testing.T) {
	m := &Manager{cfg: Config{CookieName: "sg_session"}}
	h := http.Header{"Cookie": {"a=1; sg_session=secret; b=2", "sg_session=again", " c=3 "}}
	m.StripCookie(h)
	if got := h.Values("Cookie"); len(got) != 1 || got[0] != "a=1; b=2; c=3" {
		t.Fatalf("Cookie %q", got)
	}
	h = http.Header{"Cookie": {"sg_session=only"}}
	m.StripCookie(h)
	if _, ok := h["Cookie"]; ok {
		t.Fatal("empty Cookie header kept")
	}
	// A cookie merely containing the name is kept.
	h = http.Header{"Cookie": {"xsg_session=1; sg_session_b=2"}}
	m.StripCookie(h)
	if got := h.Get("Cookie"); got != "xsg_session=1; sg_session_b=2" {
		t.Fatalf("Cookie %q", got)
	}
}
