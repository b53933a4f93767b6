package triggers_test

import (
	"testing"

	"github.com/syncgate/syncgate/triggers"
)

func TestOperationEventName(t *testing.T) {
	for _, c := range []struct{ id, method, want string }{
		{"updatePersonViewRow", "PUT", "personview.row.updated"},
		{"createPerson", "POST", "person.created"},
		{"add_person_tag", "PUT", "person.tag.added"},
		{"people_create", "POST", "people.created"},
		{"teams_partial_update", "PATCH", "teams.updated"},
		{"HTTPServerPing", "POST", "httpserver.ping.created"},
		{"resetHTTPServer", "POST", "http.server.reset"},
		{"personTags", "DELETE", "person.tags.deleted"},
		{"submitSurvey", "POST", "survey.submitted"},
	} {
		if got, ok := triggers.OperationEventName(c.id, c.method); !ok || got != c.want {
			t.Errorf("OperationEventName(%q, %s) = %q, %v; want %q", c.id, c.method, got, ok, c.want)
		}
	}
	if _, ok := triggers.OperationEventName("--", "POST"); ok {
		t.Error("an operationId with no word gave a name")
	}
	if got := triggers.DraftEventName("PATCH", "/orgs/{orgId}/people/{personId}"); got != "people.updated" {
		t.Errorf("DraftEventName = %q", got)
	}
}

func TestIgnoreList(t *testing.T) {
	set, err := triggers.Parse("t.yaml", []byte("triggers: []\nignore:\n  - PATCH /users/{id}\n  - POST /session\n"))
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := set.Ignores("PATCH", "/users/7"); !ok || i != 0 {
		t.Errorf("Ignores PATCH /users/7 = %d, %v", i, ok)
	}
	if _, ok := set.Ignores("PATCH", "/users/7/x"); ok {
		t.Error("a longer path is ignored")
	}
	if got := set.Ignored(); len(got) != 2 || got[1] != (triggers.Ignore{Line: 4, Method: "POST", Path: "/session"}) {
		t.Errorf("Ignored() = %+v", got)
	}
	_, err = triggers.Parse("t.yaml", []byte("triggers: []\nignore:\n  - GET /users\n  - PATCH users\n  - POST /a/{b\n  - POST /session\n  - POST /session/\n"))
	for _, want := range []string{"t.yaml:3: ignore entry \"GET /users\"", "t.yaml:4: ignore entry", "t.yaml:5: ignore entry", "t.yaml:7: duplicate ignore entry POST /session (first at line 6)"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("err lacks %q: %v", want, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
