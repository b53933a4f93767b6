package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

// revocationWait bounds how long a revocation may take with --membership-ttl 200ms: a
// re-check round every 200ms, with room for -race and a busy machine.
const revocationWait = 5 * time.Second

// waitRevoked waits for socket name's "revoked" event with the given reason, followed by
// the server's disconnect.
func waitRevoked(t *testing.T, n *testenv.Node, name, reason string) {
	t.Helper()
	ev, err := n.WaitEvent(name, gateway.EventRevoked, revocationWait)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Reason string `json:"reason"`
	}
	if err := ev.Arg(0, &got); err != nil || got.Reason != reason || len(ev.Args) != 1 {
		t.Fatalf("socket %s: %v, want revoked {reason: %q}", name, ev, reason)
	}
	dis, err := n.WaitDisconnect(name, revocationWait)
	if err != nil {
		t.Fatal(err)
	}
	if dis.Reason != "io server disconnect" {
		t.Fatalf("socket %s: %v, want io server disconnect", name, dis)
	}
	if dis.Seq < ev.Seq {
		t.Fatalf("socket %s: disconnect #%d came before the revoked event #%d", name, dis.Seq, ev.Seq)
	}
}

// A member removed from an org (or logged out) must stop receiving its events without
// having to reconnect: sockets are re-checked and dropped.
func TestRevokedMembershipDisconnectsSocket(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			api.SetMemberships("erin", testenv.Membership{Org: 1, Role: "admin"})
			h := startGateway(t, api, pocTriggers(t), "--membership-ttl", "200ms")
			n := testenv.StartNode(t)
			connect(t, n, "alice", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "erin", h.url("/org/1"), opts(tr, cookie("erin")))
			connect(t, n, "bob", h.url("/org/1"), opts(tr, cookie("bob")))

			api.SetMemberships("alice", testenv.Membership{Org: 2, Role: "admin"}) // removed from org 1
			api.RemoveCredential("erin")                                           // session ended: 401
			waitRevoked(t, n, "alice", "forbidden")
			waitRevoked(t, n, "erin", "unauthorized")

			// Bob stays: he still gets the next event, and nothing else before it.
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
			waitOnly(t, n, "bob", "personview.addrow")
			if st, err := n.State("bob"); err != nil || !st.Connected {
				t.Fatalf("bob: %+v, %v; want connected", st, err)
			}
			if got := h.g.Sockets().Namespace("/org/1").Len(); got != 1 {
				t.Fatalf("/org/1 has %d sockets after two revocations, want 1", got)
			}
			// The revoked user can't come straight back in.
			if msg := refused(t, n, "alice-again", h.url("/org/1"), opts(tr, cookie("alice"))); msg != "forbidden" {
				t.Fatalf("rejoin after revocation: %q, want forbidden", msg)
			}
		})
	}
}

// A revoked socket is only dropped from the org it lost: the same user's socket in an org
// she still belongs to stays.
func TestRevocationIsPerOrg(t *testing.T) {
	api := member1(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"}, testenv.Membership{Org: 2, Role: "admin"})
	h := startGateway(t, api, pocTriggers(t), "--membership-ttl", "200ms")
	n := testenv.StartNode(t)
	connect(t, n, "one", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "two", h.url("/org/2"), opts("websocket", cookie("alice")))

	api.SetMemberships("alice", testenv.Membership{Org: 2, Role: "admin"})
	waitRevoked(t, n, "one", "forbidden")
	h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
	waitOnly(t, n, "two", "personview.addrow")
}

// A re-check that gets no answer must not drop every connected user (an upstream blip would
// disconnect everyone at once and the reconnect storm would hit the recovering upstream).
func TestUpstreamOutageKeepsAdmittedSockets(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, pocTriggers(t), "--membership-ttl", "200ms")
	n := testenv.StartNode(t)
	connect(t, n, "alice", h.url("/org/1"), opts("websocket", cookie("alice")))

	failed := make(chan struct{}, 16)
	api.HandleFunc("GET", "/users/me/memberships", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		select {
		case failed <- struct{}{}:
		default:
		}
	})
	for i := range 2 { // two failed re-check rounds
		select {
		case <-failed:
		case <-time.After(revocationWait):
			t.Fatalf("no re-check %d within %v", i+1, revocationWait)
		}
	}
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	waitOnly(t, n, "alice", "personview.addrow")
	if evs := n.Events("alice"); len(evs) != 1 {
		t.Fatalf("alice got %v, want only the event", evs)
	}
}
