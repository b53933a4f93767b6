package gateway_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// shortLived makes every access token "about to expire" for the gateway (which refreshes a
// minute early): each use of a session refreshes its token, rotating the refresh token.
var shortLived = oauthtest.Config{AccessTTL: 30 * time.Second}

// Logging out must cut the user's live channel at once, not at the next re-check: the
// socket gets session_ended and is closed, and the cookie is dead everywhere.
func TestSessionLogoutClosesSocket(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			env := newSessionEnv(t, oauthtest.Config{})
			n := env.startSessionNode()
			b := newBrowser(t)
			b.login(n)
			sess := b.cookie(n)
			ws := testenv.StartNode(t)
			connect(t, ws, "s", n.base+"/org/1", sockOpts(tr, n.base, sess))

			if p := b.do("POST", n.base+"/auth/logout", nil); p.status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", p.status, p.body)
			}
			if reason := waitSessionEnded(t, ws, "s"); reason != "logged_out" {
				t.Fatalf("session_ended reason %q, want logged out", reason)
			}
			if b.cookie(n) != "" {
				t.Fatal("logout left the session cookie in the browser")
			}
			old := http.Header{"Cookie": {sessionCookie + "=" + sess}}
			if p := rawCall(t, "GET", n.base+orgPeople, old); p.status != http.StatusUnauthorized {
				t.Fatalf("API call with the logged-out cookie: %d, want 401", p.status)
			}
			if _, err := ws.ConnectErr("again", n.base+"/org/1", sockOpts(tr, n.base, sess)); err != nil {
				t.Fatalf("socket with the logged-out cookie: %v", err)
			}
			if nsp := n.gw().Sockets().Namespace("/org/1"); nsp != nil && nsp.Len() != 0 {
				t.Fatalf("/org/1 still has %d sockets after logout", nsp.Len())
			}
		})
	}
}

// When the provider refuses to renew the access token (the user revoked the app, an admin
// disabled the account), the session must end: the next API call is 401, and the user's
// sockets are closed — whether the refusal is met by an API call or by the socket's own
// membership re-check while the user is idle.
func TestSessionRefreshRefusedEndsSessionAndClosesSocket(t *testing.T) {
	for _, via := range []string{"api call", "idle socket"} {
		for _, tr := range transports {
			t.Run(via+"/"+tr, func(t *testing.T) {
				env := newSessionEnv(t, shortLived)
				n := env.startSessionNode("--membership-ttl", "200ms")
				b := newBrowser(t)
				b.login(n)
				sess := b.cookie(n)
				ws := testenv.StartNode(t)
				connect(t, ws, "s", n.base+"/org/1", sockOpts(tr, n.base, sess))
				if env.idp.Stats().Refreshes == 0 {
					t.Fatal("setup: the admission did not refresh the short-lived token")
				}

				env.idp.RevokeRefreshTokens()
				if via == "api call" {
					if code := b.api(n, "GET", orgPeople); code != http.StatusUnauthorized {
						t.Fatalf("API call after the refresh was refused: %d, want 401", code)
					}
					if b.cookie(n) != "" {
						t.Fatal("the ended session's cookie was not dropped")
					}
				}
				if reason := waitSessionEnded(t, ws, "s"); reason != "refresh_failed" {
					t.Fatalf("session_ended reason %q, want the refused refresh", reason)
				}
				old := http.Header{"Cookie": {sessionCookie + "=" + sess}}
				if p := rawCall(t, "GET", n.base+orgPeople, old); p.status != http.StatusUnauthorized {
					t.Fatalf("API call with the ended session: %d, want 401", p.status)
				}
			})
		}
	}
}

// An access token expires long before the session: the gateway refreshes it and writes the
// new one (with the rotated refresh token) to the store, so a restarted gateway still has a
// usable session. Had it kept the refresh only in memory, the restarted node would present
// the old, rotated-away refresh token and the user would be logged out.
func TestSessionRefreshedTokenSurvivesRestartWithBoltStore(t *testing.T) {
	env := newSessionEnv(t, shortLived)
	file := filepath.Join(t.TempDir(), "sessions.db")
	n := env.startSessionNode("--session-store", "bolt:"+file)
	b := newBrowser(t)
	b.login(n)
	sess := b.cookie(n)

	for i := 0; i < 2; i++ {
		if code := b.api(n, "GET", orgPeople); code != http.StatusOK {
			t.Fatalf("API call %d: %d", i, code)
		}
	}
	if st := env.idp.Stats(); st.Refreshes != 2 || st.Exchanges != 1 {
		t.Fatalf("provider stats %+v, want 1 login and 2 refreshes", st)
	}
	before := env.bearers("/orgs/1/people")

	n.restart()
	if code := b.api(n, "GET", orgPeople); code != http.StatusOK {
		t.Fatalf("API call after restart: %d, want 200 without a new login", code)
	}
	if b.cookie(n) != sess {
		t.Fatal("the restart changed the session cookie")
	}
	st := env.idp.Stats()
	if st.Exchanges != 1 || st.Authorizations != 1 || st.Refreshes != 3 || st.Rejected != 0 {
		t.Fatalf("provider stats after restart %+v, want no new login and one more successful refresh", st)
	}
	after := env.bearers("/orgs/1/people")
	last := after[len(after)-1]
	if len(after) != 3 || last == before[1] || !env.idp.AccessTokenValid(last) {
		t.Fatalf("upstream tokens %q, want a third, fresh, valid one after restart", after)
	}
	ws := testenv.StartNode(t)
	connect(t, ws, "s", n.base+"/org/1", sockOpts("websocket", n.base, sess))
}

