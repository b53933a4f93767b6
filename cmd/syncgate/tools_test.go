package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
)

const pocFile = "../../examples/zetkin-poc.yaml"

func TestCheckGoodAndBrokenFiles(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runCheck([]string{"--triggers", pocFile}, &out, &errb); err != nil {
		t.Fatalf("check on the shipped file: %v %s", err, errb.String())
	}
	if !strings.Contains(out.String(), "ok, 20 triggers") {
		t.Fatalf("check output %q", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("triggers:\n  - event: row.added\n    method: GET\n    path: /orgs/{orgId}/x\n  - event: Bad\n    method: PUT\n    path: /orgs/{orgId}/y\n"), 0o600)
	out.Reset()
	errb.Reset()
	if err := runCheck([]string{"--triggers", bad}, &out, &errb); !errors.Is(err, errFailed) {
		t.Fatalf("check on a broken file: %v, want failure", err)
	}
	for _, want := range []string{bad + ":3: method \"GET\" is not a mutation", bad + ":5: bad event name \"Bad\""} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check errors %q lack %q", errb.String(), want)
		}
	}
	// The binary's exit codes.
	if res := runBinary(t, nil, "check", "--triggers", pocFile); res.code != 0 {
		t.Fatalf("syncgate check exit %d: %s", res.code, res.stderr)
	}
	if res := runBinary(t, nil, "check", "--triggers", bad); res.code != 1 || !strings.Contains(res.stderr, bad+":3:") {
		t.Fatalf("syncgate check on a broken file: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runBinary(t, nil, "check", "--triggers", bad+".missing"); res.code != 2 || !strings.Contains(res.stderr, "no such file") {
		t.Fatalf("syncgate check on a missing file: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runBinary(t, nil, "match", "--triggers", pocFile, "PUT", "/orgs/1/nothing"); res.code != 1 {
		t.Fatalf("syncgate match firing nothing: exit %d, stderr %q", res.code, res.stderr)
	}
}

// Since the exit codes: a call that fires nothing (not a mutation, not 2xx, no trigger)
// is exit 1, and a missing trigger names the nearest one.
func TestMatchPrintsExactlyWhatWouldFire(t *testing.T) {
	clearToolEnv(t)
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"PUT", "/api/orgs/1/people/views/2/rows/3"}, "personview.addrow → /org/1 {\"personId\":3,\"viewId\":2}\n", 0},
		{[]string{"DELETE", "/orgs/1/people/views/2/rows/3"}, "personview.deleterow → /org/1 {\"personId\":3,\"viewId\":2}\n", 0},
		{[]string{"--status", "500", "PUT", "/orgs/1/people/views/2/rows/3"}, "no events: status 500 is not 2xx\n", 1},
		{[]string{"GET", "/orgs/1/people"}, "no events: GET is not a mutating method\n", 1},
		{[]string{"POST", "/orgs/1/people", "--body", `{"data":{"id":42,"email":"x@y"}}`}, "person.created → /org/1 {\"personId\":42}\n", 0},
		{[]string{"POST", "/orgs/1/people"}, "person.created → /org/1 resync (a from_response ID is missing from the body)\n", 0},
		{[]string{"PATCH", "/tasks/5", "--header", "X-Org-Id: 7"}, "task.updated → /org/7 {\"taskId\":5}\n", 0},
		{[]string{"--namespace-prefix", "/team/", "PATCH", "/tasks/5", "--header", "X-Org-Id: 7"}, "task.updated → /team/7 {\"taskId\":5}\n", 0},
		{[]string{"PUT", "/orgs/1/nothing/here"}, "no events: PUT /orgs/1/nothing/here matches no trigger\n" +
			"nearest trigger: person.updated at " + pocFile + ":47: PATCH /orgs/{orgId}/people/{personId}\n" +
			"  method: the trigger is for PATCH, the call is PUT\n" +
			"  segment 3: the trigger wants \"people\", the call has \"nothing\"\n", 1},
		{[]string{"PUT", "/api/orgs/1/people/view/2/rows/3"}, "no events: PUT /orgs/1/people/view/2/rows/3 matches no trigger\n" +
			"nearest trigger: personview.addrow at " + pocFile + ":10: PUT /orgs/{orgId}/people/views/{viewId}/rows/{personId}\n" +
			"  segment 4: the trigger wants \"views\", the call has \"view\"\n", 1},
		{[]string{"POST", "/orgs/1/people/views/2/rows/3"}, "no events: POST /orgs/1/people/views/2/rows/3 matches no trigger\n" +
			"nearest trigger: personview.addrow at " + pocFile + ":10: PUT /orgs/{orgId}/people/views/{viewId}/rows/{personId}\n" +
			"  method: the trigger is for PUT, the call is POST\n", 1},
		{[]string{"PUT", "/orgs/1/people/views/a%20b/rows/3"}, "no events: PUT /orgs/1/people/views/a%20b/rows/3 matches no trigger\n" +
			"nearest trigger: personview.addrow at " + pocFile + ":10: PUT /orgs/{orgId}/people/views/{viewId}/rows/{personId}\n" +
			"  segment 5 {viewId}: \"a b\" is not an ID ([A-Za-z0-9_-]{1,64})\n", 1},
		{[]string{"PATCH", "/tasks/5"}, "no events: PATCH /tasks/5 matches no trigger\n" +
			"nearest trigger: task.updated at " + pocFile + ":91: PATCH /tasks/{taskId}\n" +
			"  org: the trigger reads the org from the header X-Org-Id, which the call does not send\n", 1},
		{[]string{"PUT", "/orgs/1/people/views/../2/rows/3"}, "no events: PUT /orgs/1/people/views/../2/rows/3 matches no trigger\n" +
			"  the path has an empty or dot segment (raw or %-encoded), a bad %-escape, or is too long: no trigger ever fires for it\n", 1},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"--triggers", pocFile}, c.args...)
		err := runMatch(args, &out, &errb)
		if code := exitCode(err); code != c.code {
			t.Fatalf("match %q: exit %d (%v), want %d; stderr %q", c.args, code, err, c.code, errb.String())
		}
		if out.String() != c.want {
			t.Errorf("match %q =\n%s\nwant\n%s", c.args, out.String(), c.want)
		}
	}
}

