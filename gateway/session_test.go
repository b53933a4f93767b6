package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// The whole browser story of session mode, through the real gateway: generate_cookie, the
// OAuth login, API calls that reach the upstream with the session's bearer token, and a
// socket admitted with the session cookie that receives the org's events.
func TestSessionLoginFlowThenAPIAndSocket(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			env := newSessionEnv(t, oauthtest.Config{})
			n := env.startSessionNode()
			b := newBrowser(t)

			if fresh, in := b.generate(n); !fresh || in {
				t.Fatalf("first generate_cookie: new=%t logged_in=%t, want a new anonymous session", fresh, in)
			}
			anon := b.cookie(n)
			if anon == "" {
				t.Fatal("generate_cookie set no session cookie")
			}
			if fresh, _ := b.generate(n); fresh || b.cookie(n) != anon {
				t.Fatalf("second generate_cookie replaced a valid session (new=%t)", fresh)
			}
			if got := b.api(n, "GET", orgPeople); got != http.StatusUnauthorized {
				t.Fatalf("API call before login: %d, want 401", got)
			}

			b.login(n)
			sess := b.cookie(n)
			if sess == "" || sess == anon {
				t.Fatalf("after login the cookie is %q (before: %q), want a new session ID", sess, anon)
			}
			if fresh, in := b.generate(n); fresh || !in {
				t.Fatalf("generate_cookie after login: new=%t logged_in=%t, want the logged-in session kept", fresh, in)
			}
			if st := env.idp.Stats(); st.Exchanges != 1 || st.Userinfo != 1 {
				t.Fatalf("provider stats %+v, want one code exchange and one userinfo call", st)
			}

			if got := b.api(n, "GET", orgPeople); got != http.StatusOK {
				t.Fatalf("API call after login: %d, want 200", got)
			}
			toks := env.bearers("/orgs/1/people")
			if len(toks) != 1 || !env.idp.AccessTokenValid(toks[0]) {
				t.Fatalf("upstream saw bearer tokens %q, want one valid access token of the provider", toks)
			}

			ws := testenv.StartNode(t)
			connect(t, ws, "s", n.base+"/org/1", sockOpts(tr, n.base, sess))
			if got := env.bearers("/users/me/memberships"); len(got) != 1 || got[0] != toks[0] {
				t.Fatalf("memberships call carried %q, want the session's access token %q", got, toks[0])
			}
			if got := b.api(n, "PUT", addRow); got != http.StatusOK {
				t.Fatalf("PUT through the gateway: %d", got)
			}
			assertIDs(t, waitOnly(t, ws, "s", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
			assertNoSessionCookieUpstream(t, env, anon, sess)
		})
	}
}

// assertNoSessionCookieUpstream checks every request that reached the upstream: none carries
// the session cookie or any session cookie value, in any header.
func assertNoSessionCookieUpstream(t *testing.T, env *sessionEnv, values ...string) {
	t.Helper()
	reqs := env.api.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the upstream: nothing was checked")
	}
	for _, r := range reqs {
		for name, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, sessionCookie) {
					t.Errorf("upstream %s %s: header %s carries the session cookie: %q", r.Method, r.Path, name, v)
				}
				for _, sv := range values {
					if sv != "" && strings.Contains(v, sv) {
						t.Errorf("upstream %s %s: header %s carries a session cookie value", r.Method, r.Path, name)
					}
				}
			}
		}
	}
}

