package triggers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseValidFile(t *testing.T) {
	src := `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: person.created
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      personId: data.id
  - event: task.updated
    method: PATCH
    path: /tasks/{taskId}
    org: header:X-Org-Id
  - event: campaign.deleted
    method: DELETE
    path: /campaigns/{campaignId}/
    org: 7
  - event: view.updated
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewId}
`
	set, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if set.Len() != 5 {
		t.Fatalf("Len = %d, want 5", set.Len())
	}
}

func TestParseEmptyListAllowed(t *testing.T) {
	for _, src := range []string{"triggers: []\n", "triggers:\n"} {
		set, err := Parse("t.yaml", []byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if set.Len() != 0 || set.Match("PUT", "/x", nil, nil) != nil {
			t.Fatalf("Parse(%q): want an empty set", src)
		}
	}
}

// TestParseProblems checks each problem is reported as FILE:LINE: message.
// want holds "LINE: substring" entries, one per expected problem, in order.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"syntax error", "triggers:\n  - event: a\n    method: [PUT\n", []string{"3: YAML syntax error"}},
		// yaml.v3 names the line where the broken collection starts; the mis-indented line
		// itself is reported.
		{"block mapping error", "triggers:\n  - event: a\n    method: PUT\n  path: /x\n", []string{"4: YAML syntax error: did not find expected '-' indicator (check this line's indentation against the block that starts at line 2)"}},
		{"unterminated quote", "triggers:\n  - event: 'a\n", []string{"2: YAML syntax error: found unexpected end of stream"}},
		{"tab indentation", "triggers:\n\t- event: a\n", []string{"2: YAML syntax error"}},
		{"empty file", "", []string{"1: file is empty"}},
		{"no triggers key", "trigger: []\n", []string{"1: unknown key \"trigger\"", "1: missing top-level triggers: key"}},
		{"top level is a list", "- event: a\n", []string{"1: top level must be a mapping"}},
		{"triggers not a list", "triggers: 3\n", []string{"1: triggers must be a list"}},
		{"second document", "triggers: []\n---\ntriggers: []\n", []string{"2: a second YAML document"}},
		{"unknown top-level key", "triggers: []\nversion: 2\n", []string{"2: unknown key \"version\""}},
		{"duplicate top-level key", "triggers: []\ntriggers: []\n", []string{"2: duplicate key \"triggers\" (first at line 1)"}},
		{"unknown trigger key", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}
    methd: POST
`, []string{"5: unknown key \"methd\""}},
		{"missing fields", `triggers:
  - room: x
`, []string{"2: trigger is missing event", "2: trigger is missing method", "2: trigger is missing path"}},
		{"item not a mapping", "triggers:\n  - just a string\n", []string{"2: each trigger must be a mapping"}},
		{"GET is not a mutation", `triggers:
  - event: a
    method: GET
    path: /orgs/{orgId}
`, []string{"3: method \"GET\" is not a mutation"}},
		{"lower-case method", `triggers:
  - event: a
    method: put
    path: /orgs/{orgId}
`, []string{"3: method \"put\" must be upper-case: PUT"}},
		{"bad event name", `triggers:
  - event: Person Created
    method: POST
    path: /orgs/{orgId}
`, []string{"2: bad event name \"Person Created\""}},
		{"event name too long", "triggers:\n  - event: " + strings.Repeat("a", 129) + "\n    method: POST\n    path: /orgs/{orgId}\n",
			[]string{"2: bad event name"}},
		{"empty event", `triggers:
  - event:
    method: POST
    path: /orgs/{orgId}
`, []string{"2: event is empty"}},
		{"event is a list", `triggers:
  - event: [a, b]
    method: POST
    path: /orgs/{orgId}
`, []string{"2: event must be a single value"}},
		{"duplicate trigger", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/x
  - event: a
    method: PUT
    path: /orgs/{orgId}/x/
`, []string{"5: duplicate trigger: PUT /orgs/{orgId}/x already fires a at line 2"}},
		{"no org source", `triggers:
  - event: a
    method: PATCH
    path: /tasks/{taskId}
`, []string{"2: no org source"}},
		{"org conflicts with path", `triggers:
  - event: a
    method: PATCH
    path: /orgs/{orgId}/x
    org: 7
`, []string{"5: org: conflicts with {orgId}"}},
		{"bad org value", `triggers:
  - event: a
    method: PATCH
    path: /tasks/{t}
    org: cookie:org
`, []string{"5: org: \"cookie:org\" must be header:NAME, {PLACEHOLDER} or an org ID ([A-Za-z0-9_-]{1,64} (a slug, UUID or number) with --org-id-format text)"}},
		{"bad org header name", `triggers:
  - event: a
    method: PATCH
    path: /tasks/{t}
    org: "header:X Org"
`, []string{"5: org: header name \"X Org\" is not a valid header name"}},
		{"bad placeholder name", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/x/{1st}
`, []string{"4: bad placeholder name \"1st\""}},
		{"partial placeholder", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/x-{id}
`, []string{"4: segment \"x-{id}\" must be a literal or a whole {name} placeholder"}},
		{"duplicate placeholder", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/x/{id}/y/{id}
`, []string{"4: placeholder {id} appears twice in path"}},
		{"path without slash", `triggers:
  - event: a
    method: PUT
    path: orgs/{orgId}
`, []string{"4: path \"orgs/{orgId}\" must start with /"}},
		{"path with empty segment", `triggers:
  - event: a
    method: PUT
    path: /orgs//{orgId}
`, []string{"4: path \"/orgs//{orgId}\" has an empty segment"}},
		{"path with dot segment", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/../admin
`, []string{"4: path \"/orgs/{orgId}/../admin\" has a dot segment"}},
		{"path with query", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}?x=1