// exitCode is what main makes of a tool's error: 0 for none (or -h), the code of an
// ExitCode() error, else 1.
func exitCode(err error) int {
	var coded interface{ ExitCode() int }
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &coded):
		return coded.ExitCode()
	}
	return 1
}

// clearToolEnv keeps the developer's SYNCGATE_* defaults out of the tools' flags.
func clearToolEnv(t *testing.T) {
	for _, k := range []string{"SYNCGATE_TRIGGERS", "SYNCGATE_ORG_ID_FORMAT", "SYNCGATE_NAMESPACE_PREFIX"} {
		t.Setenv(k, "")
	}
}

func writeToolFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckExitCodes(t *testing.T) {
	clearToolEnv(t)
	bad := writeToolFile(t, "bad.yaml", "triggers:\n  - event: Bad\n    method: PUT\n    path: /orgs/{orgId}/y\n")
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a substring, or "" for nothing printed
		silent bool   // the error is errFailed: main prints nothing more
	}{
		{"valid", []string{"--triggers", pocFile}, 0, "", true},
		{"valid as an argument", []string{pocFile}, 0, "", true},
		{"problems", []string{"--triggers", bad}, 1, bad + ":2: bad event name", true},
		{"missing file", []string{"--triggers", filepath.Join(t.TempDir(), "nope.yaml")}, 2, "no such file", true},
		{"no file", nil, 2, "", false},
		{"two files", []string{pocFile, bad}, 2, "", false},
		{"unknown flag", []string{"--trigers", pocFile}, 2, "flag provided but not defined: -trigers", true},
		{"bad ID format", []string{"--org-id-format", "uuid", "--triggers", pocFile}, 2, "org ID format must be text or integer", true},
		{"help", []string{"-h"}, 0, "-org-id-format", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runCheck(c.args, &out, &errb)
			if code := exitCode(err); code != c.code {
				t.Fatalf("exit %d (%v), want %d; stderr %q", code, err, c.code, errb.String())
			}
			if c.stderr == "" && errb.Len() > 0 || !strings.Contains(errb.String(), c.stderr) {
				t.Errorf("stderr %q, want %q", errb.String(), c.stderr)
			}
			if err != nil && !errors.Is(err, flag.ErrHelp) && errors.Is(err, errFailed) != c.silent {
				t.Errorf("error %v: silent %v, want %v", err, errors.Is(err, errFailed), c.silent)
			}
		})
	}
	t.Setenv("SYNCGATE_ORG_ID_FORMAT", "integer")
	t.Setenv("SYNCGATE_TRIGGERS", pocFile)
	var out, errb bytes.Buffer
	if err := runCheck(nil, &out, &errb); err != nil || out.String() != pocFile+": ok, 20 triggers, org placeholder {orgId}, integer org IDs\n" {
		t.Fatalf("check from the environment: %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
}

// check reports every problem of a file at once, each at its line, and warnings without
// failing.
func TestCheckReportsEverything(t *testing.T) {
	clearToolEnv(t)
	broken := writeToolFile(t, "broken.yaml", `org_param: work-space
triggers:
  - event: a
    method: GET
    path: /w/{workspace}
  - event: b
    method: PUT
    path: /invites/{t}
    org: "{team}"
rooms:
  - "x y"
`)
	var out, errb bytes.Buffer
	err := runCheck([]string{"--triggers", broken}, &out, &errb)
	want := broken + `:1: org_param "work-space" is not a placeholder name (want [A-Za-z_][A-Za-z0-9_]{0,63})
` + broken + `:4: method "GET" is not a mutation (want POST, PUT, PATCH or DELETE)
` + broken + `:9: org: "{team}" names no placeholder of the path /invites/{t}
` + broken + `:11: room "x y": text "x y" has characters outside [A-Za-z0-9_.:-] or an unmatched }
`
	if exitCode(err) != 1 || errb.String() != want || out.Len() != 0 {
		t.Fatalf("check: exit %d, stdout %q, stderr\n%s\nwant\n%s", exitCode(err), out.String(), errb.String(), want)
	}

	warned := writeToolFile(t, "warned.yaml", `org_param: workspace
triggers:
  - event: doc.updated
    method: PATCH
    path: /workspaces/{workspace}/docs/{docId}
    room: doc:{docId}
  - event: doc.renamed
    method: PATCH
    path: /workspaces/{workspace}/docs/{docId}
`)
	out.Reset()
	errb.Reset()
	err = runCheck([]string{"--triggers", warned}, &out, &errb)
	wantErr := warned + `:6: warning: room "doc:{docId}" of doc.updated is not declared under rooms:, so no socket can subscribe to it and the event reaches nobody (declare it, or drop room: to send to the whole org)
` + warned + `:7: warning: PATCH /workspaces/{workspace}/docs/{docId} (doc.renamed) overlaps PATCH /workspaces/{workspace}/docs/{docId} (doc.updated) at line 3: a call such as PATCH /workspaces/1/docs/1 fires both doc.updated and doc.renamed
`
	if err != nil || errb.String() != wantErr || out.String() != warned+": ok, 2 triggers, org placeholder {workspace}, text org IDs, 2 warnings\n" {
		t.Fatalf("check with warnings: %v, stdout %q, stderr\n%s\nwant\n%s", err, out.String(), errb.String(), wantErr)
	}
}

// A YAML indentation error names the mis-indented line, not the top of its block.
func TestCheckNamesTheMisIndentedLine(t *testing.T) {
	clearToolEnv(t)
	file := writeToolFile(t, "indent.yaml", `triggers:
  - event: a
    method: PUT
    path: /orgs/{orgId}/a
  - event: b
    method: PUT
   path: /orgs/{orgId}/b
`)
	var out, errb bytes.Buffer
	err := runCheck([]string{"--triggers", file}, &out, &errb)
	if exitCode(err) != 1 || !strings.HasPrefix(errb.String(), file+":7: YAML syntax error: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("check: exit %d, stderr %q; want one YAML syntax error at line 7", exitCode(err), errb.String())
	}
}

const workspacesFile = `org_param: workspace
triggers:
  - event: doc.updated
    method: PATCH
    path: /workspaces/{workspace}/docs/{docId}
  - event: invite.created
    method: PUT
    path: /invites/{team}/{userId}
    org: "{team}"
`

func TestMatchOrgParamAndFormats(t *testing.T) {
	clearToolEnv(t)
	file := writeToolFile(t, "ws.yaml", workspacesFile)
	const uuid = "0b5e4f5c-8d1e-4c9a-9f3e-2a7d5b6c8e91"
	for _, c := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"PATCH", "/api/workspaces/acme-corp/docs/" + uuid}, "doc.updated → /org/acme-corp {\"docId\":\"" + uuid + "\"}\n", 0},
		{[]string{"--namespace-prefix", "/workspace", "PATCH", "/workspaces/acme-corp/docs/7"}, "doc.updated → /workspace/acme-corp {\"docId\":7}\n", 0},
		{[]string{"PUT", "/invites/" + uuid + "/u-1"}, "invite.created → /org/" + uuid + " {\"userId\":\"u-1\"}\n", 0},
		{[]string{"PATCH", "/workspaces/007/docs/1"}, "doc.updated → /org/007 {\"docId\":1}\n", 0},
		{[]string{"--org-id-format", "integer", "PATCH", "/workspaces/007/docs/1"}, "doc.updated → /org/7 {\"docId\":1}\n", 0},
		{[]string{"--org-id-format", "integer", "PATCH", "/workspaces/acme-corp/docs/1"}, "no events: PATCH /workspaces/acme-corp/docs/1 matches no trigger\n" +
			"nearest trigger: doc.updated at " + file + ":3: PATCH /workspaces/{workspace}/docs/{docId}\n" +
			"  segment 2 {workspace}: \"acme-corp\" is not an org ID (a decimal number of at most 18 digits, --org-id-format integer)\n", 1},
		{[]string{"PATCH", "/workspaces/acme-corp%2Fevil/docs/1"}, "no events: PATCH /workspaces/acme-corp%2Fevil/docs/1 matches no trigger\n" +
			"nearest trigger: doc.updated at " + file + ":3: PATCH /workspaces/{workspace}/docs/{docId}\n" +
			"  segment 2 {workspace}: \"acme-corp/evil\" is not an ID ([A-Za-z0-9_-]{1,64})\n", 1},
	} {
		var out, errb bytes.Buffer
		err := runMatch(append([]string{"--triggers", file}, c.args...), &out, &errb)
		if code := exitCode(err); code != c.code || out.String() != c.want {
			t.Errorf("match %q: exit %d (%v), stdout\n%s\nwant exit %d,\n%s", c.args, code, err, out.String(), c.code, c.want)
		}
	}
}

