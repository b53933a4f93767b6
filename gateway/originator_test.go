package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

// withSocketID is the header of an API call made by the app behind socket sid.
func withSocketID(sid string, kv ...string) http.Header {
	h := http.Header{gateway.HeaderSocketID: {sid}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// The app that made a change already knows it: X-Socket-ID leaves out exactly its socket,
// while the same user's other tab and everyone else still get the event.
func TestSocketIDSkipsExactlyTheCallersSocket(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t))
			n := testenv.StartNode(t)
			a := connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "a2", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))

			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", withSocketID(a.Sid, "Cookie", "zsid=alice"), "")
			for _, s := range []string{"a2", "b"} {
				assertIDs(t, waitOnly(t, n, s, "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
			}
			// Barrier: a's first event is the next call's.
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", http.Header{"Cookie": {"zsid=alice"}}, "")
			assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
		})
	}
}

// A socket admitted with auth.token is skipped for calls with the same bearer token, and a
// room event is skipped too.
func TestSocketIDSkipsBearerSocketInRoom(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	n := testenv.StartNode(t)
	bearer := opts("websocket", nil)
	bearer["auth"] = map[string]any{"token": "bob"}
	b := connect(t, n, "b", h.url("/org/1"), bearer)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	for _, s := range []string{"a", "b"} {
		mustAck(t, n, "", s, gateway.EventSubscribe, "view:2")
	}
	h.mustDo(200, "PATCH", "/api/orgs/1/people/views/2", withSocketID(b.Sid, "Authorization", "Bearer bob"), `{}`)
	waitOnly(t, n, "a", "view.updated")
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", nil, "")
	waitOnly(t, n, "b", "personview.addrow")
}

// Socket IDs are not secret (every client event carries its sender's as "by"): naming
// another user's socket, or naming one without credentials, must not silence it.
func TestSocketIDOfAnotherUserIsIgnored(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, members(t), clientTriggers(t))
			n := testenv.StartNode(t)
			a := connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))

			calls := []http.Header{
				withSocketID(a.Sid, "Cookie", "zsid=bob"),                     // bob, same org, naming alice's socket
				withSocketID(a.Sid, "Authorization", "Bearer bob"),            // the same with a bearer token
				withSocketID(a.Sid),                                           // no credentials at all
				withSocketID(a.Sid, "Cookie", "zsid=carol"),                   // a member of another org
				withSocketID("nonexistent", "Cookie", "zsid=alice"),           // no such socket
				withSocketID(strings.Repeat("x", 65), "Cookie", "zsid=alice"), // over-long header
			}
			for i, hd := range calls {
				h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/"+string(rune('a'+i)), hd, "")
				waitOnly(t, n, "a", "personview.addrow")
				waitOnly(t, n, "b", "personview.addrow")
			}
		})
	}
}

// A cookie that is not a session (language, consent) is the same for many users: with an
// app that authenticates by bearer token, sharing it must not let one user silence another
// user's socket.
func TestSocketIDSharedNonSessionCookieCannotSilenceAnotherUser(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	n := testenv.StartNode(t)
	o := opts("websocket", map[string]string{"Cookie": "lang=en"})
	o["auth"] = map[string]any{"token": "alice"}
	a := connect(t, n, "a", h.url("/org/1"), o)

	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3",
		withSocketID(a.Sid, "Authorization", "Bearer bob", "Cookie", "lang=en"), "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})

	// Alice's own call, with her token, still skips her socket.
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4",
		withSocketID(a.Sid, "Authorization", "Bearer alice", "Cookie", "lang=en"), "")
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/5", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 5})
}

// X-Socket-ID only matters on the call that fires: a failed call or a GET carries nothing.
func TestSocketIDOnFailedCallSkipsNothingLater(t *testing.T) {
	api := members(t)
	h := startGateway(t, api, clientTriggers(t))
	n := testenv.StartNode(t)
	a := connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	api.SetStatus("/orgs/1/people/views/2/rows/3", http.StatusConflict)
	h.mustDo(409, "PUT", "/api/orgs/1/people/views/2/rows/3", withSocketID(a.Sid, "Cookie", "zsid=alice"), "")
	h.mustDo(200, "GET", "/api/orgs/1/people/views/2/rows", withSocketID(a.Sid, "Cookie", "zsid=alice"), "")
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", http.Header{"Cookie": {"zsid=alice"}}, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
}

// startCluster starts two gateways (nodes A and B) sharing one real redis-server, both
// ready (their bus readers positioned) before it returns.
func startCluster(t *testing.T, api *testenv.FakeAPI, flags ...string) (*harness, *harness) {
	t.Helper()
	r := testenv.StartRedis(t)
	flags = append([]string{"--redis", r.URL()}, flags...)
	a := startGateway(t, api, clientTriggers(t), flags...)
	b := startGateway(t, api, clientTriggers(t), flags...)
	waitReady(t, a)
	waitReady(t, b)
	return a, b
}

// waitReady polls /readyz until the node delivers to every node: readiness, not
// synchronization (nothing to await but the reader's first XINFO).
func waitReady(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for {
		code, _, body := h.do("GET", "/readyz", nil, "")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s after %v", code, body, testenv.DefaultTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Behind a load balancer the API call and the caller's socket are often on different
// nodes: the skip travels with the event through Redis, and still only for the same user.
func TestSocketIDSkipsCallersSocketOnAnotherNode(t *testing.T) {
	api := members(t)
	nodeA, nodeB := startCluster(t, api)
	n := testenv.StartNode(t)
	a := connect(t, n, "a", nodeB.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "a2", nodeA.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b", nodeB.url("/org/1"), opts("websocket", cookie("bob")))

	// Bob naming alice's socket through node A: ignored on node B.
	nodeA.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/1", withSocketID(a.Sid, "Cookie", "zsid=bob"), "")
	for _, s := range []string{"a", "a2", "b"} {
		assertIDs(t, waitOnly(t, n, s, "personview.addrow"), map[string]int64{"viewId": 2, "personId": 1})
	}
	// Alice's own call through node A skips her socket on node B only.
	nodeA.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", withSocketID(a.Sid, "Cookie", "zsid=alice"), "")
	for _, s := range []string{"a2", "b"} {
		assertIDs(t, waitOnly(t, n, s, "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
	}
	// Barrier: node A publishes in order on the bus, node B delivers in that order.
	nodeA.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 4})
}
