package gateway_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// Session mode (--auth session) runs against two real servers on loopback: oauthtest, an
// OAuth 2.0 provider that auto-approves its one user, and a FakeAPI upstream that accepts
// only access tokens that provider issued and that are still valid (as the platform API
// does). Browsers are Go http.Clients with a cookie jar; sockets are the official
// socket.io-client in Node, given the session cookie and an Origin in extraHeaders.

const (
	sessionCookie = "sg_session"
	landingBody   = "syncgate session test landing page"
	// orgPeople is an API read that needs a valid bearer token upstream.
	orgPeople = "/api/orgs/1/people"
	// addRow is the PoC mutation that fires personview.addrow in /org/1.
	addRow = "/api/orgs/1/people/views/2/rows/3"
)

// sessionEnv is an identity provider and an upstream API that trusts it.
type sessionEnv struct {
	t   *testing.T
	idp *oauthtest.Server
	api *testenv.FakeAPI
}

// newSessionEnv starts the provider (cfg: token lifetimes, refresh rotation) and an upstream
// whose memberships call and org 1 routes answer only a valid bearer token of that provider;
// every valid token belongs to an admin of org 1.
func newSessionEnv(t *testing.T, cfg oauthtest.Config) *sessionEnv {
	t.Helper()
	e := &sessionEnv{t: t, idp: oauthtest.Start(t, cfg), api: testenv.NewFakeAPI(t)}
	e.api.HandleFunc("GET", "/users/me/memberships", e.guard(
		`{"data":[{"organization":{"id":1,"title":"KPD"},"role":"admin","profile":{"id":7,"name":"Clara"},"follow":true}]}`))
	e.api.HandleFunc("GET", "/orgs/*/people", e.guard(`{"data":[]}`))
	e.api.HandleFunc("*", "/orgs/*/people/views/*/rows/*", e.guard(`{"data":{}}`))
	return e
}

