package main

import (
	"bytes"
	"errors"
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
}

func TestMatchPrintsExactlyWhatWouldFire(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"PUT", "/api/orgs/1/people/views/2/rows/3"}, "personview.addrow → /org/1 {\"personId\":3,\"viewId\":2}\n"},
		{[]string{"DELETE", "/orgs/1/people/views/2/rows/3"}, "personview.deleterow → /org/1 {\"personId\":3,\"viewId\":2}\n"},
		{[]string{"--status", "500", "PUT", "/orgs/1/people/views/2/rows/3"}, "no events: status 500 is not 2xx\n"},
		{[]string{"GET", "/orgs/1/people"}, "no events: GET is not a mutating method\n"},
		{[]string{"POST", "/orgs/1/people", "--body", `{"data":{"id":42,"email":"x@y"}}`}, "person.created → /org/1 {\"personId\":42}\n"},
		{[]string{"PATCH", "/tasks/5", "--header", "X-Org-Id: 7"}, "task.updated → /org/7 {\"taskId\":5}\n"},
		{[]string{"PUT", "/orgs/1/nothing/here"}, "no events: PUT /orgs/1/nothing/here matches no trigger\n"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"--triggers", pocFile}, c.args...)
		if err := runMatch(args, &out, &errb); err != nil {
			t.Fatalf("match %q: %v %s", c.args, err, errb.String())
		}
		if out.String() != c.want {
			t.Errorf("match %q = %q, want %q", c.args, out.String(), c.want)
		}
	}
}

func TestSuggestDraftsAValidTriggerFile(t *testing.T) {
	draft := draftTriggers([]gateway.UnmatchedRow{
		{Method: "PATCH", Path: "/orgs/{orgId}/gadgets/{gadgetId}", Count: 3, Last: time.Unix(0, 0)},
		{Method: "POST", Path: "/tasks/{taskId}/notes", Count: 1, Last: time.Unix(0, 0)},
	})
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
	empty := draftTriggers(nil)
	os.WriteFile(file, []byte(empty), 0o600)
	if err := runCheck([]string{"--triggers", file}, &out, &errb); err != nil {
		t.Fatalf("the empty draft does not load: %v\n%s", err, empty)
	}
}
