package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FakeAPIPrefix is the path under which FakeAPI serves, like the platform API.
const FakeAPIPrefix = "/v1"

// Request is one request that reached a FakeAPI. Path is relative to URL()
// (FakeAPIPrefix removed), e.g. "/users/me/memberships".
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// rule answers requests whose method and path match.
type rule struct {
	method  string // "" or "*" for any
	pattern string // path.Match pattern relative to the prefix
	status  int
	body    string
	handler http.HandlerFunc // used instead of status/body when set
}

// FakeAPI is a real HTTP server on 127.0.0.1 playing the upstream platform
// API, under FakeAPIPrefix.
//
// Membership credentials: a request's credential is the token of its
// "Authorization: Bearer TOKEN" header, or else the value of its cookie
// "zsid" (Authorization wins when both are present). SetMemberships("alice",
// ...) thus admits both "Authorization: Bearer alice" and "Cookie: zsid=alice".
//
// Answers, first match wins: a SetStatus override of the exact path; the
// latest matching Handle/HandleFunc rule; GET /users/me/memberships[/{org}]
// (401 for an unknown or missing credential); else 200 {"data":[]} for GET
// and HEAD, 200 {"data":{}} for every other method.
type FakeAPI struct {
	t    testing.TB
	addr string

	mu          sync.Mutex
	srv         *http.Server
	down        bool
	delay       time.Duration
	memberships map[string][]Membership
	rules       []rule
	status      map[string]int
	requests    []Request
	inFlight    int // requests being answered now
	maxInFlight int // the most inFlight has been
}

// Membership is one organization a credential belongs to. Role "" stands for
// a null role (a follower, not an official).
type Membership struct {
	Org  int
	Role string
}

// NewFakeAPI starts a FakeAPI on a free loopback port, closed on t.Cleanup.
func NewFakeAPI(t testing.TB) *FakeAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: fake API listen: %v", err)
	}
	f := &FakeAPI{
		t:           t,
		addr:        ln.Addr().String(),
		memberships: map[string][]Membership{},
		status:      map[string]int{},
	}
	f.serve(ln)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.srv != nil {
			_ = f.srv.Close()
			f.srv = nil
		}
	})
	return f
}

// URL returns the API's base URL, "http://127.0.0.1:PORT/v1".
func (f *FakeAPI) URL() string { return "http://" + f.addr + FakeAPIPrefix }

// Addr returns "127.0.0.1:PORT".
func (f *FakeAPI) Addr() string { return f.addr }

// SetMemberships replaces the memberships of credential (see FakeAPI).
// With no memberships the credential is known but belongs to no org.
func (f *FakeAPI) SetMemberships(credential string, ms ...Membership) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.memberships[credential] = append([]Membership(nil), ms...)
}

// RemoveCredential forgets credential: its membership calls answer 401.
func (f *FakeAPI) RemoveCredential(credential string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.memberships, credential)
}

// Handle makes requests of method ("" or "*" for any) whose path (relative
// to URL()) matches pattern (path.Match syntax: "*" is one segment) answer
// status with body as application/json. Later rules win over earlier ones.
func (f *FakeAPI) Handle(method, pattern string, status int, body string) {
	f.addRule(rule{method: method, pattern: pattern, status: status, body: body})
}

// HandleFunc is Handle with a handler of the test's own. It runs on the
// server's goroutine: report failures with t.Error, not t.Fatal.
func (f *FakeAPI) HandleFunc(method, pattern string, h http.HandlerFunc) {
	f.addRule(rule{method: method, pattern: pattern, handler: h})
}

func (f *FakeAPI) addRule(r rule) {
	if _, err := path.Match(r.pattern, "/"); err != nil {
		f.t.Fatalf("testenv: fake API pattern %q: %v", r.pattern, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// SetStatus makes every request of the exact path answer code, before any
// other rule; code 0 removes the override.
func (f *FakeAPI) SetStatus(path string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == 0 {
		delete(f.status, path)
		return
	}
	f.status[path] = code
}

// SetDelay delays every answer by d (0 for none), e.g. to trigger the
// caller's timeouts. A delayed request whose client goes away ends early.
func (f *FakeAPI) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// SetDown closes the listener and every open connection: new connections
// are refused, as when the upstream is down.
func (f *FakeAPI) SetDown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		_ = f.srv.Close()
		f.srv = nil
	}
	f.down = true
}

// SetUp listens again on the same port after SetDown.
func (f *FakeAPI) SetUp() {
	f.t.Helper()
	f.mu.Lock()
	if !f.down {
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("testenv: fake API listen again on %s: %v", f.addr, err)
	}
	f.serve(ln)
}

func (f *FakeAPI) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(f.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	f.mu.Lock()
	f.srv = srv
	f.down = false
	f.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.t.Errorf("testenv: fake API serve: %v", err)
		}
	}()
}

