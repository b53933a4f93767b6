package auth

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeUpstream is a real HTTP server on 127.0.0.1 serving GET memberships
// per Authorization header (or, without one, per Cookie header).
type fakeUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64
	start chan struct{} // one value per request, sent when it arrives

	mu      sync.Mutex
	users   map[string]string // Authorization or Cookie value → 200 body
	status  int               // if set, answer this status with an empty JSON body
	body    string            // if set, answer 200 with this body for everyone
	hang    bool              // if set, block until the client goes away
	gate    chan struct{}     // if set, wait for it to close before answering
	headers []http.Header
}

func newFakeUpstream(t *testing.T) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{users: map[string]string{}, start: make(chan struct{}, 1<<16)}
	u.srv = httptest.NewServer(u)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *fakeUpstream) URL() string { return u.srv.URL + "/v1/users/me/memberships" }

func (u *fakeUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	select {
	case u.start <- struct{}{}:
	default:
	}
	who := r.Header.Get("Authorization")
	if who == "" {
		who = r.Header.Get("Cookie")
	}
	u.mu.Lock()
	u.headers = append(u.headers, r.Header.Clone())
	body, known := u.users[who]
	status, fixed, hang, gate := u.status, u.body, u.hang, u.gate
	u.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if hang {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path != "/v1/users/me/memberships" || r.Method != http.MethodGet:
		http.NotFound(w, r)
	case status != 0:
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":"x"}`)
	case fixed != "":
		_, _ = io.WriteString(w, fixed)
	case !known:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"unauthorized"}`)
	default:
		_, _ = io.WriteString(w, body)
	}
}

func (u *fakeUpstream) set(who, body string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[who] = body
}

func (u *fakeUpstream) setStatus(s int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.status = s
}

func (u *fakeUpstream) setBody(b string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.body = b
}

func (u *fakeUpstream) setHang(h bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hang = h
}

func (u *fakeUpstream) setGate(g chan struct{}) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gate = g
}

// awaitCalls waits until n more requests than already drained have arrived.
func (u *fakeUpstream) awaitCalls(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-u.start:
		case <-deadline:
			t.Fatalf("upstream: timed out waiting for %d requests", n)
		}
	}
}

// drainCalls forgets requests that arrived so far.
func (u *fakeUpstream) drainCalls() {
	for {
		select {
		case <-u.start:
		default:
			return
		}
	}
}

// member renders one membership; role "" is null (a follower).
func member(org int, role string) string {
	r := "null"
	if role != "" {
		r = fmt.Sprintf("%q", role)
	}
	return fmt.Sprintf(`{"organization":{"id":%d,"title":"Org %d"},"role":%s,"profile":{"id":7,"name":"Clara"},"follow":true}`, org, org, r)
}

func memberships(ms ...string) string { return `{"data":[` + strings.Join(ms, ",") + `]}` }

func bearer(tok string) Credentials { return Credentials{Authorization: "Bearer " + tok} }

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestMemberships builds a Memberships against u with a discarding logger.
func newTestMemberships(t *testing.T, u *fakeUpstream, cfg MembershipsConfig) *Memberships {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = u.URL()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := NewMemberships(cfg)
	if err != nil {
		t.Fatalf("NewMemberships: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}
