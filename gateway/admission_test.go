package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
)

func TestMemberAdmittedWithCookieAndBearer(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			h := startGateway(t, api, pocTriggers(t))
			n := testenv.StartNode(t)
			connect(t, n, "cookie", h.url("/org/1"), opts(tr, cookie("alice")))
			bearer := opts(tr, nil)
			bearer["auth"] = map[string]any{"token": "bob"}
			connect(t, n, "bearer", h.url("/org/1"), bearer)

			// The membership calls carried each user's own credentials, as the upstream expects.
			var sawCookie, sawBearer bool
			for _, r := range api.Requests() {
				if r.Path != "/users/me/memberships" {
					continue
				}
				sawCookie = sawCookie || r.Header.Get("Cookie") == "zsid=alice"
				sawBearer = sawBearer || r.Header.Get("Authorization") == "Bearer bob"
			}
			if !sawCookie || !sawBearer {
				t.Fatalf("membership calls: cookie %v bearer %v; requests %+v", sawCookie, sawBearer, api.Requests())
			}
			if got := h.g.Sockets().Namespace("/org/1").Len(); got != 2 {
				t.Fatalf("/org/1 has %d sockets, want 2", got)
			}
		})
	}
}

// Without credentials anyone on the internet could listen to an org's events.
func TestNoCredentialsRefusedUnauthorized(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			h := startGateway(t, api, pocTriggers(t))
			n := testenv.StartNode(t)
			if msg := refused(t, n, "a", h.url("/org/1"), opts(tr, nil)); msg != "unauthorized" {
				t.Fatalf("connect_error %q, want unauthorized", msg)
			}
			if c := api.Calls("/users/me/memberships"); c != 0 {
				t.Fatalf("%d membership calls for a handshake with no credentials", c)
			}
		})
	}
}

// A guessed or forged session must not pass for a user: the upstream decides, not syncgate.
func TestForgedCredentialsRefusedUnauthorized(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, member1(t), pocTriggers(t))
			n := testenv.StartNode(t)
			if msg := refused(t, n, "cookie", h.url("/org/1"), opts(tr, cookie("alice-forged"))); msg != "unauthorized" {
				t.Fatalf("forged cookie: connect_error %q, want unauthorized", msg)
			}
			bearer := opts(tr, nil)
			bearer["auth"] = map[string]any{"token": "forged.jwt.token"}
			if msg := refused(t, n, "bearer", h.url("/org/1"), bearer); msg != "unauthorized" {
				t.Fatalf("forged token: connect_error %q, want unauthorized", msg)
			}
		})
	}
}

// A CR/LF in a token would inject headers into the membership call made with it.
func TestHeaderInjectionInTokenRefused(t *testing.T) {
	api := member1(t)
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	o := opts("websocket", nil)
	o["auth"] = map[string]any{"token": "nobody\r\nAuthorization: Bearer alice"}
	if msg := refused(t, n, "a", h.url("/org/1"), o); msg != "unauthorized" {
		t.Fatalf("connect_error %q, want unauthorized", msg)
	}
	if c := api.Calls("/users/me/memberships"); c != 0 {
		t.Fatalf("%d membership calls made with an injected header", c)
	}
}

// A member of org 2 must not read org 1's events by naming its namespace.
func TestCrossOrgJoinRefusedForbidden(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			h := startGateway(t, member1(t), pocTriggers(t))
			n := testenv.StartNode(t)
			if msg := refused(t, n, "a", h.url("/org/1"), opts(tr, cookie("carol"))); msg != "forbidden" {
				t.Fatalf("connect_error %q, want forbidden", msg)
			}
			// Her own org still works on the same gateway.
			connect(t, n, "b", h.url("/org/2"), opts(tr, cookie("carol")))
		})
	}
}

// One connection, two namespaces: admission is per namespace, not per connection, so being
// admitted to org 2 must not open org 1 on the same connection.
func TestCrossOrgJoinOnSharedConnectionRefused(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t))
	n := testenv.StartNode(t)
	o := opts("websocket", cookie("carol"))
	o[testenv.OptManager] = "m"
	connect(t, n, "own", h.url("/org/2"), o)
	if msg := refused(t, n, "other", h.url("/org/1"), o); msg != "forbidden" {
		t.Fatalf("connect_error %q, want forbidden", msg)
	}
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, "")
	h.mustDo(200, "PUT", "/api/orgs/2/people/views/7/rows/8", nil, "")
	assertIDs(t, waitOnly(t, n, "own", "personview.addrow"), map[string]int64{"viewId": 7, "personId": 8})
}

