package triggers

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/orgid"
)

// workspacesFile names its org placeholder {workspace} and uses slugs and UUIDs.
const workspacesFile = `org_param: workspace
triggers:
  - event: doc.created
    method: POST
    path: /workspaces/{workspace}/docs
    from_response:
      docId: id
  - event: doc.updated
    method: PATCH
    path: /workspaces/{workspace}/docs/{docId}
    room: doc:{docId}
  - event: doc.moved
    method: PUT
    path: /workspaces/{workspace}/docs/{docId}/parent/{orgId}
  - event: comment.created
    method: POST
    path: /docs/{docId}/comments
    org: header:X-Workspace
  - event: invite.created
    method: PUT
    path: /invites/{team}/{userId}
    org: "{team}"
    room: invites:{team}:{userId}
  - event: team.renamed
    method: PATCH
    path: /teams/{teamId}
    org: "{teamId}"
    room: team:{workspace}
rooms:
  - doc:{docId}
  - invites:{t}:{u}
  - team:{id}
  - owner:{orgId}
client_events:
  - event: doc.cursor
    fields: {docId: id, orgId: id}
`

const uuid = "0b5e4f5c-8d1e-4c9a-9f3e-2a7d5b6c8e91"

func TestOrgParamFiresIntoTheNamedOrg(t *testing.T) {
	set := mustParse(t, workspacesFile)
	if set.OrgParam() != "workspace" || set.IDs() != orgid.Text {
		t.Fatalf("OrgParam %q IDs %s, want workspace, text", set.OrgParam(), set.IDs())
	}
	tests := []struct {
		name, method, path string
		h                  http.Header
		body               string
		want               []Event
	}{
		{"slug org, UUID document", "PATCH", "/workspaces/acme-corp/docs/" + uuid, nil, "",
			[]Event{{Org: "acme-corp", Name: "doc.updated", Data: map[string]any{"docId": uuid}, Room: "doc:" + uuid}}},
		{"UUID org", "PATCH", "/workspaces/" + uuid + "/docs/7", nil, "",
			[]Event{{Org: uuid, Name: "doc.updated", Data: map[string]any{"docId": int64(7)}, Room: "doc:7"}}},
		// The org is the namespace, never a payload key: a body naming another workspace
		// changes nothing.
		{"from_response beside the org", "POST", "/workspaces/acme-corp/docs", nil, `{"id":"d-1","workspace":"evil-corp","orgId":"9"}`,
			[]Event{{Org: "acme-corp", Name: "doc.created", Data: map[string]any{"docId": "d-1"}}}},
		// With org_param renamed, {orgId} is an ordinary placeholder and a payload key.
		{"orgId is an ordinary placeholder", "PUT", "/workspaces/acme-corp/docs/5/parent/other-corp", nil, "",
			[]Event{{Org: "acme-corp", Name: "doc.moved", Data: map[string]any{"docId": int64(5), "orgId": "other-corp"}}}},
		{"header org as text", "POST", "/docs/5/comments", hdr("X-Workspace", "acme-corp"), "",
			[]Event{{Org: "acme-corp", Name: "comment.created", Data: map[string]any{"docId": int64(5)}, OrgFrom: "header:X-Workspace"}}},
		// A header cannot move a path-named org elsewhere.
		{"header ignored for a path org", "PATCH", "/workspaces/acme-corp/docs/5", hdr("X-Workspace", "evil-corp"), "",
			[]Event{{Org: "acme-corp", Name: "doc.updated", Data: map[string]any{"docId": int64(5)}, Room: "doc:5"}}},
		{"org from another placeholder", "PUT", "/invites/t-42/u-7", nil, "",
			[]Event{{Org: "t-42", Name: "invite.created", Data: map[string]any{"userId": "u-7"}, Room: "invites:t-42:u-7"}}},
		{"org placeholder named in a room by org_param", "PATCH", "/teams/blue", nil, "",
			[]Event{{Org: "blue", Name: "team.renamed", Data: map[string]any{}, Room: "team:blue"}}},
		{"text keeps 007", "PATCH", "/workspaces/007/docs/1", nil, "",
			[]Event{{Org: "007", Name: "doc.updated", Data: map[string]any{"docId": int64(1)}, Room: "doc:1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			got := set.Match(tc.method, tc.path, tc.h, body)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Match(%s %s) =\n %#v\nwant\n %#v", tc.method, tc.path, got, tc.want)
			}
		})
	}
	// The configured name is reserved in client events and rooms; orgId no longer is.
	if ce := set.ClientEvent("doc.cursor"); ce == nil || !reflect.DeepEqual(ce.Fields, []string{"docId", "orgId"}) {
		t.Fatalf("client event doc.cursor = %+v, want fields docId, orgId", ce)
	}
	if !set.RoomAllowed("owner:7") {
		t.Fatal("room owner:{orgId} refused although orgId is not the org placeholder")
	}
}

