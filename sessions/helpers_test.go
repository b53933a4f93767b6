package sessions

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// waitTimeout bounds every wait for an asynchronous event in these tests.
const waitTimeout = 5 * time.Second

// clock is a settable clock shared by a Manager and its test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// storeKinds builds each Store implementation fresh for a test.
var storeKinds = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"memory", func(*testing.T) Store { return NewMemoryStore() }},
	{"bolt", func(t *testing.T) Store {
		s, err := OpenBolt(filepath.Join(t.TempDir(), "sessions.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"redis", func(t *testing.T) Store { return NewRedisStore(redisClient(t), "") }},
}

// redisClient starts a real redis-server and returns a client to it.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	rs := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// harness is one node: a Manager behind a TLS server on 127.0.0.1, and a
// real authorization server (oauthtest) it logs in with.
type harness struct {
	t     *testing.T
	idp   *oauthtest.Server
	clock *clock
	store Store
	m     *Manager
	srv   *httptest.Server
	cfg   Config
}

type harnessOpts struct {
	store  Store
	idp    *oauthtest.Server
	clock  *clock
	srv    *httptest.Server // reuse this server (restart tests)
	config func(*Config)
}

// landingBody is what the test app serves at the landing path.
const landingBody = "landing page"

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, idp: o.idp, clock: o.clock, store: o.store, srv: o.srv}
	if h.idp == nil {
		h.idp = oauthtest.Start(t, oauthtest.Config{})
	}
	if h.clock == nil {
		h.clock = newClock()
	}
	if h.store == nil {
		h.store = NewMemoryStore()
	}
	var handler swapHandler
	if h.srv == nil {
		h.srv = httptest.NewUnstartedServer(&handler)
		h.srv.StartTLS()
		t.Cleanup(h.srv.Close)
	}
	h.idp.AddRedirectURL(h.srv.URL + DefaultCallbackPath)
	cfg := Config{
		Store: h.store,
		OAuth: OAuth{
			Config: &oauth2.Config{
				ClientID:     h.idp.ClientID(),
				ClientSecret: h.idp.ClientSecret(),
				Endpoint:     h.idp.Endpoint(),
				RedirectURL:  h.srv.URL + DefaultCallbackPath,
			},
			UserinfoURL: h.idp.UserinfoURL(),
		},
		Now:    h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	h.m, h.cfg = m, cfg

	mux := http.NewServeMux()
	for _, r := range m.Routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, landingBody) })
	mux.Handle("/api/echo", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.SetUpstreamAuth(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, r.Header.Get("Authorization")+"\n"+r.Header.Get("Cookie"))
	})))
	if sh, ok := h.srv.Config.Handler.(*swapHandler); ok {
		sh.set(mux)
	} else {
		handler.set(mux)
	}
	return h
}

// swapHandler lets a restarted node take over the same TLS server (same URL,
// so the browser's cookies still apply).
type swapHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swapHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	h.ServeHTTP(w, r)
}

// browser is a real http.Client with a cookie jar, trusting the harness's
// TLS certificate.
type browser struct {
	t    *testing.T
	h    *harness
	c    *http.Client // follows redirects
	once *http.Client // same jar, stops at the first redirect
	jar  http.CookieJar
	base *url.URL
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	base, _ := url.Parse(h.srv.URL)
	c := *h.srv.Client() // a copy: srv.Client() is one shared client
	c.Jar = jar
	once := c
	once.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: h.t, h: h, c: &c, once: &once, jar: jar, base: base}
}

// cookie is the browser's current session cookie value ("" if none).
func (b *browser) cookie() string {
	for _, c := range b.jar.Cookies(b.base) {
		if c.Name == b.h.m.CookieName() {
			return c.Value
		}
	}
	return ""
}

// setCookie plants a session cookie value in the browser (as an attacker would).
func (b *browser) setCookie(v string) {
	b.jar.SetCookies(b.base, []*http.Cookie{{Name: b.h.m.CookieName(), Value: v, Path: "/", Secure: true}})
}

func (b *browser) do(c *http.Client, method, rawURL string, hdr http.Header) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = b.h.srv.URL + rawURL
	}
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// generate posts to the generate_cookie route.
func (b *browser) generate() (*http.Response, string) {
	return b.do(b.c, http.MethodPost, DefaultGeneratePath, nil)
}

// login runs the whole flow, following every redirect; it returns the final response.
func (b *browser) login() (*http.Response, string) {
	return b.do(b.c, http.MethodGet, DefaultLoginPath, nil)
}

// startLogin runs login up to the provider's redirect back, without
// following it, and returns the callback URL.
func (b *browser) startLogin() string {
	b.t.Helper()
	resp, _ := b.do(b.once, http.MethodGet, DefaultLoginPath, nil)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("login: status %d", resp.StatusCode)
	}
	resp, _ = b.do(b.once, http.MethodGet, resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// mustLogin logs in and checks that the browser landed logged in.
func (b *browser) mustLogin() {
	b.t.Helper()
	resp, body := b.login()
	if resp.StatusCode != http.StatusOK || body != landingBody || resp.Request.URL.Path != DefaultLandingPath {
		b.t.Fatalf("login ended at %s with %d %q", resp.Request.URL, resp.StatusCode, body)
	}
	if s := b.session(); !s.LoggedIn() {
		b.t.Fatal("not logged in after login")
	}
}

// session resolves the browser's cookie on the harness's Manager (nil if none).
func (b *browser) session() *Session {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if c := b.cookie(); c != "" {
		req.AddCookie(&http.Cookie{Name: b.h.m.CookieName(), Value: c})
	}
	s, err := b.h.m.FromRequest(req)
	if err != nil {
		return nil
	}
	return s
}

// requestWithCookie is a server-side request carrying cookie value v.
func (h *harness) requestWithCookie(v string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(context.Background())
	req.AddCookie(&http.Cookie{Name: h.m.CookieName(), Value: v})
	return req
}

// setCookieOf returns the response's Set-Cookie for the session cookie, or nil.
func setCookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ended collects onEnd reasons.
type ended chan error

func (e ended) onEnd(reason error) { e <- reason }

func (e ended) wait(t *testing.T, what string) error {
	t.Helper()
	select {
	case r := <-e:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("%s: onEnd not called within %v", what, waitTimeout)
		return nil
	}
}

// memDump returns every key and value of a MemoryStore.
func memDump(m *MemoryStore) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []byte
	for _, tab := range []map[string]memRecord{m.sessions, m.states} {
		for k, r := range tab {
			out = append(out, k...)
			out = append(out, r.data...)
		}
	}
	return out
}

// redisDump returns every key and string value in Redis.
func redisDump(t *testing.T, c *redis.Client) []byte {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, k := range keys {
		v, err := c.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, k...), v...)
	}
	return out
}

// queryParam returns parameter name of rawURL.
func queryParam(t *testing.T, rawURL, name string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	v := u.Query().Get(name)
	if v == "" {
		t.Fatalf("%s has no %s", rawURL, name)
	}
	return v
}
