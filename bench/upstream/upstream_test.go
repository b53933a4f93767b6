package upstream

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func do(t *testing.T, srv *httptest.Server, method, path, authz string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestMembershipsListEveryOrgInThePlatformFormat(t *testing.T) {
	srv := httptest.NewServer(New(3))
	defer srv.Close()
	code, body := do(t, srv, "GET", "/v1/users/me/memberships", "Bearer user42")
	if code != 200 {
		t.Fatalf("status %d, body %s", code, body)
	}
	var got struct {
		Data []struct {
			Organization struct{ ID int } `json:"organization"`
			Role         *string          `json:"role"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if len(got.Data) != 3 || got.Data[2].Organization.ID != 3 || got.Data[0].Role == nil || *got.Data[0].Role != "admin" {
		t.Fatalf("memberships = %s", body)
	}
}

func TestUnknownCredentialsAreUnauthorized(t *testing.T) {
	srv := httptest.NewServer(New(1))
	defer srv.Close()
	for _, authz := range []string{"", "Bearer ", "Bearer admin", "Bearer user1x", "Basic user1"} {
		if code, _ := do(t, srv, "GET", "/v1/users/me/memberships", authz); code != 401 {
			t.Errorf("Authorization %q: status %d, want 401", authz, code)
		}
	}
}

func TestRowMutationAnswers200AndOtherPathsDoNot(t *testing.T) {
	srv := httptest.NewServer(New(1))
	defer srv.Close()
	if code, body := do(t, srv, "PUT", "/v1/orgs/1/people/views/2/rows/3", "Bearer user1"); code != 200 || string(body) != `{"data":{}}` {
		t.Fatalf("PUT row: %d %s", code, body)
	}
	for _, p := range []string{"/v1/orgs/1/people/views/2/rows/x", "/v1/orgs/1/people/views/2/rows/3/extra", "/orgs/1/people/views/2/rows/3"} {
		if code, _ := do(t, srv, "PUT", p, "Bearer user1"); code != 404 {
			t.Errorf("PUT %s: status %d, want 404", p, code)
		}
	}
}

func TestMutationByUnknownUserIsUnauthorized(t *testing.T) {
	srv := httptest.NewServer(New(1))
	defer srv.Close()
	if code, _ := do(t, srv, "PUT", "/v1/orgs/1/people/views/2/rows/3", "Bearer intruder"); code != 401 {
		t.Fatalf("PUT by an unknown user: status %d, want 401", code)
	}
}

func TestMembershipCallsAreCountedAndDelayed(t *testing.T) {
	h := New(1)
	h.MembershipDelay = 20 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	t0 := time.Now()
	do(t, srv, "GET", "/v1/users/me/memberships", "Bearer user1")
	do(t, srv, "GET", "/v1/users/me/memberships", "Bearer nobody")
	if took := time.Since(t0); took < 40*time.Millisecond {
		t.Errorf("two delayed membership calls took %s, want ≥ 40ms", took)
	}
	do(t, srv, "PUT", "/v1/orgs/1/people/views/2/rows/3", "Bearer user1")
	if code, body := do(t, srv, "GET", "/bench/counts", ""); code != 200 || string(body) != `{"memberships":2}` {
		t.Fatalf("counts: %d %s, want {\"memberships\":2}", code, body)
	}
	if h.MembershipCalls() != 2 {
		t.Fatalf("MembershipCalls = %d, want 2", h.MembershipCalls())
	}
}

func TestRowReadAnswers200(t *testing.T) {
	srv := httptest.NewServer(New(1))
	defer srv.Close()
	if code, body := do(t, srv, "GET", "/v1/orgs/1/people/views/2/rows/3", "Bearer user1"); code != 200 || string(body) != `{"data":{}}` {
		t.Fatalf("GET row: %d %s", code, body)
	}
}
