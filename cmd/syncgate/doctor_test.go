package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// doctorUpstream serves path with status and body to "Authorization: Bearer tok" and 401 to
// anyone else, on loopback.
func doctorUpstream(t *testing.T, path string, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.EscapedPath() != path:
			http.NotFound(w, r)
		default:
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func doctor(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runDoctor(args, &out, &errb)
	t.Logf("syncgate doctor %q\n%s%s(err: %v)", args, out.String(), errb.String(), err)
	return out.String(), err
}

func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, s)
		}
	}
}

const zetkinBody = `{"data":[{"organization":{"id":1,"title":"KPD"},"role":"admin"},` +
	`{"organization":{"id":2},"role":"organizer"},{"organization":{"id":3},"role":null}]}`

func TestDoctor_GoodAnswerPrintsOrgsAndRoles(t *testing.T) {
	up := doctorUpstream(t, "/v1/users/me/memberships", http.StatusOK, zetkinBody)
	out, err := doctor(t, "--upstream", up, "--token", "tok", "--member-roles", "admin", "--org", "2")
	if err != nil {
		t.Fatalf("doctor on a fitting answer: %v", err)
	}
	mustContain(t, "output", out,
		`list mode: memberships at "data", org ID at "organization.id", role at "role"; org IDs: text`,
		"--member-roles: one of admin admits",
		"/v1/users/me/memberships → 200 OK",
		"3 memberships understood:",
		"1    \"admin\"      admitted",
		"2    \"organizer\"  refused (forbidden): role not in --member-roles",
		`3    (no role)    refused (forbidden): no role, a follower (--member-roles "*" admits followers)`,
		"1 of 3 orgs would admit a socket",
		"org 2: refused (forbidden): the role does not admit a socket",
		"ok: the answer fits the memberships contract")
	if strings.Contains(out, "tok") {
		t.Fatalf("output shows the token:\n%s", out)
	}
}

func TestDoctor_CustomPaths(t *testing.T) {
	up := doctorUpstream(t, "/v1/me/teams", http.StatusOK, `{"items":[{"team":{"slug":"acme"},"access":"owner"}]}`)
	out, err := doctor(t, "--upstream", up, "--memberships-path", "/me/teams", "--memberships-list", "items",
		"--memberships-org", "team.slug", "--memberships-role", "access", "--authorization", "Bearer tok", "--org", "beta")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "output", out, `acme  "owner"  admitted`, "org beta: refused (forbidden): not a member", "ok:")
}

func TestDoctor_MalformedAnswerShowsExpectedAndArrivedShape(t *testing.T) {
	up := doctorUpstream(t, "/v1/users/me/memberships", http.StatusOK,
		`{"items":[{"org":{"id":"secret-acme"},"role":"owner"}]}`)
	out, err := doctor(t, "--upstream", up, "--token", "tok")
	if err == nil {
		t.Fatal("doctor accepted an answer that does not fit")
	}
	want := `expected "data" to be an array of objects with "organization.id" a string or integer and "role" a string or null; ` +
		`got {"items": [ {"org": {"id": string}, "role": string} ]} ("data" is missing)`
	mustContain(t, "error", err.Error(), "does not fit the memberships contract", want)
	mustContain(t, "output", out, "/v1/users/me/memberships → 200 OK")
	if strings.Contains(out+err.Error(), "secret-acme") {
		t.Fatal("a value of the answer was printed")
	}
	// Integer format refuses string IDs, and says so.
	up = doctorUpstream(t, "/v1/users/me/memberships", http.StatusOK, `{"data":[{"organization":{"id":"7"},"role":"a"}]}`)
	if _, err := doctor(t, "--upstream", up, "--token", "tok", "--org-id-format", "integer"); err == nil ||
		!strings.Contains(err.Error(), `"organization.id" is a string, but org IDs are integers`) {
		t.Fatalf("integer format on string IDs: %v", err)
	}
}

