package auth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/orgid"
)

// perOrgUpstream is a real HTTP server on 127.0.0.1 serving GET /v1/teams/{org}/me: the
// answer of (Authorization, org) is set per test; unknown pairs are 404.
type perOrgUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64
	start chan struct{} // one value per request, sent when it arrives

	mu      sync.Mutex
	answers map[[2]string]perOrgAnswer
	paths   []string
	gate    chan struct{}
}

type perOrgAnswer struct {
	status int
	body   string
}

func newPerOrgUpstream(t *testing.T) *perOrgUpstream {
	t.Helper()
	u := &perOrgUpstream{answers: map[[2]string]perOrgAnswer{}, start: make(chan struct{}, 1<<16)}
	u.srv = httptest.NewServer(u)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *perOrgUpstream) URL() string { return u.srv.URL + "/v1/teams/{org}/me" }

func (u *perOrgUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	select {
	case u.start <- struct{}{}:
	default:
	}
	org, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1/teams/")
	org, ok2 := strings.CutSuffix(org, "/me")
	u.mu.Lock()
	u.paths = append(u.paths, r.URL.EscapedPath())
	a, known := u.answers[[2]string{r.Header.Get("Authorization"), org}]
	gate := u.gate
	u.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if !ok || !ok2 || !known {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (u *perOrgUpstream) set(token, org string, status int, body string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.answers[[2]string{"Bearer " + token, org}] = perOrgAnswer{status, body}
}

// awaitCalls waits until n more requests than already drained have arrived.
func (u *perOrgUpstream) awaitCalls(t *testing.T, n int) {
	t.Helper()
	(&fakeUpstream{start: u.start}).awaitCalls(t, n)
}

func (u *perOrgUpstream) drainCalls() { (&fakeUpstream{start: u.start}).drainCalls() }

func TestPerOrg_Statuses(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("t", "acme", http.StatusOK, "")
	u.set("t", "empty", http.StatusNoContent, "")
	u.set("t", "private", http.StatusForbidden, "")
	u.set("t", "broken", http.StatusInternalServerError, "")
	u.set("t", "moved", http.StatusFound, "")
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL()})
	checkAll(t, m, bearer("t"), map[string]error{
		"acme": nil, "empty": nil, "private": ErrForbidden, "gone": ErrForbidden,
		"broken": ErrUnavailable, "moved": ErrUnavailable,
	})
	u.set("revoked", "acme", http.StatusUnauthorized, "")
	if err := m.Check(context.Background(), bearer("revoked"), "acme"); err != ErrUnauthorized {
		t.Fatalf("401: %v, want ErrUnauthorized", err)
	}
	// The org is substituted into the raw URL: braces are not escaped into the path.
	u.mu.Lock()
	defer u.mu.Unlock()
	if !strings.Contains(strings.Join(u.paths, " "), "/v1/teams/acme/me") {
		t.Fatalf("upstream paths %q", u.paths)
	}
	if s := m.Stats(); s.Errors["status"] != 2 || s.Errors["contract"] != 0 {
		t.Fatalf("Errors = %v", s.Errors)
	}
}

// Answers are cached per (credential, org); failures are not; a 401 refuses the
// credentials for every org.
func TestPerOrg_CachePerCredentialAndOrg(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("alice", "acme", http.StatusOK, "")
	u.set("alice", "beta", http.StatusForbidden, "")
	u.set("bob", "acme", http.StatusOK, "")
	u.set("carol", "acme", http.StatusServiceUnavailable, "")
	u.set("mallory", "acme", http.StatusUnauthorized, "")
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL()})
	ctx := context.Background()
	for _, c := range []struct {
		who, org string
		want     error
		calls    int64 // upstream calls so far
	}{
		{"alice", "acme", nil, 1},
		{"alice", "acme", nil, 1},
		{"alice", "beta", ErrForbidden, 2},
		{"alice", "beta", ErrForbidden, 2}, // a refusal is a definite answer: cached
		{"alice", "gamma", ErrForbidden, 3},
		{"bob", "acme", nil, 4},
		{"carol", "acme", ErrUnavailable, 5},
		{"carol", "acme", ErrUnavailable, 6}, // never cached
		{"mallory", "acme", ErrUnauthorized, 7},
		{"mallory", "beta", ErrUnauthorized, 7}, // the credentials are refused, whatever the org
	} {
		if err := m.Check(ctx, bearer(c.who), c.org); err != c.want {
			t.Fatalf("%s in %s: %v, want %v", c.who, c.org, err, c.want)
		}
		if n := u.calls.Load(); n != c.calls {
			t.Fatalf("%s in %s: %d upstream calls, want %d", c.who, c.org, n, c.calls)
		}
	}
	if s := m.Stats(); s.CacheEntries != 4 || s.RefusedCached != 1 {
		t.Fatalf("cache entries %d, refused %d; want 4 (alice×3, bob) and 1", s.CacheEntries, s.RefusedCached)
	}
}

