package triggers

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/orgid"
)

const matchFile = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: personview.deleterow
    method: DELETE
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: person.created
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      personId: data.id
  - event: people.changed
    method: POST
    path: /orgs/{orgId}/people
  - event: task.updated
    method: PATCH
    path: /tasks/{taskId}
    org: header:X-Org-Id
  - event: campaign.deleted
    method: DELETE
    path: /campaigns/{campaignId}
    org: 7
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewId}
  - event: view.literal
    method: PATCH
    path: /orgs/{orgId}/people/views/all
  - event: tag.first
    method: POST
    path: /orgs/{orgId}/tags
    from_response:
      tagId: data.0.id
      ownerId: data.0.owner
`

func mustParse(t testing.TB, src string) *Set {
	t.Helper()
	set, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return set
}

func mustParseWith(t testing.TB, src string, ids orgid.Format) *Set {
	t.Helper()
	set, err := ParseWith("t.yaml", []byte(src), Options{IDs: ids})
	if err != nil {
		t.Fatalf("ParseWith(%s): %v", ids, err)
	}
	return set
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestMatch(t *testing.T) {
	set := mustParse(t, matchFile)
	tests := []struct {
		name   string
		method string
		path   string
		h      http.Header
		body   string
		want   []Event
	}{
		{"PoC addrow", "PUT", "/orgs/1/people/views/2/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"PoC deleterow", "DELETE", "/orgs/1/people/views/2/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.deleterow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"method case-insensitive", "put", "/orgs/1/people/views/2/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"trailing slash", "PUT", "/orgs/1/people/views/2/rows/3/", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"query ignored", "PUT", "/orgs/1/people/views/2/rows/3?x=1", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"string ID stays a string", "PUT", "/orgs/1/people/views/ab-c_d/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": "ab-c_d", "personId": int64(3)}}}},
		{"digits beyond int64 stay a string", "PUT", "/orgs/1/people/views/99999999999999999999/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": "99999999999999999999", "personId": int64(3)}}}},
		// Text org IDs compare by text: "007" is its own org (TestOrgIDFormats: integer).
		{"org leading zeros kept", "PUT", "/orgs/007/people/views/2/rows/3", nil, "",
			[]Event{{Org: "007", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
		{"wrong method", "POST", "/orgs/1/people/views/2/rows/3", nil, "", nil},
		{"GET never matches", "GET", "/orgs/1/people/views/2/rows/3", nil, "", nil},
		{"too few segments", "PUT", "/orgs/1/people/views/2/rows", nil, "", nil},
		{"too many segments", "PUT", "/orgs/1/people/views/2/rows/3/x", nil, "", nil},
		{"literal mismatch", "PUT", "/orgs/1/people/VIEWS/2/rows/3", nil, "", nil},
		{"several triggers in file order", "POST", "/orgs/4/people", nil, `{"data":{"id":42}}`,
			[]Event{
				{Org: "4", Name: "person.created", Data: map[string]any{"personId": int64(42)}},
				{Org: "4", Name: "people.changed", Data: map[string]any{}},
			}},
		{"from_response string ID", "POST", "/orgs/4/people", nil, `{"data":{"id":"p-1"}}`,
			[]Event{
				{Org: "4", Name: "person.created", Data: map[string]any{"personId": "p-1"}},
				{Org: "4", Name: "people.changed", Data: map[string]any{}},
			}},
		{"from_response missing body: incomplete, not dropped", "POST", "/orgs/4/people", nil, "",
			[]Event{
				{Org: "4", Name: "person.created", Data: map[string]any{}, Incomplete: true},
				{Org: "4", Name: "people.changed", Data: map[string]any{}},
			}},
		{"from_response array index", "POST", "/orgs/4/tags", nil, `{"data":[{"id":5,"owner":"u1"},{"id":6}]}`,
			[]Event{{Org: "4", Name: "tag.first", Data: map[string]any{"tagId": int64(5), "ownerId": "u1"}}}},
		{"from_response one key missing: incomplete", "POST", "/orgs/4/tags", nil, `{"data":[{"id":5}]}`,
			[]Event{{Org: "4", Name: "tag.first", Data: map[string]any{}, Incomplete: true}}},
		{"header org", "PATCH", "/tasks/9", hdr("X-Org-Id", "12"), "",
			[]Event{{Org: "12", Name: "task.updated", Data: map[string]any{"taskId": int64(9)}, OrgFrom: "header:X-Org-Id"}}},
		{"header org lower-case name", "PATCH", "/tasks/9", http.Header{"X-Org-Id": {" 12 "}}, "",
			[]Event{{Org: "12", Name: "task.updated", Data: map[string]any{"taskId": int64(9)}, OrgFrom: "header:X-Org-Id"}}},
		{"header org missing", "PATCH", "/tasks/9", nil, "", nil},
		{"fixed org", "DELETE", "/campaigns/5", nil, "",
			[]Event{{Org: "7", Name: "campaign.deleted", Data: map[string]any{"campaignId": int64(5)}, OrgFrom: OrgFromFixed}}},
		{"room", "PATCH", "/orgs/1/people/views/2", nil, "",
			[]Event{{Org: "1", Name: "view.updated", Data: map[string]any{"viewId": int64(2)}, Room: "view:2"}}},
		{"literal and placeholder both match", "PATCH", "/orgs/1/people/views/all", nil, "",
			[]Event{
				{Org: "1", Name: "view.updated", Data: map[string]any{"viewId": "all"}, Room: "view:all"},
				{Org: "1", Name: "view.literal", Data: map[string]any{}},
			}},
		{"percent-encoded ID decoded", "PUT", "/orgs/1/people/views/%32/rows/3", nil, "",
			[]Event{{Org: "1", Name: "personview.addrow", Data: map[string]any{"viewId": int64(2), "personId": int64(3)}}}},
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
}

// TestMatchHostileValues feeds values that must never reach an event.
func TestMatchHostileValues(t *testing.T) {
	set := mustParse(t, matchFile)
	tests := []struct {
		name, method, path string
		h                  http.Header
		body               string
	}{
		// A decoded slash would let one segment smuggle a path into an ID.
		{"encoded slash in ID", "PUT", "/orgs/1/people/views/2%2F3/rows/4", nil, ""},
		// Dot segments may be resolved by the upstream to a different resource.
		{"dot-dot segment", "PUT", "/orgs/1/people/views/../views/2/rows/3/x/..", nil, ""},
		{"encoded dot-dot segment", "PUT", "/orgs/1/people/views/%2e%2e/rows/3", nil, ""},
		{"traversal inside ID", "PUT", "/orgs/1/people/views/..%2F..%2Fadmin/rows/3", nil, ""},
		// Empty segments are normalised differently by different servers.
		{"empty segment", "PUT", "/orgs/1/people/views//rows/3", nil, ""},
		{"double slash prefix", "PUT", "//orgs/1/people/views/2/rows/3", nil, ""},
		// Overlong values could flood clients or logs.
		{"very long ID", "PUT", "/orgs/1/people/views/" + strings.Repeat("9", 65) + "/rows/3", nil, ""},
		{"very long path", "PUT", "/orgs/1/people/views/2/rows/3" + strings.Repeat("/", 5000), nil, ""},
		// Non-ASCII may render as something else (homoglyphs, control chars).
		{"unicode ID", "PUT", "/orgs/1/people/views/%C3%A9/rows/3", nil, ""},
		{"raw unicode ID", "PUT", "/orgs/1/people/views/é/rows/3", nil, ""},
		{"NUL in ID", "PUT", "/orgs/1/people/views/2%00/rows/3", nil, ""},
		{"script in ID", "PUT", "/orgs/1/people/views/%3Cscript%3E/rows/3", nil, ""},
		{"bad escape", "PUT", "/orgs/1/people/views/%zz/rows/3", nil, ""},
		// With integer IDs a non-numeric org would name a namespace nobody is admitted to,
		// or another one; as text they are orgs of their own.
		{"non-numeric org", "PUT", "/orgs/abc/people/views/2/rows/3", nil, ""},
		{"negative org", "PUT", "/orgs/-1/people/views/2/rows/3", nil, ""},
		{"exponent org", "PUT", "/orgs/1e3/people/views/2/rows/3", nil, ""},
		{"too many org digits", "PUT", "/orgs/1234567890123456789/people/views/2/rows/3", nil, ""},
		{"org with a slash", "PUT", "/orgs/1%2F2/people/views/2/rows/3", nil, ""},
		{"org too long", "PUT", "/orgs/" + strings.Repeat("a", 65) + "/people/views/2/rows/3", nil, ""},
		{"dot-dot org", "PUT", "/orgs/../people/views/2/rows/3", nil, ""},
		// Two org headers: the upstream may have used the other one.
		{"two org headers", "PATCH", "/tasks/9", hdr("X-Org-Id", "1", "X-Org-Id", "2"), ""},
		{"comma-joined org header", "PATCH", "/tasks/9", hdr("X-Org-Id", "1,2"), ""},
		{"non-numeric org header", "PATCH", "/tasks/9", hdr("X-Org-Id", "../2"), ""},
		{"org header with a space inside", "PATCH", "/tasks/9", hdr("X-Org-Id", "1 2"), ""},
		// Response values that are not IDs could leak data (objects, names) to every socket.
		{"response object", "POST", "/orgs/1/tags", nil, `{"data":[{"id":{"email":"a@b"},"owner":"u"}]}`},
		{"response array", "POST", "/orgs/1/tags", nil, `{"data":[{"id":[1,2],"owner":"u"}]}`},
		{"response bool", "POST", "/orgs/1/tags", nil, `{"data":[{"id":true,"owner":"u"}]}`},
		{"response null", "POST", "/orgs/1/tags", nil, `{"data":[{"id":null,"owner":"u"}]}`},
		{"response exponent", "POST", "/orgs/1/tags", nil, `{"data":[{"id":1e3,"owner":"u"}]}`},
		{"response negative", "POST", "/orgs/1/tags", nil, `{"data":[{"id":-5,"owner":"u"}]}`},
		{"response fraction", "POST", "/orgs/1/tags", nil, `{"data":[{"id":1.5,"owner":"u"}]}`},
		{"response free text", "POST", "/orgs/1/tags", nil, `{"data":[{"id":5,"owner":"Clara Zetkin"}]}`},
		{"response long string", "POST", "/orgs/1/tags", nil, `{"data":[{"id":5,"owner":"` + strings.Repeat("a", 65) + `"}]}`},
		{"response trailing garbage", "POST", "/orgs/1/tags", nil, `{"data":[{"id":5,"owner":"u"}]} {"x":1}`},
		{"response not JSON", "POST", "/orgs/1/tags", nil, `<html>`},
	}
	// Hostile only where org IDs are numbers: as text, these are valid orgs of their own.
	integerOnly := map[string]bool{"non-numeric org": true, "negative org": true, "exponent org": true, "too many org digits": true}
	integer := mustParseWith(t, matchFile, orgid.Integer)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			sets := []*Set{set, integer}
			if integerOnly[tc.name] {
				sets = sets[1:]
			}
			for _, s := range sets {
				// A response whose values are not IDs may only turn into an Incomplete event
				// (a resync of the org), never carry anything.
				for _, ev := range s.Match(tc.method, tc.path, tc.h, body) {
					if !ev.Incomplete || len(ev.Data) != 0 || ev.Room != "" {
						t.Fatalf("%s IDs: Match(%s %q) fired %#v, want nothing or an empty Incomplete event", s.IDs(), tc.method, tc.path, ev)
					}
				}
			}
		})
	}
}

// TestMatchObjectKeyThatLooksLikeIndex checks "0" is an object key as well as an array index.
func TestMatchObjectKeyThatLooksLikeIndex(t *testing.T) {
	set := mustParse(t, matchFile)
	got := set.Match("POST", "/orgs/1/tags", nil, []byte(`{"data":{"0":{"id":5,"owner":"u"}}}`))
	want := []Event{{Org: "1", Name: "tag.first", Data: map[string]any{"tagId": int64(5), "ownerId": "u"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestNeedsBody(t *testing.T) {
	set := mustParse(t, matchFile)
	tests := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/orgs/1/people", true},
		{"post", "/orgs/1/people/", true},
		{"PUT", "/orgs/1/people", false},
		{"PUT", "/orgs/1/people/views/2/rows/3", false},
		{"POST", "/orgs/1/tags?x", true},
		{"POST", "/orgs/1/unknown", false},
	}
	for _, tc := range tests {
		if got := set.NeedsBody(tc.method, tc.path); got != tc.want {
			t.Errorf("NeedsBody(%s %s) = %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestNilSetMatchesNothing(t *testing.T) {
	var set *Set
	if set.Match("PUT", "/orgs/1", nil, nil) != nil || set.NeedsBody("POST", "/orgs/1") || set.Len() != 0 {
		t.Fatal("nil set must match nothing")
	}
}
