package demo_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/syncgate/syncgate/demo"
)

func TestPutAndDeleteRowChangeTheRows(t *testing.T) {
	c := newClient(t, "bob")
	if ids := c.rowIDs("1", "1"); !slices.Equal(ids, []int64{4, 5, 6}) {
		t.Fatalf("seeded rows of org 1 view 1: %v", ids)
	}

	var r row
	c.data("PUT", "/orgs/1/people/views/1/rows/8", nil, http.StatusOK, &r)
	if r.ID != apuInOrg1 || !slices.Equal(r.Content, []string{"Apu", "Nahasapeemapetilon"}) {
		t.Fatalf("PUT answered row %+v", r)
	}
	if ids := c.rowIDs("1", "1"); !slices.Equal(ids, []int64{4, 5, 6, 8}) {
		t.Fatalf("rows after PUT: %v", ids)
	}
	// PUT is idempotent: the row is answered again and not duplicated.
	c.data("PUT", "/orgs/1/people/views/1/rows/8", nil, http.StatusOK, &r)
	if ids := c.rowIDs("1", "1"); !slices.Equal(ids, []int64{4, 5, 6, 8}) {
		t.Fatalf("rows after second PUT: %v", ids)
	}

	status, body := c.do("DELETE", "/orgs/1/people/views/1/rows/4", nil)
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("DELETE row: %d %q, want 204 without body", status, body)
	}
	if ids := c.rowIDs("1", "1"); !slices.Equal(ids, []int64{5, 6, 8}) {
		t.Fatalf("rows after DELETE: %v", ids)
	}
	// Deleting a row that is not there fails, so the gateway fires no event for it.
	c.expectError("DELETE", "/orgs/1/people/views/1/rows/4", nil, http.StatusNotFound, "not found")
	c.expectError("PUT", "/orgs/1/people/views/9/rows/4", nil, http.StatusNotFound, "not found")
	c.expectError("PUT", "/orgs/1/people/views/1/rows/999", nil, http.StatusNotFound, "not found")

	// The other view and the other org did not change.
	if ids := c.rowIDs("1", "2"); !slices.Equal(ids, []int64{1, 2}) {
		t.Errorf("org 1 view 2: %v", ids)
	}
	if ids := c.as("carol").rowIDs("2", "1"); !slices.Equal(ids, []int64{11, 12}) {
		t.Errorf("org 2 view 1: %v", ids)
	}
}

func TestViewsAndColumns(t *testing.T) {
	c := newClient(t, "alice")
	var views []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	c.data("GET", "/orgs/1/people/views", nil, http.StatusOK, &views)
	if len(views) != 2 || views[0].ID != 1 || views[0].Title != "Phone bank" || views[1].ID != 2 {
		t.Fatalf("org 1 views: %+v", views)
	}
	c.data("GET", "/orgs/2/people/views", nil, http.StatusOK, &views)
	if len(views) != 1 || views[0].ID != 1 || views[0].Title != "Door knocking" {
		t.Fatalf("org 2 views: %+v", views)
	}
	c.data("GET", "/orgs/2/people/views/1", nil, http.StatusOK, &views[0])
	if views[0].Title != "Door knocking" {
		t.Fatalf("org 2 view 1: %+v", views[0])
	}
	var columns []struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
	}
	c.data("GET", "/orgs/1/people/views/1/columns", nil, http.StatusOK, &columns)
	if len(columns) != 2 || columns[0].Title != "First name" {
		t.Fatalf("columns: %+v", columns)
	}
	c.expectError("GET", "/orgs/2/people/views/2/rows", nil, http.StatusNotFound, "not found")
	c.expectError("GET", "/orgs/2/people/views/2/columns", nil, http.StatusNotFound, "not found")
}

func TestUnknownPathAndMethod(t *testing.T) {
	c := newClient(t, "alice")
	c.expectError("GET", "/orgs/1/nothing", nil, http.StatusNotFound, "not found")
	c.expectError("POST", "/orgs/1/people/views/1/rows", nil, http.StatusMethodNotAllowed, "method not allowed")
	c.expectError("POST", "/users/me/memberships", nil, http.StatusMethodNotAllowed, "method not allowed")
}

func TestPrefixOption(t *testing.T) {
	def := apiClient{t: t, base: startAPI(t), user: "alice"}
	def.data("GET", "/v1/users/me/memberships", nil, http.StatusOK, nil)
	def.expectError("GET", "/users/me/memberships", nil, http.StatusNotFound, "not found")

	root := apiClient{t: t, base: startAPI(t, demo.WithPrefix("")), user: "alice"}
	root.data("GET", "/users/me/memberships", nil, http.StatusOK, nil)
	root.data("PUT", "/orgs/1/people/views/1/rows/1", nil, http.StatusOK, nil)

	custom := apiClient{t: t, base: startAPI(t, demo.WithPrefix("api/v2/")), user: "alice"}
	custom.data("GET", "/api/v2/orgs/2/people", nil, http.StatusOK, nil)
	custom.expectError("GET", "/v1/orgs/2/people", nil, http.StatusNotFound, "not found")

	if p := demo.NewAPI(demo.WithPrefix("api/v2/")).Prefix(); p != "/api/v2" {
		t.Fatalf("Prefix() = %q, want /api/v2", p)
	}
}