// An identity provider outage is not a logout: while the token endpoint answers 503 the
// session and its sockets stay (API calls and new sockets get "unavailable", open sockets
// keep their events), and once the provider is back everything works without a new login. Without this, one provider
// blip would log out every user with a short-lived token.
func TestSessionProviderOutageKeepsSessionAndSocket(t *testing.T) {
	env := newSessionEnv(t, shortLived)
	n := env.startSessionNode("--membership-ttl", "100ms")
	b := newBrowser(t)
	b.login(n)
	ws := testenv.StartNode(t)
	connect(t, ws, "s", n.base+"/org/1", sockOpts("websocket", n.base, b.cookie(n)))

	env.idp.SetOutage(true)
	if code := b.api(n, "GET", orgPeople); code != http.StatusServiceUnavailable {
		t.Fatalf("API call during the outage: %d, want 503", code)
	}
	// Let several membership re-checks meet the outage: each one tries a refresh.
	awaitCondition(t, "three refreshes refused by the outage", func() bool { return env.idp.Stats().Rejected >= 3 })
	// Fail closed for newcomers: a new socket can't be vetted without a token.
	if msg := refused(t, ws, "new", n.base+"/org/1", sockOpts("websocket", n.base, b.cookie(n))); msg != "unavailable" {
		t.Fatalf("new socket during the outage: %q, want unavailable", msg)
	}
	ev := triggers.Event{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(5)}}
	if err := n.gw().Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	assertIDs(t, waitOnly(t, ws, "s", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 5})

	env.idp.SetOutage(false)
	if code := b.api(n, "PUT", "/api/orgs/1/people/views/2/rows/6"); code != http.StatusOK {
		t.Fatalf("API call after the outage: %d, want 200", code)
	}
	assertIDs(t, waitOnly(t, ws, "s", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 6})
}

// awaitCondition polls cond (a counter of a real server, which offers no notification)
// every 10ms for at most testenv.DefaultTimeout.
func awaitCondition(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Behind a load balancer the user's socket may live on another node than the one that
// handles the logout: the end of the session reaches every node (Redis), and the socket
// there is closed too.
func TestSessionLogoutOnOneNodeClosesSocketOnAnother(t *testing.T) {
	type run struct {
		name, transport string
		redis           func(t *testing.T) []string
	}
	runs := []run{}
	for _, tr := range transports {
		runs = append(runs, run{tr, tr, func(t *testing.T) []string { return []string{"--redis", testenv.StartRedis(t).URL()} }})
	}
	// The same on a Redis Cluster: the store's records and the end-of-session channel.
	runs = append(runs, run{"redis cluster", "websocket", func(t *testing.T) []string {
		return []string{"--redis-cluster", testenv.StartRedisCluster(t, 3, 0).Seeds()}
	}})
	for _, r := range runs {
		tr := r.transport
		t.Run(r.name, func(t *testing.T) {
			flags := append(r.redis(t), "--session-store", "redis")
			env := newSessionEnv(t, oauthtest.Config{})
			a := env.startSessionNode(flags...)
			bNode := env.startSessionNode(flags...)
			br := newBrowser(t)
			br.login(a)
			sess := br.cookie(a)

			// The session made on node A is known to node B (shared store).
			if code := br.api(bNode, "GET", orgPeople); code != http.StatusOK {
				t.Fatalf("API call through node B with node A's session: %d", code)
			}
			ws := testenv.StartNode(t)
			connect(t, ws, "onB", bNode.base+"/org/1", sockOpts(tr, bNode.base, sess))
			if code := br.api(a, "PUT", addRow); code != http.StatusOK {
				t.Fatalf("PUT through node A: %d", code)
			}
			waitOnly(t, ws, "onB", "personview.addrow")

			if p := br.do("POST", a.base+"/auth/logout", nil); p.status != http.StatusNoContent {
				t.Fatalf("logout through node A: %d", p.status)
			}
			if reason := waitSessionEnded(t, ws, "onB"); reason != "logged_out" {
				t.Fatalf("session_ended reason on node B %q, want logged out", reason)
			}
			old := http.Header{"Cookie": {sessionCookie + "=" + sess}}
			if p := rawCall(t, "GET", bNode.base+orgPeople, old); p.status != http.StatusUnauthorized {
				t.Fatalf("node B after the logout on node A: %d, want 401", p.status)
			}
		})
	}
}