// A credential refused by the upstream loses every cached org, not only the one asked.
func TestPerOrg_RefusedCredentialsForgetEveryOrg(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("alice", "acme", http.StatusOK, "")
	u.set("alice", "beta", http.StatusOK, "")
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL(), TTL: time.Hour})
	checkAll(t, m, bearer("alice"), map[string]error{"acme": nil, "beta": nil})
	u.set("alice", "acme", http.StatusUnauthorized, "")
	if _, err := m.lookup(context.Background(), bearer("alice"), "acme", true); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.CacheEntries != 0 || s.RefusedCached != 1 {
		t.Fatalf("after a 401: %d answers cached, %d refusals; want 0 and 1", s.CacheEntries, s.RefusedCached)
	}
	if err := m.Check(context.Background(), bearer("alice"), "beta"); err != ErrUnauthorized {
		t.Fatalf("beta after the 401: %v", err)
	}
}

func TestPerOrg_MaxEntriesBoundsPairs(t *testing.T) {
	u := newPerOrgUpstream(t)
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL(), MaxEntries: 10})
	for i := range 50 {
		if err := m.Check(context.Background(), bearer("t"), fmt.Sprintf("org%d", i)); err != ErrForbidden {
			t.Fatalf("org%d: %v", i, err)
		}
		if n := m.Stats().CacheEntries; n > 10 {
			t.Fatalf("%d cache entries, bound 10", n)
		}
	}
}

func TestPerOrg_RoleFilter(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("t", "admin", http.StatusOK, `{"membership":{"role":"admin"}}`)
	u.set("t", "viewer", http.StatusOK, `{"membership":{"role":"viewer"}}`)
	u.set("t", "follower", http.StatusOK, `{"membership":{"role":null}}`)
	u.set("t", "norole", http.StatusOK, `{"membership":{}}`)
	u.set("t", "number", http.StatusOK, `{"membership":{"role":3}}`)
	u.set("t", "html", http.StatusOK, `<html>`)
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL(), RolePath: "membership.role", Roles: []string{"admin"}})
	checkAll(t, m, bearer("t"), map[string]error{
		"admin": nil, "viewer": ErrForbidden, "follower": ErrForbidden, "norole": ErrForbidden, "html": ErrUnavailable,
	})
	if err := m.Check(context.Background(), bearer("t"), "number"); err != ErrUnavailable {
		t.Fatalf("role 3: %v, want ErrUnavailable", err)
	}
	if got := m.Stats().Errors; got["contract"] != 1 || got["bad_body"] != 1 {
		t.Fatalf("Errors = %v", got)
	}
	if p := m.Contract().Problem; p != `expected a 2xx answer with "membership.role" a string or null; got {"membership": {"role": integer}} ("membership.role" is a number, not a string or null)` {
		t.Fatalf("Contract() = %q", p)
	}
	// Without RolePath no body is read: any 2xx admits.
	plain := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL()})
	checkAll(t, plain, bearer("t"), map[string]error{"html": nil, "number": nil, "follower": nil})
	if p := plain.Contract(); p != (ContractProblem{}) {
		t.Fatalf("contract problem without RolePath: %+v", p)
	}
}

func TestPerOrg_SingleflightPerCredentialAndOrg(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("t", "acme", http.StatusOK, "")
	u.set("t", "beta", http.StatusOK, "")
	gate := make(chan struct{})
	u.mu.Lock()
	u.gate = gate
	u.mu.Unlock()
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL()})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 100 {
		org := []string{"acme", "beta"}[i%2]
		wg.Go(func() {
			if err := m.Check(context.Background(), bearer("t"), org); err != nil {
				failed.Add(1)
			}
		})
	}
	u.awaitCalls(t, 2) // both flights reached the upstream; every check has joined one or will hit the cache
	close(gate)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d checks failed", n)
	}
	if n := u.calls.Load(); n != 2 {
		t.Fatalf("upstream calls = %d for 100 checks of two orgs, want 2", n)
	}
}

