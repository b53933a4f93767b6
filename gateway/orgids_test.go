package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// Org IDs as text (--org-id-format text, the default) under another namespace prefix:
// slugs with "-" and "_" are orgs of their own, never mixed with the orgs whose IDs they
// start with.

// textMembers is a FakeAPI whose memberships endpoint lists org IDs as JSON strings:
// credential → org IDs (role admin). Other credentials get 401.
func textMembers(t *testing.T, orgs map[string][]string) *testenv.FakeAPI {
	t.Helper()
	api := testenv.NewFakeAPI(t)
	api.HandleFunc("GET", "/users/me/memberships", func(w http.ResponseWriter, r *http.Request) {
		ids, ok := orgs[testenv.Credential(r)]
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"Unauthorized"}`))
			return
		}
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = fmt.Sprintf(`{"organization":{"id":%q,"title":"T"},"role":"admin"}`, id)
		}
		_, _ = w.Write([]byte(`{"data":[` + strings.Join(items, ",") + `]}`))
	})
	return api
}

// teamTriggers fires task.updated into the team named in the path.
func teamTriggers(t *testing.T) *triggers.Set {
	t.Helper()
	set, err := triggers.Parse("teams.yaml", []byte(`
triggers:
  - event: task.updated
    method: PUT
    path: /teams/{orgId}/tasks/{taskId}
`))
	if err != nil {
		t.Fatalf("parse teams.yaml: %v", err)
	}
	return set
}

// teamSockets connects one socket per team: acme-corp, its prefix acme, and acme-corp-2.
func teamSockets(t *testing.T, h *harness) *testenv.Node {
	t.Helper()
	n := testenv.StartNode(t)
	connect(t, n, "corp", h.url("/team/acme-corp"), opts("websocket", cookie("alice")))
	connect(t, n, "acme", h.url("/team/acme"), opts("websocket", cookie("bob")))
	connect(t, n, "corp2", h.url("/team/acme-corp-2"), opts("polling", cookie("carol")))
	return n
}

var teamOrgs = map[string][]string{
	"alice": {"acme-corp"},
	"bob":   {"acme"},
	"carol": {"acme-corp-2", "acme_corp"},
}

// A socket joins /team/acme-corp because the membership upstream lists "acme-corp"; a PUT
// to a triggered path of that team fires into it, and into no team whose ID is a prefix
// or an extension of it. Each waitOnly is a barrier (one keep-alive connection orders the
// calls): a socket that got another team's event would have it before its own.
func TestTextOrgIDsUnderNamespacePrefix(t *testing.T) {
	h := startGateway(t, textMembers(t, teamOrgs), teamTriggers(t), "--namespace-prefix", "/team")
	n := teamSockets(t, h)
	alice := http.Header{"Cookie": {"zsid=alice"}}

	h.mustDo(200, "PUT", "/api/teams/acme-corp/tasks/7", alice, "")
	assertIDs(t, waitOnly(t, n, "corp", "task.updated"), map[string]int64{"taskId": 7})
	h.mustDo(200, "PUT", "/api/teams/acme/tasks/8", alice, "")
	assertIDs(t, waitOnly(t, n, "acme", "task.updated"), map[string]int64{"taskId": 8})
	h.mustDo(200, "PUT", "/api/teams/acme-corp-2/tasks/9", alice, "")
	assertIDs(t, waitOnly(t, n, "corp2", "task.updated"), map[string]int64{"taskId": 9})
	h.mustDo(200, "PUT", "/api/teams/acme_corp/tasks/10", alice, "") // no socket there
	h.mustDo(200, "PUT", "/api/teams/acme-corp/tasks/11", alice, "")
	assertIDs(t, waitOnly(t, n, "corp", "task.updated"), map[string]int64{"taskId": 11})
	h.mustDo(200, "PUT", "/api/teams/acme-corp-2/tasks/12", alice, "")
	assertIDs(t, waitOnly(t, n, "corp2", "task.updated"), map[string]int64{"taskId": 12})

	// Membership is by exact text: alice (acme-corp) may not join acme or ACME-CORP.
	if msg := refused(t, n, "x1", h.url("/team/acme"), opts("websocket", cookie("alice"))); msg != "forbidden" {
		t.Fatalf("alice into /team/acme: %q, want forbidden", msg)
	}
	if msg := refused(t, n, "x2", h.url("/team/ACME-CORP"), opts("websocket", cookie("alice"))); msg != "forbidden" {
		t.Fatalf("alice into /team/ACME-CORP: %q, want forbidden", msg)
	}
}

// Under --namespace-prefix /team, the namespaces of the default prefix and anything that is
// not prefix + "/" + a valid ID are unknown: the stable connect_error "Invalid namespace",
// before anything is asked upstream.
func TestNamespacePrefixRefusesOtherNamespaces(t *testing.T) {
	api := textMembers(t, teamOrgs)
	h := startGateway(t, api, nil, "--namespace-prefix", "/team")
	n := testenv.StartNode(t)
	for _, nsp := range []string{"/org/1", "/org/acme-corp", "/team", "/team/", "/teams/acme-corp", "/team/acme-corp/x",
		"/team/" + strings.Repeat("a", 65), "/team/a.b", "/team/a:b", "/team/{sg}"} {
		if msg := refused(t, n, "s", h.url(nsp), opts("websocket", cookie("alice"))); msg != "Invalid namespace" {
			t.Errorf("%s: connect_error %q, want Invalid namespace", nsp, msg)
		}
	}
	if got := api.Calls("/users/me/memberships"); got != 0 {
		t.Fatalf("%d membership calls for unknown namespaces, want 0", got)
	}
}

// With --org-id-format integer, an org has one namespace, its canonical number: "/org/007"
// is refused rather than being a second namespace of org 7.
func TestIntegerOrgIDsRefuseNonCanonicalNamespaces(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 7, Role: "admin"})
	h := startGateway(t, api, pocTriggers(t), "--org-id-format", "integer")
	n := testenv.StartNode(t)
	for _, nsp := range []string{"/org/007", "/org/07", "/org/acme", "/org/-7", "/org/7a"} {
		if msg := refused(t, n, "s", h.url(nsp), opts("websocket", cookie("alice"))); msg != "Invalid namespace" {
			t.Errorf("%s: connect_error %q, want Invalid namespace", nsp, msg)
		}
	}
	connect(t, n, "a", h.url("/org/7"), opts("websocket", cookie("alice")))
	h.mustDo(200, "PUT", "/api/orgs/7/people/views/2/rows/3", http.Header{"Cookie": {"zsid=alice"}}, "")
	assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
}

// The publish API takes text org IDs as JSON strings (and numbers as their digits) and
// publishes into prefix + "/" + ID, exactly that team.
func TestPublishTextOrgIDs(t *testing.T) {
	h := startGateway(t, textMembers(t, teamOrgs), teamTriggers(t), "--namespace-prefix", "/team", "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := teamSockets(t, h)

	adm.mustPublish(`{"org":"acme-corp","event":"task.updated","data":{"taskId":1}}`, 1)
	assertIDs(t, waitOnly(t, n, "corp", "task.updated"), map[string]int64{"taskId": 1})
	adm.mustPublish(`[{"org":"acme","event":"task.updated","data":{"taskId":2}},{"org":"acme-corp-2","event":"task.updated","data":{"taskId":3}}]`, 2)
	assertIDs(t, waitOnly(t, n, "acme", "task.updated"), map[string]int64{"taskId": 2})
	assertIDs(t, waitOnly(t, n, "corp2", "task.updated"), map[string]int64{"taskId": 3})
	adm.mustPublish(`{"org":"acme-corp","event":"task.updated","data":{"taskId":4}}`, 1)
	assertIDs(t, waitOnly(t, n, "corp", "task.updated"), map[string]int64{"taskId": 4})

	for name, org := range map[string]string{
		"space": `"acme corp"`, "slash": `"acme/corp"`, "dot": `"acme.corp"`, "empty": `""`, "too long": `"` + strings.Repeat("a", 65) + `"`,
		"namespace": `"/team/acme"`, "negative": `-1`, "null": `null`, "fraction": `1.5`,
	} {
		adm.mustRefuse("org "+name, http.StatusBadRequest, `{"org":`+org+`,"event":"task.updated","data":{"taskId":1}}`, 0)
	}
	// Nothing refused was published: the next event is each socket's first since.
	adm.mustPublish(`[{"org":"acme-corp","event":"task.updated","data":{"taskId":5}},{"org":"acme","event":"task.updated","data":{"taskId":5}}]`, 2)
	assertIDs(t, waitOnly(t, n, "corp", "task.updated"), map[string]int64{"taskId": 5})
	assertIDs(t, waitOnly(t, n, "acme", "task.updated"), map[string]int64{"taskId": 5})
}

// With integer IDs the publish API canonicalises: "007", "7" and 7 are org 7; text is refused.
func TestPublishOrgIDFormats(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 7, Role: "admin"})
	h := startGateway(t, api, pocTriggers(t), "--org-id-format", "integer", "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/7"), opts("websocket", cookie("alice")))
	for i, org := range []string{`"007"`, `"7"`, `7`} {
		adm.mustPublish(fmt.Sprintf(`{"org":%s,"event":"personview.addrow","data":{"viewId":%d,"personId":1}}`, org, i), 1)
		assertIDs(t, waitOnly(t, n, "a", "personview.addrow"), map[string]int64{"viewId": int64(i), "personId": 1})
	}
	for _, org := range []string{`"acme"`, `"7a"`, `"1234567890123456789"`, `"-7"`} {
		adm.mustRefuse("org "+org, http.StatusBadRequest, `{"org":`+org+`,"event":"personview.addrow","data":{"viewId":1}}`, 0)
	}
}

// logRecords keeps the messages a gateway logs.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecords) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, b.String())
	return nil
}
func (r *logRecords) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecords) WithGroup(string) slog.Handler      { return r }

// matching returns the logged lines that contain s.
func (r *logRecords) matching(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// readyzDetail GETs /readyz and decodes its JSON.
func readyzDetail(t *testing.T, h *harness) (int, map[string]any) {
	t.Helper()
	code, _, body := h.do("GET", "/readyz", nil, "")
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("/readyz %d: %q is not JSON: %v", code, body, err)
	}
	return code, out
}

func slogTo(r *logRecords) *slog.Logger { return slog.New(r) }
