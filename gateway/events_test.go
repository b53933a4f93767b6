package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// member1 is a FakeAPI with alice (admin of org 1), bob (organizer of org 1) and carol
// (admin of org 2).
func member1(t *testing.T) *testenv.FakeAPI {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("bob", testenv.Membership{Org: 1, Role: "organizer"})
	api.SetMemberships("carol", testenv.Membership{Org: 2, Role: "admin"})
	return api
}

func TestMutationReachesEverySocketOfTheOrg(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, member1(t), pocTriggers(t))
			n := testenv.StartNode(t)
			res := connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))
			if res.Transport != tr {
				t.Fatalf("socket a connected over %q, want %q", res.Transport, tr)
			}
			connect(t, n, "b", h.url("/org/1"), opts(tr, cookie("bob")))

			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", http.Header{"Cookie": {"zsid=bob"}}, "")
			for _, s := range []string{"a", "b"} {
				ev := waitOnly(t, n, s, "personview.addrow")
				assertIDs(t, ev, map[string]int64{"viewId": 2, "personId": 3})
			}
		})
	}
}

func TestMutationReachesUpgradedSocket(t *testing.T) {
	// The client's default: polling first, then the upgrade to websocket.
	h := startGateway(t, member1(t), pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("", cookie("alice")))
	if _, err := n.WaitNotice("a", testenv.TypeTransport, 0); err != nil {
		t.Fatalf("no upgrade: %v", err)
	}
	h.mustDo(200, "DELETE", "/api/orgs/1/people/views/2/rows/3", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.deleterow"), map[string]int64{"viewId": 2, "personId": 3})
}

func TestFailedMutationFiresNoEvent(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			h := startGateway(t, api, pocTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))

			// The PoC fired after failed calls too: clients then re-fetched for nothing, or
			// believed a change that the upstream refused had happened.
			api.SetStatus("/orgs/1/people/views/2/rows/3", http.StatusInternalServerError)
			h.mustDo(500, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
			api.SetStatus("/orgs/1/people/views/2/rows/4", http.StatusForbidden)
			h.mustDo(403, "PUT", "/api/orgs/1/people/views/2/rows/4", nil, "")
			h.mustDo(200, "GET", "/api/orgs/1/people/views/2/rows", nil, "") // not a mutation

			// Barrier: a successful mutation after them; nothing may arrive before its event.
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/5", nil, "")
			assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 5})
		})
	}
}

func TestUpstreamDownMidMutationFiresNoEvent(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	api.SetDown()
	h.mustDo(502, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	api.SetUp()
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/6", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 6})
}

// An org-2 mutation must never reach a socket of org 1: per-org isolation is the product.
func TestCrossOrgEventNeverReachesOtherOrg(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, member1(t), pocTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "org1", h.url("/org/1"), opts(tr, cookie("alice")))
			connect(t, n, "org2", h.url("/org/2"), opts(tr, cookie("carol")))

			h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
			h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")

			assertIDs(t, waitOnly(t, n, "org2", "personview.addrow"), map[string]int64{"viewId": 7, "personId": 8})
			assertIDs(t, waitOnly(t, n, "org1", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
		})
	}
}

// A header-org trigger takes its org from the caller: only the upstream's 2xx (its own access
// check) may make it fire, so a refused PATCH naming org 1 fires nothing, and an accepted one
// naming org 2 reaches org 2 only.
func TestHeaderOrgEventGoesToThatOrgOnly(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "org1", h.url("/org/1"), opts("websocket", cookie("alice")))

	// alice (a member of org 1 only) calls: a header-named org must also be one of hers.
	api.SetStatus("/tasks/11", http.StatusForbidden)
	h.mustDo(403, "PATCH", "/api/tasks/11", http.Header{"X-Org-Id": {"1"}, "Cookie": {"zsid=alice"}}, `{}`)
	h.mustDo(200, "PATCH", "/api/tasks/12", http.Header{"X-Org-Id": {"2"}, "Cookie": {"zsid=alice"}}, `{}`)
	h.mustDo(200, "PATCH", "/api/tasks/13", http.Header{"X-Org-Id": {"1"}, "Cookie": {"zsid=alice"}}, `{}`)
	assertIDs(t, waitOnly(t, n, "org1", "task.updated"), map[string]int64{"taskId": 13})
}

