package hostile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/internal/testenv"
)

// The classic attacks: they hold since before issue 13 and must keep holding.

// refusal connects socket name with the official client and returns its connect_error.
func (g *gw) refusal(name, nsp string, opts map[string]any) string {
	g.t.Helper()
	ce, err := g.Node().ConnectErr(name, g.base+nsp, opts)
	if err != nil {
		g.t.Fatalf("socket %s to %s: %v", name, nsp, err)
	}
	return ce.Message
}

// A member of org 1 asking for org 2 would read another organization's events.
func TestCrossOrgJoinRefused(t *testing.T) {
	g := startGateway(t)
	if msg := g.refusal("x", "/org/2", sockOpts("alice")); msg != "forbidden" {
		t.Fatalf("alice joining org 2: connect_error %q, want forbidden", msg)
	}
	g.healthy()
}

// The same, multiplexed on a connection already admitted to org 1: admission is per
// namespace, not per connection.
func TestCrossOrgJoinMultiplexedRefused(t *testing.T) {
	g := startGateway(t)
	s := g.openSIO("127.0.0.1", http.Header{"Cookie": {"zsid=alice"}})
	if msg, err := s.connect("/org/1", ""); err != nil || msg != "" {
		t.Fatalf("org 1: %q %v, want admitted", msg, err)
	}
	if msg, err := s.connect("/org/2", ""); err != nil || msg != "forbidden" {
		t.Fatalf("org 2 on the admitted connection: %q %v, want forbidden", msg, err)
	}
	// The connection's org-1 socket still works, and only org 1's event reaches it.
	g.apiDo("PUT", "/api/orgs/2/people/views/1/rows/1", map[string]string{"Cookie": "zsid=carol"}, "")
	g.apiDo("PUT", "/api/orgs/1/people/views/1/rows/2", map[string]string{"Cookie": "zsid=alice"}, "")
	m, err := s.read(5 * time.Second)
	if err != nil || !strings.HasPrefix(m, `42/org/1,["personview.addrow",{"personId":2`) {
		t.Fatalf("first packet after both PUTs: %q %v, want org 1's event only", m, err)
	}
	g.healthy()
}

// A socket without any credential must not reach the upstream as someone.
func TestAbsentCredentialsRefused(t *testing.T) {
	g := startGateway(t)
	if msg := g.refusal("x", "/org/1", sockOpts("")); msg != "unauthorized" {
		t.Fatalf("no credentials: connect_error %q, want unauthorized", msg)
	}
	g.healthy()
}

// A made-up session cookie must be checked upstream, not trusted.
func TestForgedCookieRefused(t *testing.T) {
	g := startGateway(t)
	if msg := g.refusal("x", "/org/1", sockOpts("forged-session")); msg != "unauthorized" {
		t.Fatalf("forged cookie: connect_error %q, want unauthorized", msg)
	}
	g.healthy()
}

// A made-up auth.token (sent upstream as a bearer token) must be refused.
func TestForgedTokenRefused(t *testing.T) {
	g := startGateway(t)
	o := sockOpts("")
	o["auth"] = map[string]string{"token": "forged-token"}
	if msg := g.refusal("x", "/org/1", o); msg != "unauthorized" {
		t.Fatalf("forged token: connect_error %q, want unauthorized", msg)
	}
	g.healthy()
}

// A follower (null role) would see an org's internal events.
func TestFollowerRoleRefused(t *testing.T) {
	g := startGateway(t)
	if msg := g.refusal("x", "/org/1", sockOpts("dave")); msg != "forbidden" {
		t.Fatalf("follower: connect_error %q, want forbidden", msg)
	}
	g.healthy()
}

// A namespace outside {prefix}/{ID}, or another spelling of an org's ID, could alias an org.
// With text org IDs (the default) "01" and "-1" are orgs of their own, not org 1: alice, a
// member of 1 only, is refused there; with integer IDs they are not namespaces at all.
func TestInvalidNamespaceRefused(t *testing.T) {
	for _, c := range []struct {
		format  string
		refused map[string]string
	}{
		{"text", map[string]string{"/admin": "Invalid namespace", "/org/1/x": "Invalid namespace", "/org/a.b": "Invalid namespace",
			"/org/%31": "Invalid namespace", "/org/": "Invalid namespace", "/org/01": "forbidden", "/org/-1": "forbidden", "/org/1 ": "Invalid namespace"}},
		{"integer", map[string]string{"/admin": "Invalid namespace", "/org/01": "Invalid namespace", "/org/1/x": "Invalid namespace",
			"/org/-1": "Invalid namespace", "/org/acme": "Invalid namespace"}},
	} {
		t.Run(c.format, func(t *testing.T) {
			g := startGateway(t, "--org-id-format", c.format)
			i := 0
			for nsp, want := range c.refused {
				i++
				if msg := g.refusal(fmt.Sprint("x", i), nsp, sockOpts("alice")); msg != want {
					t.Fatalf("%q: connect_error %q, want %q", nsp, msg, want)
				}
			}
			g.healthy()
		})
	}
}