// TestOrgParamCannotBeTricked feeds paths that must not fire into any org, or into
// another org than the one the path names.
func TestOrgParamCannotBeTricked(t *testing.T) {
	set := mustParse(t, workspacesFile)
	for _, path := range []string{
		"/workspaces/../docs/5",
		"/workspaces/%2e%2e/docs/5",
		"/workspaces/acme-corp%2Fevil-corp/docs/5",
		"/workspaces/acme-corp%2F..%2Fevil-corp/docs/5",
		"/workspaces/" + strings.Repeat("a", 65) + "/docs/5",
		"/workspaces/acme%20corp/docs/5",
		"/workspaces/acme.corp/docs/5",
		"/workspaces/acme:corp/docs/5",
		"/workspaces//docs/5",
		"/workspaces/%C3%A9/docs/5",
	} {
		if evs := set.Match("PATCH", path, nil, nil); len(evs) != 0 {
			t.Errorf("Match(PATCH %s) fired %#v", path, evs)
		}
	}
	for _, v := range []string{"acme corp", "../x", "a/b", strings.Repeat("a", 65), ""} {
		if evs := set.Match("POST", "/docs/5/comments", hdr("X-Workspace", v), nil); len(evs) != 0 {
			t.Errorf("header %q fired %#v", v, evs)
		}
	}
	// 64 characters is the longest org.
	long := strings.Repeat("a", 64)
	if evs := set.Match("PATCH", "/workspaces/"+long+"/docs/5", nil, nil); len(evs) != 1 || evs[0].Org != long {
		t.Errorf("64-character org: %#v", evs)
	}
}

