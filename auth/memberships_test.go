package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheck_Roles(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer admin", memberships(member(1, "admin")))
	u.set("Bearer organizer", memberships(member(1, "organizer")))
	u.set("Bearer follower", memberships(member(1, "")))

	tests := []struct {
		roles []string
		user  string
		want  error
	}{
		{nil, "admin", nil},
		{nil, "organizer", nil},
		{nil, "follower", ErrForbidden}, // role null is not an official by default
		{[]string{"*"}, "follower", nil},
		{[]string{"*"}, "admin", nil},
		{[]string{"admin"}, "admin", nil},
		{[]string{"admin"}, "organizer", ErrForbidden},
		{[]string{"admin"}, "follower", ErrForbidden},
		{[]string{"admin", "organizer"}, "organizer", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s", tt.roles, tt.user), func(t *testing.T) {
			m := newTestMemberships(t, u, MembershipsConfig{Roles: tt.roles})
			if err := m.Check(context.Background(), bearer(tt.user), "1"); err != tt.want {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheck_NonMemberOrgIsForbidden(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer alice", memberships(member(1, "admin"), member(2, "organizer")))
	m := newTestMemberships(t, u, MembershipsConfig{})
	ctx := context.Background()
	if err := m.Check(ctx, bearer("alice"), "2"); err != nil {
		t.Fatalf("member org 2: %v", err)
	}
	if err := m.Check(ctx, bearer("alice"), "3"); err != ErrForbidden {
		t.Fatalf("non-member org 3: got %v, want ErrForbidden", err)
	}
}

func TestCheck_CookieCredentials(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("zsid=abc", memberships(member(5, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{})
	h := http.Header{"Cookie": {"zsid=abc"}}
	if err := m.Check(context.Background(), CredentialsFromHeader(h, ""), "5"); err != nil {
		t.Fatalf("Check with cookie: %v", err)
	}
	if got := u.headers[0].Get("Cookie"); got != "zsid=abc" {
		t.Fatalf("upstream got Cookie %q", got)
	}
}

// Only the credentials may reach the upstream: nothing else of the browser's
// handshake (e.g. X-Forwarded-For, Origin) must leak into the membership call.
func TestCheck_SendsOnlyCredentialHeaders(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{})
	h := http.Header{"Cookie": {"a=b"}, "Authorization": {"Bearer t"}, "X-Forwarded-For": {"6.6.6.6"}, "Origin": {"https://evil.test"}}
	if err := m.Check(context.Background(), CredentialsFromHeader(h, ""), "1"); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"Accept": true, "Accept-Encoding": true, "User-Agent": true, "Cookie": true, "Authorization": true}
	for name := range u.headers[0] {
		if !allowed[name] {
			t.Errorf("upstream received unexpected header %q", name)
		}
	}
	if u.headers[0].Get("Cookie") != "a=b" || u.headers[0].Get("Authorization") != "Bearer t" {
		t.Errorf("credentials not forwarded: %v", u.headers[0])
	}
}

func TestCheck_RewriteHookAddsHeaders(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{Rewrite: func(r *http.Request) { r.Header.Set("X-Api-Key", "k1") }})
	if err := m.Check(context.Background(), bearer("t"), "1"); err != nil {
		t.Fatal(err)
	}
	if got := u.headers[0].Get("X-Api-Key"); got != "k1" {
		t.Fatalf("X-Api-Key = %q", got)
	}
}

func TestCheck_NoCredentialsIsUnauthorizedWithoutUpstreamCall(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	for _, c := range []Credentials{{}, CredentialsFromHeader(http.Header{}, "")} {
		if err := m.Check(context.Background(), c, "1"); err != ErrUnauthorized {
			t.Fatalf("Check(%v) = %v, want ErrUnauthorized", c, err)
		}
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("upstream calls = %d, want 0", n)
	}
}

// A token with CR/LF would smuggle headers into the upstream request.
func TestCheck_HeaderInjectionInTokenIsUnauthorized(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	for _, tok := range []string{"t\r\nX-Admin: 1", "t\nX", "t\x00"} {
		c := CredentialsFromHeader(http.Header{}, tok)
		if err := m.Check(context.Background(), c, "1"); err != ErrUnauthorized {
			t.Fatalf("token %q: %v, want ErrUnauthorized", tok, err)
		}
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("upstream calls = %d, want 0", n)
	}
}

// Megabyte tokens would be hashed, sent and cached: refuse them up front.
func TestCheck_OversizedCredentialsAreUnauthorized(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	c := CredentialsFromHeader(http.Header{}, strings.Repeat("a", maxCredentialLen+1))
	if err := m.Check(context.Background(), c, "1"); err != ErrUnauthorized {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
	if n := u.calls.Load(); n != 0 {
		t.Fatalf("upstream calls = %d, want 0", n)
	}
}

// A forged token must not be admitted, and its refusal is cached so repeating
// it does not hammer the upstream.
func TestCheck_ForgedTokenIsUnauthorizedAndCached(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	for range 3 {
		if err := m.Check(context.Background(), bearer("forged"), "1"); err != ErrUnauthorized {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
	}
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1 (401 cached)", n)
	}
}

func TestCheck_Upstream403IsUnauthorized(t *testing.T) {
	u := newFakeUpstream(t)
	u.setStatus(http.StatusForbidden)
	m := newTestMemberships(t, u, MembershipsConfig{})
	if err := m.Check(context.Background(), bearer("x"), "1"); err != ErrUnauthorized {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
}

// Every failure to get a definite answer must fail closed and must not be
// cached: the next check asks again and succeeds once the upstream recovers.
func TestCheck_UnavailableFailsClosedAndIsNotCached(t *testing.T) {
	cases := map[string]func(u *fakeUpstream){
		"500":         func(u *fakeUpstream) { u.setStatus(http.StatusInternalServerError) },
		"502":         func(u *fakeUpstream) { u.setStatus(http.StatusBadGateway) },
		"404":         func(u *fakeUpstream) { u.setStatus(http.StatusNotFound) },
		"429":         func(u *fakeUpstream) { u.setStatus(http.StatusTooManyRequests) },
		"302":         func(u *fakeUpstream) { u.setStatus(http.StatusFound) },
		"garbage":     func(u *fakeUpstream) { u.setBody("<html>login</html>") },
		"timeout":     func(u *fakeUpstream) { u.setHang(true) },
		"data null":   func(u *fakeUpstream) { u.setBody(`{"data":null}`) },
		"no data":     func(u *fakeUpstream) { u.setBody(`{}`) },
		"slash id":    func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":"1/2"},"role":"admin"}]}`) },
		"bool id":     func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":true},"role":"admin"}]}`) },
		"float id":    func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":1.0},"role":"admin"}]}`) },
		"exp id":      func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":1e0},"role":"admin"}]}`) },
		"negative id": func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":-1},"role":"admin"}]}`) },
		"null org":    func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":null,"role":"admin"}]}`) },
		"no id":       func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{},"role":"admin"}]}`) },
		"role number": func(u *fakeUpstream) { u.setBody(`{"data":[{"organization":{"id":1},"role":5}]}`) },
		"trailing":    func(u *fakeUpstream) { u.setBody(memberships(member(1, "admin")) + ` {"data":[]}`) },
		"data object": func(u *fakeUpstream) { u.setBody(`{"data":{"organization":{"id":1},"role":"admin"}}`) },
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			u := newFakeUpstream(t)
			u.set("Bearer t", memberships(member(1, "admin")))
			m := newTestMemberships(t, u, MembershipsConfig{Timeout: 200 * time.Millisecond})
			breakIt(u)
			if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
				t.Fatalf("broken upstream: got %v, want ErrUnavailable", err)
			}
			u.setStatus(0)
			u.setBody("")
			u.setHang(false)
			if err := m.Check(context.Background(), bearer("t"), "1"); err != nil {
				t.Fatalf("recovered upstream: got %v, want nil", err)
			}
			if n := u.calls.Load(); n != 2 {
				t.Fatalf("upstream calls = %d, want 2 (failure not cached)", n)
			}
		})
	}
}

func TestCheck_UpstreamDownIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/v1/users/me/memberships"
	srv.Close()
	m := newTestMemberships(t, nil, MembershipsConfig{URL: url})
	if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if s := m.Stats(); s.Unavailable != 1 || s.UpstreamCalls != 1 || s.CacheEntries != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

// A redirect would carry the user's credentials to a URL we did not configure.
func TestCheck_RedirectIsNotFollowed(t *testing.T) {
	var leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		_, _ = io.WriteString(w, memberships(member(1, "admin")))
	}))
	t.Cleanup(other.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	m := newTestMemberships(t, nil, MembershipsConfig{URL: redirect.URL + "/memberships"})
	if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if n := leaked.Load(); n != 0 {
		t.Fatalf("redirect target received %d requests", n)
	}
}

// Org "1" must never match membership 10 or 11 (prefix match), and only the
// canonical decimal form of an id is accepted ("01", "+1", ... are forbidden).
func TestCheck_OrgIDIsComparedExactly(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer tens", memberships(member(10, "admin"), member(11, "admin")))
	u.set("Bearer one", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{})
	ctx := context.Background()
	if err := m.Check(ctx, bearer("tens"), "1"); err != ErrForbidden {
		t.Fatalf(`tens: org "1" = %v, want ErrForbidden`, err)
	}
	if err := m.Check(ctx, bearer("tens"), "10"); err != nil {
		t.Fatalf(`tens: org "10" = %v`, err)
	}
	if err := m.Check(ctx, bearer("one"), "1"); err != nil {
		t.Fatalf(`one: org "1" = %v`, err)
	}
	for _, org := range []string{"01", "+1", " 1", "1 ", "1.0", "0x1", "１", "", "1\x00", "-1", "1e0", "11"} {
		if err := m.Check(ctx, bearer("one"), org); err != ErrForbidden {
			t.Errorf("one: org %q = %v, want ErrForbidden", org, err)
		}
	}
}

func TestCheck_CacheServesAllOrgsOfAUser(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin"), member(2, "admin"), member(3, "")))
	m := newTestMemberships(t, u, MembershipsConfig{})
	ctx := context.Background()
	for _, c := range []struct {
		org  string
		want error
	}{{"1", nil}, {"2", nil}, {"3", ErrForbidden}, {"4", ErrForbidden}, {"1", nil}} {
		if err := m.Check(ctx, bearer("t"), c.org); err != c.want {
			t.Fatalf("org %s: %v, want %v", c.org, err, c.want)
		}
	}
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
	s := m.Stats()
	if s.Checks != 5 || s.CacheHits != 4 || s.UpstreamCalls != 1 || s.Allowed != 3 || s.Forbidden != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

// 1,000 concurrent checks of 100 users must cost about one upstream call per user.
func TestCheck_SingleflightSharesUpstreamCalls(t *testing.T) {
	u := newFakeUpstream(t)
	const users, perUser = 100, 10
	for i := range users {
		u.set(fmt.Sprintf("Bearer u%d", i), memberships(member(i+1, "admin")))
	}
	m := newTestMemberships(t, u, MembershipsConfig{})
	start := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range users * perUser {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			user := i % users
			if err := m.Check(context.Background(), bearer(fmt.Sprintf("u%d", user)), fmt.Sprint(user+1)); err != nil {
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d checks failed", n)
	}
	if n := u.calls.Load(); n < users || n > users+5 {
		t.Fatalf("upstream calls = %d, want ~%d", n, users)
	}
}

// A caller that gives up must not cancel the upstream call others share.
func TestCheck_CanceledCallerDoesNotPoisonSharedCall(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	gate := make(chan struct{})
	u.setGate(gate)
	m := newTestMemberships(t, u, MembershipsConfig{})

	ctxA, cancelA := context.WithCancel(context.Background())
	resA := make(chan error, 1)
	go func() { resA <- m.Check(ctxA, bearer("t"), "1") }()
	u.awaitCalls(t, 1)
	resB := make(chan error, 1)
	go func() { resB <- m.Check(context.Background(), bearer("t"), "1") }()
	cancelA()
	select {
	case err := <-resA:
		if err != ErrUnavailable {
			t.Fatalf("canceled caller: %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("canceled caller did not return")
	}
	close(gate)
	select {
	case err := <-resB:
		if err != nil {
			t.Fatalf("other caller: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("other caller did not return")
	}
	if n := u.calls.Load(); n != 1 {
		t.Fatalf("upstream calls = %d, want 1", n)
	}
}

// A user with a huge membership list (or a hostile upstream) must not make us
// buffer unbounded memory: the read stops at 1 MiB and fails closed.
func TestCheck_HugeBodyIsUnavailableAndBounded(t *testing.T) {
	const limit = 64 << 20
	var written atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		chunk := []byte(strings.Repeat(member(1, "admin")+",", 100))
		if _, err := io.WriteString(w, `{"data":[`); err != nil {
			return
		}
		for written.Load() < limit {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	m := newTestMemberships(t, nil, MembershipsConfig{URL: srv.URL})
	if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("upstream handler did not finish")
	}
	if n := written.Load(); n >= limit/2 {
		t.Fatalf("upstream managed to write %d bytes: the read is not bounded", n)
	}
}

func TestCheck_BodySizeLimitIsExact(t *testing.T) {
	u := newFakeUpstream(t)
	doc := memberships(member(1, "admin"))
	atLimit := doc + strings.Repeat(" ", maxBody-len(doc)) // JSON allows trailing whitespace
	m := newTestMemberships(t, u, MembershipsConfig{})
	u.setBody(atLimit)
	if err := m.Check(context.Background(), bearer("a"), "1"); err != nil {
		t.Fatalf("body of exactly 1 MiB: %v", err)
	}
	u.setBody(atLimit + " ")
	if err := m.Check(context.Background(), bearer("b"), "1"); err != ErrUnavailable {
		t.Fatalf("body of 1 MiB + 1: %v, want ErrUnavailable", err)
	}
}

// An attacker sending random tokens must not grow the cache without bound.
func TestCheck_RandomTokenFloodKeepsCacheBounded(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer legit", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{MaxEntries: 50, NegativeMaxEntries: 50})
	for i := range 500 {
		if err := m.Check(context.Background(), bearer(fmt.Sprintf("random-%d", i)), "1"); err != ErrUnauthorized {
			t.Fatalf("random token %d: %v", i, err)
		}
		if s := m.Stats(); s.CacheEntries+s.RefusedCached > 50 {
			t.Fatalf("caches have %d+%d entries after %d random tokens, bound is 50", s.CacheEntries, s.RefusedCached, i+1)
		}
	}
	if err := m.Check(context.Background(), bearer("legit"), "1"); err != nil {
		t.Fatalf("legit user after flood: %v", err)
	}
	if s := m.Stats(); s.RefusedCached != 50 || s.CacheEntries != 1 {
		t.Fatalf("refusals cached = %d, answers cached = %d, want 50 and 1", s.RefusedCached, s.CacheEntries)
	}
}

// Credentials must never reach the logs, whatever the outcome.
func TestCheck_LogsNeverContainCredentials(t *testing.T) {
	const token, cookie = "s3cr3t-token-value", "zsid=s3cr3t-cookie-value"
	u := newFakeUpstream(t)
	u.set("Bearer "+token, memberships(member(1, "admin")))
	var logs syncBuffer
	m := newTestMemberships(t, u, MembershipsConfig{Logger: testLogger(&logs), TTL: 50 * time.Millisecond})
	c := Credentials{Cookie: cookie, Authorization: "Bearer " + token}
	ctx := context.Background()
	_ = m.Check(ctx, c, "1")
	_ = m.Check(ctx, c, "2")
	_ = m.Check(ctx, Credentials{Cookie: cookie}, "1")
	u.setStatus(http.StatusInternalServerError)
	_ = m.Check(ctx, Credentials{Authorization: "Bearer other-" + token}, "1")
	u.setStatus(0)
	revoked := make(chan error, 1)
	m.Watch(c, "1", func(err error) { revoked <- err })
	u.set("Bearer "+token, memberships())
	select {
	case <-revoked:
	case <-time.After(10 * time.Second):
		t.Fatal("not revoked")
	}
	out := logs.String()
	for _, secret := range []string{"s3cr3t"} {
		if strings.Contains(out, secret) {
			t.Fatalf("logs contain credentials:\n%s", out)
		}
	}
	for _, want := range []string{`"org":"2"`, `"status":500`, `"status":401`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

func TestMemberships_CloseCancelsAndRefuses(t *testing.T) {
	u := newFakeUpstream(t)
	u.setHang(true)
	m := newTestMemberships(t, u, MembershipsConfig{Timeout: time.Minute})
	res := make(chan error, 1)
	go func() { res <- m.Check(context.Background(), bearer("t"), "1") }()
	u.awaitCalls(t, 1)
	m.Close()
	select {
	case err := <-res:
		if err != ErrUnavailable {
			t.Fatalf("in-flight check after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the in-flight upstream call")
	}
	m.Close() // idempotent
	if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrUnavailable {
		t.Fatalf("check after Close: %v", err)
	}
}

func TestNewMemberships_Validates(t *testing.T) {
	for _, cfg := range []MembershipsConfig{
		{URL: ""},
		{URL: "/v1/users/me/memberships"},
		{URL: "ftp://api/x"},
		{URL: "http://api/x", TTL: -1},
		{URL: "http://api/x", Timeout: -1},
		{URL: "http://api/x", MaxEntries: -1},
		{URL: "http://api/x", Roles: []string{""}},
	} {
		if m, err := NewMemberships(cfg); err == nil {
			m.Close()
			t.Errorf("NewMemberships(%+v) accepted", cfg)
		}
	}
}

func TestSentinelMessages(t *testing.T) {
	for err, want := range map[error]string{ErrUnauthorized: "unauthorized", ErrForbidden: "forbidden", ErrUnavailable: "unavailable"} {
		if err.Error() != want {
			t.Errorf("%v: message %q", err, err.Error())
		}
		if !errors.Is(fmt.Errorf("ctx: %w", err), err) {
			t.Errorf("%v: wrapped does not match", err)
		}
	}
}
