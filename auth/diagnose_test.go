package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestDiagnose_ListMode(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin"), member(2, "")))
	d, err := Diagnose(context.Background(), MembershipsConfig{URL: u.URL()}, bearer("t"), "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != 200 || d.PerOrg || len(d.Memberships) != 2 || d.Reason != "" || d.Problem != "" {
		t.Fatalf("diagnosis %+v", d)
	}
	if ms := d.Memberships[0]; ms.Org != "1" || ms.Role == nil || *ms.Role != "admin" || !ms.Allowed {
		t.Fatalf("first membership %+v", ms)
	}
	if ms := d.Memberships[1]; ms.Org != "2" || ms.Role != nil || ms.Allowed {
		t.Fatalf("follower %+v", ms)
	}

	u.setBody(`{"data":[{"organization":{"id":{"value":"s3cr3t"}}}]}`)
	d, err = Diagnose(context.Background(), MembershipsConfig{URL: u.URL()}, bearer("t"), "")
	if !errors.Is(err, ErrUnavailable) || d.Reason != "contract" || !strings.Contains(err.Error(), `got {"data": [ {"organization": {"id": {"value": string}}} ]}`) {
		t.Fatalf("contract problem: %v, %+v", err, d)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatal("the diagnosis shows a value")
	}
	u.setBody("")
	if _, err := Diagnose(context.Background(), MembershipsConfig{URL: u.URL()}, bearer("nobody"), ""); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("401: %v", err)
	}
	if n := u.calls.Load(); n != 3 {
		t.Fatalf("upstream calls = %d, want one per Diagnose", n)
	}
}

func TestDiagnose_PerOrgMode(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("t", "acme", http.StatusOK, `{"role":"owner"}`)
	cfg := MembershipsConfig{URL: u.URL(), RolePath: "role", Roles: []string{"owner"}}
	if _, err := Diagnose(context.Background(), cfg, bearer("t"), ""); err == nil || !strings.Contains(err.Error(), "an org to try is required") {
		t.Fatalf("per-org mode without an org: %v", err)
	}
	d, err := Diagnose(context.Background(), cfg, bearer("t"), "acme")
	if err != nil || !d.Member || d.Org != "acme" || !strings.HasSuffix(d.URL, "/v1/teams/acme/me") || !d.Memberships[0].Allowed {
		t.Fatalf("member: %v %+v", err, d)
	}
	d, err = Diagnose(context.Background(), cfg, bearer("t"), "beta")
	if !errors.Is(err, ErrForbidden) || d.Member || d.Status != 404 {
		t.Fatalf("404: %v %+v", err, d)
	}
	if _, err := Diagnose(context.Background(), cfg, bearer("t"), "a/b"); err == nil || errors.Is(err, ErrForbidden) {
		t.Fatalf("invalid org: %v", err)
	}
}