func TestMatchUsageAndFileErrorsExit2(t *testing.T) {
	clearToolEnv(t)
	broken := writeToolFile(t, "broken.yaml", "triggers:\n  - event: a\n    method: GET\n    path: /orgs/{orgId}\n")
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no file", []string{"PUT", "/x"}, ""},
		{"one argument", []string{"--triggers", pocFile, "PUT"}, ""},
		{"missing file", []string{"--triggers", filepath.Join(t.TempDir(), "nope.yaml"), "PUT", "/x"}, "no such file"},
		{"invalid file", []string{"--triggers", broken, "PUT", "/orgs/1"}, broken + ":3: method \"GET\""},
		{"bad path", []string{"--triggers", pocFile, "PUT", "/x%zz"}, ""},
		{"bad header", []string{"--triggers", pocFile, "--header", "nocolon", "PUT", "/x"}, "want NAME:VALUE"},
		{"bad ID format", []string{"--triggers", pocFile, "--org-id-format", "hex", "PUT", "/x"}, "org ID format must be text or integer"},
	} {
		var out, errb bytes.Buffer
		err := runMatch(c.args, &out, &errb)
		if exitCode(err) != 2 || out.Len() != 0 || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%s: exit %d (%v), stdout %q, stderr %q; want 2 and %q", c.name, exitCode(err), err, out.String(), errb.String(), c.stderr)
		}
	}
}

