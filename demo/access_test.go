package demo_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestNoOrUnknownUserIs401Everywhere(t *testing.T) {
	base := startAPI(t) + "/v1"
	endpoints := []struct{ method, path string }{
		{"GET", "/users/me/memberships"},
		{"GET", "/users/me/memberships/1"},
		{"GET", "/orgs/1/people"},
		{"POST", "/orgs/1/people"},
		{"PATCH", "/orgs/1/people/4"},
		{"DELETE", "/orgs/1/people/4"},
		{"GET", "/orgs/1/people/views"},
		{"GET", "/orgs/1/people/views/1/rows"},
		{"PUT", "/orgs/1/people/views/1/rows/1"},
		{"DELETE", "/orgs/1/people/views/1/rows/4"},
		{"GET", "/no/such/path"},
	}
	for _, user := range []string{"", "mallory", "Alice"} {
		c := apiClient{t: t, base: base, user: user}
		for _, e := range endpoints {
			c.expectError(e.method, e.path, nil, http.StatusUnauthorized, "unauthorized")
		}
	}
	// Nothing changed: the rows are still the seeded ones.
	if ids := (apiClient{t: t, base: base, user: "alice"}).rowIDs("1", "1"); len(ids) != 3 {
		t.Fatalf("rows after unauthorized calls: %v, want the 3 seeded", ids)
	}
}

func TestCookieNamesTheUser(t *testing.T) {
	base := startAPI(t) + "/v1"
	get := func(cookie, auth string) (int, string) {
		req, err := http.NewRequest("GET", base+"/users/me/memberships", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "demo_user", Value: cookie})
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	if status, body := get("carol", ""); status != http.StatusOK || !strings.Contains(body, "Shelbyville") {
		t.Fatalf("cookie carol: %d %s", status, body)
	}
	if status, body := get("alice", "bearer bob"); status != http.StatusOK || strings.Contains(body, "Shelbyville") {
		t.Fatalf("bearer bob with cookie alice: %d %s, want bob's memberships", status, body)
	}
	// A bad Authorization header must not fall back to the cookie's identity.
	if status, _ := get("alice", "Bearer mallory"); status != http.StatusUnauthorized {
		t.Fatalf("bearer mallory with cookie alice: %d, want 401", status)
	}
	// Basic credentials are no bearer token; "Basic alice" must not log in as alice.
	if status, _ := get("", "Basic alice"); status != http.StatusUnauthorized {
		t.Fatalf("Basic alice: %d, want 401", status)
	}
}

// The API checks per request that the user has a non-null role in the path's organization:
// followers and members of other organizations get 403 on reads and on mutations.
func TestNoRoleInOrgIs403(t *testing.T) {
	c := newClient(t, "alice")
	calls := []struct {
		user, method, path string
		body               any
	}{
		{"dave", "GET", "/orgs/1/people", nil}, // follower: role null
		{"dave", "GET", "/orgs/1/people/views/1/rows", nil},
		{"dave", "PUT", "/orgs/1/people/views/1/rows/1", nil},
		{"dave", "DELETE", "/orgs/1/people/views/1/rows/4", nil},
		{"dave", "POST", "/orgs/1/people", map[string]string{"first_name": "X"}},
		{"bob", "GET", "/orgs/2/people", nil}, // member of org 1 only
		{"bob", "GET", "/orgs/2/people/views", nil},
		{"bob", "GET", "/orgs/2/people/views/1/rows", nil},
		{"bob", "PUT", "/orgs/2/people/views/1/rows/9", nil},
		{"bob", "DELETE", "/orgs/2/people/views/1/rows/11", nil},
		{"bob", "PATCH", "/orgs/2/people/11", map[string]string{"last_name": "X"}},
		{"bob", "DELETE", "/orgs/2/people/11", nil},
		{"carol", "GET", "/orgs/1/people/views/1/rows", nil},
		{"carol", "PUT", "/orgs/1/people/views/1/rows/1", nil},
		{"alice", "GET", "/orgs/3/people", nil}, // no such organization
		{"alice", "GET", "/orgs/3/no/such/path", nil},
	}
	for _, call := range calls {
		c.as(call.user).expectError(call.method, call.path, call.body, http.StatusForbidden, "forbidden")
	}
	if ids := c.rowIDs("1", "1"); len(ids) != 3 || slices.Contains(ids, 1) {
		t.Errorf("org 1 rows after refused calls: %v", ids)
	}
	if ids := c.rowIDs("2", "1"); len(ids) != 2 || slices.Contains(ids, 9) {
		t.Errorf("org 2 rows after refused calls: %v", ids)
	}
	if n := len(c.people("1")); n != seededPeople/2 {
		t.Errorf("org 1 has %d people after refused calls, want %d", n, seededPeople/2)
	}
	if n := len(c.as("carol").people("2")); n != seededPeople/2 {
		t.Errorf("org 2 has %d people after refused calls, want %d", n, seededPeople/2)
	}
}

