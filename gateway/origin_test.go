package gateway_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/internal/testenv"
)

const appOrigin = "https://app.example"

// rawHandshake opens an Engine.IO polling handshake with the given Origin header and
// returns the status, the response header and the body.
func rawHandshake(t *testing.T, h *harness, origin string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", h.base+"/socket.io/?EIO=4&transport=polling", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Cookie", "zsid=alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("polling handshake: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// rawWebSocket opens an Engine.IO websocket with the given Origin header and returns the
// HTTP status of the upgrade answer.
func rawWebSocket(t *testing.T, h *harness, origin string) int {
	t.Helper()
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {origin}, "Cookie": {"zsid=alice"}})
	if err == nil {
		_ = conn.Close()
		return http.StatusSwitchingProtocols
	}
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		t.Fatalf("websocket dial: %v", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// A page on another site, visited by a logged-in member, would otherwise open a socket with
// the member's cookies (cross-site websocket hijacking) and read the org's events.
func TestForeignOriginHandshakeRefusedBeforeAnySession(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, pocTriggers(t), "--allowed-origins", appOrigin)

	hostile := []string{
		"https://evil.example",
		"https://app.example.evil.example", // suffix trick
		"https://evilapp.example",          // substring trick
		"http://app.example",               // scheme downgrade
		"https://app.example:8443",         // other port
		"null",                             // sandboxed iframe, file://
	}
	for _, origin := range hostile {
		if code, _, body := rawHandshake(t, h, origin); code != http.StatusForbidden {
			t.Errorf("polling handshake from %s: %d %s, want 403", origin, code, body)
		}
		if code := rawWebSocket(t, h, origin); code != http.StatusForbidden {
			t.Errorf("websocket handshake from %s: %d, want 403", origin, code)
		}
	}
	if c := h.g.Sockets().Engine().Count(); c != 0 {
		t.Fatalf("refused handshakes left %d sessions", c)
	}
	if c := api.Calls("/users/me/memberships"); c != 0 {
		t.Fatalf("refused handshakes made %d membership calls", c)
	}

	n := testenv.StartNode(t)
	for _, tr := range transports {
		o := opts(tr, map[string]string{"Origin": "https://evil.example", "Cookie": "zsid=alice"})
		if _, err := n.Connect("evil-"+tr, h.url("/org/1"), o); err == nil {
			t.Fatalf("%s: a client from a foreign origin connected", tr)
		} else if ce := (*testenv.ConnectError)(nil); !errors.As(err, &ce) {
			t.Fatalf("%s: %v, want a connect_error", tr, err)
		}
	}
	if c := h.g.Sockets().Engine().Count(); c != 0 {
		t.Fatalf("refused clients left %d sessions", c)
	}
}

func TestAllowedOriginPasses(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t), "--allowed-origins", "https://other.example, "+appOrigin)
	if code, _, body := rawHandshake(t, h, appOrigin); code != http.StatusOK || !strings.Contains(body, `"sid"`) {
		t.Fatalf("polling handshake from the allowed origin: %d %s", code, body)
	}
	if code := rawWebSocket(t, h, "HTTPS://APP.EXAMPLE:443"); code != http.StatusSwitchingProtocols {
		t.Fatalf("websocket handshake from the allowed origin (other spelling): %d", code)
	}
	n := testenv.StartNode(t)
	for _, tr := range transports {
		connect(t, n, "a-"+tr, h.url("/org/1"), opts(tr, map[string]string{"Origin": appOrigin, "Cookie": "zsid=alice"}))
	}
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	for _, tr := range transports {
		waitOnly(t, n, "a-"+tr, "personview.addrow")
	}
}

// With no --allowed-origins only the gateway's own host may open sockets from a browser.
func TestDefaultOriginIsSameHostOnly(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t))
	if code, _, body := rawHandshake(t, h, h.base); code != http.StatusOK {
		t.Fatalf("same-host origin %s: %d %s", h.base, code, body)
	}
	if code, _, body := rawHandshake(t, h, "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("foreign origin: %d %s, want 403", code, body)
	}
	if code := rawWebSocket(t, h, "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("foreign origin websocket: %d, want 403", code)
	}
}

// A refusal that still says "Access-Control-Allow-Origin: <the foreign origin>" with
// credentials lets the foreign page read the answer: a refused origin gets no CORS grant.
func TestForeignOriginGetsNoCORSGrant(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t), "--allowed-origins", appOrigin)
	code, hdr, _ := rawHandshake(t, h, "https://evil.example")
	if code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", code)
	}
	if got := hdr.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("403 for a foreign origin carries Access-Control-Allow-Origin %q (credentials %q)",
			got, hdr.Get("Access-Control-Allow-Credentials"))
	}
}