// A page on another origin would ride the user's cookies (cross-site websocket hijacking),
// here over long-polling.
func TestBadOriginPollingRefused(t *testing.T) {
	g := startGateway(t)
	st, body, sid := g.pollOpen(map[string]string{"Origin": "http://evil.example", "Cookie": "zsid=alice"})
	if st != 403 || sid != "" || !strings.Contains(body, `"code":4`) {
		t.Fatalf("polling handshake from a foreign origin: %d %q, want 403 and no session", st, body)
	}
	g.healthy()
}

// The same over websocket.
func TestBadOriginWebsocketRefused(t *testing.T) {
	g := startGateway(t)
	ws, resp, err := g.dialWS("127.0.0.1", http.Header{"Origin": {"http://evil.example"}, "Cookie": {"zsid=alice"}})
	if err == nil {
		ws.Close()
		t.Fatal("websocket from a foreign origin was upgraded")
	}
	if resp == nil || resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("websocket from a foreign origin: %v %v, want 403 without a CORS grant", resp, err)
	}
	g.healthy()
}

// A polling body over --max-payload would make the server buffer whatever it is sent.
func TestOversizePollingPayloadRefused(t *testing.T) {
	g := startGateway(t)
	_, _, sid := g.pollOpen(nil)
	if sid == "" {
		t.Fatal("no polling session")
	}
	st, _ := g.do(http.DefaultClient, g.pollURL(sid), "POST", nil, "4"+strings.Repeat("x", maxPayload+10))
	if st != 413 {
		t.Fatalf("POST over --max-payload: %d, want 413", st)
	}
	if st, body := g.do(http.DefaultClient, g.pollURL(sid), "GET", nil, ""); st != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("session after the oversize POST: %d %q, want it closed", st, body)
	}
	g.healthy()
}

// The same over websocket: one message over --max-payload.
func TestOversizeWebsocketMessageClosed(t *testing.T) {
	g := startGateway(t)
	s := g.openSIO("127.0.0.1", nil)
	_ = s.send("4" + strings.Repeat("x", maxPayload+10))
	if err := s.closedWithin(5 * time.Second); err != nil {
		t.Fatalf("websocket message over --max-payload: %v", err)
	}
	g.healthy()
}

// Garbage where an Engine.IO packet type should be: a parser that guesses could be tricked.
func TestMalformedEngineIOPacketPollingRefused(t *testing.T) {
	g := startGateway(t)
	_, _, sid := g.pollOpen(nil)
	if st, _ := g.do(http.DefaultClient, g.pollURL(sid), "POST", nil, "zzz\x1e\x00\x01"); st != 400 {
		t.Fatalf("malformed polling payload: %d, want 400", st)
	}
	if st, _ := g.do(http.DefaultClient, g.pollURL(sid), "GET", nil, ""); st != 400 {
		t.Fatalf("session after a malformed payload: %d, want it closed (400)", st)
	}
	g.healthy()
}

// The same over websocket.
func TestMalformedEngineIOPacketWebsocketClosed(t *testing.T) {
	g := startGateway(t)
	s := g.openSIO("127.0.0.1", nil)
	_ = s.send("9garbage")
	if err := s.closedWithin(5 * time.Second); err != nil {
		t.Fatalf("unknown Engine.IO packet type: %v", err)
	}
	g.healthy()
}