func TestOrgIDFormats(t *testing.T) {
	const file = `triggers:
  - event: row.put
    method: PUT
    path: /orgs/{orgId}/rows/{rowId}
  - event: row.fixed
    method: DELETE
    path: /rows/{rowId}
    org: 007
  - event: row.header
    method: PATCH
    path: /rows/{rowId}
    org: header:X-Org
`
	text, integer := mustParse(t, file), mustParseWith(t, file, orgid.Integer)
	org := func(set *Set, method, path string, h http.Header) []string {
		var out []string
		for _, ev := range set.Match(method, path, h, nil) {
			out = append(out, ev.Org)
		}
		return out
	}
	tests := []struct {
		method, path string
		h            http.Header
		text, intg   []string // the orgs fired into, per format
	}{
		{"PUT", "/orgs/007/rows/1", nil, []string{"007"}, []string{"7"}},
		{"PUT", "/orgs/7/rows/1", nil, []string{"7"}, []string{"7"}},
		{"PUT", "/orgs/0/rows/1", nil, []string{"0"}, []string{"0"}},
		{"PUT", "/orgs/000/rows/1", nil, []string{"000"}, []string{"0"}},
		{"PUT", "/orgs/acme/rows/1", nil, []string{"acme"}, nil},
		{"PUT", "/orgs/" + uuid + "/rows/1", nil, []string{uuid}, nil},
		{"PUT", "/orgs/1234567890123456789/rows/1", nil, []string{"1234567890123456789"}, nil},
		{"DELETE", "/rows/1", nil, []string{"007"}, []string{"7"}},
		{"PATCH", "/rows/1", hdr("X-Org", "007"), []string{"007"}, []string{"7"}},
		{"PATCH", "/rows/1", hdr("X-Org", "acme"), []string{"acme"}, nil},
	}
	for _, tc := range tests {
		if got := org(text, tc.method, tc.path, tc.h); !reflect.DeepEqual(got, tc.text) {
			t.Errorf("text %s %s: orgs %q, want %q", tc.method, tc.path, got, tc.text)
		}
		if got := org(integer, tc.method, tc.path, tc.h); !reflect.DeepEqual(got, tc.intg) {
			t.Errorf("integer %s %s: orgs %q, want %q", tc.method, tc.path, got, tc.intg)
		}
	}
	// CanonicalOrg follows the set's format; a nil set reads text.
	for _, c := range []struct {
		set      *Set
		in, want string
		ok       bool
	}{
		{text, "007", "007", true}, {integer, "007", "7", true},
		{text, "acme-corp", "acme-corp", true}, {integer, "acme-corp", "", false},
		{text, "a/b", "", false}, {integer, "-1", "", false},
		{nil, "acme", "acme", true},
	} {
		if got, ok := c.set.CanonicalOrg(c.in); got != c.want || ok != c.ok {
			t.Errorf("%s CanonicalOrg(%q) = %q, %v; want %q, %v", c.set.IDs(), c.in, got, ok, c.want, c.ok)
		}
	}
	var nilSet *Set
	if nilSet.OrgParam() != "orgId" || nilSet.IDs() != orgid.Text {
		t.Fatal("a nil set must report the defaults")
	}
}

