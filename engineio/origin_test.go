package engineio

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const allowedOrigin = "https://app.example"

var errOrigin = errors.New("origin not allowed")

// originOptions admits only allowedOrigin, like auth.Origins, and counts opened sessions.
func originOptions(opened *atomic.Int32) Options {
	return Options{
		PingInterval: time.Hour,
		AllowRequest: func(r *http.Request) error {
			if r.Header.Get("Origin") != allowedOrigin {
				return errOrigin
			}
			return nil
		},
		OnOpen: func(c *Conn) Listener {
			opened.Add(1)
			return &recorder{conn: c, msgs: make(chan inPacket, 16), closed: make(chan string, 1)}
		},
	}
}

func origin(o string) http.Header { return http.Header{"Origin": {o}} }

// TestForeignOriginRefusedBeforeSession: a page on another site must not get a session
// (cross-site websocket hijacking rides on the victim's cookies); no session may exist even
// briefly, on either transport.
func TestForeignOriginRefusedBeforeSession(t *testing.T) {
	var opened atomic.Int32
	ts := startServer(t, originOptions(&opened), nil)

	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", origin("https://evil.example"))
	if resp.StatusCode != http.StatusForbidden || body != `{"code":4,"message":"Forbidden"}` {
		t.Errorf("polling handshake: %d %q, want 403 Forbidden", resp.StatusCode, body)
	}
	_, wsResp, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket"), origin("https://evil.example"))
	if !errors.Is(err, websocket.ErrBadHandshake) || wsResp == nil || wsResp.StatusCode != http.StatusForbidden {
		t.Errorf("websocket handshake: %v, want 403", err)
	}
	// No Origin at all (a non-browser client) is refused by this hook too.
	if resp, _ := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("no Origin: %d, want 403", resp.StatusCode)
	}
	if n := opened.Load(); n != 0 {
		t.Errorf("OnOpen ran %d times for refused requests", n)
	}
	if n := ts.eio.Count(); n != 0 {
		t.Errorf("Count() = %d, want 0", n)
	}
}

// TestForeignOriginCannotUseExistingSession: knowing a sid does not let another origin read or
// write the session (the hook vets every request, not just the handshake).
func TestForeignOriginCannotUseExistingSession(t *testing.T) {
	var opened atomic.Int32
	ts := startServer(t, originOptions(&opened), nil)
	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", origin(allowedOrigin))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}
	sid := sidOf(t, body)
	evil := origin("https://evil.example")
	if resp, _ := ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4steal", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign POST: %d, want 403", resp.StatusCode)
	}
	if resp, _ := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign GET: %d, want 403", resp.StatusCode)
	}
	_, wsResp, err := websocket.DefaultDialer.Dial(ts.wsURL("EIO=4&transport=websocket&sid="+sid), evil)
	if err == nil || wsResp == nil || wsResp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign upgrade: %v, want 403", err)
	}
	// The session is intact for its own origin.
	if resp, body := ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4mine", origin(allowedOrigin)); resp.StatusCode != http.StatusOK {
		t.Fatalf("own POST: %d %q", resp.StatusCode, body)
	}
	if n := ts.eio.Count(); n != 1 {
		t.Errorf("Count() = %d, want 1", n)
	}
}

// TestCORSForAllowedOrigin: an allowed Origin gets credentialed CORS on polling requests and
// on the preflight.
func TestCORSForAllowedOrigin(t *testing.T) {
	var opened atomic.Int32
	ts := startServer(t, originOptions(&opened), nil)
	check := func(what string, h http.Header) {
		t.Helper()
		if got := h.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, allowedOrigin)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("%s: Access-Control-Allow-Credentials %q, want true", what, got)
		}
		if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
			t.Errorf("%s: Vary %q lacks Origin (caches would mix origins)", what, h.Values("Vary"))
		}
	}
	resp, body := ts.do(http.MethodGet, ts.url("EIO=4&transport=polling"), "", origin(allowedOrigin))
	check("handshake", resp.Header)
	sid := sidOf(t, body)
	resp, _ = ts.do(http.MethodPost, ts.url(pollQuery(sid)), "4x", origin(allowedOrigin))
	check("POST", resp.Header)

	pre := origin(allowedOrigin)
	pre.Set("Access-Control-Request-Method", "POST")
	pre.Set("Access-Control-Request-Headers", "content-type")
	resp, _ = ts.do(http.MethodOptions, ts.url("EIO=4&transport=polling&sid="+sid), "", pre)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight: status %d, want 204", resp.StatusCode)
	}
	check("preflight", resp.Header)
	if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
		t.Errorf("preflight: Allow-Methods %q lacks POST", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Headers"); got != "content-type" {
		t.Errorf("preflight: Allow-Headers %q, want content-type", got)
	}
}

// TestNoCORSGrantForRefusedOrigin: a refused Origin must get no credentialed CORS grant, not
// even on the 403, so a foreign page cannot read any answer with the user's cookies.
func TestNoCORSGrantForRefusedOrigin(t *testing.T) {
	var opened atomic.Int32
	ts := startServer(t, originOptions(&opened), nil)
	pre := origin("https://evil.example")
	pre.Set("Access-Control-Request-Method", "POST")
	for _, m := range []string{http.MethodOptions, http.MethodGet} {
		resp, _ := ts.do(m, ts.url("EIO=4&transport=polling"), "", pre)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", m, resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q granted to a refused origin", m, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("%s: Access-Control-Allow-Credentials %q granted to a refused origin", m, got)
		}
	}
}