// Malformed Socket.IO packets inside valid Engine.IO messages: bad type, bad JSON, an
// attachment count no server could hold.
func TestMalformedSocketIOPacketsClosed(t *testing.T) {
	g := startGateway(t)
	for _, pkt := range []string{
		"49/org/1,",                   // no such Socket.IO type
		`40/org/1,{"token":`,          // truncated JSON
		`42/org/1,{"not":"an array"}`, // an event that is not an array
		`4999999999999-/org/1,["e"]`,  // absurd attachment count
	} {
		s := g.openSIO("127.0.0.1", http.Header{"Cookie": {"zsid=alice"}})
		if msg, err := s.connect("/org/1", ""); err != nil || msg != "" {
			t.Fatalf("org 1: %q %v", msg, err)
		}
		_ = s.send(pkt)
		if err := s.closedWithin(5 * time.Second); err != nil {
			t.Fatalf("packet %q: %v", pkt, err)
		}
	}
	g.healthy()
}

// A made-up sid must not reach another client's session.
func TestUnknownSidRefused(t *testing.T) {
	g := startGateway(t)
	for _, m := range []string{"GET", "POST"} {
		st, body := g.do(http.DefaultClient, g.pollURL("AAAAAAAAAAAAAAAAAAAA"), m, nil, "40/org/1,")
		if st != 400 || !strings.Contains(body, "Session ID unknown") {
			t.Fatalf("%s unknown sid: %d %q", m, st, body)
		}
	}
	ws, resp, err := websocket.DefaultDialer.Dial(g.wsURL()+"&sid=AAAAAAAAAAAAAAAAAAAA", nil)
	if err == nil {
		ws.Close()
		t.Fatal("websocket upgrade of an unknown sid accepted")
	}
	if resp == nil || resp.StatusCode != 400 {
		t.Fatalf("websocket upgrade of an unknown sid: %v %v, want 400", resp, err)
	}
	g.healthy()
}

// Each namespace on a connection may cost an upstream call and memory: more than 32 on one
// connection are refused.
func TestNamespaceFloodRefused(t *testing.T) {
	g := startGateway(t)
	s := g.openSIO("127.0.0.1", http.Header{"Cookie": {"zsid=multi"}})
	for i := 1; i <= 32; i++ {
		if msg, err := s.connect(fmt.Sprintf("/org/%d", i), ""); err != nil || msg != "" {
			t.Fatalf("namespace %d of 32: %q %v, want admitted", i, msg, err)
		}
	}
	for i := 33; i <= 36; i++ {
		msg, err := s.connect(fmt.Sprintf("/org/%d", i), "")
		if err != nil || msg == "" {
			t.Fatalf("namespace %d: %q %v, want a connect_error", i, msg, err)
		}
	}
	if c := g.memberCalls(); c > 32 {
		t.Fatalf("%d membership calls for one credential", c)
	}
	g.healthy()
}

// CR/LF in a token would inject headers into the upstream membership call.
func TestCRLFInTokenRefused(t *testing.T) {
	g := startGateway(t)
	o := sockOpts("")
	o["auth"] = map[string]string{"token": "alice\r\nX-Injected: 1"}
	if msg := g.refusal("x", "/org/1", o); msg != "unauthorized" {
		t.Fatalf("CRLF token: connect_error %q, want unauthorized", msg)
	}
	for _, r := range g.api.Requests() {
		if r.Header.Get("X-Injected") != "" {
			t.Fatalf("a header was injected upstream: %v", r.Header)
		}
	}
	if c := g.memberCalls(); c != 0 {
		t.Fatalf("%d membership calls for an unusable credential, want 0", c)
	}
	g.healthy()
}

// A bare CR in a request header is a request-smuggling vector; the server must refuse it.
func TestCRInRequestHeaderRejected(t *testing.T) {
	g := startGateway(t)
	resp, _, err := g.raw("GET /api/orgs/1/people HTTP/1.1", "Cookie: zsid=alice\rX-Injected: 1")
	if err == nil && resp.StatusCode != 400 {
		t.Fatalf("bare CR in a header: %d, want 400", resp.StatusCode)
	}
	if n := len(g.api.Requests()); n != 0 {
		t.Fatalf("%d requests reached the upstream", n)
	}
	g.healthy()
}

// Handshake headers past net/http's limit must not be buffered.
func TestOversizeHeadersRejected(t *testing.T) {
	g := startGateway(t)
	resp, _, err := g.raw("GET /socket.io/?EIO=4&transport=polling HTTP/1.1", "X-Big: "+strings.Repeat("a", 2<<20))
	if err == nil && resp.StatusCode != 431 {
		t.Fatalf("2 MB header: %d, want 431", resp.StatusCode)
	}
	g.healthy()
}