func TestDoctor_UnreachableStatusAndRefusal(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := srv.URL
	srv.Close()
	_, err := doctor(t, "--upstream", closed, "--token", "tok")
	if err == nil || !strings.Contains(err.Error(), "memberships endpoint unreachable") {
		t.Fatalf("unreachable upstream: %v", err)
	}
	up := doctorUpstream(t, "/v1/users/me/memberships", http.StatusBadGateway, "")
	if _, err := doctor(t, "--upstream", up, "--token", "tok"); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("502: %v", err)
	}
	if _, err := doctor(t, "--upstream", up, "--token", "wrong"); err == nil ||
		!strings.Contains(err.Error(), "refused the credentials (401 Unauthorized)") {
		t.Fatalf("401: %v", err)
	}
	up = doctorUpstream(t, "/v1/users/me/memberships", http.StatusOK, "<html>login</html>")
	if _, err := doctor(t, "--upstream", up, "--token", "tok"); err == nil || !strings.Contains(err.Error(), "not one JSON value") {
		t.Fatalf("HTML answer: %v", err)
	}
}

func TestDoctor_PerOrgMode(t *testing.T) {
	up := doctorUpstream(t, "/v1/teams/acme/me", http.StatusOK, `{"membership":{"role":"owner"}}`)
	_, err := doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--token", "tok")
	if err == nil || !strings.Contains(err.Error(), "per-org mode") || !strings.Contains(err.Error(), "--org X is required") {
		t.Fatalf("per-org mode without --org: %v", err)
	}
	out, err := doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--token", "tok", "--org", "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "output", out, "per-org mode: one call per org; role not read (every 2xx admits)",
		"/v1/teams/acme/me → 200 OK\nmember of org acme: admitted\nok:")
	out, err = doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--memberships-role", "membership.role",
		"--member-roles", "admin", "--token", "tok", "--org", "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "output", out, `member of org acme, role "owner": refused (forbidden): role not in --member-roles`)
	_, err = doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--token", "tok", "--org", "beta")
	if err == nil || !strings.Contains(err.Error(), `404 Not Found: not a member of org "beta"`) {
		t.Fatalf("404: %v", err)
	}
	_, err = doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--memberships-list", "items", "--token", "tok", "--org", "acme")
	if err == nil || !strings.Contains(err.Error(), "--memberships-list and --memberships-org apply to list mode only") {
		t.Fatalf("--memberships-list in per-org mode: %v", err)
	}
	_, err = doctor(t, "--upstream", up, "--memberships-path", "/teams/{org}/me", "--member-roles", "admin", "--token", "tok", "--org", "acme")
	if err == nil || !strings.Contains(err.Error(), "without --memberships-role reads no role") {
		t.Fatalf("--member-roles without --memberships-role in per-org mode: %v", err)
	}
}

func TestDoctor_Usage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--token", "t"}, "--upstream URL is required"},
		{[]string{"--upstream", "http://127.0.0.1:1"}, "credentials are required"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--token", "t", "--authorization", "Bearer t"}, "not both"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--token", "t", "--org-id-format", "uuid"}, "text or integer"},
		{[]string{"--upstream", "http://127.0.0.1:1", "--token", "t", "--memberships-path", "users"}, "must start with /"},
	} {
		if _, err := doctor(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("doctor %q: %v, want %q", c.args, err, c.want)
		}
	}
}

// doctor reads the gateway's SYNCGATE_* variables, so the environment file that configures
// the gateway checks the contract without repeating it as flags.
func TestDoctor_ReadsTheGatewaysEnvironment(t *testing.T) {
	up := doctorUpstream(t, "/v1/me/workspaces", http.StatusOK,
		`{"items":[{"workspace":{"slug":"acme-corp"},"access":"editor"},{"workspace":{"slug":"globex"},"access":"guest"}]}`)
	for k, v := range map[string]string{
		"SYNCGATE_UPSTREAM": up, "SYNCGATE_MEMBERSHIPS_PATH": "/me/workspaces", "SYNCGATE_MEMBERSHIPS_LIST": "items",
		"SYNCGATE_MEMBERSHIPS_ORG": "workspace.slug", "SYNCGATE_MEMBERSHIPS_ROLE": "access", "SYNCGATE_MEMBER_ROLES": "owner,editor",
	} {
		t.Setenv(k, v)
	}
	out, err := doctor(t, "--token", "tok")
	if err != nil {
		t.Fatalf("doctor with the gateway's environment: %v", err)
	}
	mustContain(t, "output", out, `memberships at "items", org ID at "workspace.slug", role at "access"`,
		"1 of 2 orgs would admit a socket")
	// A flag still wins over the environment.
	if _, err := doctor(t, "--token", "tok", "--memberships-list", "data"); err == nil {
		t.Fatal("--memberships-list data on an answer without data: want a contract error")
	}
}
