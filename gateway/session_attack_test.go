package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// Session fixation: an attacker who plants a session cookie they know into the victim's
// browser (a sibling subdomain can set cookies) would own the victim's session once the
// victim logs in with it. The login must hand out a new ID and kill the planted one.
func TestSessionFixationAttackersCookieReplacedAtLogin(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()

	attacker := newBrowser(t)
	attacker.generate(n)
	planted := attacker.cookie(n)

	victim := newBrowser(t)
	victim.plant(n, planted)
	if fresh, _ := victim.generate(n); fresh || victim.cookie(n) != planted {
		t.Fatalf("setup: the planted live session was not kept by generate_cookie (new=%t)", fresh)
	}
	victim.login(n)
	got := victim.cookie(n)
	if got == "" || got == planted {
		t.Fatalf("victim's cookie after login is the attacker's planted value")
	}
	if code := victim.api(n, "GET", orgPeople); code != http.StatusOK {
		t.Fatalf("victim's API call after login: %d", code)
	}

	// The attacker's copy is worth nothing: not logged in, in fact gone.
	if code := attacker.api(n, "GET", orgPeople); code != http.StatusUnauthorized {
		t.Fatalf("attacker's planted cookie on the API after the victim's login: %d, want 401", code)
	}
	ws := testenv.StartNode(t)
	if _, err := ws.ConnectErr("attacker", n.base+"/org/1", sockOpts("websocket", n.base, planted)); err != nil {
		t.Fatalf("attacker's socket with the planted cookie: %v", err)
	}
	if fresh, in := attacker.generate(n); !fresh || in {
		t.Fatalf("attacker's generate_cookie after the victim's login: new=%t logged_in=%t, want a new anonymous session", fresh, in)
	}
}

// A value the gateway never issued (guessed, or set by another site) is never adopted:
// generate_cookie answers with a brand-new value.
func TestSessionForgedCookieNeverAdopted(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	for _, forged := range []string{
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // well-formed, never issued
		"attacker-chosen", // malformed
	} {
		b := newBrowser(t)
		b.plant(n, forged)
		if fresh, in := b.generate(n); !fresh || in {
			t.Fatalf("generate_cookie with forged %q: new=%t logged_in=%t", forged, fresh, in)
		}
		if got := b.cookie(n); got == forged || got == "" {
			t.Fatalf("generate_cookie kept the forged value %q", forged)
		}
	}
}

// Open redirect: "return to" parameters on the login or callback URLs would let a phishing
// link bounce the user, fresh from a real login on our domain, to a look-alike site. The
// gateway ignores them all: the provider gets the registered redirect URL and the user lands
// on the configured path.
func TestSessionOpenRedirectParametersIgnored(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	b := newBrowser(t)
	evil := url.Values{
		"return_to":    {"https://evil.example/"},
		"next":         {"//evil.example/"},
		"redirect":     {"/\\evil.example"},
		"redirect_uri": {"https://evil.example/cb"},
		"continue":     {"https:evil.example"},
	}

	// 1. Login: to the provider, with the registered callback.
	p := b.send(b.step, "GET", n.base+"/auth/login?"+evil.Encode(), nil)
	if p.status != http.StatusFound {
		t.Fatalf("login: %d, want 302 to the provider", p.status)
	}
	toIdP, err := url.Parse(p.header.Get("Location"))
	if err != nil || toIdP.Scheme+"://"+toIdP.Host != env.idp.URL {
		t.Fatalf("login redirected to %q, want the provider %s", p.header.Get("Location"), env.idp.URL)
	}
	if got := toIdP.Query().Get("redirect_uri"); got != n.base+"/auth/callback" {
		t.Fatalf("redirect_uri sent to the provider %q, want the registered %s/auth/callback", got, n.base)
	}

	// 2. The provider approves and sends the browser back with code and state.
	p = b.send(b.step, "GET", toIdP.String(), nil)
	back, err := url.Parse(p.header.Get("Location"))
	if p.status != http.StatusFound || err != nil || back.Query().Get("code") == "" {
		t.Fatalf("provider: %d to %q, want a redirect with a code", p.status, p.header.Get("Location"))
	}

	// 3. The callback, with the attacker's parameters added: it lands on "/" of the gateway.
	q := back.Query()
	for k, v := range evil {
		q[k] = v
	}
	back.RawQuery = q.Encode()
	p = b.send(b.step, "GET", back.String(), nil)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("callback: %d to %q, want 303 to /", p.status, p.header.Get("Location"))
	}
	if code := b.api(n, "GET", orgPeople); code != http.StatusOK {
		t.Fatalf("API after the login: %d", code)
	}

	// A logged-in user following a crafted login link still lands at home.
	final := b.do("GET", n.base+"/auth/login?"+evil.Encode(), nil)
	if final.url.Host != n.addr || final.url.Path != "/" || final.body != landingBody {
		t.Fatalf("second login ended at %s, want %s/", final.url, n.base)
	}
}

