package demo_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type membership struct {
	Organization struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	} `json:"organization"`
	Role    *string `json:"role"`
	Profile struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"profile"`
	Follow bool `json:"follow"`
}

func TestMembershipsPerUser(t *testing.T) {
	c := newClient(t, "")
	type want struct {
		org     int64
		title   string
		role    string // "" means null
		profile int64
	}
	cases := map[string]struct {
		name string
		orgs []want
	}{
		"alice": {"Alice", []want{{1, "Springfield Tenants", "admin", 1}, {2, "Shelbyville Renters", "organizer", 9}}},
		"bob":   {"Bob", []want{{1, "Springfield Tenants", "organizer", 2}}},
		"carol": {"Carol", []want{{2, "Shelbyville Renters", "admin", 10}}},
		"dave":  {"Dave", []want{{1, "Springfield Tenants", "", 3}}},
	}
	for user, tc := range cases {
		t.Run(user, func(t *testing.T) {
			var got []membership
			c.as(user).data("GET", "/users/me/memberships", nil, http.StatusOK, &got)
			if len(got) != len(tc.orgs) {
				t.Fatalf("%d memberships, want %d: %+v", len(got), len(tc.orgs), got)
			}
			for i, w := range tc.orgs {
				m := got[i]
				role := ""
				if m.Role != nil {
					role = *m.Role
				}
				if m.Organization.ID != w.org || m.Organization.Title != w.title || role != w.role ||
					m.Profile.ID != w.profile || m.Profile.Name != tc.name || !m.Follow {
					t.Errorf("membership %d = %+v (role %q), want %+v", i, m, role, w)
				}
			}
		})
	}
}

// A follower's role must be JSON null, not "" or absent: the gateway admits sockets by it.
func TestFollowerRoleIsJSONNull(t *testing.T) {
	status, body := newClient(t, "dave").do("GET", "/users/me/memberships", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"role":null`) {
		t.Fatalf("status %d body %s, want a \"role\":null membership", status, body)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || len(env) != 1 || env["data"] == nil {
		t.Fatalf("body %s is not exactly {\"data\": ...}", body)
	}
}

func TestSingleMembership(t *testing.T) {
	c := newClient(t, "alice")
	var m membership
	c.data("GET", "/users/me/memberships/2", nil, http.StatusOK, &m)
	if m.Organization.ID != 2 || m.Role == nil || *m.Role != "organizer" {
		t.Fatalf("alice in org 2: %+v", m)
	}
	c.as("bob").expectError("GET", "/users/me/memberships/2", nil, http.StatusNotFound, "not found")
	c.as("bob").expectError("GET", "/users/me/memberships/01", nil, http.StatusNotFound, "not found")
}