func TestFollowerRefusedByDefault(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("dave", testenv.Membership{Org: 1}) // role null: a follower
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	for _, tr := range transports {
		if msg := refused(t, n, "a-"+tr, h.url("/org/1"), opts(tr, cookie("dave"))); msg != "forbidden" {
			t.Fatalf("%s: follower: connect_error %q, want forbidden", tr, msg)
		}
	}
}

func TestFollowerAdmittedWithAnyRole(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("dave", testenv.Membership{Org: 1})
	h := startGateway(t, api, pocTriggers(t), "--member-roles", "*")
	n := testenv.StartNode(t)
	for _, tr := range transports {
		connect(t, n, "a-"+tr, h.url("/org/1"), opts(tr, cookie("dave")))
	}
}

func TestMemberRolesRestrictsToListedRoles(t *testing.T) {
	h := startGateway(t, member1(t), pocTriggers(t), "--member-roles", "admin")
	n := testenv.StartNode(t)
	connect(t, n, "alice", h.url("/org/1"), opts("websocket", cookie("alice")))
	if msg := refused(t, n, "bob", h.url("/org/1"), opts("websocket", cookie("bob"))); msg != "forbidden" {
		t.Fatalf("organizer with --member-roles admin: %q, want forbidden", msg)
	}
}

// When the upstream can't answer, nobody may be let in on a guess (fail closed).
func TestUpstreamFailureRefusesUnavailable(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			api := member1(t)
			h := startGateway(t, api, pocTriggers(t))
			n := testenv.StartNode(t)

			api.SetStatus("/users/me/memberships", http.StatusInternalServerError)
			if msg := refused(t, n, "a", h.url("/org/1"), opts(tr, cookie("alice"))); msg != "unavailable" {
				t.Fatalf("upstream 500: connect_error %q, want unavailable", msg)
			}
			api.SetStatus("/users/me/memberships", 0)
			api.SetDown()
			if msg := refused(t, n, "b", h.url("/org/1"), opts(tr, cookie("alice"))); msg != "unavailable" {
				t.Fatalf("upstream down: connect_error %q, want unavailable", msg)
			}
			h.mustDo(200, "GET", "/healthz", nil, "") // the gateway itself is fine

			// A failure is not cached: once the upstream is back, alice gets in.
			api.SetUp()
			connect(t, n, "c", h.url("/org/1"), opts(tr, cookie("alice")))
		})
	}
}

// Namespaces outside /org/{canonical id} must not exist: a non-canonical id ("01" with
// integer IDs) could compare unequal to the membership's 1 in one place and equal in
// another, and an unknown namespace must cost no membership call.
func TestInvalidNamespaceRefused(t *testing.T) {
	always := []string{"/org/1/x", "/org/", "/org", "/admin", "/", "/org/a.b", "/org/a:b", "/org/" + strings.Repeat("1", 65)}
	for _, format := range []struct {
		name    string
		invalid []string
	}{
		{"text", always},
		{"integer", append([]string{"/org/abc", "/org/01", "/org/-1", "/org/1234567890123456789"}, always...)},
	} {
		for _, tr := range transports {
			t.Run(format.name+"/"+tr, func(t *testing.T) {
				api := member1(t)
				h := startGateway(t, api, pocTriggers(t), "--org-id-format", format.name)
				n := testenv.StartNode(t)
				for _, nsp := range format.invalid {
					if msg := refused(t, n, "a", h.url(nsp), opts(tr, cookie("alice"))); msg != "Invalid namespace" {
						t.Errorf("namespace %q: connect_error %q, want Invalid namespace", nsp, msg)
					}
				}
				if c := api.Calls("/users/me/memberships"); c != 0 {
					t.Fatalf("%d membership calls for invalid namespaces", c)
				}
				if got := h.g.Sockets().Namespaces(); len(got) != 0 {
					t.Fatalf("invalid joins created namespaces %v", got)
				}
			})
		}
	}
}
