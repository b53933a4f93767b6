package adminui_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/syncgate/syncgate/adminui"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// A trigger file with a declared room and an event the Admin UI may emit.
const triggerFile = `triggers:
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewId}
rooms:
  - view:{viewId}
`

// Secrets a browser socket connects with. None of them may reach the Admin UI.
const (
	bearer      = "tok-SECRET-bearer-7f3a"
	cookieValue = "SECRET-cookie-9b1c"
	queryValue  = "SECRET-query-55e0"
	password    = "correct horse battery staple"
)

// node is one real gateway on loopback: the public listener and the admin listener.
type node struct {
	g       *gateway.Gateway
	public  string // http://127.0.0.1:PORT
	admin   string
	adminLn *http.Server
}

func noEnv(string) (string, bool) { return "", false }

// passwordHash is a bcrypt hash of password (the lowest cost: the tests log in often).
func passwordHash(t testing.TB) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func startNode(t *testing.T, api *testenv.FakeAPI, flags ...string) *node {
	t.Helper()
	set, err := triggers.Parse("adminui.yaml", []byte(triggerFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.ParseConfig(append([]string{"--upstream", api.URL()}, flags...), noEnv)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	pub, adm := testenv.Listen(t), testenv.Listen(t)
	ps := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	as := &http.Server{Handler: g.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ps.Serve(pub) }()
	go func() { _ = as.Serve(adm) }()
	t.Cleanup(func() {
		_ = g.Close()
		_ = ps.Close()
		_ = as.Close()
	})
	return &node{g: g, public: "http://" + pub.Addr().String(), admin: "http://" + adm.Addr().String(), adminLn: as}
}

// browserOpts are a browser's credentials: a bearer token, a cookie, a query parameter and
// the auth payload, all secret.
func browserOpts() map[string]any {
	return map[string]any{
		"extraHeaders": map[string]string{"Authorization": "Bearer " + bearer, "Cookie": "zsid=" + cookieValue},
		"query":        map[string]string{"sig": queryValue},
		"auth":         map[string]string{"token": bearer},
	}
}

func adminOpts(user, pass string) map[string]any {
	return map[string]any{"auth": map[string]string{"username": user, "password": pass}}
}

// serialized is the part of the reference's SerializedSocket the tests read.
type serialized struct {
	ID        string `json:"id"`
	ClientID  string `json:"clientId"`
	Transport string `json:"transport"`
	Nsp       string `json:"nsp"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		Issued  int64             `json:"issued"`
	} `json:"handshake"`
	Rooms []string `json:"rooms"`
}

func wait(t *testing.T, n *testenv.Node, socket, event string) testenv.Event {
	t.Helper()
	ev, err := n.WaitEvent(socket, event, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func argString(t *testing.T, ev testenv.Event, i int) string {
	t.Helper()
	var s string
	if err := ev.Arg(i, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Without --admin-ui-user the namespace exists and refuses everyone, with one stable
// message; other namespaces of the admin listener do not exist at all.
func TestAdminUIDisabledRefusesEveryone(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	nd := startNode(t, api)
	n := testenv.StartNode(t)
	for _, opts := range []map[string]any{nil, adminOpts("admin", password), adminOpts("", "")} {
		ce, err := n.ConnectErr("admin", nd.admin+"/admin", opts)
		if err != nil {
			t.Fatal(err)
		}
		if ce.Message != adminui.ErrDisabled.Error() {
			t.Fatalf("refusal %q, want %q", ce.Message, adminui.ErrDisabled)
		}
	}
	ce, err := n.ConnectErr("other", nd.admin+"/org/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ce.Message != "Invalid namespace" {
		t.Fatalf("/org/1 on the admin listener: %q, want Invalid namespace", ce.Message)
	}
}

// No credentials, a wrong password or a wrong user: "invalid credentials", the reference's
// message (the UI shows its login form on it).
func TestAdminUIRefusesWrongCredentials(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	nd := startNode(t, api, "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t))
	n := testenv.StartNode(t)
	for name, opts := range map[string]map[string]any{
		"none":           nil,
		"wrong password": adminOpts("admin", "Tr0ub4dor&3"),
		"wrong user":     adminOpts("root", password),
		"empty":          adminOpts("", ""),
		"forged session": {"auth": map[string]string{"sessionId": "0123456789abcdef0123456789abcdef"}},
	} {
		ce, err := n.ConnectErr("admin", nd.admin+"/admin", opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ce.Message != adminui.ErrInvalidCredentials.Error() {
			t.Fatalf("%s: refusal %q, want %q", name, ce.Message, adminui.ErrInvalidCredentials)
		}
	}
}

// The reference protocol end to end: the official client logs in to /admin of a real
// gateway's admin listener and sees the sockets that official clients opened on the public
// listener, live; its actions reach them; no credential of theirs ever reaches it.
func TestAdminUIProtocol(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships(bearer, testenv.Membership{Org: 1, Role: "admin"})
	nd := startNode(t, api, "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t))
	n := testenv.StartNode(t)

	alice, err := n.Connect("alice", nd.public+"/org/1", browserOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Connect("admin", nd.admin+"/admin", adminOpts("admin", password)); err != nil {
		t.Fatal(err)
	}

	// The greeting: a session ID, the config, every socket, then the stats.
	session := argString(t, wait(t, n, "admin", "session"), 0)
	if len(session) < 32 {
		t.Fatalf("session ID %q is short", session)
	}
	var config struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	if err := wait(t, n, "admin", "config").Arg(0, &config); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ALL_EVENTS", "AGGREGATED_EVENTS", "DISCONNECT", "JOIN", "LEAVE", "EMIT", "MDISCONNECT"} {
		if !slices.Contains(config.SupportedFeatures, f) {
			t.Errorf("config lacks %s: %v (the UI's socket list needs ALL_EVENTS)", f, config.SupportedFeatures)
		}
	}
	var all []serialized
	if err := wait(t, n, "admin", "all_sockets").Arg(0, &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != alice.Sid || all[0].Nsp != "/org/1" {
		t.Fatalf("all_sockets = %+v, want alice's socket %s in /org/1", all, alice.Sid)
	}
	a := all[0]
	if a.Handshake.Headers["authorization"] != adminui.Redacted || a.Handshake.Headers["cookie"] != adminui.Redacted {
		t.Errorf("credentials not shown as redacted: %v", a.Handshake.Headers)
	}
	if a.Handshake.Query["sig"] != adminui.Redacted {
		t.Errorf("query not redacted: %v", a.Handshake.Query)
	}
	if a.Handshake.Address != "127.0.0.1" || a.Handshake.Issued == 0 || len(a.ClientID) != 12 {
		t.Errorf("handshake address %q issued %d clientId %q", a.Handshake.Address, a.Handshake.Issued, a.ClientID)
	}
	if !slices.Contains(a.Rooms, alice.Sid) {
		t.Errorf("rooms %v lack the socket's own room", a.Rooms)
	}
	var stats struct {
		ServerID     string `json:"serverId"`
		ClientsCount int    `json:"clientsCount"`
		Namespaces   []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}
	if err := wait(t, n, "admin", "server_stats").Arg(0, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.ServerID == "" || stats.ClientsCount != 1 || len(stats.Namespaces) != 1 ||
		stats.Namespaces[0].Name != "/org/1" || stats.Namespaces[0].SocketsCount != 1 {
		t.Errorf("server_stats = %+v, want this node with one socket in /org/1", stats)
	}

	// Live: a new socket, its subscription, its event.
	bob, err := n.Connect("bob", nd.public+"/org/1", browserOpts())
	if err != nil {
		t.Fatal(err)
	}
	var conn serialized
	if err := wait(t, n, "admin", "socket_connected").Arg(0, &conn); err != nil {
		t.Fatal(err)
	}
	if conn.ID != bob.Sid || conn.Handshake.Headers["authorization"] != adminui.Redacted {
		t.Fatalf("socket_connected %+v, want bob (%s), credentials redacted", conn, bob.Sid)
	}
	if conn.Transport == "polling" { // the client upgrades at once: the UI hears of it
		var upd struct{ ID, Nsp, Transport string }
		for i := 0; i < 2 && upd.ID != bob.Sid; i++ { // alice's may come first
			if err := wait(t, n, "admin", "socket_updated").Arg(0, &upd); err != nil {
				t.Fatal(err)
			}
		}
		if upd.ID != bob.Sid || upd.Nsp != "/org/1" || upd.Transport != "websocket" {
			t.Fatalf("socket_updated %+v, want bob on websocket", upd)
		}
	}
	if _, err := n.EmitAck("bob", 0, "subscribe", "view:7"); err != nil {
		t.Fatal(err)
	}
	ev := wait(t, n, "admin", "room_joined")
	if nsp, room, id := argString(t, ev, 0), argString(t, ev, 1), argString(t, ev, 2); nsp != "/org/1" || room != "view:7" || id != bob.Sid {
		t.Fatalf("room_joined(%s, %s, %s), want (/org/1, view:7, %s)", nsp, room, id, bob.Sid)
	}
	// event_received comes on its own queue: before or after room_joined.
	if !hasEvent(n.Events("admin"), "event_received") {
		wait(t, n, "admin", "event_received")
	}
	for _, e := range n.Events("admin") {
		if e.Event != "event_received" {
			continue
		}
		var args []string
		if err := e.Arg(2, &args); err != nil {
			t.Fatal(err)
		}
		if id := argString(t, e, 1); id != bob.Sid || !slices.Equal(args, []string{"subscribe", "view:7"}) {
			t.Fatalf("event_received from %s: %v, want bob's [subscribe view:7]", id, args)
		}
	}

	// Join: a declared room is joined; an undeclared one is refused (the barrier: the next
	// room event is the allowed one, nothing of the refused room before it).
	if err := n.Emit("admin", "join", "/org/1", "secret-room", alice.Sid); err != nil {
		t.Fatal(err)
	}
	if err := n.Emit("admin", "join", "/org/1", "view:9", alice.Sid); err != nil {
		t.Fatal(err)
	}
	ev = wait(t, n, "admin", "room_joined")
	if room, id := argString(t, ev, 1), argString(t, ev, 2); room != "view:9" || id != alice.Sid {
		t.Fatalf("room_joined %s for %s, want view:9 for alice (the undeclared room was refused)", room, id)
	}
	for _, s := range ev.Skipped {
		if s.Event == "room_joined" {
			t.Fatalf("a refused join was reported: %v", s)
		}
	}

	// Emit: only a known event, to one org namespace.
	if err := n.Emit("admin", "emit", "/org/1", "", "not.declared", map[string]any{"viewId": 9}); err != nil {
		t.Fatal(err)
	}
	if err := n.Emit("admin", "emit", "/org/1", "view:9", "view.updated", map[string]any{"viewId": 9}); err != nil {
		t.Fatal(err)
	}
	got := wait(t, n, "alice", "view.updated")
	for _, s := range got.Skipped {
		if s.Event == "not.declared" {
			t.Fatalf("an undeclared event reached alice: %v", s)
		}
	}
	ev = wait(t, n, "admin", "event_sent") // the first event any socket got
	var sent []json.RawMessage
	if err := ev.Arg(2, &sent); err != nil {
		t.Fatal(err)
	}
	if id := argString(t, ev, 1); id != alice.Sid || len(sent) != 2 || string(sent[0]) != `"view.updated"` || string(sent[1]) != `{"viewId":9}` {
		t.Fatalf("event_sent to %s: %s, want alice's view.updated {viewId: 9}", id, sent)
	}

	// Leave: alice leaves view:9.
	if err := n.Emit("admin", "leave", "/org/1", "view:9", alice.Sid); err != nil {
		t.Fatal(err)
	}
	ev = wait(t, n, "admin", "room_left")
	if room, id := argString(t, ev, 1), argString(t, ev, 2); room != "view:9" || id != alice.Sid {
		t.Fatalf("room_left %s for %s, want view:9 for alice", room, id)
	}

	// _disconnect: bob leaves the namespace for good ("io server disconnect").
	if err := n.Emit("admin", "_disconnect", "/org/1", false, bob.Sid); err != nil {
		t.Fatal(err)
	}
	d, err := n.WaitDisconnect("bob", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Reason != "io server disconnect" {
		t.Fatalf("bob disconnected with %q, want io server disconnect", d.Reason)
	}
	ev = wait(t, n, "admin", "socket_disconnected")
	if nsp, id := argString(t, ev, 0), argString(t, ev, 1); nsp != "/org/1" || id != bob.Sid {
		t.Fatalf("socket_disconnected(%s, %s), want bob", nsp, id)
	}
	if st, err := n.State("alice"); err != nil || !st.Connected {
		t.Fatalf("alice should be untouched: %+v %v", st, err)
	}

	// A reload of the UI logs in again with the session ID alone.
	if _, err := n.Connect("admin2", nd.admin+"/admin", map[string]any{"auth": map[string]string{"sessionId": session}}); err != nil {
		t.Fatalf("login with the session ID: %v", err)
	}
	wait(t, n, "admin2", "all_sockets")

	// Nothing the admins got carries a credential.
	for _, who := range []string{"admin", "admin2"} {
		for _, e := range n.Events(who) {
			raw := e.String()
			for _, secret := range []string{bearer, cookieValue, queryValue, password} {
				if strings.Contains(raw, secret) {
					t.Fatalf("%s got a credential in %s", who, raw)
				}
			}
		}
	}
}

// With several nodes each admin listener answers for its own node, under its own serverId
// (the node ID of the status page), as the reference does; an emit reaches the org on
// every node.
func TestAdminUIEachNodeAnswersForItself(t *testing.T) {
	rdb := testenv.StartRedis(t)
	api := testenv.NewFakeAPI(t)
	api.SetMemberships(bearer, testenv.Membership{Org: 1, Role: "admin"})
	flags := []string{"--redis", rdb.URL(), "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t)}
	a, b := startNode(t, api, flags...), startNode(t, api, flags...)
	n := testenv.StartNode(t)
	onA, err := n.Connect("onA", a.public+"/org/1", browserOpts())
	if err != nil {
		t.Fatal(err)
	}
	onB, err := n.Connect("onB", b.public+"/org/1", browserOpts())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for name, nd := range map[string]*node{"adminA": a, "adminB": b} {
		if _, err := n.Connect(name, nd.admin+"/admin", adminOpts("admin", password)); err != nil {
			t.Fatal(err)
		}
		var all []serialized
		if err := wait(t, n, name, "all_sockets").Arg(0, &all); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"adminA": onA.Sid, "adminB": onB.Sid}[name]
		if len(all) != 1 || all[0].ID != want {
			t.Fatalf("%s lists %+v, want only its node's socket %s", name, all, want)
		}
		var stats struct {
			ServerID string `json:"serverId"`
		}
		if err := wait(t, n, name, "server_stats").Arg(0, &stats); err != nil {
			t.Fatal(err)
		}
		ids[name] = stats.ServerID
	}
	if ids["adminA"] == "" || ids["adminA"] == ids["adminB"] {
		t.Fatalf("serverIds %v: want one per node", ids)
	}
	if err := n.Emit("adminA", "emit", "/org/1", "", "view.updated", map[string]any{"viewId": 3}); err != nil {
		t.Fatal(err)
	}
	wait(t, n, "onA", "view.updated")
	wait(t, n, "onB", "view.updated")
}

// A UI on long-polling holds a request open on the admin listener: draining the gateway
// (SIGTERM) closes it, so the admin listener's graceful Shutdown is not held up.
func TestAdminUIDrainClosesPollingAdmins(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	nd := startNode(t, api, "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t))
	n := testenv.StartNode(t)
	opts := adminOpts("admin", password)
	opts["transports"] = []string{"polling"}
	if _, err := n.Connect("admin", nd.admin+"/admin", opts); err != nil {
		t.Fatal(err)
	}
	wait(t, n, "admin", "all_sockets") // connected and polling
	nd.g.Drain()
	if _, err := n.WaitDisconnect("admin", 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := nd.adminLn.Shutdown(ctx); err != nil {
		t.Fatalf("admin listener shutdown after drain: %v", err)
	}
}

func hasEvent(evs []testenv.Event, name string) bool {
	for _, e := range evs {
		if e.Event == name {
			return true
		}
	}
	return false
}

// The hosted UI's origin gets CORS with credentials, and private network access on a
// preflight that asks for it; any other origin gets neither.
func TestAdminUIOrigins(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	nd := startNode(t, api, "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t),
		"--admin-ui-origins", "https://admin.socket.io")
	for origin, allowed := range map[string]bool{"https://admin.socket.io": true, "https://evil.example": false} {
		req, _ := http.NewRequest(http.MethodOptions, nd.admin+"/socket.io/?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Private-Network", "true")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		gotOrigin := res.Header.Get("Access-Control-Allow-Origin")
		pna := res.Header.Get("Access-Control-Allow-Private-Network")
		creds := res.Header.Get("Access-Control-Allow-Credentials")
		if allowed && (gotOrigin != origin || pna != "true" || creds != "true") {
			t.Errorf("%s: status %d, allow-origin %q, private network %q, credentials %q", origin, res.StatusCode, gotOrigin, pna, creds)
		}
		if !allowed && (gotOrigin != "" || pna != "" || res.StatusCode != http.StatusForbidden) {
			t.Errorf("%s: status %d, allow-origin %q, private network %q: want 403 and no grant", origin, res.StatusCode, gotOrigin, pna)
		}
	}
}

// The flags go together, and the hash must be bcrypt.
func TestAdminUIFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--admin-ui-user", "admin"},
		{"--admin-ui-password-hash", passwordHash(t)},
		{"--admin-ui-user", "admin", "--admin-ui-password-hash", "plaintext"},
		{"--admin-ui-origins", "https://admin.socket.io/path"},
	} {
		if _, err := gateway.ParseConfig(append([]string{"--upstream", "http://127.0.0.1:1"}, args...), noEnv); err == nil {
			t.Errorf("ParseConfig(%q) accepted", args)
		}
	}
	vars := map[string]string{"SYNCGATE_ADMIN_UI_USER": "admin", "SYNCGATE_ADMIN_UI_PASSWORD_HASH": passwordHash(t)}
	env := func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
	cfg, err := gateway.ParseConfig([]string{"--upstream", "http://127.0.0.1:1"}, env)
	if err != nil || cfg.AdminUIUser != "admin" {
		t.Fatalf("from the environment: %+v %v", cfg.AdminUIUser, err)
	}
}

// With --admin-ui-read-only the UI lists everything but may not act: the config offers no
// action, and an action sent anyway (a UI or script that ignores the config) does nothing.
func TestAdminUIReadOnlyLooksButDoesNotAct(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships(bearer, testenv.Membership{Org: 1, Role: "admin"})
	nd := startNode(t, api, "--admin-ui-user", "admin", "--admin-ui-password-hash", passwordHash(t), "--admin-ui-read-only")
	n := testenv.StartNode(t)
	alice, err := n.Connect("alice", nd.public+"/org/1", browserOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Connect("admin", nd.admin+"/admin", adminOpts("admin", password)); err != nil {
		t.Fatal(err)
	}
	var config struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	if err := wait(t, n, "admin", "config").Arg(0, &config); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(config.SupportedFeatures, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}) {
		t.Fatalf("read-only config offers %v, want only the event lists", config.SupportedFeatures)
	}
	var all []serialized
	if err := wait(t, n, "admin", "all_sockets").Arg(0, &all); err != nil || len(all) != 1 || all[0].ID != alice.Sid {
		t.Fatalf("all_sockets = %+v (%v), want alice's socket listed", all, err)
	}
	for _, action := range [][]any{{"_disconnect", "/org/1", true, alice.Sid}, {"leave", "/org/1", alice.Sid, alice.Sid}} {
		if err := n.Emit("admin", action[0].(string), action[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing to await for an action that must not happen: give it a second (a carried-out
	// disconnect reaches alice within milliseconds).
	if d, err := n.WaitDisconnect("alice", time.Second); err == nil {
		t.Fatalf("alice disconnected by a read-only UI: %v", d)
	}
	if st, err := n.State("alice"); err != nil || !st.Connected {
		t.Fatalf("alice after a read-only UI's actions: %+v %v, want connected", st, err)
	}
}