// TestOrgParamProblems checks the problems of org_param and org: "{NAME}", each at its line.
func TestOrgParamProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ids  orgid.Format
		want []string // "LINE: exact message"
	}{
		{"org placeholder not in the path", `triggers:
  - event: a
    method: PUT
    path: /invites/{t}/{userId}
    org: "{team}"
`, orgid.Text, []string{`5: org: "{team}" names no placeholder of the path /invites/{t}/{userId}`}},
		{"org placeholder unquoted", `triggers:
  - event: a
    method: PUT
    path: /invites/{team}
    org: {team}
`, orgid.Text, []string{`5: org: {team} must be quoted: org: "{team}"`}},
		{"org placeholder bad name", `triggers:
  - event: a
    method: PUT
    path: /invites/{team}
    org: "{te-am}"
`, orgid.Text, []string{`5: org: "{te-am}" is not a {NAME} placeholder (NAME: [A-Za-z_][A-Za-z0-9_]{0,63})`}},
		{"org placeholder beside org_param's", `org_param: workspace
triggers:
  - event: a
    method: PUT
    path: /workspaces/{workspace}/invites/{team}
    org: "{team}"
`, orgid.Text, []string{`6: org: conflicts with {workspace} in the path, which already names the org`}},
		{"no org source names org_param", `org_param: workspace
triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/x
`, orgid.Text, []string{`3: no org source: the path has no {workspace} and there is no org: key, so the trigger would broadcast to no namespace`}},
		{"org_param not a name", "org_param: work-space\ntriggers: []\n", orgid.Text,
			[]string{`1: org_param "work-space" is not a placeholder name (want [A-Za-z_][A-Za-z0-9_]{0,63})`}},
		{"org_param with braces", "org_param: \"{workspace}\"\ntriggers: []\n", orgid.Text,
			[]string{`1: org_param: write the placeholder's name without braces (org_param: workspace)`}},
		{"org_param a list", "triggers: []\norg_param: [a]\n", orgid.Text,
			[]string{`2: org_param must be a single value, not a list or mapping`}},
		{"org_param's name reserved", `org_param: workspace
triggers:
  - event: a
    method: POST
    path: /workspaces/{workspace}/docs
    from_response:
      workspace: data.workspace
rooms:
  - ws:{workspace}
client_events:
  - event: c.d
    fields: {workspace: id}
`, orgid.Text, []string{
			`7: from_response key "workspace" is reserved: it names the org`,
			`9: room "ws:{workspace}": {workspace} is implied (rooms live inside an org namespace)`,
			`12: bad field name "workspace" (want [A-Za-z_][A-Za-z0-9_]{0,63}; "by" and "workspace" are reserved)`,
		}},
		{"org placeholder's name is a path placeholder", `triggers:
  - event: a
    method: PUT
    path: /invites/{team}
    org: "{team}"
    from_response:
      team: data.team
`, orgid.Text, []string{`7: from_response key "team" clashes with the path placeholder {team}`}},
		{"fixed org not an integer", `triggers:
  - event: a
    method: PATCH
    path: /tasks/{t}
    org: acme
`, orgid.Integer, []string{`5: org: "acme" must be header:NAME, {PLACEHOLDER} or an org ID (a decimal number of at most 18 digits with --org-id-format integer)`}},
		{"negative fixed org", `triggers:
  - event: a
    method: PATCH
    path: /tasks/{t}
    org: -1
`, orgid.Integer, []string{`5: org: "-1" must be header:NAME, {PLACEHOLDER} or an org ID (a decimal number of at most 18 digits with --org-id-format integer)`}},
		{"fixed org too long for text", "triggers:\n  - event: a\n    method: PATCH\n    path: /tasks/{t}\n    org: " + strings.Repeat("a", 65) + "\n", orgid.Text,
			[]string{`5: org: "` + strings.Repeat("a", 65) + `" must be header:NAME, {PLACEHOLDER} or an org ID ([A-Za-z0-9_-]{1,64} (a slug, UUID or number) with --org-id-format text)`}},
		// Every part is checked although triggers: is missing.
		{"every problem at once", "org_param: 1x\nrooms:\n  - \"bad room\"\n", orgid.Text, []string{
			`1: org_param "1x" is not a placeholder name (want [A-Za-z_][A-Za-z0-9_]{0,63})`,
			`1: missing top-level triggers: key`,
			`3: room "bad room": text "bad room" has characters outside [A-Za-z0-9_.:-] or an unmatched }`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := ParseWith("conf/o.yaml", []byte(tc.src), Options{IDs: tc.ids})
			var e *Error
			if !errors.As(err, &e) || set != nil {
				t.Fatalf("ParseWith = %v, %v; want an *Error", set, err)
			}
			got := make([]string, len(e.Problems))
			for i, p := range e.Problems {
				got[i] = p.Error()
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = "conf/o.yaml:" + w
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// TestFixedOrgsInFormat checks fixed orgs are read in the set's format.
func TestFixedOrgsInFormat(t *testing.T) {
	const file = "triggers:\n  - event: a\n    method: PATCH\n    path: /tasks/{t}\n    org: %s\n"
	for _, c := range []struct {
		value string
		ids   orgid.Format
		want  string
	}{
		{"7", orgid.Text, "7"}, {"007", orgid.Text, "007"}, {"acme", orgid.Text, "acme"}, {`"` + uuid + `"`, orgid.Text, uuid},
		{"7", orgid.Integer, "7"}, {"007", orgid.Integer, "7"},
	} {
		set := mustParseWith(t, strings.Replace(file, "%s", c.value, 1), c.ids)
		evs := set.Match("PATCH", "/tasks/1", nil, nil)
		if len(evs) != 1 || evs[0].Org != c.want || evs[0].OrgFrom != OrgFromFixed {
			t.Errorf("%s org: %s fired %#v, want org %q", c.ids, c.value, evs, c.want)
		}
	}
}

// TestMisIndentedLine checks a YAML indentation error is reported at the offending line,
// not where yaml.v3 says the broken block starts.
func TestMisIndentedLine(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"key dedented inside a list item", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/a
  - event: b
    method: PUT
    path: /orgs/{orgId}/b
  - event: c
    method: PUT
   path: /orgs/{orgId}/c
`, 10},
		{"list item dedented", `org_param: orgId
triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/a
 - event: b
`, 6},
		{"mapping key dedented", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/a
    from_response:
      aId: data.id
     bId: data.b
`, 7},
		{"key indented too far", `triggers:
  - event: a
    method: PUT
      path: /orgs/{orgId}/a
`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("i.yaml", []byte(tc.src))
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) != 1 {
				t.Fatalf("Parse = %v, want one problem", err)
			}
			if p := e.Problems[0]; p.Line != tc.line || !strings.HasPrefix(p.Msg, "YAML syntax error: ") {
				t.Fatalf("problem %q at line %d, want a YAML syntax error at line %d", p.Msg, p.Line, tc.line)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	const file = `triggers:
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/views/{viewId}
    room: view:{viewId}
  - event: view.all
    method: PATCH
    path: /orgs/{orgId}/views/all
  - event: view.other
    method: PUT
    path: /orgs/{orgId}/views/all
  - event: view.pinned
    method: PATCH
    path: /orgs/{orgId}/views/{v}
    room: pin:{v}:{orgId}
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/views/x.y
  - event: board.updated
    method: PATCH
    path: /orgs/all/views/{viewId}
    org: 1
rooms:
  - view:{id}
`
	want := []string{
		`w.yaml:6: warning: PATCH /orgs/{orgId}/views/all (view.all) overlaps PATCH /orgs/{orgId}/views/{viewId} (view.updated) at line 2: a call such as PATCH /orgs/1/views/all fires both view.updated and view.all`,
		`w.yaml:12: warning: PATCH /orgs/{orgId}/views/{v} (view.pinned) overlaps PATCH /orgs/{orgId}/views/{viewId} (view.updated) at line 2: a call such as PATCH /orgs/1/views/1 fires both view.updated and view.pinned`,
		`w.yaml:12: warning: PATCH /orgs/{orgId}/views/{v} (view.pinned) overlaps PATCH /orgs/{orgId}/views/all (view.all) at line 6: a call such as PATCH /orgs/1/views/all fires both view.all and view.pinned`,
		`w.yaml:15: warning: room "pin:{v}:{orgId}" of view.pinned is not declared under rooms:, so no socket can subscribe to it and the event reaches nobody (declare it, or drop room: to send to the whole org)`,
		`w.yaml:19: warning: PATCH /orgs/all/views/{viewId} (board.updated) overlaps PATCH /orgs/{orgId}/views/{viewId} (view.updated) at line 2: a call such as PATCH /orgs/all/views/1 fires both view.updated and board.updated`,
		`w.yaml:19: warning: PATCH /orgs/all/views/{viewId} (board.updated) overlaps PATCH /orgs/{orgId}/views/all (view.all) at line 6: a call such as PATCH /orgs/all/views/all fires both view.all and board.updated`,
		`w.yaml:19: warning: PATCH /orgs/all/views/{viewId} (board.updated) overlaps PATCH /orgs/{orgId}/views/{v} (view.pinned) at line 12: a call such as PATCH /orgs/all/views/1 fires both view.pinned and board.updated`,
	}
	set := mustParse(t, file)
	set.file = "w.yaml"
	if got := problemStrings(set.Warnings()); !reflect.DeepEqual(got, want) {
		t.Fatalf("text warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// With integer org IDs no org is called "all": board.updated overlaps nothing. Other
	// differences: x.y is not an ID, so /views/x.y overlaps no placeholder; the same
	// event on two paths is fine when no call matches both.
	integer := mustParseWith(t, file, orgid.Integer)
	integer.file = "w.yaml"
	if got := problemStrings(integer.Warnings()); !reflect.DeepEqual(got, want[:4]) {
		t.Fatalf("integer warnings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want[:4], "\n  "))
	}
	twice := mustParse(t, "triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}/{x}\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}/y\n")
	if got := problemStrings(twice.Warnings()); len(got) != 1 || !strings.HasSuffix(got[0], "fires a twice") {
		t.Fatalf("same event twice: %q", got)
	}
	if w := mustParse(t, clientFile).Warnings(); len(w) != 0 {
		t.Fatalf("a file whose trigger rooms are declared warns: %q", problemStrings(w))
	}
}

func problemStrings(ps []*Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}

func TestNearest(t *testing.T) {
	set := mustParse(t, matchFile)
	integer := mustParseWith(t, matchFile, orgid.Integer)
	tests := []struct {
		name         string
		set          *Set
		method, path string
		h            http.Header
		line         int
		reasons      []string
	}{
		{"method", set, "POST", "/orgs/1/people/views/2/rows/3", nil, 2,
			[]string{"method: the trigger is for PUT, the call is POST"}},
		{"literal", set, "PUT", "/orgs/1/people/view/2/rows/3", nil, 2,
			[]string{`segment 4: the trigger wants "views", the call has "view"`}},
		{"placeholder not an ID", set, "PUT", "/orgs/1/people/views/a.b/rows/3", nil, 2,
			[]string{`segment 5 {viewId}: "a.b" is not an ID ([A-Za-z0-9_-]{1,64})`}},
		{"encoded slash", set, "PUT", "/orgs/1/people/views/2%2F3/rows/3", nil, 2,
			[]string{`segment 5 {viewId}: "2/3" is not an ID ([A-Za-z0-9_-]{1,64})`}},
		{"org not an integer", integer, "PUT", "/orgs/acme/people/views/2/rows/3", nil, 2,
			[]string{`segment 2 {orgId}: "acme" is not an org ID (a decimal number of at most 18 digits, --org-id-format integer)`}},
		{"header missing", set, "PATCH", "/tasks/9", nil, 16,
			[]string{"org: the trigger reads the org from the header X-Org-Id, which the call does not send"}},
		{"header twice", set, "PATCH", "/tasks/9", hdr("X-Org-Id", "1", "X-Org-Id", "2"), 16,
			[]string{"org: the call sends the header X-Org-Id 2 times; the trigger needs exactly one"}},
		{"header not an org", set, "PATCH", "/tasks/9", hdr("X-Org-Id", "a b"), 16,
			[]string{`org: header X-Org-Id: "a b" is not an org ID ([A-Za-z0-9_-]{1,64} (a slug, UUID or number), --org-id-format text)`}},
		{"length", set, "DELETE", "/campaigns/5/x", nil, 20,
			[]string{"length: the trigger's path has 2 segments, the call's has 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if evs := tc.set.Match(tc.method, tc.path, tc.h, nil); len(evs) != 0 {
				t.Fatalf("the call fires %#v", evs)
			}
			m, ok := tc.set.Nearest(tc.method, tc.path, tc.h)
			if !ok || m.Line != tc.line || !reflect.DeepEqual(m.Reasons, tc.reasons) {
				t.Fatalf("Nearest = %+v, %v; want line %d, reasons %q", m, ok, tc.line, tc.reasons)
			}
		})
	}
	m, ok := set.Nearest("PUT", "/orgs/1/people/views/../x", nil)
	if ok || len(m.Reasons) != 1 || !strings.Contains(m.Reasons[0], "dot segment") {
		t.Fatalf("dot segments: %+v, %v", m, ok)
	}
	if _, ok := mustParse(t, "triggers: []\n").Nearest("PUT", "/x", nil); ok {
		t.Fatal("an empty set has a nearest trigger")
	}
	// The nearest names the trigger itself.
	m, _ = set.Nearest("post", "/orgs/1/people/views/2/rows/3", nil)
	if m.Event != "personview.addrow" || m.Method != "PUT" || m.Path != "/orgs/{orgId}/people/views/{viewId}/rows/{personId}" {
		t.Fatalf("Nearest = %+v", m)
	}
}
