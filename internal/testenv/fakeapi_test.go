package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// do sends one request to the fake API and returns status and body.
func do(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b)
}

type membershipsBody struct {
	Data []struct {
		Organization struct {
			ID int `json:"id"`
		} `json:"organization"`
		Role *string `json:"role"`
	} `json:"data"`
}

func TestFakeAPIMembershipsByBearerAndByCookie(t *testing.T) {
	f := NewFakeAPI(t)
	f.SetMemberships("alice", Membership{Org: 1, Role: "admin"}, Membership{Org: 2})
	for _, h := range []map[string]string{
		{"Authorization": "Bearer alice"},
		{"Cookie": "other=x; zsid=alice"},
	} {
		status, body := do(t, "GET", f.URL()+"/users/me/memberships", "", h)
		if status != 200 {
			t.Fatalf("%v: status %d %s", h, status, body)
		}
		var mb membershipsBody
		if err := json.Unmarshal([]byte(body), &mb); err != nil {
			t.Fatalf("%v: body %s: %v", h, body, err)
		}
		if len(mb.Data) != 2 || mb.Data[0].Organization.ID != 1 || mb.Data[0].Role == nil || *mb.Data[0].Role != "admin" ||
			mb.Data[1].Organization.ID != 2 || mb.Data[1].Role != nil {
			t.Fatalf("%v: memberships %s, want org 1 admin and org 2 with null role", h, body)
		}
	}
}

func TestFakeAPIMembershipsRejectUnknownCredentials(t *testing.T) {
	f := NewFakeAPI(t)
	f.SetMemberships("alice", Membership{Org: 1, Role: "admin"})
	for name, h := range map[string]map[string]string{
		"none":          nil,
		"unknown":       {"Authorization": "Bearer mallory"},
		"not bearer":    {"Authorization": "alice"},
		"wrong cookie":  {"Cookie": "sid=alice"},
		"empty cookie":  {"Cookie": "zsid="},
		"bearer first":  {"Authorization": "Bearer mallory", "Cookie": "zsid=alice"},
		"removed token": {"Authorization": "Bearer bob"},
	} {
		if name == "removed token" {
			f.SetMemberships("bob", Membership{Org: 1, Role: "admin"})
			f.RemoveCredential("bob")
		}
		if status, body := do(t, "GET", f.URL()+"/users/me/memberships", "", h); status != 401 {
			t.Errorf("%s: status %d %s, want 401", name, status, body)
		}
	}
}

func TestFakeAPISingleOrgMembership(t *testing.T) {
	f := NewFakeAPI(t)
	f.SetMemberships("alice", Membership{Org: 7, Role: "organizer"})
	auth := map[string]string{"Authorization": "Bearer alice"}
	status, body := do(t, "GET", f.URL()+"/users/me/memberships/7", "", auth)
	if status != 200 || !strings.Contains(body, `"role":"organizer"`) || !strings.Contains(body, `"id":7`) {
		t.Fatalf("org 7: %d %s", status, body)
	}
	if status, body := do(t, "GET", f.URL()+"/users/me/memberships/8", "", auth); status != 404 {
		t.Fatalf("org 8: %d %s, want 404", status, body)
	}
}