func TestSuggestDraftsAValidTriggerFile(t *testing.T) {
	clearToolEnv(t)
	draft := draftTriggers([]gateway.UnmatchedRow{
		{Method: "PATCH", Path: "/orgs/{orgId}/gadgets/{gadgetId}", Count: 3, Last: time.Unix(0, 0)},
		{Method: "POST", Path: "/tasks/{taskId}/notes", Count: 1, Last: time.Unix(0, 0)},
	}, "orgId")
	file := filepath.Join(t.TempDir(), "draft.yaml")
	os.WriteFile(file, []byte(draft), 0o600)
	var out, errb bytes.Buffer
	if err := runCheck([]string{"--triggers", file}, &out, &errb); err != nil {
		t.Fatalf("the draft does not load: %v\n%s\n%s", err, errb.String(), draft)
	}
	for _, want := range []string{"event: gadgets.updated", "path: /orgs/{orgId}/gadgets/{gadgetId}", "org: header:X-Org-Id"} {
		if !strings.Contains(draft, want) {
			t.Errorf("draft lacks %q:\n%s", want, draft)
		}
	}
	empty := draftTriggers(nil, "orgId")
	os.WriteFile(file, []byte(empty), 0o600)
	if err := runCheck([]string{"--triggers", file}, &out, &errb); err != nil {
		t.Fatalf("the empty draft does not load: %v\n%s", err, empty)
	}
}

