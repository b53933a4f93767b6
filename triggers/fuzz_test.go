package triggers

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/orgid"
)

// checkEvent fails unless ev carries only well-formed IDs; set is the set that fired it.
func checkEvent(t *testing.T, set *Set, ev Event) {
	t.Helper()
	if !set.IDs().Valid(ev.Org) {
		t.Fatalf("event org %q is not a canonical org ID (%s)", ev.Org, set.IDs())
	}
	if !eventName.MatchString(ev.Name) {
		t.Fatalf("event name %q is malformed", ev.Name)
	}
	if ev.Data == nil {
		t.Fatal("event data is nil")
	}
	for k, v := range ev.Data {
		switch v := v.(type) {
		case int64:
			if v < 0 {
				t.Fatalf("data %s = %d is negative", k, v)
			}
		case string:
			if !isID(v) || allDigits(v) && len(v) < 19 {
				t.Fatalf("data %s = %q is not an ID in canonical form", k, v)
			}
		default:
			t.Fatalf("data %s has type %T, want int64 or string", k, v)
		}
	}
	if len(ev.Room) > maxRoomLen+maxIDLen*4 {
		t.Fatalf("room %q is too long", ev.Room)
	}
}

func FuzzMatch(f *testing.F) {
	text, err := Parse("t.yaml", []byte(matchFile))
	if err != nil {
		f.Fatal(err)
	}
	integer, err := ParseWith("t.yaml", []byte(matchFile), Options{IDs: orgid.Integer})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("PUT", "/orgs/1/people/views/2/rows/3", "1", []byte(nil))
	f.Add("POST", "/orgs/1/people", "", []byte(`{"data":{"id":42,"email":"x@y"}}`))
	f.Add("POST", "/orgs/1/tags", "", []byte(`{"data":[{"id":5,"owner":"u"}]}`))
	f.Add("PATCH", "/tasks/%39", "007", []byte(nil))
	f.Add("PATCH", "/orgs/1/people/views/all/", "", []byte(nil))
	f.Add("DELETE", "/campaigns/..%2f", "", []byte(`{"data":{"id":1e3}}`))
	f.Fuzz(func(t *testing.T, method, path, org string, body []byte) {
		h := http.Header{"X-Org-Id": {org}}
		for _, set := range []*Set{text, integer} {
			set.NeedsBody(method, path)
			for _, ev := range set.Match(method, path, h, body) {
				checkEvent(t, set, ev)
				if _, err := json.Marshal(ev.Data); err != nil {
					t.Fatalf("data does not encode: %v", err)
				}
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(matchFile))
	f.Add([]byte("triggers: []\n"))
	f.Add([]byte("triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}\n    room: r{orgId}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("triggers:\n  - {event: a, method: POST, path: /x/{y}, org: header:X, from_response: {k: a.0.b}}\n"))
	f.Add([]byte(workspacesFile))
	f.Add([]byte("triggers:\n  - event: a\n    method: PUT\n   path: /x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse("f.yaml", data)
		if err != nil {
			if set != nil {
				t.Fatal("Parse returned a set with an error")
			}
			return
		}
		for _, ev := range set.Match("POST", "/orgs/1/x/2", http.Header{"X": {"3"}}, []byte(`{"a":[{"b":4}]}`)) {
			checkEvent(t, set, ev)
		}
		// The check tool's extras must not fail on any valid file.
		for _, w := range set.Warnings() {
			if w.Line < 1 || !strings.HasPrefix(w.Msg, "warning: ") {
				t.Fatalf("bad warning %v", w)
			}
		}
		set.Nearest("PUT", "/orgs/1/x/2", nil)
	})
}