// The session cookie is the user's whole login: an upstream (or anything logging its
// requests) that saw it could replay it against the gateway. Other cookies of the page pass.
func TestSessionCookieNeverReachesUpstream(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	b := newBrowser(t)
	b.login(n)
	sess := b.cookie(n)

	shapes := map[string][]string{
		"alone":           {sessionCookie + "=" + sess},
		"between others":  {"theme=dark; " + sessionCookie + "=" + sess + "; lang=sv"},
		"twice":           {sessionCookie + "=" + sess + "; theme=dark; " + sessionCookie + "=" + sess},
		"own header line": {"theme=dark", sessionCookie + "=" + sess, "lang=sv"},
		"spaced":          {"theme=dark;" + sessionCookie + "=" + sess + " ;lang=sv"},
	}
	for name, lines := range shapes {
		env.api.ResetRequests()
		for _, method := range []string{"GET", "PUT"} {
			path := orgPeople
			if method == "PUT" {
				path = addRow
			}
			p := rawCall(t, method, n.base+path, http.Header{"Cookie": lines})
			if p.status != http.StatusOK {
				t.Fatalf("%s: %s %s: %d %s", name, method, path, p.status, p.body)
			}
		}
		for _, r := range env.api.Requests() {
			c := r.Header.Values("Cookie")
			if len(c) > 1 {
				t.Errorf("%s: upstream got %d Cookie lines %q, want at most one", name, len(c), c)
			}
			if strings.Contains(strings.Join(lines, ";"), "theme=dark") && (len(c) == 0 || !strings.Contains(c[0], "theme=dark")) {
				t.Errorf("%s: upstream Cookie %q lost the page's other cookie", name, c)
			}
		}
		assertNoSessionCookieUpstream(t, env, sess)
	}
	// Socket admission: the memberships call carries the bearer token, not the cookie.
	env.api.ResetRequests()
	ws := testenv.StartNode(t)
	connect(t, ws, "s", n.base+"/org/1", opts("websocket", map[string]string{
		"Origin": n.base, "Cookie": "theme=dark; " + sessionCookie + "=" + sess,
	}))
	if env.api.Calls("/users/me/memberships") != 1 {
		t.Fatalf("memberships calls %d, want 1", env.api.Calls("/users/me/memberships"))
	}
	assertNoSessionCookieUpstream(t, env, sess)
}

// In session mode the gateway alone decides who the upstream sees: a browser-supplied
// Authorization header must neither be forwarded nor stand in for a session (a leaked or
// another user's token would otherwise be usable through the gateway).
func TestSessionBrowserAuthorizationHeaderIgnored(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	victim := newBrowser(t)
	victim.login(n)
	if got := victim.api(n, "GET", orgPeople); got != http.StatusOK {
		t.Fatalf("victim's API call: %d", got)
	}
	stolen := env.bearers("/orgs/1/people")[0]

	// A valid access token, no session: refused before the upstream.
	env.api.ResetRequests()
	for _, method := range []string{"GET", "PUT"} {
		p := rawCall(t, method, n.base+addRow, http.Header{"Authorization": {"Bearer " + stolen}})
		if p.status != http.StatusUnauthorized {
			t.Fatalf("%s with a bare bearer token: %d %s, want 401", method, p.status, p.body)
		}
	}
	if got := len(env.api.Requests()); got != 0 {
		t.Fatalf("%d requests without a session reached the upstream", got)
	}

	// A logged-in browser adding its own Authorization: replaced by the session's token.
	other := newBrowser(t)
	other.login(n)
	env.api.ResetRequests()
	p := other.do("GET", n.base+orgPeople, http.Header{"Authorization": {"Bearer forged-by-the-page"}})
	if p.status != http.StatusOK {
		t.Fatalf("logged-in call with an extra Authorization: %d", p.status)
	}
	got := env.bearers("/orgs/1/people")
	if len(got) != 1 || got[0] == "forged-by-the-page" || got[0] == stolen || !env.idp.AccessTokenValid(got[0]) {
		t.Fatalf("upstream saw %q, want the second session's own token", got)
	}
}

