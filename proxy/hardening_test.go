package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingUpstream records the request URI of every request that reaches it, on any path
// (a request that escaped /v1 would be counted too), and answers 200 {}.
type countingUpstream struct {
	mu   sync.Mutex
	uris []string
}

func (c *countingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	c.mu.Lock()
	c.uris = append(c.uris, r.RequestURI)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{}`))
}

func (c *countingUpstream) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.uris...)
}

// rawRequest sends head (request line and headers, without the final CRLF) on a fresh
// connection and returns the status and body. Go's client would clean or re-encode the
// path, so attacks are written byte for byte.
func rawRequest(t *testing.T, addr, head string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// assertRefusedAndHealthy sends each request head raw, wants 400 with wantBody for every
// one and nothing at the upstream, then a normal call that must still get through.
func assertRefusedAndHealthy(t *testing.T, heads []string, wantBody string) {
	t.Helper()
	up := &countingUpstream{}
	r := newRig(t, up, nil)
	addr := strings.TrimPrefix(r.proxy.URL, "http://")
	for _, head := range heads {
		if code, body := rawRequest(t, addr, head); code != http.StatusBadRequest || body != wantBody {
			t.Errorf("%q: %d %s, want 400 %s", head, code, body, wantBody)
		}
	}
	if got := up.seen(); len(got) != 0 {
		t.Fatalf("upstream saw %q, want nothing", got)
	}
	if code, body := rawRequest(t, addr, "GET /api/orgs/1/people HTTP/1.1"); code != 200 || body != `{}` {
		t.Fatalf("follow-up call: %d %s, want 200", code, body)
	}
	if got := up.seen(); len(got) != 1 || got[0] != "/v1/orgs/1/people" {
		t.Fatalf("upstream saw %q after the follow-up, want exactly /v1/orgs/1/people", got)
	}
}

const badPath = `{"error":"bad path"}`

// TestProxyEncodedDotDotRejected: %2e%2e is ".." to every upstream that decodes the path
// before resolving it, which climbs out of /v1 to any path of the upstream host.
func TestProxyEncodedDotDotRejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/%2e%2e/admin HTTP/1.1",
		"GET /api/%2E%2E/admin HTTP/1.1", // mixed case
		"GET /api/%2e./admin HTTP/1.1",
		"GET /api/.%2E/admin HTTP/1.1",
		"DELETE /api/orgs/1/%2e%2e/%2e%2e/admin HTTP/1.1",
		"GET /api/x/%2e HTTP/1.1",
		"GET /api/.. HTTP/1.1",
		"GET /api/... HTTP/1.1",             // Windows folds trailing dots
		"GET /api/..%20/admin HTTP/1.1",     // and trailing spaces
		"GET /api/%2e%2e%3b/admin HTTP/1.1", // encoded ';'
	}, badPath)
}

// TestProxyDoubleEncodedDotDotRejected: %252e%252e is %2e%2e after the proxy's layer and
// ".." after an upstream framework that decodes once more.
func TestProxyDoubleEncodedDotDotRejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/%252e%252e/admin HTTP/1.1",
		"GET /api/%252E%252E/admin HTTP/1.1",
		"GET /api/%25252e%25252e/admin HTTP/1.1", // triple
		"GET /api/a%252f..%252f..%252fadmin HTTP/1.1",
		"GET /api/%2525252525252e HTTP/1.1", // deeper than the cleaner unwraps
	}, badPath)
}

// TestProxyPathParameterDotDotRejected: Tomcat, Jetty and Spring drop ";params" from a
// segment, so "..;" and "..;jsessionid=x" are ".." to them while a proxy sees a name.
func TestProxyPathParameterDotDotRejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/..;/admin HTTP/1.1",
		"GET /api/..;jsessionid=x/admin HTTP/1.1",
		"GET /api/.;x/admin HTTP/1.1",
		"GET /api/%2e%2e;/admin HTTP/1.1",
		"GET /api/..%3b/admin HTTP/1.1",
	}, badPath)
}

// TestProxyEncodedSlashRejected: many upstreams decode %2f and %5c before routing and
// split the segment there, so "a%2f..%2fadmin" becomes a/../admin behind the check.
func TestProxyEncodedSlashRejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/a%2fb HTTP/1.1",
		"GET /api/a%2Fb HTTP/1.1",
		"GET /api/a%5cb HTTP/1.1",
		"GET /api/a%5C..%5Cadmin HTTP/1.1",
		`GET /api/a\..\admin HTTP/1.1`, // raw backslash: IIS and Windows paths
		"GET /api/a%252fb HTTP/1.1",
	}, badPath)
}

// TestProxyNULRejected: NUL ends a C string (the upstream's file lookup or its logs see a
// shorter path than was checked); CR/LF split logs and headers.
func TestProxyNULRejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/%00 HTTP/1.1",
		"GET /api/a%00.json HTTP/1.1",
		"GET /api/a%2500b HTTP/1.1",
		"GET /api/a%0d%0aX-Injected:%201 HTTP/1.1",
		"GET /api/a%09b HTTP/1.1",
	}, badPath)
}

// TestProxyOverlongUTF8Rejected: %c0%ae is an overlong '.', %c0%af an overlong '/', and a
// lenient decoder (old IIS, some Java stacks) turns them into dot-segments; fullwidth and
// IIS %u forms likewise.
func TestProxyOverlongUTF8Rejected(t *testing.T) {
	assertRefusedAndHealthy(t, []string{
		"GET /api/%c0%ae%c0%ae/admin HTTP/1.1",
		"GET /api/a%c0%af..%c0%afadmin HTTP/1.1",
		"GET /api/%e0%80%ae%e0%80%ae/admin HTTP/1.1",
		"GET /api/%ef%bc%8e%ef%bc%8e/admin HTTP/1.1", // fullwidth ．．
		"GET /api/a%ef%bc%8fb HTTP/1.1",              // fullwidth ／
		"GET /api/%ff HTTP/1.1",
	}, badPath)
	// IIS's %u002e is no valid escape: Go's server answers 400 before any handler, and
	// the cleaner refuses it too wherever the handler is mounted.
	if cleanPath("/%u002e%u002e/admin") {
		t.Error(`cleanPath accepted "%u002e%u002e"`)
	}
}

// TestProxyH2CUpgradeRejected: an upstream that honours "Upgrade: h2c" switches the
// proxied connection to HTTP/2, and every later frame on it bypasses the proxy's checks
// (h2c smuggling).
func TestProxyH2CUpgradeRejected(t *testing.T) {
	const h2c = "GET /api/orgs/1/people HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	assertRefusedAndHealthy(t, []string{
		h2c + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
		h2c + "Upgrade: h2c",
		"GET /api/orgs/1/people HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket, h2c",
		"GET /api/orgs/1/people HTTP/1.1\r\nUpgrade: h2c",
		"GET /api/orgs/1/people HTTP/1.1\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
		"POST /api/orgs/1/people HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\nContent-Length: 0",
	}, `{"error":"upgrade not allowed"}`)
}

// Names that merely contain dots, percent signs, semicolons or non-ASCII letters are
// forwarded unchanged, encoding kept.
func TestProxyOrdinaryOddPathsStillForwarded(t *testing.T) {
	up := &countingUpstream{}
	r := newRig(t, up, nil)
	addr := strings.TrimPrefix(r.proxy.URL, "http://")
	paths := []string{"/orgs/1/files/a.b.json", "/x/..a", "/x/a..", "/search/100%25", "/n/%C3%A9t%C3%A9",
		"/x/a;v=1", "/x/%3Bq", "/x/a%20b", "/x/%2e%2ea", "/x/a%3Fb"}
	for _, p := range paths {
		if code, body := rawRequest(t, addr, "GET /api"+p+" HTTP/1.1"); code != 200 {
			t.Errorf("%s: %d %s, want 200", p, code, body)
		}
	}
	got := up.seen()
	if len(got) != len(paths) {
		t.Fatalf("upstream saw %q, want %d calls", got, len(paths))
	}
	for i, p := range paths {
		if got[i] != "/v1"+p {
			t.Errorf("upstream got %q, want %q", got[i], "/v1"+p)
		}
	}
}

// FuzzCleanPath: whatever the cleaner accepts, the forwarded path stays under the
// upstream's base path and holds no dot-segment after any number of decodings (also when
// ";params" are dropped and "\" counts as a separator).
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/orgs/1/people", "/%2e%2e/x", "/..;/x", "/a%252fb", "/%c0%ae", "/100%25", "/a/b/",
		"/x/%2525252e%2525252e", "/%u002e", "/a;b/c", "", "/"} {
		f.Add(s)
	}
	const base = "/v1"
	f.Fuzz(func(t *testing.T, rel string) {
		if rel != "" && !strings.HasPrefix(rel, "/") {
			rel = "/" + rel
		}
		if _, err := url.Parse(rel); err != nil || !cleanPath(rel) {
			return
		}
		fwd := base + rel
		cur := fwd
		for layer := 0; layer <= maxDecodes+1; layer++ {
			norm := strings.ReplaceAll(cur, `\`, "/")
			for seg := range strings.SplitSeq(norm, "/") {
				name, _, _ := strings.Cut(seg, ";")
				if name = strings.TrimRight(name, " "); name != "" && strings.Trim(name, ".") == "" {
					t.Fatalf("accepted %q: layer %d %q has the dot-segment %q", rel, layer, cur, seg)
				}
			}
			if c := path.Clean(norm); c != base && !strings.HasPrefix(c, base+"/") {
				t.Fatalf("accepted %q: layer %d %q resolves to %q, outside %s", rel, layer, cur, c, base)
			}
			dec, err := url.PathUnescape(cur)
			if err != nil || dec == cur {
				break
			}
			cur = dec
		}
	})
}

// TestProxyTruncatedBodyNeverReachesUpstream: a small mutating body is read whole before
// the call is forwarded; one that ends before its Content-Length must not reach the
// upstream as a cut-short mutation.
func TestProxyTruncatedBodyNeverReachesUpstream(t *testing.T) {
	up := &countingUpstream{}
	r := newRig(t, up, nil)
	addr := strings.TrimPrefix(r.proxy.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "PUT /api/orgs/1/people/views/2/rows/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"rank\"")
	_ = conn.(*net.TCPConn).CloseWrite()
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err == nil && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("truncated PUT answered %d, want 400 or a closed connection", resp.StatusCode)
	}
	r.waitDone(t)
	if got := up.seen(); len(got) != 0 {
		t.Fatalf("upstream saw %q, want nothing", got)
	}
	r.expectNoEvents(t)
	if code, body := rawRequest(t, addr, "GET /api/orgs/1/people HTTP/1.1"); code != 200 || body != `{}` {
		t.Fatalf("follow-up call: %d %s, want 200", code, body)
	}
}

// --- idle upstream connections (issue 20.4) ---

// idleUpstream is a real upstream that counts the PUTs it receives by X-Call, and can
// close, from its side, the connection a client port is using (the upstream's keep-alive
// timeout firing).
type idleUpstream struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	conns map[string]net.Conn // client address → server side
	armed atomic.Bool         // the next request written on a raceConn meets a closed connection
}

func newIdleUpstream(t *testing.T, idle time.Duration, handler http.HandlerFunc) *idleUpstream {
	u := &idleUpstream{calls: map[string]int{}, conns: map[string]net.Conn{}}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.calls[r.Header.Get("X-Call")]++
		u.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	u.srv.Config.IdleTimeout = idle
	u.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		u.mu.Lock()
		defer u.mu.Unlock()
		if s == http.StateNew {
			u.conns[c.RemoteAddr().String()] = c
		}
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *idleUpstream) count(call string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[call]
}

// closeFrom closes the upstream's side of the connection from client address addr.
func (u *idleUpstream) closeFrom(addr string) {
	u.mu.Lock()
	c := u.conns[addr]
	u.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// raceConn is the proxy's side of a real upstream connection. When the upstream is armed,
// the next request write on it first has the upstream close the connection and lets the
// proxy's transport notice (its reader sees EOF and closes the connection) before writing:
// the reported race (the upstream's keep-alive timer fires as the proxy reuses the
// connection) in the order where not a byte of the call left the proxy, made deterministic.
type raceConn struct {
	net.Conn
	up        *idleUpstream
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *raceConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *raceConn) Write(p []byte) (int, error) {
	if c.up.armed.CompareAndSwap(true, false) {
		c.up.closeFrom(c.LocalAddr().String())
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
		}
	}
	return c.Conn.Write(p)
}

// racyTransport is the proxy's default transport dialing raceConns.
func racyTransport(cfg Config, up *idleUpstream) *http.Transport {
	cfg, _ = cfg.withDefaults()
	t := defaultTransport(cfg)
	var d net.Dialer
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &raceConn{Conn: c, up: up, closed: make(chan struct{})}, nil
	}
	return t
}

// putCall sends PUT /api/orgs/1/people/views/2/rows/3 with X-Call: id and the body.
func putCall(t *testing.T, r *rig, id, body string) (int, string) {
	t.Helper()
	resp, data := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", strings.NewReader(body), http.Header{"X-Call": {id}})
	return resp.StatusCode, string(data)
}

// TestProxyPutOnJustClosedUpstreamConnIsNot502: a PUT written to a reused connection the
// upstream has just closed used to fail with 502 "connection reset by peer" although the
// upstream never saw it. Its small body is now rewindable, so the transport re-sends it on
// a fresh connection (it never does once a byte was written); a body too big to keep in
// memory still fails, and in both cases the upstream sees each call at most once.
func TestProxyPutOnJustClosedUpstreamConnIsNot502(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		wantCode int
		wantSeen int
	}{
		{"small body is re-sent", `{"rank":1}`, 200, 1},
		{"body over MaxRewindBody is not", strings.Repeat("x", 100), 502, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newIdleUpstream(t, time.Minute, nil)
			upURL, _ := url.Parse(up.srv.URL + "/v1")
			r := newRig(t, nil, func(c *Config) {
				c.Upstream = upURL
				c.MaxRewindBody = 64
				c.Transport = racyTransport(*c, up)
			})
			if code, body := putCall(t, r, "first", `{}`); code != 200 {
				t.Fatalf("first PUT: %d %s", code, body)
			}
			r.waitDone(t)
			up.armed.Store(true)
			code, body := putCall(t, r, "second", tc.body)
			if code != tc.wantCode {
				t.Fatalf("PUT on the closed connection: %d %s, want %d", code, body, tc.wantCode)
			}
			if n := up.count("second"); n != tc.wantSeen {
				t.Fatalf("upstream saw the second PUT %d times, want %d", n, tc.wantSeen)
			}
			r.waitDone(t)
			if code, body := putCall(t, r, "third", `{}`); code != 200 || up.count("third") != 1 {
				t.Fatalf("follow-up PUT: %d %s, seen %d times", code, body, up.count("third"))
			}
		})
	}
}

// TestProxyPutReceivedByUpstreamIsNotResent: a PUT the upstream read and then dropped
// without an answer may have been applied; re-sending it could apply it twice, so it is a
// 502 and the upstream sees it exactly once.
func TestProxyPutReceivedByUpstreamIsNotResent(t *testing.T) {
	var up *idleUpstream
	up = newIdleUpstream(t, time.Minute, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Call") == "dropped" {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	upURL, _ := url.Parse(up.srv.URL + "/v1")
	r := newRig(t, nil, func(c *Config) { c.Upstream = upURL })
	if code, _ := putCall(t, r, "warm", `{}`); code != 200 { // the next call reuses this connection
		t.Fatalf("first PUT: %d", code)
	}
	r.waitDone(t)
	if code, body := putCall(t, r, "dropped", `{"rank":2}`); code != http.StatusBadGateway {
		t.Fatalf("dropped PUT: %d %s, want 502", code, body)
	}
	if n := up.count("dropped"); n != 1 {
		t.Fatalf("upstream saw the dropped PUT %d times, want exactly 1", n)
	}
	r.waitDone(t)
	if code, _ := putCall(t, r, "after", `{}`); code != 200 || up.count("after") != 1 {
		t.Fatalf("follow-up PUT: %d, seen %d", code, up.count("after"))
	}
}

// TestProxyIdleTimeoutBelowUpstreamsAvoidsResets: a real upstream closing idle keep-alive
// connections after 200ms, and calls spaced around that: with the proxy's idle timeout
// below the upstream's (the default's relation to Node's 5s, scaled down) no call fails,
// and none reaches the upstream twice.
func TestProxyIdleTimeoutBelowUpstreamsAvoidsResets(t *testing.T) {
	if testing.Short() {
		t.Skip("spaces calls over a few seconds")
	}
	up := newIdleUpstream(t, 200*time.Millisecond, nil)
	upURL, _ := url.Parse(up.srv.URL + "/v1")
	r := newRig(t, nil, func(c *Config) { c.Upstream = upURL; c.IdleConnTimeout = 100 * time.Millisecond })
	// Measured with the proxy's idle timeout at 90s instead (the old default): 3 of 60 such
	// calls answered 502, as in production; at 100ms: 0 of 60.
	const calls = 30
	for i := range calls {
		time.Sleep(197*time.Millisecond + time.Duration(i)*200*time.Microsecond) // sweeps 197–203ms
		id := fmt.Sprint("c", i)
		if code, body := putCall(t, r, id, `{"i":1}`); code != 200 {
			t.Fatalf("PUT %d: %d %s", i, code, body)
		}
		r.waitDone(t)
		if n := up.count(id); n != 1 {
			t.Fatalf("upstream saw PUT %d %d times", i, n)
		}
	}
}