// traversalAPI checks that path must not reach anything upstream outside the API.
func traversalAPI(t *testing.T, g *gw, path string) {
	t.Helper()
	resp, body, err := g.raw("GET " + path + " HTTP/1.1")
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Logf("GET %s: %d %s", path, resp.StatusCode, strings.TrimSpace(body))
	if resp.StatusCode/100 == 2 {
		t.Fatalf("GET %s: %d %q, want a refusal", path, resp.StatusCode, body)
	}
	for _, r := range g.api.Requests() {
		if strings.Contains(r.Path, "..") || strings.Contains(r.Path, "admin") || strings.Contains(strings.ToLower(r.Path), "%2e") {
			t.Fatalf("GET %s reached the upstream as %q", path, r.Path)
		}
	}
}

// /api/../admin would escape the API prefix upstream.
func TestAPIPathTraversalRefused(t *testing.T) {
	g := startGateway(t)
	traversalAPI(t, g, "/api/../admin")
	g.healthy()
}

// The same, percent-encoded.
func TestAPIEncodedPathTraversalRefused(t *testing.T) {
	g := startGateway(t)
	traversalAPI(t, g, "/api/%2e%2e/x")
	g.healthy()
}

// An upstream outage must not admit anyone (fail closed) nor take the gateway down.
func TestUpstreamDownFailsClosed(t *testing.T) {
	g := startGateway(t)
	g.api.SetDown()
	if msg := g.refusal("x", "/org/1", sockOpts("alice")); msg != "unavailable" {
		t.Fatalf("upstream down: connect_error %q, want unavailable", msg)
	}
	g.api.SetUp()
	g.healthy()
}

// A 5xx or a malformed memberships answer must not be read as "member".
func TestUpstreamBadMembershipAnswerFailsClosed(t *testing.T) {
	g := startGateway(t)
	g.api.SetStatus("/users/me/memberships", 500)
	if msg := g.refusal("x", "/org/1", sockOpts("alice")); msg != "unavailable" {
		t.Fatalf("upstream 500: connect_error %q, want unavailable", msg)
	}
	g.api.SetStatus("/users/me/memberships", 0)
	// A malformed answer for one credential; everyone else gets a well-formed one (alice's).
	g.api.HandleFunc("GET", "/users/me/memberships", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if testenv.Credential(r) == "someone-new" {
			_, _ = io.WriteString(w, `{"data":"org 1, trust me"}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":[{"organization":{"id":1,"title":"Org 1"},"role":"admin","profile":{"id":1,"name":"A"},"follow":true}]}`)
	})
	o := sockOpts("")
	o["auth"] = map[string]string{"token": "someone-new"}
	if msg := g.refusal("y", "/org/1", o); msg != "unavailable" {
		t.Fatalf("malformed memberships: connect_error %q, want unavailable", msg)
	}
	g.healthy()
}

// A mutation the upstream refused must fire nothing: events would leak changes that never
// happened.
func TestNon2xxMutationFiresNothing(t *testing.T) {
	g := startGateway(t)
	n := g.Node()
	if _, err := n.Connect("b", g.base+"/org/1", sockOpts("alice")); err != nil {
		t.Fatal(err)
	}
	g.api.Handle("PUT", "/orgs/1/people/views/1/rows/66", 403, `{"error":"Forbidden"}`)
	if st, _ := g.apiDo("PUT", "/api/orgs/1/people/views/1/rows/66", map[string]string{"Cookie": "zsid=alice"}, ""); st != 403 {
		t.Fatalf("refused PUT answered %d, want the upstream's 403", st)
	}
	g.api.SetDown()
	if st, _ := g.apiDo("PUT", "/api/orgs/1/people/views/1/rows/67", map[string]string{"Cookie": "zsid=alice"}, ""); st != 502 {
		t.Fatalf("PUT with the upstream down answered %d, want 502", st)
	}
	g.api.SetUp()
	g.apiDo("PUT", "/api/orgs/1/people/views/1/rows/68", map[string]string{"Cookie": "zsid=alice"}, "")
	ev, err := n.WaitEvent("b", "personview.addrow", 0)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ PersonID int }
	if _ = ev.Arg(0, &d); d.PersonID != 68 || len(ev.Skipped) != 0 {
		t.Fatalf("first event %v (skipped %v), want only row 68's", ev, ev.Skipped)
	}
	g.healthy()
}