// A socket is a standing read channel into an org: the handshake needs a logged-in session
// cookie and an allowed Origin, and every other combination is refused before any
// Engine.IO session exists or the upstream is asked.
func TestSessionSocketRefusedWithoutLoggedInSessionOrAllowedOrigin(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			env := newSessionEnv(t, oauthtest.Config{})
			n := env.startSessionNode()
			anon := newBrowser(t)
			anon.generate(n)
			b := newBrowser(t)
			b.generate(n)
			preLogin := b.cookie(n)
			b.login(n)
			sess := b.cookie(n)
			env.api.ResetRequests()

			cases := []struct {
				name, origin, cookie string
			}{
				// No cookie: an anonymous visitor.
				{"no cookie", n.base, ""},
				// A session that never logged in holds no token: nobody to ask memberships for.
				{"anonymous session", n.base, anon.cookie(n)},
				// A well-formed value the gateway never issued: a guessed or forged cookie.
				{"forged cookie", n.base, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
				// Garbage (too long, bad alphabet) must not reach the store at all.
				{"malformed cookie", n.base, strings.Repeat("%00", 40)},
				// The pre-login cookie was replaced at login: it must be dead.
				{"pre-login cookie", n.base, preLogin},
				// Cross-site websocket hijacking: another site's page with the user's cookie.
				{"foreign origin", "https://evil.example", sess},
				// A look-alike origin (suffix trick).
				{"look-alike origin", n.base + ".evil.example", sess},
				// Sandboxed iframes and file:// pages send "null".
				{"null origin", "null", sess},
			}
			ws := testenv.StartNode(t)
			for i, c := range cases {
				_, err := ws.ConnectErr("r"+string(rune('a'+i)), n.base+"/org/1", sockOpts(tr, c.origin, c.cookie))
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			if got := n.gw().Sockets().Engine().Count(); got != 0 {
				t.Fatalf("refused handshakes left %d Engine.IO sessions", got)
			}
			if got := env.api.Calls("/users/me/memberships"); got != 0 {
				t.Fatalf("refused handshakes made %d membership calls", got)
			}
			// The control: the same session from the allowed origin gets in.
			connect(t, ws, "ok", n.base+"/org/1", sockOpts(tr, n.base, sess))
		})
	}
}

// A logged-in user's browser visiting another site must not let that site change data with
// the session cookie (CSRF): a mutating call from a foreign Origin is refused before the
// upstream and fires nothing.
func TestSessionCrossSiteMutationRefused(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	b := newBrowser(t)
	b.login(n)
	ws := testenv.StartNode(t)
	connect(t, ws, "s", n.base+"/org/1", sockOpts("websocket", n.base, b.cookie(n)))
	env.api.ResetRequests()

	for _, method := range []string{"PUT", "DELETE", "POST", "PATCH"} {
		p := b.do(method, n.base+addRow, http.Header{"Origin": {"https://evil.example"}})
		if p.status != http.StatusForbidden {
			t.Fatalf("cross-site %s: %d %s, want 403", method, p.status, p.body)
		}
	}
	for _, method := range []string{"POST"} {
		for _, path := range []string{"/auth/logout", "/api/generate_cookie"} {
			if p := b.do(method, n.base+path, http.Header{"Origin": {"https://evil.example"}}); p.status != http.StatusForbidden {
				t.Fatalf("cross-site %s %s: %d, want 403", method, path, p.status)
			}
		}
	}
	if got := len(env.api.Requests()); got != 0 {
		t.Fatalf("%d cross-site requests reached the upstream", got)
	}
	// Barrier: the socket's first event is the same-site call's, and it is still logged in.
	if got := b.api(n, "PUT", "/api/orgs/1/people/views/2/rows/4"); got != http.StatusOK {
		t.Fatalf("same-site PUT: %d", got)
	}
	assertIDs(t, waitOnly(t, ws, "s", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
}

// The app marks its own calls with X-Socket-ID so that its socket skips the event it caused.
// In session mode the caller is its session, whatever other cookies the page has: a page
// with a second cookie must still be recognised, and no one else's socket is skipped.
func TestSessionSocketIDSkipsOnlyTheCallersSocket(t *testing.T) {
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	alice, bob := newBrowser(t), newBrowser(t)
	alice.login(n)
	bob.login(n)
	ws := testenv.StartNode(t)
	a := connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice.cookie(n)))
	bs := connect(t, ws, "b", n.base+"/org/1", sockOpts("websocket", n.base, bob.cookie(n)))

	u, _ := url.Parse(n.base)
	alice.jar.SetCookies(u, []*http.Cookie{{Name: "theme", Value: "dark", Path: "/"}})
	if got := alice.do("PUT", n.base+addRow, http.Header{"X-Socket-ID": {a.Sid}}).status; got != http.StatusOK {
		t.Fatalf("alice's PUT: %d", got)
	}
	waitOnly(t, ws, "b", "personview.addrow")
	// Naming Bob's socket does not silence it: the call is not his.
	if got := alice.do("PUT", n.base+"/api/orgs/1/people/views/2/rows/4", http.Header{"X-Socket-ID": {bs.Sid}}).status; got != http.StatusOK {
		t.Fatalf("alice's second PUT: %d", got)
	}
	assertIDs(t, waitOnly(t, ws, "b", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
	// Barrier: alice's socket's first event is the second call's.
	assertIDs(t, waitOnly(t, ws, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
}
