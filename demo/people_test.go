package demo_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPostPersonReturnsNewID(t *testing.T) {
	c := newClient(t, "carol")
	var p1, p2 person
	c.data("POST", "/orgs/2/people", map[string]string{"first_name": "Kent", "last_name": "Brockman"}, http.StatusCreated, &p1)
	c.data("POST", "/orgs/2/people", map[string]string{"first_name": "Sideshow"}, http.StatusCreated, &p2)
	if p1.ID <= seededPeople || p2.ID <= seededPeople || p1.ID == p2.ID {
		t.Fatalf("new IDs %d and %d: want distinct and above the seeded %d", p1.ID, p2.ID, seededPeople)
	}
	if p1.FirstName != "Kent" || p1.LastName != "Brockman" {
		t.Fatalf("created %+v", p1)
	}
	people := c.people("2")
	if len(people) != seededPeople/2+2 || people[len(people)-1].ID != p2.ID {
		t.Fatalf("people of org 2 after two POSTs: %+v", people)
	}
	// The new person can be put into a view of their org.
	c.data("PUT", "/orgs/2/people/views/1/rows/"+strconv.FormatInt(p1.ID, 10), nil, http.StatusOK, nil)
	if ids := c.rowIDs("2", "1"); !slices.Contains(ids, p1.ID) {
		t.Fatalf("rows %v lack the new person %d", ids, p1.ID)
	}
}

func TestPatchPerson(t *testing.T) {
	c := newClient(t, "alice")
	var p person
	c.data("PATCH", "/orgs/1/people/4", map[string]string{"last_name": "Jay Simpson"}, http.StatusOK, &p)
	if p.ID != homerInOrg1 || p.FirstName != "Homer" || p.LastName != "Jay Simpson" {
		t.Fatalf("patched %+v", p)
	}
	var rows []row
	c.data("GET", "/orgs/1/people/views/1/rows", nil, http.StatusOK, &rows)
	if rows[0].ID != homerInOrg1 || !slices.Equal(rows[0].Content, []string{"Homer", "Jay Simpson"}) {
		t.Fatalf("row after PATCH: %+v", rows[0])
	}
	c.expectError("PATCH", "/orgs/1/people/4", map[string]string{"first_name": "  "}, http.StatusBadRequest, "first_name must not be empty")
}

func TestDeletePersonLeavesViews(t *testing.T) {
	c := newClient(t, "alice")
	status, body := c.do("DELETE", "/orgs/1/people/4", nil)
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("DELETE person: %d %q, want 204 without body", status, body)
	}
	if ids := c.rowIDs("1", "1"); slices.Contains(ids, homerInOrg1) {
		t.Fatalf("deleted person still a row: %v", ids)
	}
	c.expectError("GET", "/orgs/1/people/4", nil, http.StatusNotFound, "not found")
	c.expectError("PUT", "/orgs/1/people/views/1/rows/4", nil, http.StatusNotFound, "not found")
}

// Hostile person bodies are refused before anything is stored.
func TestPersonBodyAttacks(t *testing.T) {
	c := newClient(t, "alice")
	cases := []struct {
		name, contentType, body string
		status                  int
	}{
		// An "id" field could overwrite another person if it were honoured.
		{"unknown field id", "application/json", `{"first_name":"X","id":1}`, http.StatusBadRequest},
		// A second value after the object hints at request smuggling or a confused client.
		{"two values", "application/json", `{"first_name":"X"}{"first_name":"Y"}`, http.StatusBadRequest},
		// An unbounded body would let one request use up the server's memory.
		{"oversized", "application/json", `{"first_name":"` + strings.Repeat("a", 20<<10) + `"}`, http.StatusRequestEntityTooLarge},
		// An HTML form can send text/plain cross-site without a CORS preflight.
		{"form content type", "text/plain", `{"first_name":"X"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", `{"first_name":"X"}`, http.StatusUnsupportedMediaType},
		// Control characters in names end up in logs and other people's screens.
		{"control characters", "application/json", `{"first_name":"X\u001b[31m"}`, http.StatusBadRequest},
		{"overlong name", "application/json", `{"first_name":"` + strings.Repeat("é", 101) + `"}`, http.StatusBadRequest},
		{"missing first name", "application/json", `{"last_name":"X"}`, http.StatusBadRequest},
		{"not an object", "application/json", `["X"]`, http.StatusBadRequest},
		{"wrong type", "application/json", `{"first_name":7}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.raw("POST", "/orgs/1/people", tc.contentType, strings.NewReader(tc.body))
			if status != tc.status || !strings.Contains(string(body), `"error"`) {
				t.Fatalf("status %d body %.200s, want %d with an error", status, body, tc.status)
			}
		})
	}
	if n := len(c.people("1")); n != seededPeople/2 {
		t.Fatalf("org 1 has %d people after refused POSTs, want %d", n, seededPeople/2)
	}
}

// Without a cap, a client could grow the in-memory store without bound.
func TestPersonFloodIsCapped(t *testing.T) {
	c := newClient(t, "alice")
	created := 0
	for range 600 { // the cap is 500 people per org; the loop is bounded either way
		status, body := c.do("POST", "/orgs/1/people", map[string]string{"first_name": "Flood"})
		if status == http.StatusConflict {
			if !strings.Contains(string(body), "limit reached") {
				t.Fatalf("409 body %s", body)
			}
			break
		}
		if status != http.StatusCreated {
			t.Fatalf("POST: %d %s", status, body)
		}
		created++
	}
	if total := seededPeople/2 + created; total != 500 {
		t.Fatalf("org 1 accepted %d people in all, want the cap of 500", total)
	}
	// The cap is per organization: org 2 still accepts people.
	c.data("POST", "/orgs/2/people", map[string]string{"first_name": "Fine"}, http.StatusCreated, nil)
}