// Login CSRF: an attacker who starts a login in their own browser and makes the victim's
// browser finish it would log the victim into the attacker's account (and read what the
// victim then enters). The state is bound to the session that started the login.
func TestSessionLoginCSRFStateOfAnotherSessionRefused(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	attacker := newBrowser(t)
	p := attacker.send(attacker.step, "GET", n.base+"/auth/login", nil)
	p = attacker.send(attacker.step, "GET", p.header.Get("Location"), nil)
	callback := p.header.Get("Location")
	if p.status != http.StatusFound || callback == "" {
		t.Fatalf("attacker's authorization: %d", p.status)
	}

	victim := newBrowser(t)
	victim.generate(n)
	before := victim.cookie(n)
	if got := victim.send(victim.step, "GET", callback, nil); got.status != http.StatusBadRequest {
		t.Fatalf("victim finishing the attacker's login: %d %q, want 400", got.status, got.body)
	}
	if victim.cookie(n) != before {
		t.Fatal("the victim's session changed")
	}
	if code := victim.api(n, "GET", orgPeople); code != http.StatusUnauthorized {
		t.Fatalf("victim's API call: %d, want 401 (not logged in as anyone)", code)
	}
	// The state was consumed: the attacker can't finish it either.
	if got := attacker.send(attacker.step, "GET", callback, nil); got.status != http.StatusBadRequest {
		t.Fatalf("attacker replaying the used state: %d, want 400", got.status)
	}
}

// After its session ends, an Engine.IO connection that the client keeps open (a modified
// client ignoring the server's disconnect) must not get back into an org: its requests still
// pass the Origin check, but a new CONNECT is vetted against the session again.
func TestSessionEndedConnectionCannotRejoin(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	b := newBrowser(t)
	b.login(n)
	hdr := http.Header{"Origin": {n.base}, "Cookie": {sessionCookie + "=" + b.cookie(n)}}

	open := rawCall(t, "GET", n.base+"/socket.io/?EIO=4&transport=polling", hdr)
	sid := engineSid(t, open)
	poll := n.base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	connectOrg := func() string {
		t.Helper()
		if p := rawPost(t, poll, hdr, "40/org/1,"); p.status != http.StatusOK {
			t.Fatalf("POST CONNECT: %d %s", p.status, p.body)
		}
		p := rawCall(t, "GET", poll, hdr)
		if p.status != http.StatusOK {
			t.Fatalf("poll: %d %s", p.status, p.body)
		}
		return p.body
	}
	if got := connectOrg(); !strings.HasPrefix(got, "40/org/1,") {
		t.Fatalf("CONNECT with a live session: %q, want 40/org/1,{sid}", got)
	}
	if p := b.do("POST", n.base+"/auth/logout", nil); p.status != http.StatusNoContent {
		t.Fatalf("logout: %d", p.status)
	}
	// The event and the namespace disconnect may come in one poll or two (each poll returns
	// what is queued when it is answered).
	var got string
	for range 3 {
		p := rawCall(t, "GET", poll, hdr)
		if p.status != http.StatusOK {
			t.Fatalf("poll after logout: %d %q", p.status, p.body)
		}
		got += p.body
		if strings.Contains(got, "41/org/1,") {
			break
		}
	}
	if !strings.Contains(got, `"session_ended"`) || !strings.Contains(got, "41/org/1,") {
		t.Fatalf("polls after logout: %q, want session_ended and the namespace disconnect", got)
	}
	if got := connectOrg(); !strings.HasPrefix(got, "44/org/1,") || !strings.Contains(got, "unauthorized") {
		t.Fatalf("CONNECT after the session ended: %q, want 44 unauthorized", got)
	}
}

// engineSid reads the sid of an Engine.IO polling open packet.
func engineSid(t *testing.T, p page) string {
	t.Helper()
	var open struct {
		Sid string `json:"sid"`
	}
	body, ok := strings.CutPrefix(p.body, "0")
	if p.status != http.StatusOK || !ok || json.Unmarshal([]byte(body), &open) != nil || open.Sid == "" {
		t.Fatalf("Engine.IO handshake: %d %q", p.status, p.body)
	}
	return open.Sid
}