// A gateway whose trigger file renames the org placeholder shapes paths with it, and the
// draft declares it, so the draft loads.
func TestSuggestUsesTheOrgParam(t *testing.T) {
	clearToolEnv(t)
	const uuid = "0b5e4f5c-8d1e-4c9a-9f3e-2a7d5b6c8e91"
	for in, want := range map[string]string{
		"/workspaces/acme-corp/docs/" + uuid: "/workspaces/{workspace}/docs/{docId}",
		"/workspaces/42/docs":                "/workspaces/{workspace}/docs",
		"/orgs/1/docs/7":                     "/orgs/{workspace}/docs/{docId}",
		"/docs/7/comments":                   "/docs/{docId}/comments",
		"/workspaces/a.b/docs/7":             "/workspaces/a.b/docs/{docId}",
	} {
		if got := gateway.PathShapeFor(in, "workspace"); got != want {
			t.Errorf("PathShapeFor(%q, workspace) = %q, want %q", in, got, want)
		}
	}
	if got := gateway.PathShapeFor("/teams/blue/tasks/3", "teamId"); got != "/teams/{teamId}/tasks/{taskId}" {
		t.Errorf("PathShapeFor(teamId) = %q", got)
	}
	if got := gateway.PathShape("/orgs/acme/people/7"); got != "/orgs/{orgId}/people/{personId}" {
		t.Errorf("PathShape with a text org = %q", got)
	}

	// suggest against an admin endpoint, with the trigger file in use.
	rows := []gateway.UnmatchedRow{
		{Method: "PATCH", Path: gateway.PathShapeFor("/workspaces/acme-corp/docs/"+uuid, "workspace"), Count: 2, Last: time.Unix(0, 0)},
		{Method: "POST", Path: gateway.PathShapeFor("/docs/7/comments", "workspace"), Count: 1, Last: time.Unix(0, 0)},
	}
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/unmatched" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(rows)
	}))
	defer admin.Close()
	file := writeToolFile(t, "ws.yaml", workspacesFile)
	var out, errb bytes.Buffer
	if err := runSuggest([]string{"--admin", admin.URL, "--triggers", file}, &out, &errb); err != nil {
		t.Fatalf("suggest: %v %s", err, errb.String())
	}
	draft := out.String()
	for _, want := range []string{"org_param: workspace\ntriggers:\n", "path: /workspaces/{workspace}/docs/{docId}\n", "path: /docs/{docId}/comments\n    org: header:X-Org-Id  # no {workspace} in the path"} {
		if !strings.Contains(draft, want) {
			t.Errorf("draft lacks %q:\n%s", want, draft)
		}
	}
	if strings.Count(draft, "org: header:") != 1 {
		t.Errorf("draft asks for an org header on a path that names the workspace:\n%s", draft)
	}
	drafted := writeToolFile(t, "draft.yaml", draft)
	out.Reset()
	if err := runCheck([]string{"--triggers", drafted}, &out, &errb); err != nil || !strings.Contains(out.String(), "ok, 2 triggers, org placeholder {workspace}") {
		t.Fatalf("the draft does not load: %v %s %s\n%s", err, out.String(), errb.String(), draft)
	}
	// A trigger file that can't be read is a file error.
	err := runSuggest([]string{"--admin", admin.URL, "--triggers", filepath.Join(t.TempDir(), "nope.yaml")}, &out, &errb)
	if exitCode(err) != 2 {
		t.Fatalf("suggest with a missing file: exit %d (%v)", exitCode(err), err)
	}
}