// Calls returns how many requests of path (relative to URL(), any method,
// query ignored) reached the API.
func (f *FakeAPI) Calls(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// MaxInFlight returns the most requests the API was answering at once so far.
func (f *FakeAPI) MaxInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight
}

// Requests returns every request that reached the API, oldest first.
func (f *FakeAPI) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// ResetRequests forgets the requests seen so far (Calls counts from zero).
func (f *FakeAPI) ResetRequests() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

// maxBody bounds what FakeAPI keeps of a request body.
const maxBody = 1 << 20

func (f *FakeAPI) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, maxBody))
	rel, underPrefix := strings.CutPrefix(req.URL.Path, FakeAPIPrefix)
	if rel == "" {
		rel = "/"
	}
	if !underPrefix || !strings.HasPrefix(rel, "/") {
		writeJSON(w, http.StatusNotFound, `{"error":"not under `+FakeAPIPrefix+`"}`)
		return
	}

	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	f.requests = append(f.requests, Request{
		Method: req.Method,
		Path:   rel,
		Query:  req.URL.RawQuery,
		Header: req.Header.Clone(),
		Body:   body,
	})
	delay := f.delay
	status, hasStatus := f.status[rel]
	var matched *rule
	for i := len(f.rules) - 1; i >= 0; i-- {
		r := f.rules[i]
		if r.method != "" && r.method != "*" && r.method != req.Method {
			continue
		}
		if ok, _ := path.Match(r.pattern, rel); ok {
			matched = &r
			break
		}
	}
	f.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	switch {
	case hasStatus:
		writeJSON(w, status, statusBody(status))
	case matched != nil && matched.handler != nil:
		matched.handler(w, req)
	case matched != nil:
		writeJSON(w, matched.status, matched.body)
	case req.Method == http.MethodGet && (rel == "/users/me/memberships" || strings.HasPrefix(rel, "/users/me/memberships/")):
		f.serveMemberships(w, req, strings.TrimPrefix(rel, "/users/me/memberships"))
	case req.Method == http.MethodGet || req.Method == http.MethodHead:
		writeJSON(w, http.StatusOK, `{"data":[]}`)
	default:
		writeJSON(w, http.StatusOK, `{"data":{}}`)
	}
}

func statusBody(status int) string {
	if status >= 200 && status < 300 {
		return `{"data":{}}`
	}
	return fmt.Sprintf(`{"error":%q}`, http.StatusText(status))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Credential returns the membership credential of req: the bearer token of
// its Authorization header, else its "zsid" cookie, else "".
func Credential(req *http.Request) string {
	if a := req.Header.Get("Authorization"); a != "" {
		if tok, ok := strings.CutPrefix(a, "Bearer "); ok {
			return tok
		}
		return ""
	}
	if c, err := req.Cookie("zsid"); err == nil {
		return c.Value
	}
	return ""
}

// serveMemberships answers GET /users/me/memberships (suffix "") and
// GET /users/me/memberships/{org} (suffix "/{org}").
func (f *FakeAPI) serveMemberships(w http.ResponseWriter, req *http.Request, suffix string) {
	cred := Credential(req)
	f.mu.Lock()
	ms, known := f.memberships[cred]
	ms = append([]Membership(nil), ms...)
	f.mu.Unlock()
	if cred == "" || !known {
		writeJSON(w, http.StatusUnauthorized, `{"error":"Unauthorized"}`)
		return
	}
	if suffix == "" {
		items := make([]string, len(ms))
		for i, m := range ms {
			items[i] = membershipJSON(m)
		}
		writeJSON(w, http.StatusOK, `{"data":[`+strings.Join(items, ",")+`]}`)
		return
	}
	org, err := strconv.Atoi(strings.TrimPrefix(suffix, "/"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, `{"error":"Not Found"}`)
		return
	}
	for _, m := range ms {
		if m.Org == org {
			writeJSON(w, http.StatusOK, `{"data":`+membershipJSON(m)+`}`)
			return
		}
	}
	writeJSON(w, http.StatusNotFound, `{"error":"Not Found"}`)
}

// membershipJSON renders m in the platform API's format.
func membershipJSON(m Membership) string {
	type org struct {
		ID    int    `json:"id"`
		Title string `json:"title"`
	}
	type profile struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	var role *string
	if m.Role != "" {
		role = &m.Role
	}
	b, err := json.Marshal(struct {
		Organization org     `json:"organization"`
		Role         *string `json:"role"`
		Profile      profile `json:"profile"`
		Follow       bool    `json:"follow"`
	}{org{m.Org, fmt.Sprintf("Org %d", m.Org)}, role, profile{1000 + m.Org, fmt.Sprintf("Person %d", 1000+m.Org)}, true})
	if err != nil {
		panic(fmt.Sprintf("testenv: encode membership: %v", err)) // cannot happen: plain types
	}
	return string(b)
}