// The publish API fires events into any org: a wrong or missing token must fire nothing.
func TestPublishAPIBadTokenRefused(t *testing.T) {
	g := startGateway(t)
	n := g.Node()
	if _, err := n.Connect("b", g.base+"/org/1", sockOpts("alice")); err != nil {
		t.Fatal(err)
	}
	body := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":%d}}`
	for i, hdr := range []map[string]string{
		{"Authorization": "Bearer wrong-token-0123456789abcdef"},
		{},
		{"Authorization": "Bearer " + adminToken + "x"},
		{"Authorization": "Basic " + adminToken},
	} {
		if st, b := g.adminDo("POST", "/v1/publish", hdr, fmt.Sprintf(body, 70+i)); st != 401 {
			t.Fatalf("publish with %v: %d %s, want 401", hdr, st, b)
		}
	}
	if st, b := g.adminDo("POST", "/v1/publish", map[string]string{"Authorization": "Bearer " + adminToken}, fmt.Sprintf(body, 99)); st != 200 {
		t.Fatalf("publish with the token: %d %s", st, b)
	}
	ev, err := n.WaitEvent("b", "personview.addrow", 0)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ PersonID int }
	if _ = ev.Arg(0, &d); d.PersonID != 99 || len(ev.Skipped) != 0 {
		t.Fatalf("first event %v (skipped %v), want only the authorized publish", ev, ev.Skipped)
	}
	g.healthy()
}

// A client event with a field it did not declare could smuggle data to the org.
func TestClientEventUndeclaredFieldDropped(t *testing.T) {
	g := startGateway(t)
	n := g.Node()
	for _, s := range []string{"a", "b"} {
		if _, err := n.Connect(s, g.base+"/org/1", sockOpts("alice")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		event string
		arg   any
		want  string
	}{
		{"view.cell.select", map[string]any{"viewId": 1, "rowId": 2, "note": "hello"}, "malformed"},
		{"view.cell.select", map[string]any{"viewId": 1, "rowId": "<script>"}, "malformed"},
		{"view.cell.select", map[string]any{"viewId": 1, "rowId": map[string]int{"x": 1}}, "malformed"},
		{"chat.message", map[string]any{"text": "hi"}, "undeclared"},
	} {
		ack, err := n.EmitAck("a", 0, c.event, c.arg)
		if err != nil || len(ack) != 1 || !strings.Contains(string(ack[0]), `"ok":false`) || !strings.Contains(string(ack[0]), c.want) {
			t.Fatalf("emit %s %v: ack %s %v, want {ok:false, error:%q}", c.event, c.arg, ack, err, c.want)
		}
	}
	if _, err := n.EmitAck("a", 0, "view.cell.select", map[string]any{"viewId": 1, "rowId": 3}); err != nil {
		t.Fatal(err)
	}
	ev, err := n.WaitEvent("b", "view.cell.select", 0)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ RowID int }
	if _ = ev.Arg(0, &d); d.RowID != 3 || len(ev.Skipped) != 0 || strings.Contains(string(ev.Args[0]), "note") {
		t.Fatalf("socket b got %v (skipped %v), want only the valid event", ev, ev.Skipped)
	}
	g.healthy()
}

// Refused admissions must cost the attacker, not the upstream: with a credential nobody
// knows, each distinct random token may reach the upstream once, never twice.
func TestRandomTokenRetriesNotCachedAsMember(t *testing.T) {
	g := startGateway(t)
	s := g.openSIO("127.0.0.1", nil)
	tok := randToken()
	for i := 0; i < 3; i++ {
		msg, err := s.connect("/org/1", tok)
		if err != nil {
			break // closed for too many failures: also a refusal
		}
		if msg != "unauthorized" {
			t.Fatalf("unknown token attempt %d: %q, want unauthorized", i, msg)
		}
	}
	if c := g.memberCalls(); c > 1 {
		t.Fatalf("%d membership calls for one unknown token, want at most 1 (negative cache)", c)
	}
	g.healthy()
}