// The upstream's answer to a creation can hold anything the caller may read (names, e-mail
// addresses); an event goes to every member of the org, so it must carry the declared ID only.
func TestFromResponseEventDisclosesOnlyDeclaredID(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			api.Handle("POST", "/orgs/1/people", http.StatusCreated,
				`{"data":{"id":42,"first_name":"Clara","email":"clara@example.org","phone":"+49 30 123",`+
					`"tags":[{"id":9,"title":"secret"}],"org":{"id":1}},"meta":{"token":"s3cr3t"}}`)
			h := startGateway(t, api, pocTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice")))

			body := h.mustDo(201, "POST", "/api/orgs/1/people", nil, `{"first_name":"Clara"}`)
			if len(body) < 100 {
				t.Fatalf("the caller's own answer was cut: %s", body)
			}
			ev := waitOnly(t, n, "a", "person.created")
			assertIDs(t, ev, map[string]int64{"personId": 42})
		})
	}
}

// A from_response value that is not an ID (a string with spaces, an object) must not be
// copied into the event; and the org must not stay silently stale either: it resyncs.
func TestFromResponseNonIDValueIsNotDisclosed(t *testing.T) {
	api := member1(t)
	api.Handle("POST", "/orgs/1/people", http.StatusCreated, `{"data":{"id":"Clara Zetkin <clara@example.org>"}}`)
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	h.mustDo(201, "POST", "/api/orgs/1/people", nil, `{}`)
	ev := waitOnly(t, n, "a", "resync")
	if raw := string(ev.Args[0]); strings.Contains(raw, "Clara") || !strings.Contains(raw, `"event incomplete"`) {
		t.Fatalf("resync payload %s: want reason \"event incomplete\" and nothing from the body", raw)
	}
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	waitOnly(t, n, "a", "personview.addrow")
}

// A created resource whose answer lacks the declared ID (another API shape, a cut body):
// the event cannot be built, so the org resyncs instead of missing it.
func TestFromResponseMissingIDResyncsTheOrg(t *testing.T) {
	api := member1(t)
	api.Handle("POST", "/orgs/1/people", http.StatusCreated, `{"data":{}}`)
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b", h.url("/org/2"), opts("websocket", cookie("carol")))

	h.mustDo(201, "POST", "/api/orgs/1/people", nil, `{}`)
	waitOnly(t, n, "a", "resync")
	h.mustDo(200, "PUT", "/api/orgs/2/people/views/2/rows/3", nil, "")
	waitOnly(t, n, "b", "personview.addrow") // org 2 was not told to resync
}

func TestEventForUnjoinedOrgCreatesNoNamespace(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t))
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	h.mustDo(200, "PUT", "/api/orgs/9/people/views/1/rows/1", nil, "")
	// The next call on the same connection starts after the org-9 call's handler (and its
	// publish) returned; its event arriving alone also shows org 9's went nowhere.
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	waitOnly(t, n, "a", "personview.addrow")
	if ns := h.g.Sockets().Namespace("/org/9"); ns != nil {
		t.Fatalf("publishing to an org nobody joined created namespace %s", ns.Name())
	}
}

func TestSetTriggersTakesEffectForNextCall(t *testing.T) {
	h := startGateway(t, member1(t), nil)
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "") // no triggers: no event
	set, err := triggers.Parse("t.yaml", []byte("triggers:\n  - event: row.put\n    method: PUT\n    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h.g.SetTriggers(set)
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/4", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "row.put"), map[string]int64{"viewId": 2, "personId": 4})
}