// guard answers body to a request whose bearer token the provider issued and still honours,
// and 401 to anything else (no token, a cookie, a revoked or expired token).
func (e *sessionEnv) guard(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !e.idp.AccessTokenValid(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"Unauthorized"}`)
			return
		}
		_, _ = io.WriteString(w, body)
	}
}

// bearers returns the bearer tokens of the upstream requests of path, oldest first; a
// request without one fails the test.
func (e *sessionEnv) bearers(path string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.api.Requests() {
		if r.Path != path {
			continue
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			e.t.Fatalf("upstream %s %s without a bearer token: Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
		out = append(out, tok)
	}
	return out
}

// sessionNode is one gateway in session mode, served on a loopback address that survives
// restart (same address: the browser's cookies and the registered redirect URL still apply).
type sessionNode struct {
	t     *testing.T
	env   *sessionEnv
	addr  string
	base  string // http://127.0.0.1:PORT
	flags []string

	mu  sync.Mutex
	g   *gateway.Gateway
	srv *http.Server
}

// startSessionNode starts a gateway with the provider as a generic OAuth provider, plain-HTTP
// cookies (--insecure-cookies: loopback has no TLS), its own base URL as the allowed origin,
// the PoC triggers, and extra flags (--session-store, --redis, ...; later flags win).
func (e *sessionEnv) startSessionNode(extra ...string) *sessionNode {
	e.t.Helper()
	ln := testenv.Listen(e.t)
	n := &sessionNode{t: e.t, env: e, addr: ln.Addr().String()}
	n.base = "http://" + n.addr
	e.idp.AddRedirectURL(n.base + "/auth/callback")
	n.flags = append([]string{
		"--upstream", e.api.URL(),
		"--auth", "session",
		"--insecure-cookies",
		"--allowed-origins", n.base,
		"--oauth-provider", "generic",
		"--oauth-client-id", e.idp.ClientID(),
		"--oauth-client-secret", e.idp.ClientSecret(),
		"--oauth-redirect-url", n.base + "/auth/callback",
		"--oauth-auth-url", e.idp.AuthURL(),
		"--oauth-token-url", e.idp.TokenURL(),
		"--oauth-userinfo-url", e.idp.UserinfoURL(),
		"--session-store", "memory",
	}, extra...)
	n.serve(ln)
	e.t.Cleanup(n.stop)
	return n
}

// serve builds the gateway from the node's flags and serves it on ln.
func (n *sessionNode) serve(ln net.Listener) {
	n.t.Helper()
	cfg, err := gateway.ParseConfig(n.flags, noEnv)
	if err != nil {
		_ = ln.Close()
		n.t.Fatalf("ParseConfig(%q): %v", n.flags, err)
	}
	landing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, landingBody)
	})
	g, err := gateway.New(cfg, gateway.Options{Triggers: pocTriggers(n.t), Root: landing, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		_ = ln.Close()
		n.t.Fatalf("gateway.New: %v", err)
	}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	n.mu.Lock()
	n.g, n.srv = g, srv
	n.mu.Unlock()
}

// stop closes the gateway (its sockets, session manager and store) and its listener.
func (n *sessionNode) stop() {
	n.mu.Lock()
	g, srv := n.g, n.srv
	n.g, n.srv = nil, nil
	n.mu.Unlock()
	if g == nil {
		return
	}
	_ = g.Close()
	_ = srv.Close()
}

// restart stops the gateway and starts a new one, with the same flags, on the same address:
// nothing survives in memory, only what the session store kept.
func (n *sessionNode) restart() {
	n.t.Helper()
	n.stop()
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		n.t.Fatalf("listen again on %s: %v", n.addr, err)
	}
	n.serve(ln)
}

// gw is the node's current gateway.
func (n *sessionNode) gw() *gateway.Gateway {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.g
}

// browser is a user agent: a cookie jar shared by every node on 127.0.0.1 (cookies ignore
// the port, as behind one load balancer), following redirects like a browser does.
type browser struct {
	t    *testing.T
	jar  *cookiejar.Jar
	c    *http.Client // follows redirects
	step *http.Client // same jar, stops at the first redirect
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{
		t:   t,
		jar: jar,
		c:   &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second},
		step: &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// page is one answer the browser got.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // the final URL after redirects
}

// send sends a request with the browser's cookies (the jar) and extra headers (which replace
// the defaults); a browser sends the page's Origin on every request but same-origin GETs.
func (b *browser) send(c *http.Client, method, rawURL string, header http.Header) page {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatalf("new request %s %s: %v", method, rawURL, err)
	}
	if method != http.MethodGet && method != http.MethodHead {
		u, _ := url.Parse(rawURL)
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", method, rawURL, err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), url: resp.Request.URL}
}

// do is send, following redirects.
func (b *browser) do(method, rawURL string, header http.Header) page {
	b.t.Helper()
	return b.send(b.c, method, rawURL, header)
}

// generate is the page's first call: POST /api/generate_cookie.
func (b *browser) generate(n *sessionNode) (fresh, loggedIn bool) {
	b.t.Helper()
	p := b.do("POST", n.base+"/api/generate_cookie", nil)
	if p.status != http.StatusOK {
		b.t.Fatalf("generate_cookie: %d %s", p.status, p.body)
	}
	var res struct {
		New      bool `json:"new"`
		LoggedIn bool `json:"logged_in"`
	}
	if err := json.Unmarshal([]byte(p.body), &res); err != nil {
		b.t.Fatalf("generate_cookie body %q: %v", p.body, err)
	}
	return res.New, res.LoggedIn
}

// login runs the whole OAuth flow through node n (login, the provider's approval, the
// callback) and checks that it lands on the gateway's landing page.
func (b *browser) login(n *sessionNode) {
	b.t.Helper()
	p := b.do("GET", n.base+"/auth/login", nil)
	if p.status != http.StatusOK || p.body != landingBody || p.url.Host != n.addr || p.url.Path != "/" {
		b.t.Fatalf("login flow ended at %s with %d %.200q, want the landing page of %s", p.url, p.status, p.body, n.base)
	}
}

// cookie is the browser's session cookie ("" if it has none).
func (b *browser) cookie(n *sessionNode) string {
	u, _ := url.Parse(n.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// plant puts a session cookie into the browser as another site could (cookie tossing).
func (b *browser) plant(n *sessionNode, value string) {
	u, _ := url.Parse(n.base)
	b.jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/"}})
}

// api calls the API through node n with the browser's cookies and returns the status.
func (b *browser) api(n *sessionNode, method, path string) int {
	b.t.Helper()
	return b.do(method, n.base+path, nil).status
}

// rawCall sends one request with the given headers and no cookie jar; it does not follow
// redirects.
func rawCall(t *testing.T, method, rawURL string, header http.Header) page {
	t.Helper()
	b := &browser{t: t, c: &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return b.send(b.c, method, rawURL, header)
}

// rawPost posts body with the given headers and no cookie jar.
func rawPost(t *testing.T, rawURL string, header http.Header, body string) page {
	t.Helper()
	req, err := http.NewRequest("POST", rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL}
}

// sockOpts are the client options of a browser page at origin holding session cookie value
// ("" for none), over transport tr.
func sockOpts(tr, origin, value string) map[string]any {
	h := map[string]string{}
	if origin != "" {
		h["Origin"] = origin
	}
	if value != "" {
		h["Cookie"] = sessionCookie + "=" + value
	}
	return opts(tr, h)
}

// waitSessionEnded waits for socket name's session_ended event followed by the server's
// disconnect, and returns the event's reason.
func waitSessionEnded(t *testing.T, n *testenv.Node, name string) string {
	t.Helper()
	ev, err := n.WaitEvent(name, gateway.EventSessionEnded, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Reason string `json:"reason"`
	}
	if err := ev.Arg(0, &got); err != nil || got.Reason == "" || len(ev.Args) != 1 {
		t.Fatalf("socket %s: %v, want session_ended {reason}", name, ev)
	}
	dis, err := n.WaitDisconnect(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if dis.Seq < ev.Seq {
		t.Fatalf("socket %s: disconnect #%d came before session_ended #%d", name, dis.Seq, ev.Seq)
	}
	if dis.Reason != "io server disconnect" {
		t.Fatalf("socket %s: %v, want io server disconnect", name, dis)
	}
	return got.Reason
}
