package openapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/openapi"
)

func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want openapi.Request
		ok   bool
	}{
		{`203.0.113.7 - alice [10/Oct/2026:13:55:36 +0200] "PUT /api/orgs/1/people/views/2/rows/3 HTTP/1.1" 204 0 "https://app.example/" "Mozilla/5.0"`, openapi.Request{"PUT", "/api/orgs/1/people/views/2/rows/3", 204}, true},
		{`::1 - - [10/Oct/2026:13:55:36 +0000] "DELETE /api/orgs/1/calls/7?x=1 HTTP/2.0" 403 12`, openapi.Request{"DELETE", "/api/orgs/1/calls/7?x=1", 403}, true},
		{`{"time":"2026-10-10T13:55:36Z","method":"post","path":"/api/orgs/1/people","status":201}`, openapi.Request{"POST", "/api/orgs/1/people", 201}, true},
		{`{"request_method":"PATCH","request_uri":"/api/tasks/5","status":"200"}`, openapi.Request{"PATCH", "/api/tasks/5", 200}, true},
		{`{"method":"PATCH","path":"/x"}`, openapi.Request{}, false},
		{`not a log line`, openapi.Request{}, false},
	} {
		got, ok := openapi.ParseLine(c.line)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

// accessLog generates a log: row additions in orgs 1..3, people created in org 1 (JSON
// lines), failed deletes, reads, header-org task updates, calls no trigger matches, and
// a line that is no request.
func accessLog() string {
	var b strings.Builder
	for i := range 30 {
		org := i%3 + 1
		fmt.Fprintf(&b, "10.0.0.%d - - [10/Oct/2026:13:55:%02d +0000] \"PUT /api/orgs/%d/people/views/%d/rows/%d HTTP/1.1\" 204 0 \"-\" \"curl/8\"\n", i, i%60, org, i%4, 100+i)
	}
	for i := range 5 {
		fmt.Fprintf(&b, "{\"method\":\"POST\",\"path\":\"/api/orgs/1/people\",\"status\":201,\"n\":%d}\n", i)
	}
	for range 4 {
		b.WriteString(`10.0.0.1 - - [10/Oct/2026:13:56:00 +0000] "DELETE /api/orgs/2/calls/9 HTTP/1.1" 404 0 "-" "-"` + "\n")
		b.WriteString(`10.0.0.1 - - [10/Oct/2026:13:56:00 +0000] "GET /api/orgs/2/calls/9 HTTP/1.1" 200 10 "-" "-"` + "\n")
	}
	for range 2 {
		b.WriteString(`10.0.0.1 - - [10/Oct/2026:13:56:01 +0000] "PATCH /api/tasks/5 HTTP/1.1" 200 10 "-" "-"` + "\n")
	}
	for range 3 {
		b.WriteString(`10.0.0.1 - - [10/Oct/2026:13:56:02 +0000] "POST /api/orgs/2/petitions/12/signatures HTTP/1.1" 201 10 "-" "-"` + "\n")
	}
	b.WriteString(`10.0.0.1 - - [10/Oct/2026:13:56:02 +0000] "POST /healthz HTTP/1.1" 200 2 "-" "-"` + "\n")
	b.WriteString("garbage\n")
	return b.String()
}

func TestReplay(t *testing.T) {
	set := parse(t, "gen.yaml", mustGenerate(t, load(t, "zetkin-api.yaml"), ""))
	// The header-org trigger of the PoC, by hand.
	withTask := parse(t, "task.yaml", []byte(strings.Replace(string(mustGenerate(t, load(t, "zetkin-api.yaml"), "")),
		"triggers:\n", "triggers:\n  - event: task.updated\n    method: PATCH\n    path: /tasks/{taskId}\n    org: header:X-Org-Id\n", 1)))
	rep, err := openapi.Replay(strings.NewReader(accessLog()), withTask, "/api")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 50 || rep.Skipped != 1 || rep.FirstSkip != 50 || rep.Mutations != 44 || rep.Successful != 40 {
		t.Errorf("counts: %+v", rep)
	}
	byEvent := map[string]openapi.TriggerCount{}
	for _, tc := range rep.Triggers {
		byEvent[tc.Trigger.Event] = tc
	}
	if c := byEvent["personview.addrow"]; c.Events != 30 || c.Orgs != 3 {
		t.Errorf("personview.addrow: %+v", c)
	}
	if c := byEvent["person.created"]; c.Events != 5 || c.Orgs != 1 {
		t.Errorf("person.created: %+v", c)
	}
	if c := byEvent["call.deleted"]; c.Events != 0 {
		t.Errorf("404 deletes fired: %+v", c)
	}
	if c := byEvent["task.updated"]; c.Events != 0 || c.FromHeader != 2 {
		t.Errorf("task.updated: %+v", c)
	}
	if len(rep.Unmatched) != 1 || rep.Unmatched[0] != (openapi.Unmatched{Method: "POST", Path: "/orgs/{orgId}/petitions/{petitionId}/signatures", Count: 3, Event: "signatures.created"}) {
		t.Errorf("unmatched: %+v", rep.Unmatched)
	}
	// Without the header trigger the task updates are unmatched, shaped as the gateway does.
	rep, _ = openapi.Replay(strings.NewReader(accessLog()), set, "/api")
	if len(rep.Unmatched) != 2 || rep.Unmatched[1].Path != "/tasks/{taskId}" || rep.Unmatched[1].Count != 2 {
		t.Errorf("unmatched without the header trigger: %+v", rep.Unmatched)
	}
}