func TestFakeAPIDefaultsAndRules(t *testing.T) {
	f := NewFakeAPI(t)
	if status, body := do(t, "GET", f.URL()+"/orgs/1/people", "", nil); status != 200 || body != `{"data":[]}` {
		t.Fatalf("GET default: %d %s", status, body)
	}
	if status, body := do(t, "PATCH", f.URL()+"/orgs/1/people/2", "{}", nil); status != 200 || body != `{"data":{}}` {
		t.Fatalf("PATCH default: %d %s", status, body)
	}
	f.Handle("PUT", "/orgs/*/people/views/*/rows/*", 201, `{"data":{"id":3}}`)
	if status, body := do(t, "PUT", f.URL()+"/orgs/1/people/views/2/rows/3", "", nil); status != 201 || body != `{"data":{"id":3}}` {
		t.Fatalf("PUT rule: %d %s", status, body)
	}
	if status, _ := do(t, "DELETE", f.URL()+"/orgs/1/people/views/2/rows/3", "", nil); status != 200 {
		t.Fatalf("DELETE matched a PUT rule: %d", status)
	}
	if status, _ := do(t, "PUT", f.URL()+"/orgs/1/people/views/2/rows/3/cells/4", "", nil); status != 200 {
		t.Fatalf("* matched more than one segment: %d", status)
	}
	f.Handle("*", "/orgs/1/people/views/2/rows/3", 500, `{"error":"boom"}`)
	if status, _ := do(t, "PUT", f.URL()+"/orgs/1/people/views/2/rows/3", "", nil); status != 500 {
		t.Fatalf("later rule did not win: %d", status)
	}
	f.Handle("DELETE", "/tasks/*", 204, "")
	if status, body := do(t, "DELETE", f.URL()+"/tasks/9", "", nil); status != 204 || body != "" {
		t.Fatalf("204 rule: %d %q", status, body)
	}
	f.HandleFunc("GET", "/echo", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("X-Probe"))
	})
	if status, body := do(t, "GET", f.URL()+"/echo", "", map[string]string{"X-Probe": "p1"}); status != 200 || body != "p1" {
		t.Fatalf("HandleFunc: %d %q", status, body)
	}
}

func TestFakeAPISetStatusOverridesMemberships(t *testing.T) {
	f := NewFakeAPI(t)
	f.SetMemberships("alice", Membership{Org: 1, Role: "admin"})
	auth := map[string]string{"Authorization": "Bearer alice"}
	f.SetStatus("/users/me/memberships", 503)
	if status, _ := do(t, "GET", f.URL()+"/users/me/memberships", "", auth); status != 503 {
		t.Fatalf("status %d, want 503", status)
	}
	f.SetStatus("/users/me/memberships", 0)
	if status, _ := do(t, "GET", f.URL()+"/users/me/memberships", "", auth); status != 200 {
		t.Fatalf("status %d after removing the override, want 200", status)
	}
}

func TestFakeAPIRecordsRequests(t *testing.T) {
	f := NewFakeAPI(t)
	do(t, "POST", f.URL()+"/orgs/1/people?x=1", `{"name":"a"}`, map[string]string{"Authorization": "Bearer alice"})
	do(t, "GET", f.URL()+"/orgs/1/people", "", nil)
	if status, _ := do(t, "GET", "http://"+f.Addr()+"/other", "", nil); status != 404 {
		t.Fatalf("path outside %s: %d, want 404", FakeAPIPrefix, status)
	}
	if n := f.Calls("/orgs/1/people"); n != 2 {
		t.Fatalf("Calls = %d, want 2", n)
	}
	reqs := f.Requests()
	if len(reqs) != 2 {
		t.Fatalf("Requests = %+v, want 2 (nothing outside the prefix)", reqs)
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/orgs/1/people" || r.Query != "x=1" ||
		r.Header.Get("Authorization") != "Bearer alice" || string(r.Body) != `{"name":"a"}` {
		t.Fatalf("first request recorded as %+v", r)
	}
	f.ResetRequests()
	if n := f.Calls("/orgs/1/people"); n != 0 {
		t.Fatalf("Calls after reset = %d", n)
	}
}

func TestFakeAPIDelay(t *testing.T) {
	f := NewFakeAPI(t)
	f.SetDelay(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.URL()+"/x", nil)
	if resp, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Fatalf("delayed request: err %v, want deadline exceeded", err)
	}
	f.SetDelay(0)
	if status, _ := do(t, "GET", f.URL()+"/x", "", nil); status != 200 {
		t.Fatalf("after SetDelay(0): %d", status)
	}
}

func TestFakeAPIDownAndUp(t *testing.T) {
	f := NewFakeAPI(t)
	url := f.URL() + "/x"
	f.SetDown()
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("request succeeded while down: %d", resp.StatusCode)
	}
	f.SetUp()
	if f.URL()+"/x" != url {
		t.Fatalf("URL changed to %s", f.URL())
	}
	if status, _ := do(t, "GET", url, "", nil); status != 200 {
		t.Fatalf("after SetUp: %d", status)
	}
}
