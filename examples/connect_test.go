package examples_test

// The two example configurations for APIs shaped unlike Zetkin's (workspaces.env +
// workspaces.yaml, teams.env + teams.yaml) run end to end here: each example's own
// environment file configures a real gateway, which sits in front of a real HTTP server on
// loopback shaped like the API the example describes, and the official socket.io-client
// (in Node) connects, is admitted or refused, and receives the events.

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// envFile reads an example's KEY=VALUE file (comments and blank lines skipped).
func envFile(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "SYNCGATE_") {
			t.Fatalf("%s: bad line %q", name, line)
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// example is a gateway configured by examples/NAME.env in front of upstream.
type example struct {
	t      *testing.T
	base   string // http://127.0.0.1:PORT of the gateway
	client *http.Client
}

// startExample runs the gateway as the binary would with NAME.env in its environment, with
// the upstream's base URL replaced by the test server's and overrides applied on top.
func startExample(t *testing.T, name, upstream string, overrides map[string]string) *example {
	t.Helper()
	env := envFile(t, name+".env")
	if env["SYNCGATE_TRIGGERS"] != "examples/"+name+".yaml" {
		t.Fatalf("%s.env: SYNCGATE_TRIGGERS = %q, want examples/%s.yaml", name, env["SYNCGATE_TRIGGERS"], name)
	}
	env["SYNCGATE_UPSTREAM"] = upstream
	env["SYNCGATE_TRIGGERS"] = name + ".yaml" // the test runs in examples/
	env["SYNCGATE_ADMIN_LISTEN"] = ""
	for k, v := range overrides {
		env[k] = v
	}
	cfg, err := gateway.ParseConfig(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("%s.env: %v", name, err)
	}
	set, err := triggers.LoadWith(cfg.Triggers, triggers.Options{IDs: cfg.OrgIDFormat})
	if err != nil {
		t.Fatalf("%s: %v", cfg.Triggers, err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = g.Close()
		_ = srv.Close()
	})
	// One keep-alive connection: a call's events are handed to the sockets before the next
	// call of that connection is read, so "the next event is B" proves "A fired nothing there".
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &example{t: t, base: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// do sends a call through the gateway with the bearer token of user and wants status.
func (e *example) do(want int, user, method, path string, header map[string]string) []byte {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader("{}"))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+user)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, body, want)
	}
	return body
}

func bearer(user string) map[string]any {
	return map[string]any{"reconnection": false, "transports": []string{"websocket"},
		"extraHeaders": map[string]string{"Authorization": "Bearer " + user}}
}

func mustConnect(t *testing.T, n *testenv.Node, name, url string, o map[string]any) {
	t.Helper()
	if _, err := n.Connect(name, url, o); err != nil {
		t.Fatalf("connect %s to %s: %v", name, url, err)
	}
}

func mustRefuse(t *testing.T, n *testenv.Node, name, url string, o map[string]any, want string) {
	t.Helper()
	ce, err := n.ConnectErr(name, url, o)
	if err != nil {
		t.Fatalf("socket %s to %s: %v", name, url, err)
	}
	if ce.Message != want {
		t.Fatalf("socket %s to %s refused with %q, want %q", name, url, ce.Message, want)
	}
}

// next waits for socket name's next event and wants it to be event with exactly data.
func next(t *testing.T, n *testenv.Node, name, event string, data map[string]any) {
	t.Helper()
	ev, err := n.NextEvent(name, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != event {
		t.Fatalf("socket %s: next event %v, want %q", name, ev, event)
	}
	var got map[string]any
	if err := ev.Arg(0, &got); err != nil {
		t.Fatalf("socket %s: %v: %v", name, ev, err)
	}
	wantJSON, _ := json.Marshal(data)
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Fatalf("socket %s: %s %s, want %s", name, event, gotJSON, wantJSON)
	}
}