`, []string{"4: path \"/orgs/{orgId}?x=1\" must not contain a query"}},
		{"from_response clashes with placeholder", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/people/{personId}
    from_response:
      personId: data.id
`, []string{"6: from_response key \"personId\" clashes with the path placeholder {personId}"}},
		{"from_response orgId reserved", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      orgId: data.org
`, []string{"6: from_response key \"orgId\" is reserved"}},
		{"from_response bad path", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      personId: data..id
`, []string{"6: from_response personId: bad path \"data..id\""}},
		{"from_response not a mapping", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/people
    from_response: data.id
`, []string{"5: from_response must be a mapping"}},
		{"from_response bad key", `triggers:
  - event: a
    method: POST
    path: /orgs/{orgId}/people
    from_response:
      person-id: data.id
`, []string{"6: bad from_response key \"person-id\""}},
		{"room with unknown placeholder", `triggers:
  - event: a
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: view:{viewID}
`, []string{"5: room \"view:{viewID}\" uses {viewID}"}},
		{"room with bad characters", `triggers:
  - event: a
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: "view/{viewId}"
`, []string{"5: room \"view/{viewId}\": text \"view/\" has characters outside"}},
		{"room unclosed", `triggers:
  - event: a
    method: PATCH
    path: /orgs/{orgId}/people/views/{viewId}
    room: "view:{viewId"
`, []string{"5: room \"view:{viewId\" has an unclosed {"}},
		{"alias", `base: &b /orgs/{orgId}
triggers:
  - event: a
    method: PUT
    path: *b
`, []string{"1: unknown key \"base\"", "5: aliases (*b) are not supported"}},
		{"custom tag", `triggers:
  - event: !!binary aGVsbG8=
    method: PUT
    path: /orgs/{orgId}
`, []string{"2: event has unsupported tag !!binary"}},
		{"several problems all reported", `triggers:
  - event: a
    method: GET
    path: /orgs/{orgId}
  - event: B
    method: PUT
    path: /tasks/{t}
`, []string{"3: method \"GET\"", "5: bad event name \"B\"", "5: no org source"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := Parse("conf/t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d triggers), want errors %q", set.Len(), tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err is %T, want *Error", err)
			}
			if len(e.Problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(e.Problems), len(tc.want), err)
			}
			for i, want := range tc.want {
				got := e.Problems[i].Error()
				line, msg, _ := strings.Cut(want, ": ")
				prefix := "conf/t.yaml:" + line + ": "
				if !strings.HasPrefix(got, prefix) || !strings.Contains(got[len(prefix):], msg) {
					t.Errorf("problem %d = %q, want prefix %q containing %q", i, got, prefix, msg)
				}
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	src := "triggers: []\n#" + strings.Repeat("x", MaxFileSize)
	_, err := Parse("big.yaml", []byte(src))
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "big.yaml:1: file too large") {
		t.Fatalf("err = %v, want big.yaml:1: file too large", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := Load(good)
	if err != nil || set.Len() != 1 {
		t.Fatalf("Load(good) = %v, %v; want 1 trigger", set.Len(), err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("triggers:\n  - event: a\n    method: GET\n    path: /orgs/{orgId}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), bad+":3: ") {
		t.Fatalf("Load(bad) = %v, want %s:3: ...", err, bad)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("triggers: []\n#"+strings.Repeat("x", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("Load(big) = %v, want too large", err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want a not-exist error that is not ErrInvalid", err)
	}
}