// Re-checks run per (credential, org): losing one org revokes that org's sockets only.
func TestPerOrg_RevocationOfOneOrgOnly(t *testing.T) {
	u := newPerOrgUpstream(t)
	u.set("t", "acme", http.StatusOK, "")
	u.set("t", "beta", http.StatusOK, "")
	m := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL(), TTL: 50 * time.Millisecond})
	checkAll(t, m, bearer("t"), map[string]error{"acme": nil, "beta": nil})
	acme, beta := make(chan error, 2), make(chan error, 2)
	m.Watch(bearer("t"), "acme", func(err error) { acme <- err })
	m.Watch(bearer("t"), "beta", func(err error) { beta <- err })

	u.set("t", "beta", http.StatusNotFound, "")
	if err := awaitRevoked(t, beta); err != ErrForbidden {
		t.Fatalf("beta revoked with %v, want ErrForbidden", err)
	}
	// An outage keeps acme's socket; later rounds see it again and still keep it.
	u.set("t", "acme", http.StatusBadGateway, "")
	u.drainCalls()
	u.awaitCalls(t, 3) // at least two full rounds (one call each: beta is gone) answered 502
	select {
	case err := <-acme:
		t.Fatalf("acme revoked with %v", err)
	default:
	}
	if s := m.Stats(); s.Revoked != 1 || s.Watches != 1 {
		t.Fatalf("stats %+v: want 1 revoked, acme still watched", s)
	}
	u.set("t", "acme", http.StatusUnauthorized, "")
	if err := awaitRevoked(t, acme); err != ErrUnauthorized {
		t.Fatalf("acme revoked with %v, want ErrUnauthorized", err)
	}
}

func TestPerOrg_InvalidOrgsNeverReachTheUpstream(t *testing.T) {
	u := newPerOrgUpstream(t)
	text := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL()})
	integer := newTestMemberships(t, nil, MembershipsConfig{URL: u.URL(), IDs: orgid.Integer})
	for _, org := range []string{"a/b", "..", "a b", "%2F", "{org}", "", strings.Repeat("a", 65)} {
		if err := text.Check(context.Background(), bearer("t"), org); err != ErrForbidden {
			t.Errorf("text org %q: %v", org, err)
		}
	}
	for _, org := range []string{"07", "acme", "-1"} {
		if err := integer.Check(context.Background(), bearer("t"), org); err != ErrForbidden {
			t.Errorf("integer org %q: %v", org, err)
		}
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("upstream calls = %d, want 0", n)
	}
}

func TestNewMemberships_Contract(t *testing.T) {
	for _, cfg := range []MembershipsConfig{
		{URL: "http://api/teams/{org}/me", ListPath: "items"},
		{URL: "http://api/teams/{org}/me", OrgPath: "id"},
		{URL: "http://api/teams/{org}/me", Roles: []string{"admin"}}, // no role is read
		{URL: "http://{org}.api.example/me"},                         // the org would choose the host
		{URL: "http://api-{org}/me"},
		{URL: "http://api/x", ListPath: "a..b"},
		{URL: "http://api/x", OrgPath: ".id"},
		{URL: "http://api/x", RolePath: "role."},
		{URL: "http://api/x", IDs: orgid.Format(7)},
	} {
		if m, err := NewMemberships(cfg); err == nil {
			m.Close()
			t.Errorf("NewMemberships(%+v) accepted", cfg)
		}
	}
	for _, cfg := range []MembershipsConfig{
		{URL: "http://api/teams/{org}/me", Roles: []string{"*"}},
		{URL: "http://api/teams/{org}/me", ListPath: DefaultListPath, OrgPath: DefaultOrgPath}, // a caller's flag defaults
		{URL: "http://api/teams/{org}/me", RolePath: "role", Roles: []string{"admin"}},
		{URL: "http://api/me/membership?team={org}"},
		{URL: "http://api/x", ListPath: ".", OrgPath: ".", RolePath: "a.b.c"},
	} {
		m, err := NewMemberships(cfg)
		if err != nil {
			t.Errorf("NewMemberships(%+v): %v", cfg, err)
			continue
		}
		m.Close()
	}
}

// The fake platform API's GET /users/me/memberships/{org} answers {"data":{...,"role":R}}
// or 404: per-org mode with RolePath "data.role" reads it as the list mode reads the list.
func TestPerOrg_AgainstTheFakeAPI(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"}, testenv.Membership{Org: 2})
	m := newTestMemberships(t, nil, MembershipsConfig{URL: api.URL() + "/users/me/memberships/{org}", RolePath: "data.role"})
	checkAll(t, m, bearer("alice"), map[string]error{"1": nil, "2": ErrForbidden, "3": ErrForbidden})
	checkAll(t, m, bearer("alice"), map[string]error{"1": nil, "2": ErrForbidden, "3": ErrForbidden})
	if n := api.Calls("/users/me/memberships/1"); n != 1 {
		t.Fatalf("calls for org 1 = %d, want 1 (cached)", n)
	}
	if err := m.Check(context.Background(), bearer("mallory"), "1"); err != ErrUnauthorized {
		t.Fatalf("unknown token: %v", err)
	}
}