// workspacesAPI is the API of workspaces.env: GET /v2/me/workspaces lists the caller's
// workspaces by slug with an access level; documents are UUIDs; writes need any access.
func workspacesAPI(t *testing.T) string {
	members := map[string][]struct{ slug, access string }{
		"ann": {{"acme-corp", "editor"}, {"globex", "guest"}},
		"ben": {{"acme", "owner"}}, // a slug that is a prefix of ann's: must never see acme-corp's events
	}
	access := func(user, slug string) bool {
		for _, m := range members[user] {
			if m.slug == slug {
				return true
			}
		}
		return false
	}
	mux := http.NewServeMux()
	user := func(r *http.Request) (string, bool) {
		u, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		_, known := members[u]
		return u, ok && known
	}
	mux.HandleFunc("GET /v2/me/workspaces", func(w http.ResponseWriter, r *http.Request) {
		u, ok := user(r)
		if !ok {
			http.Error(w, `{"error":"unauthenticated"}`, http.StatusUnauthorized)
			return
		}
		type ws struct {
			Slug string `json:"slug"`
			Name string `json:"name"`
		}
		type item struct {
			Workspace ws     `json:"workspace"`
			Access    string `json:"access"`
		}
		var items []item
		for _, m := range members[u] {
			items = append(items, item{ws{m.slug, strings.ToUpper(m.slug)}, m.access})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next": nil})
	})
	write := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u, ok := user(r)
			ws := r.PathValue("ws")
			if ws == "" {
				ws = r.Header.Get("X-Workspace")
			}
			if !ok || !access(u, ws) {
				http.Error(w, `{"error":"forbidden"}`, http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	mux.HandleFunc("POST /v2/workspaces/{ws}/docs", write(201, `{"id":"6f1c2a34-0b7e-4d2a-9c51-3e8f0a1b2c3d","title":"Plan"}`))
	mux.HandleFunc("PATCH /v2/workspaces/{ws}/docs/{doc}", write(200, `{}`))
	mux.HandleFunc("POST /v2/docs/{doc}/comments", write(201, `{"id":"c-17"}`))
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/v2"
}

// TestWorkspacesExample: list mode with slugs and a role filter.
func TestWorkspacesExample(t *testing.T) {
	e := startExample(t, "workspaces", workspacesAPI(t), nil)
	n := testenv.StartNode(t)
	const doc = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"

	mustConnect(t, n, "ann", e.base+"/workspace/acme-corp", bearer("ann"))
	mustConnect(t, n, "ben", e.base+"/workspace/acme", bearer("ben"))
	mustRefuse(t, n, "guest", e.base+"/workspace/globex", bearer("ann"), "forbidden") // guest access is not a member role
	mustRefuse(t, n, "other", e.base+"/workspace/acme", bearer("ann"), "forbidden")
	mustRefuse(t, n, "nobody", e.base+"/workspace/acme-corp", bearer("mallory"), "unauthorized")
	mustRefuse(t, n, "zetkin", e.base+"/org/1", bearer("ann"), "Invalid namespace")

	e.do(200, "ann", "PATCH", "/api/workspaces/acme-corp/docs/"+doc, nil)
	next(t, n, "ann", "doc.updated", map[string]any{"docId": doc})
	e.do(201, "ann", "POST", "/api/workspaces/acme-corp/docs", nil)
	next(t, n, "ann", "doc.created", map[string]any{"docId": "6f1c2a34-0b7e-4d2a-9c51-3e8f0a1b2c3d"})
	e.do(201, "ann", "POST", "/api/docs/"+doc+"/comments", map[string]string{"X-Workspace": "acme-corp"})
	next(t, n, "ann", "comment.created", map[string]any{"commentId": "c-17", "docId": doc})

	// Ben's workspace "acme" got none of acme-corp's events: his first event is his own.
	e.do(200, "ben", "PATCH", "/api/workspaces/acme/docs/"+doc, nil)
	next(t, n, "ben", "doc.updated", map[string]any{"docId": doc})
}

// teamsAPI is the API of teams.env: GET /api/teams/{team}/me answers one team at a time.
type teamsAPI struct {
	url   string
	calls atomic.Int64 // membership calls
	mu    sync.Mutex
	roles map[string]map[string]string // user → team → role
}

func newTeamsAPI(t *testing.T) *teamsAPI {
	a := &teamsAPI{roles: map[string]map[string]string{
		"tia": {teamA: "member", teamB: "viewer"},
		"tom": {teamB: "admin"},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/teams/{team}/me", func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		role, status := a.role(r, r.PathValue("team"))
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"role": role, "since": "2026-01-01"})
	})
	write := func(team func(*http.Request) string, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, status := a.role(r, team(r)); status != 200 {
				w.WriteHeader(status)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	byPath := func(name string) func(*http.Request) string {
		return func(r *http.Request) string { return r.PathValue(name) }
	}
	mux.HandleFunc("POST /api/teams/{team}/tasks", write(byPath("team"), `{"task":{"id":"t-42","title":"Ship"}}`))
	mux.HandleFunc("PATCH /api/teams/{team}/tasks/{task}", write(byPath("team"), `{}`))
	mux.HandleFunc("PUT /api/invites/{team}/{user}", write(byPath("team"), `{}`))
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	a.url = "http://" + ln.Addr().String() + "/api"
	return a
}

const (
	teamA = "b3a7c9e0-1d2f-4a5b-8c6d-7e8f9a0b1c2d"
	teamB = "c4b8d0f1-2e3a-4b6c-9d7e-8f9a0b1c2d3e"
)

// role is the caller's role in team: 200 with a role, 401 for an unknown token, 404 when
// not in the team.
func (a *teamsAPI) role(r *http.Request, team string) (string, int) {
	user, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a.mu.Lock()
	defer a.mu.Unlock()
	teams, ok := a.roles[user]
	if !ok {
		return "", http.StatusUnauthorized
	}
	role, ok := teams[team]
	if !ok {
		return "", http.StatusNotFound
	}
	return role, 200
}

func (a *teamsAPI) remove(user, team string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.roles[user], team)
}

// TestTeamsExample: per-org mode with UUID teams, a role filter, a per-trigger org and
// revocation.
func TestTeamsExample(t *testing.T) {
	api := newTeamsAPI(t)
	e := startExample(t, "teams", api.url, map[string]string{"SYNCGATE_MEMBERSHIP_TTL": "300ms"})
	n := testenv.StartNode(t)

	mustConnect(t, n, "tia", e.base+"/team/"+teamA, bearer("tia"))
	mustConnect(t, n, "tia2", e.base+"/team/"+teamA, bearer("tia")) // answered from the cache
	mustConnect(t, n, "tom", e.base+"/team/"+teamB, bearer("tom"))
	mustRefuse(t, n, "viewer", e.base+"/team/"+teamB, bearer("tia"), "forbidden")   // role not in --member-roles
	mustRefuse(t, n, "stranger", e.base+"/team/"+teamA, bearer("tom"), "forbidden") // 404
	mustRefuse(t, n, "nobody", e.base+"/team/"+teamA, bearer("mallory"), "unauthorized")

	e.do(200, "tia", "POST", "/api/teams/"+teamA+"/tasks", nil)
	next(t, n, "tia", "task.created", map[string]any{"taskId": "t-42"})
	next(t, n, "tia2", "task.created", map[string]any{"taskId": "t-42"})
	e.do(200, "tia", "PUT", "/api/invites/"+teamA+"/u-9", nil)
	next(t, n, "tia", "invite.created", map[string]any{"userId": "u-9"})
	e.do(200, "tom", "PATCH", "/api/teams/"+teamB+"/tasks/t-1", nil)
	next(t, n, "tom", "task.updated", map[string]any{"taskId": "t-1"}) // and nothing of team A before it

	// Tia leaves team A: both her sockets there are dropped at the next re-check.
	api.remove("tia", teamA)
	for _, s := range []string{"tia", "tia2"} {
		ev, err := n.WaitEvent(s, gateway.EventRevoked, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Reason string }
		if err := ev.Arg(0, &got); err != nil || got.Reason != "forbidden" {
			t.Fatalf("socket %s: %v, want revoked {reason: forbidden}", s, ev)
		}
	}
	// Tom's team is unaffected.
	e.do(200, "tom", "PATCH", "/api/teams/"+teamB+"/tasks/t-2", nil)
	next(t, n, "tom", "task.updated", map[string]any{"taskId": "t-2"})
}