// Person IDs are unique across organizations, so an ID from org 2 in an org-1 path must find
// nothing: otherwise an org-1 organizer could read, change or delete org-2 people.
func TestPersonIDOfOtherOrgIsNotFound(t *testing.T) {
	c := newClient(t, "bob")
	c.expectError("GET", "/orgs/1/people/11", nil, http.StatusNotFound, "not found")
	c.expectError("PATCH", "/orgs/1/people/11", map[string]string{"last_name": "Hacked"}, http.StatusNotFound, "not found")
	c.expectError("DELETE", "/orgs/1/people/11", nil, http.StatusNotFound, "not found")
	var joe person
	c.as("carol").data("GET", "/orgs/2/people/11", nil, http.StatusOK, &joe)
	if joe.LastName != "Quimby" {
		t.Fatalf("org 2 person 11 = %+v, want Joe Quimby unchanged", joe)
	}
}

// Putting an org-2 person into an org-1 view would leak their name to org 1 through the rows.
func TestPutRowWithPersonOfOtherOrgIsNotFound(t *testing.T) {
	c := newClient(t, "alice")
	c.expectError("PUT", "/orgs/1/people/views/1/rows/11", nil, http.StatusNotFound, "not found")
	if ids := c.rowIDs("1", "1"); slices.Contains(ids, joeInOrg2) {
		t.Fatalf("org 1 view lists org 2's person: %v", ids)
	}
}

// The gateway names the namespace of an event after the org ID as written in the path, so
// the API must not read two spellings ("01", "+1", "%31") as the same organization.
func TestNonCanonicalOrgIDIsRefused(t *testing.T) {
	c := newClient(t, "alice")
	for _, org := range []string{"01", "+1", "-1", "1.0", "1e0", "0x1", "%31", "1%20", "0", "99999999999999999999"} {
		c.expectError("PUT", "/orgs/"+org+"/people/views/1/rows/1", nil, http.StatusForbidden, "forbidden")
		c.expectError("GET", "/orgs/"+org+"/people", nil, http.StatusForbidden, "forbidden")
	}
	if ids := c.rowIDs("1", "1"); slices.Contains(ids, aliceInOrg1) {
		t.Fatalf("a non-canonical org ID changed org 1's view: %v", ids)
	}
}

// Likewise for view and person IDs, which events carry as payload.
func TestNonCanonicalViewOrPersonIDIsNotFound(t *testing.T) {
	c := newClient(t, "alice")
	for _, path := range []string{
		"/orgs/1/people/views/01/rows/1",
		"/orgs/1/people/views/1/rows/01",
		"/orgs/1/people/views/1/rows/-1",
		"/orgs/1/people/views/1/rows/1.0",
	} {
		c.expectError("PUT", path, nil, http.StatusNotFound, "not found")
	}
	c.expectError("PATCH", "/orgs/1/people/04", map[string]string{"last_name": "X"}, http.StatusNotFound, "not found")
	if ids := c.rowIDs("1", "1"); slices.Contains(ids, aliceInOrg1) {
		t.Fatalf("a non-canonical ID changed the view: %v", ids)
	}
}
