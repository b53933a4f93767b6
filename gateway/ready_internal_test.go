package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/auth"
)

// records is a slog.Handler that keeps every record, for asserting what was logged.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.recs))
	for i, rec := range r.recs {
		out[i] = rec.Level.String() + " " + rec.Message
	}
	return out
}

// With --readyz-probe-path, any answer below 500 (401, 403, 404 included) is ready and a
// 5xx is not; the probe logs only the changes, however often it runs.
func TestUpstreamProbePathVerdictsAndLogsOnlyChanges(t *testing.T) {
	var status atomic.Int32
	var probes atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/health" || r.URL.RawQuery != "deep=0" {
			t.Errorf("probe sent %s %s?%s, want GET /v1/health?deep=0", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			t.Errorf("probe carries credentials")
		}
		probes.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer api.Close()
	logs := &records{}
	p := newUpstreamProbe(api.URL+"/v1/", "/health?deep=0", slog.New(logs))
	p.interval = 0 // every call probes

	steps := []struct {
		status int
		ready  bool
	}{
		{401, true}, {403, true}, {404, true}, {302, true}, {200, true},
		{500, false}, {503, false}, {500, false},
		{401, true}, {200, true},
		{502, false},
	}
	for i, st := range steps {
		status.Store(int32(st.status))
		ok, cause := p.reachable()
		if ok != st.ready {
			t.Fatalf("step %d: upstream answers %d: reachable %v (%s), want %v", i, st.status, ok, cause, st.ready)
		}
		if !ok && !strings.Contains(cause, "answered") {
			t.Fatalf("step %d: cause %q does not say what the upstream answered", i, cause)
		}
	}
	if n := probes.Load(); n != int32(len(steps)) {
		t.Fatalf("%d probes sent, want %d (one per call with interval 0)", n, len(steps))
	}
	want := []string{
		"WARN upstream not reachable: /readyz answers 503 until it is",
		"INFO upstream reachable again: /readyz answers 200",
		"WARN upstream not reachable: /readyz answers 503 until it is",
	}
	if got := logs.messages(); !slices.Equal(got, want) {
		t.Fatalf("logged %q for %d probes, want only the 3 changes %q", got, len(steps), want)
	}
}

// Without a probe path, any HTTP answer (5xx included) is reachable and it is a HEAD of
// the base URL; no answer at all is not, and that first failure is logged once.
func TestUpstreamProbeWithoutPathNeedsOnlyAnAnswer(t *testing.T) {
	var method atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method.Store(r.Method + " " + r.URL.Path)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	logs := &records{}
	p := newUpstreamProbe(api.URL+"/v1", "", slog.New(logs))
	p.interval = 0
	if ok, cause := p.reachable(); !ok {
		t.Fatalf("a 500 answer: not reachable (%s)", cause)
	}
	if got := method.Load(); got != "HEAD /v1" {
		t.Fatalf("probe sent %v, want HEAD /v1", got)
	}
	api.Close()
	for range 3 {
		if ok, _ := p.reachable(); ok {
			t.Fatal("closed upstream reachable")
		}
	}
	if got := logs.messages(); len(got) != 1 || !strings.HasPrefix(got[0], "WARN upstream not reachable") {
		t.Fatalf("logged %q, want one warning", got)
	}
}

// The probe answers from its last verdict within the interval: a load balancer polling
// /readyz many times a second costs the upstream one request per interval.
func TestUpstreamProbeCachesWithinInterval(t *testing.T) {
	var probes atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { probes.Add(1) }))
	defer api.Close()
	p := newUpstreamProbe(api.URL, "/health", slog.New(slog.DiscardHandler))
	p.interval = time.Hour
	for range 20 {
		if ok, _ := p.reachable(); !ok {
			t.Fatal("not reachable")
		}
	}
	if n := probes.Load(); n != 1 {
		t.Fatalf("%d probes within one interval, want 1", n)
	}
}

// A failed reload and a memberships contract problem show in the readiness detail (the
// JSON of /readyz and of the status page) without making the node unready.
func TestReadinessRendersProblems(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	r := readiness{Ready: true, Status: "ready", Triggers: 4}
	r.addProblems(&ReloadFailure{File: "/etc/syncgate/triggers.yaml", Error: "triggers.yaml:7: unknown key \"metod\"", At: at},
		auth.ContractProblem{Problem: `"data" is not an array`, At: at})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["ready"] != true || got["status"] != "ready" {
		t.Fatalf("problems made the node unready: %s", b)
	}
	rf, _ := got["reload_failure"].(map[string]any)
	if rf["file"] != "/etc/syncgate/triggers.yaml" || !strings.Contains(rf["error"].(string), "metod") || rf["at"] != "2025-03-04T05:06:07Z" {
		t.Fatalf("reload_failure = %v", got["reload_failure"])
	}
	mc, _ := got["memberships_contract"].(map[string]any)
	if mc["problem"] != `"data" is not an array` || mc["at"] != "2025-03-04T05:06:07Z" {
		t.Fatalf("memberships_contract = %v", got["memberships_contract"])
	}
	ws, _ := got["warnings"].([]any)
	if len(ws) != 2 || !strings.Contains(ws[0].(string), "not reloaded") || !strings.Contains(ws[0].(string), "previous 4 triggers") ||
		!strings.Contains(ws[1].(string), `"data" is not an array`) {
		t.Fatalf("warnings = %q", ws)
	}

	clean := readiness{Ready: true, Status: "ready"}
	clean.addProblems(nil, auth.ContractProblem{})
	b, _ = json.Marshal(clean)
	for _, k := range []string{"reload_failure", "memberships_contract", "warnings"} {
		if strings.Contains(string(b), k) {
			t.Fatalf("no problem, yet %q in %s", k, b)
		}
	}
}

func TestDiffLines(t *testing.T) {
	before := []string{"PUT /a → x", "POST /b → y", "POST /b → y", "DELETE /c → z"}
	after := []string{"POST /b → y", "DELETE /c → z", "PATCH /d → w"}
	added, removed := diffLines(before, after)
	if !slices.Equal(added, []string{"PATCH /d → w"}) || !slices.Equal(removed, []string{"POST /b → y", "PUT /a → x"}) {
		t.Fatalf("added %q removed %q", added, removed)
	}
	long := make([]string, maxDiffLines+7)
	if got := capLines(long); len(got) != maxDiffLines+1 || got[maxDiffLines] != "… and 7 more" {
		t.Fatalf("capLines: %d lines, last %q", len(got), got[len(got)-1])
	}
}
