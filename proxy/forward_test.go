package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// seen is what the upstream echo handler saw.
type seen struct {
	Method     string
	RequestURI string
	Host       string
	Body       string
	Header     http.Header
}

func echoUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(seen{Method: r.Method, RequestURI: r.RequestURI, Host: r.Host, Body: string(body), Header: r.Header})
}

func TestForwardsMethodPathQueryBodyAndHeaders(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoUpstream), nil)
	h := http.Header{
		"Cookie":        {"zsid=abc"},
		"Authorization": {"Bearer tok"},
		"X-Custom":      {"1"},
		"Content-Type":  {"application/json"},
	}
	resp, data := r.do(t, "PATCH", "/api/orgs/1/x%3By/z?y=2&q=a%20b", strings.NewReader(`{"a":1}`), h)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got seen
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	upHost := strings.TrimPrefix(r.upstream.URL, "http://")
	proxyHost := strings.TrimPrefix(r.proxy.URL, "http://")
	checks := []struct{ name, got, want string }{
		{"method", got.Method, "PATCH"},
		{"request URI (encoding kept)", got.RequestURI, "/v1/orgs/1/x%3By/z?y=2&q=a%20b"},
		{"host", got.Host, upHost},
		{"body", got.Body, `{"a":1}`},
		{"cookie", got.Header.Get("Cookie"), "zsid=abc"},
		{"authorization", got.Header.Get("Authorization"), "Bearer tok"},
		{"custom", got.Header.Get("X-Custom"), "1"},
		{"x-forwarded-for", got.Header.Get("X-Forwarded-For"), "127.0.0.1"},
		{"x-forwarded-host", got.Header.Get("X-Forwarded-Host"), proxyHost},
		{"x-forwarded-proto", got.Header.Get("X-Forwarded-Proto"), "http"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestForwardsUpstreamQueryAndPrefixRoot(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoUpstream), nil)
	u, _ := url.Parse(r.upstream.URL + "/v1/?key=k")
	r2 := newRig(t, nil, func(c *Config) { c.Upstream = u })
	for _, tc := range []struct{ path, want string }{
		{"/api", "/v1?key=k"},
		{"/api/", "/v1/?key=k"},
		{"/api/a?b=c", "/v1/a?key=k&b=c"},
	} {
		_, data := r2.do(t, "GET", tc.path, nil, nil)
		var got seen
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v (%s)", tc.path, err, data)
		}
		if got.RequestURI != tc.want {
			t.Errorf("%s → %q, want %q", tc.path, got.RequestURI, tc.want)
		}
	}
}

// TestSpoofedForwardingHeadersReplaced: a client must not be able to claim
// another address or host to the upstream through X-Forwarded-*.
func TestSpoofedForwardingHeadersReplaced(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoUpstream), nil)
	h := http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X-Forwarded-Host": {"evil.example"}, "Forwarded": {"for=6.6.6.6"}}
	_, data := r.do(t, "GET", "/api/x", nil, h)
	var got seen
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if xff := got.Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want 127.0.0.1", xff)
	}
	if xfh := got.Header.Get("X-Forwarded-Host"); xfh == "evil.example" {
		t.Errorf("X-Forwarded-Host spoofed: %q", xfh)
	}
	if fwd := got.Header.Get("Forwarded"); fwd != "" {
		t.Errorf("Forwarded passed through: %q", fwd)
	}
}

// TestHopByHopHeadersDropped sends a raw request so the hop-by-hop headers
// reach the proxy exactly as written.
func TestHopByHopHeadersDropped(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoUpstream), nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := "GET /api/hop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic c2VjcmV0\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n"
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got seen
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization"} {
		if v := got.Header.Get(k); v != "" {
			t.Errorf("hop-by-hop %s = %q reached the upstream", k, v)
		}
	}
	if got.Header.Get("X-Kept") != "yes" {
		t.Errorf("end-to-end header X-Kept lost")
	}
}

func TestResponsePassesThroughUnchanged(t *testing.T) {
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.test")
		w.Header().Add("Set-Cookie", "a=1; HttpOnly")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("X-Up", "u")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("created\x00bytes"))
	})
	r := newRig(t, up, nil)
	resp, data := r.do(t, "POST", "/api/things", strings.NewReader("x"), nil)
	if resp.StatusCode != http.StatusCreated || string(data) != "created\x00bytes" {
		t.Fatalf("got %d %q", resp.StatusCode, data)
	}
	if resp.Header.Get("Content-Type") != "application/vnd.test" || resp.Header.Get("X-Up") != "u" ||
		strings.Join(resp.Header.Values("Set-Cookie"), "|") != "a=1; HttpOnly|b=2" {
		t.Fatalf("headers changed: %v", resp.Header)
	}
}

func TestNoContentPassesThroughAndFires(t *testing.T) {
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r := newRig(t, up, nil)
	resp, data := r.do(t, "DELETE", "/api/orgs/5/people/views/6/rows/7", nil, nil)
	if resp.StatusCode != http.StatusNoContent || len(data) != 0 {
		t.Fatalf("got %d %q", resp.StatusCode, data)
	}
	ev := r.pub.next(t)
	if ev.Name != "personview.deleterow" || ev.Org != "5" || ev.Data["viewId"] != int64(6) || ev.Data["personId"] != int64(7) {
		t.Fatalf("event %#v", ev)
	}
}

// TestStreamsResponse proves the proxy does not buffer: the upstream only
// sends its second part after the client has received the first.
func TestStreamsResponse(t *testing.T) {
	firstSeen := make(chan struct{})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first\n"))
		w.(http.Flusher).Flush()
		select {
		case <-firstSeen:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte("second\n"))
	})
	r := newRig(t, up, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.proxy.URL+"/api/stream", nil)
	resp, err := r.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first part: %q %v", line, err)
	}
	close(firstSeen)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "second\n" {
		t.Fatalf("second part: %q %v", rest, err)
	}
}

func TestNotUnderPrefixIs404(t *testing.T) {
	r := newRig(t, http.HandlerFunc(echoUpstream), nil)
	for _, p := range []string{"/", "/apix", "/other/api/x", "/API/x"} {
		resp, data := r.do(t, "GET", p, nil, nil)
		if resp.StatusCode != 404 || string(data) != `{"error":"not found"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %q", p, resp.StatusCode, data)
		}
	}
}

// TestDotSegmentsCannotEscapeUpstreamPath: /api/../admin would reach the
// upstream's /admin instead of /v1/admin if an upstream resolved dot segments.
func TestDotSegmentsCannotEscapeUpstreamPath(t *testing.T) {
	upstreamCalls := make(chan string, 16)
	r := newRig(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { upstreamCalls <- req.RequestURI }), nil)
	for _, p := range []string{"/api/../admin", "/api/%2e%2e/admin", "/api/x/%2E./admin", "/api/a%2F..%2F..%2Fadmin", "/api/a%5C..%5Cadmin"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(r.proxy.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		// A raw request: Go's client would clean the path before sending it.
		if _, err := conn.Write([]byte("GET " + p + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 400 || string(body) != `{"error":"bad path"}` {
			t.Errorf("%s: got %d %q, want 400 bad path", p, resp.StatusCode, body)
		}
	}
	select {
	case uri := <-upstreamCalls:
		t.Fatalf("upstream was called with %q", uri)
	default:
	}
}