// A second concurrent long-poll GET on one session would let two parties read one stream.
// Two GETs race: one parks, the other is refused with 400 and the session ends, which
// answers the parked one too.
func TestConcurrentPollingGetRefused(t *testing.T) {
	g := startGateway(t)
	_, _, sid := g.pollOpen(nil)
	statuses := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			c := &http.Client{Timeout: 10 * time.Second}
			resp, err := c.Get(g.pollURL(sid))
			if err != nil {
				statuses <- -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	a, b := <-statuses, <-statuses
	if (a != 400 && b != 400) || a == -1 || b == -1 {
		t.Fatalf("two concurrent GETs answered %d and %d, want one 400 and both answered", a, b)
	}
	if st, _ := g.do(http.DefaultClient, g.pollURL(sid), "GET", nil, ""); st != 400 {
		t.Fatalf("session after two concurrent GETs: %d, want it closed (400)", st)
	}
	g.healthy()
}

// An Engine.IO handshake with the wrong protocol version or transport must not create a
// session.
func TestBadHandshakeParametersRefused(t *testing.T) {
	g := startGateway(t)
	for _, q := range []string{"EIO=3&transport=polling", "EIO=4&transport=flashsocket", "EIO=4", ""} {
		st, body := g.do(http.DefaultClient, g.base+"/socket.io/?"+q, "GET", nil, "")
		if st != 400 || strings.Contains(body, `"sid"`) {
			t.Fatalf("handshake ?%s: %d %q, want 400 and no session", q, st, body)
		}
	}
	if st, _ := g.do(http.DefaultClient, g.base+"/socket.io/?EIO=4&transport=polling", "POST", nil, "40"); st != 400 {
		t.Fatalf("POST handshake: %d, want 400", st)
	}
	g.healthy()
}

// An event spoofing X-Socket-ID of another user's socket must not silence that socket.
func TestForeignSocketIDSkipIgnored(t *testing.T) {
	g := startGateway(t)
	n := g.Node()
	res, err := n.Connect("b", g.base+"/org/1", sockOpts("alice"))
	if err != nil {
		t.Fatal(err)
	}
	g.api.SetMemberships("mallory", testenv.Membership{Org: 1, Role: "admin"})
	g.apiDo("PUT", "/api/orgs/1/people/views/1/rows/5", map[string]string{"Cookie": "zsid=mallory", "X-Socket-ID": res.Sid}, "")
	ev, err := n.WaitEvent("b", "personview.addrow", 0)
	if err != nil {
		t.Fatalf("alice's socket was silenced by mallory's X-Socket-ID: %v", err)
	}
	var d struct{ PersonID int }
	if _ = ev.Arg(0, &d); d.PersonID != 5 {
		t.Fatalf("event %v", ev)
	}
	g.healthy()
}

// randToken is a random credential nobody has.
func randToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// A user who lost the org keeps an open socket, and its events, unless memberships are
// re-checked.
func TestRevokedMemberDisconnected(t *testing.T) {
	g := startGateway(t, "--membership-ttl", "1s")
	g.api.SetMemberships("bob", testenv.Membership{Org: 1, Role: "admin"})
	n := g.Node()
	if _, err := n.Connect("bob", g.base+"/org/1", sockOpts("bob")); err != nil {
		t.Fatal(err)
	}
	g.api.SetMemberships("bob") // known, in no org
	ev, err := n.WaitEvent("bob", "revoked", 10*time.Second)
	if err != nil {
		t.Fatalf("no revoked event within 10s of losing the org (TTL 1s): %v", err)
	}
	if !strings.Contains(string(ev.Args[0]), "forbidden") {
		t.Fatalf("revoked %v, want reason forbidden", ev)
	}
	d, err := n.WaitNotice("bob", testenv.TypeDisconnect, 10*time.Second)
	if err != nil || d.Reason != "io server disconnect" {
		t.Fatalf("after revoked: %v %v, want the server's disconnect", d, err)
	}
	g.healthy()
}

// A socket spraying client events would fan out to the whole org; past twice the burst
// dropped it is disconnected.
func TestClientEventFloodDisconnected(t *testing.T) {
	g := startGateway(t, "--client-event-rate", "1", "--client-event-burst", "5")
	n := g.Node()
	if _, err := n.Connect("a", g.base+"/org/1", sockOpts("alice")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if err := n.Emit("a", "view.cell.select", map[string]any{"viewId": 1, "rowId": i + 1}); err != nil {
			break // already disconnected
		}
	}
	d, err := n.WaitNotice("a", testenv.TypeDisconnect, 10*time.Second)
	if err != nil || d.Reason != "io server disconnect" {
		t.Fatalf("flooding socket: %v %v, want the server's disconnect", d, err)
	}
	g.healthy()
}
