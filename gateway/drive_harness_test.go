package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// The Drive feature (--drive) runs against three real servers on loopback: oauthtest (the
// identity provider, one login per user), a FakeAPI upstream whose memberships answer
// depends on whose token calls it, and fakedrive, which knows users by the same tokens. Both
// learn a token's user the way a resource server would: they ask the provider's userinfo
// endpoint. Each test logs in several users (one browser each) and opens their sockets with
// the real socket.io-client.

// driveScope is the Drive scope the gateway asks for in these tests, as the README tells.
const driveScope = "https://www.googleapis.com/auth/drive.metadata.readonly"

// driveEnv is a sessionEnv whose users belong to different orgs, plus a fake Drive.
type driveEnv struct {
	*sessionEnv
	drive *fakedrive.Server
	orgs  map[string]int // user (subject) → the one org it belongs to
	who   *http.Client
}

// newDriveEnv starts the provider, the fake Drive and an upstream where user u is a member
// of orgs[u] only (and unknown tokens get 401).
func newDriveEnv(t *testing.T, orgs map[string]int) *driveEnv {
	t.Helper()
	e := &driveEnv{
		sessionEnv: &sessionEnv{t: t, idp: oauthtest.Start(t, oauthtest.Config{}), api: testenv.NewFakeAPI(t)},
		orgs:       orgs,
		who:        &http.Client{Timeout: 5 * time.Second},
	}
	t.Cleanup(e.who.CloseIdleConnections)
	e.drive = fakedrive.Start(t, fakedrive.Config{Authenticate: e.subject})
	e.api.HandleFunc("GET", "/users/me/memberships", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		user, ok := e.subject(tok)
		if !ok || e.orgs[user] == 0 {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"Unauthorized"}`)
			return
		}
		_, _ = fmt.Fprintf(w, `{"data":[{"organization":{"id":%d,"title":"Org %d"},"role":"admin","profile":{"id":7,"name":%q},"follow":true}]}`,
			e.orgs[user], e.orgs[user], user)
	})
	e.api.HandleFunc("*", "/orgs/*/people/views/*/rows/*", e.guard(`{"data":{}}`))
	return e
}

// subject returns the user of an access token the provider issued and still honours, by
// asking its userinfo endpoint.
func (e *driveEnv) subject(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	req, err := http.NewRequestWithContext(context.Background(), "GET", e.idp.UserinfoURL(), nil)
	if err != nil {
		return "", false
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.who.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var u oauthtest.User
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&u) != nil || u.Subject == "" {
		return "", false
	}
	return u.Subject, true
}

// startDriveNode starts a gateway in session mode with --drive (a Drive scope requested)
// whose Drive clients talk to the fake Drive; extra flags are appended (later flags win).
// With --drive-endpoint among them the gateway builds its Drive clients from that flag, as
// in production; otherwise the test hands it clients for the fake Drive.
func (e *driveEnv) startDriveNode(extra ...string) *sessionNode {
	e.t.Helper()
	ln := testenv.Listen(e.t)
	n := &sessionNode{t: e.t, env: e.sessionEnv, addr: ln.Addr().String()}
	n.base = "http://" + n.addr
	e.idp.AddRedirectURL(n.base + "/auth/callback")
	n.flags = append([]string{
		"--upstream", e.api.URL(),
		"--auth", "session",
		"--drive",
		"--oauth-scopes", "openid,email,profile," + driveScope,
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
	cfg, err := gateway.ParseConfig(n.flags, noEnv)
	if err != nil {
		_ = ln.Close()
		e.t.Fatalf("ParseConfig(%q): %v", n.flags, err)
	}
	landing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, landingBody)
	})
	gopts := gateway.Options{
		Triggers:     pocTriggers(e.t),
		Root:         landing,
		Logger:       slog.New(slog.DiscardHandler),
		DriveService: drive.EndpointService(e.drive.Endpoint(), nil),
	}
	if cfg.DriveEndpoint != "" { // the flag names the fake Drive: the gateway builds its own clients
		gopts.DriveService = nil
	}
	g, err := gateway.New(cfg, gopts)
	if err != nil {
		_ = ln.Close()
		e.t.Fatalf("gateway.New: %v", err)
	}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	n.g, n.srv = g, srv
	e.t.Cleanup(n.stop)
	return n
}

// loginAs logs user in through node n in a browser of its own and returns the browser and
// its session cookie.
func (e *driveEnv) loginAs(n *sessionNode, user string) (*browser, string) {
	e.t.Helper()
	e.idp.SetUser(oauthtest.User{Subject: user, Email: user + "@example.test", Name: user})
	b := newBrowser(e.t)
	b.login(n)
	sess := b.cookie(n)
	if sess == "" {
		e.t.Fatalf("login of %s set no session cookie", user)
	}
	return b, sess
}

// driveAck is the acknowledgement of drive.watch, drive.unwatch and drive.list.
type driveAck struct {
	OK      bool         `json:"ok"`
	Error   string       `json:"error"`
	Version int64        `json:"version"`
	Files   []drive.File `json:"files"`
}

// driveCall emits event with args on socket sock and returns its single ack argument.
func driveCall(t *testing.T, ws *testenv.Node, sock, event string, args ...any) driveAck {
	t.Helper()
	raw, err := ws.EmitAck(sock, 0, event, args...)
	if err != nil {
		t.Fatalf("%s on %s: %v", event, sock, err)
	}
	if len(raw) != 1 {
		t.Fatalf("%s on %s: ack %s, want one argument", event, sock, raw)
	}
	var a driveAck
	if err := json.Unmarshal(raw[0], &a); err != nil {
		t.Fatalf("%s on %s: ack %s: %v", event, sock, raw[0], err)
	}
	return a
}

// watch makes socket sock watch fileID and checks the ack is ok with version want.
func watch(t *testing.T, ws *testenv.Node, sock, fileID string, want int64) {
	t.Helper()
	if a := driveCall(t, ws, sock, gateway.EventDriveWatch, map[string]any{"fileId": fileID}); !a.OK || a.Version != want {
		t.Fatalf("socket %s drive.watch %s: %+v, want ok at version %d", sock, fileID, a, want)
	}
}

// watchRefused makes socket sock watch fileID and returns the error code of the refusal.
func watchRefused(t *testing.T, ws *testenv.Node, sock string, arg any) string {
	t.Helper()
	a := driveCall(t, ws, sock, gateway.EventDriveWatch, arg)
	if a.OK || a.Error == "" {
		t.Fatalf("socket %s drive.watch %.80v: %+v, want a refusal", sock, arg, a)
	}
	return a.Error
}

// driveArg decodes argument 0 of a Drive event into exactly the keys of want: fileId (a
// string) and, when want has one, version (a JSON number). The only other argument allowed
// is a connection-state-recovery offset.
func driveArg(t *testing.T, ev testenv.Event, fileID string, version int64, withVersion bool) {
	t.Helper()
	if len(ev.Args) == 2 {
		var offset string
		if err := ev.Arg(1, &offset); err != nil || offset == "" {
			t.Fatalf("event %v: second arg is not a recovery offset", ev)
		}
	} else if len(ev.Args) != 1 {
		t.Fatalf("event %v: %d args, want the payload (and a recovery offset)", ev, len(ev.Args))
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Args[0]))
	dec.UseNumber()
	var got map[string]any
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("event %v: payload is not a JSON object: %v", ev, err)
	}
	wantKeys := 1
	if withVersion {
		wantKeys = 2
		if num, ok := got["version"].(json.Number); !ok || num.String() != fmt.Sprint(version) {
			t.Fatalf("event %v: version %v, want the number %d", ev, got["version"], version)
		}
	}
	if got["fileId"] != fileID || len(got) != wantKeys {
		t.Fatalf("event %v: payload %v, want fileId %q and nothing but the version (IDs and versions only)", ev, got, fileID)
	}
}

// waitChanged waits for drive.file.changed {fileId, version} on socket sock, with nothing
// else before it.
func waitChanged(t *testing.T, ws *testenv.Node, sock, fileID string, version int64) {
	t.Helper()
	driveArg(t, waitOnly(t, ws, sock, gateway.EventDriveChanged), fileID, version, true)
}

// waitPolledSince waits until the gateway's feed of user has completed a changes.list call
// at the fake Drive that began after since: from then on that feed has seen every change
// made before since.
func waitPolledSince(t *testing.T, fake *fakedrive.Server, user string, since time.Time) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		next := fake.Next()
		for _, c := range fake.Calls() {
			if c.Endpoint == fakedrive.ChangesList && c.User == user && c.Status == http.StatusOK && c.Time.After(since) {
				return
			}
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("the Drive feed of %s polled no changes.list since %v", user, since.Format(time.StampMicro))
		}
	}
}
