package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const zetkinSpec = "../../examples/openapi/zetkin-api.yaml"

// The three commands end to end: spec → trigger file (passes check) → coverage gate (0,
// then 1 when the spec grows) → replay of an access log.
func TestFromOpenAPICoverageReplay(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "triggers.yaml")
	if code, _, stderr := callMain("triggers", "from-openapi", zetkinSpec, "--out", out); code != 0 || !strings.Contains(stderr, "35 triggers") {
		t.Fatalf("from-openapi: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, stderr := callMain("check", out); code != 0 || stderr != "" || !strings.Contains(stdout, "ok, 35 triggers") {
		t.Fatalf("check: exit %d, %q %q", code, stdout, stderr)
	}
	before, _ := os.ReadFile(out)
	if code, _, _ := callMain("triggers", "from-openapi", "--merge", out, "--out", out, zetkinSpec); code != 0 {
		t.Fatalf("merge: exit %d", code)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Fatal("a merge of the same spec changed the file")
	}
	code, stdout, _ := callMain("coverage", "--openapi", zetkinSpec, "--triggers", out)
	if code != 0 || !strings.HasPrefix(stdout, "coverage ok: 35 of 40 mutating operations triggered, 5 ignored") {
		t.Fatalf("coverage: exit %d, %q", code, stdout)
	}
	// A trigger removed: exit 1, in both formats, with the spec's line.
	data := strings.Replace(string(before), "  - event: call.deleted\n    method: DELETE\n    path: /orgs/{orgId}/calls/{callId}\n", "", 1)
	data = strings.Replace(data, "triggers:\n", "triggers:\n  - event: gone.deleted\n    method: DELETE\n    path: /orgs/{orgId}/gone/{goneId}\n", 1)
	if err := os.WriteFile(out, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = callMain("coverage", "--openapi", zetkinSpec, "--triggers", out)
	if code != 1 || !strings.Contains(stdout, "zetkin-api.yaml:309: DELETE /orgs/{orgId}/calls/{callId} (deleteCall)") ||
		!strings.Contains(stdout, "triggers.yaml:7: gone.deleted: DELETE /orgs/{orgId}/gone/{goneId}") {
		t.Fatalf("coverage of a stale file: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = callMain("coverage", "--openapi", zetkinSpec, "--triggers", out, "--format", "github")
	if code != 1 || !strings.Contains(stdout, "::error file=../../examples/openapi/zetkin-api.yaml,line=309,title=syncgate%3A mutation without a trigger::DELETE /orgs/{orgId}/calls/{callId} (deleteCall)") ||
		!strings.Contains(stdout, "::error file="+ghProp(out)+",line=7,title=syncgate%3A trigger matches no operation::gone.deleted") {
		t.Fatalf("github format: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{
		{"coverage", "--triggers", out},
		{"coverage", "--openapi", zetkinSpec, "--triggers", out, "--format", "xml"},
		{"coverage", "--openapi", "/nonexistent.yaml", "--triggers", out},
		{"triggers", "from-openapi"},
		{"triggers", "to-openapi", zetkinSpec},
		{"replay", "--triggers", out},
	} {
		if code, _, _ := callMain(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	log := filepath.Join(dir, "access.log")
	lines := `203.0.113.7 - - [10/Oct/2026:13:55:36 +0200] "PUT /api/orgs/1/people/views/2/rows/3 HTTP/1.1" 204 0 "-" "-"
203.0.113.7 - - [10/Oct/2026:13:55:37 +0200] "PUT /api/orgs/2/people/views/2/rows/4 HTTP/1.1" 204 0 "-" "-"
{"method":"POST","path":"/api/orgs/1/petitions","status":201}
{"method":"POST","path":"/api/orgs/1/people","status":500}
`
	if err := os.WriteFile(log, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := callMain("replay", "--triggers", out, log)
	if code != 0 || !strings.Contains(stdout, "4 lines, 4 mutations, 3 answered 2xx") ||
		!strings.Contains(stdout, "2       2     personview.addrow") || !strings.Contains(stdout, "1  POST /orgs/{orgId}/petitions  petitions.created") {
		t.Fatalf("replay: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}

func TestFromOpenAPIOtherOrgParam(t *testing.T) {
	out := filepath.Join(t.TempDir(), "k.yaml")
	spec := "../../examples/openapi/kanban-api.json"
	if code, _, stderr := callMain("triggers", "from-openapi", spec, "--org-param", "teamSlug", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, stdout, _ := callMain("check", out); code != 0 || !strings.Contains(stdout, "org placeholder {teamSlug}") {
		t.Fatalf("check: %d %s", code, stdout)
	}
	// The attachment path cannot be a trigger path: coverage says to mark it.
	if code, stdout, _ := callMain("coverage", "--openapi", spec, "--triggers", out); code != 1 || !strings.Contains(stdout, "mark it x-syncgate-ignore: true") {
		t.Fatalf("coverage: %d\n%s", code, stdout)
	}
	if code, _, stderr := callMain("triggers", "from-openapi", spec, "--merge", out, "--org-param", "orgId"); code != 2 || !strings.Contains(stderr, "names the org {teamSlug}") {
		t.Fatalf("merge with another org param: %d %q", code, stderr)
	}
}
