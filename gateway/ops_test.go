package gateway_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

// scrape reads the admin listener's /metrics into name{labels} → value.
func scrape(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, "syncgate_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// Metrics change as a scripted scenario says: admissions by result, events by name,
// deliveries, proxied calls by status class, unmatched mutations, connections.
func TestMetricsFollowAScriptedScenario(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("carol", testenv.Membership{Org: 2, Role: "admin"})
	h := startGateway(t, api, pocTriggers(t))
	admin := httptest.NewServer(h.g.AdminHandler())
	t.Cleanup(admin.Close)
	before := scrape(t, admin.URL)

	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	refused(t, n, "c", h.url("/org/1"), opts("websocket", cookie("carol")))
	h.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/3", http.Header{"Cookie": {"zsid=alice"}}, "")
	waitOnly(t, n, "a", "personview.addrow")
	h.mustDo(200, "PATCH", "/api/orgs/1/gadgets/77", http.Header{"Cookie": {"zsid=alice"}}, `{}`) // no trigger
	api.SetStatus("/orgs/1/people/views/2/rows/4", 500)
	h.mustDo(500, "PUT", "/api/orgs/1/people/views/2/rows/4", http.Header{"Cookie": {"zsid=alice"}}, "")

	after := scrape(t, admin.URL)
	delta := func(k string) float64 { return after[k] - before[k] }
	for k, want := range map[string]float64{
		`syncgate_admissions_total{result="admitted"}`:             1,
		`syncgate_admissions_total{result="forbidden"}`:            1,
		`syncgate_events_fired_total{event="personview.addrow"}`:   1,
		`syncgate_deliveries_total`:                                1,
		`syncgate_proxy_requests_total{method="PUT",status="2xx"}`: 1,
		`syncgate_proxy_requests_total{method="PUT",status="5xx"}`: 1,
		`syncgate_unmatched_mutations_total`:                       1,
		`syncgate_membership_upstream_calls_total`:                 2,
	} {
		if got := delta(k); got != want {
			t.Errorf("%s grew by %v, want %v", k, got, want)
		}
	}
	if got := after[`syncgate_connections{transport="websocket"}`]; got < 1 {
		t.Errorf("websocket connections = %v, want ≥ 1", got)
	}
	// Labels stay bounded: no org or user IDs anywhere in the exposition.
	for k := range after {
		if regexp.MustCompile(`org="|user="|alice|carol`).MatchString(k) {
			t.Errorf("metric %s carries an org or user label", k)
		}
	}
	rows := h.g.Unmatched()
	if len(rows) != 1 || rows[0].Method != "PATCH" || rows[0].Path != "/orgs/{orgId}/gadgets/{gadgetId}" || rows[0].Count != 1 {
		t.Fatalf("unmatched table = %+v, want one PATCH /orgs/{orgId}/gadgets/{gadgetId}", rows)
	}
}

// /readyz follows the upstream: 503 while it is down, 200 again when it is back.
func TestReadyzFlipsWithTheUpstream(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	h := startGateway(t, api, pocTriggers(t))
	waitReady := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, _, body := h.do("GET", "/readyz", nil, "")
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %s, want %d", got, body, want)
			}
			time.Sleep(100 * time.Millisecond) // polling a probe cached for 2 s: bounded
		}
	}
	waitReady(200)
	api.SetDown()
	waitReady(503)
	api.SetUp()
	waitReady(200)
}

// Drain closes connections at the transport level, so the official client reconnects by
// itself (elsewhere behind a load balancer) instead of treating it as a server kick.
func TestDrainLetsClientsReconnect(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	h := startGateway(t, api, pocTriggers(t))
	n := testenv.StartNode(t)
	for _, tr := range []string{"websocket", "polling"} {
		connect(t, n, tr, h.url("/org/1"), opts(tr, cookie("alice")))
	}
	h.g.Drain()
	for _, tr := range []string{"websocket", "polling"} {
		ev, err := n.WaitDisconnect(tr, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Reason == "io server disconnect" {
			t.Fatalf("%s: reason %q: the client would not reconnect", tr, ev.Reason)
		}
	}
	if got, _, _ := h.do("GET", "/readyz", nil, ""); got != 503 {
		t.Fatalf("/readyz while draining = %d, want 503", got)
	}
}

func TestPathShape(t *testing.T) {
	for in, want := range map[string]string{
		"/orgs/1/people/7":                          "/orgs/{orgId}/people/{personId}",
		"/orgs/1/people/views/2/rows/3":             "/orgs/{orgId}/people/views/{viewId}/rows/{rowId}",
		"/tasks/12":                                 "/tasks/{taskId}",
		"/orgs/1/campaigns/2/call_assignments/9":    "/orgs/{orgId}/campaigns/{campaignId}/call_assignments/{call_assignmentId}",
		"/files/1a2b3c4d5e6f7a8b9c0d":               "/files/{fileId}",
		"/orgs/1/tags/urgent":                       "/orgs/{orgId}/tags/urgent",
		"/7/8":                                      "/{id}/{id2}",
		"/orgs/1/people/7/tags/3":                   "/orgs/{orgId}/people/{personId}/tags/{tagId}",
		"/orgs/1/surveys/2/submissions/3/responses": "/orgs/{orgId}/surveys/{surveyId}/submissions/{submissionId}/responses",
	} {
		if got := gateway.PathShape(in); got != want {
			t.Errorf("PathShape(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every response carries an X-Request-Id, and the same ID reaches the upstream: a client's
// own short token is kept, anything else is replaced.
func TestRequestIDReachesTheUpstream(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	h := startGateway(t, api, pocTriggers(t))
	_, hdr, _ := h.do("GET", "/api/orgs/1/people", http.Header{"X-Request-Id": {"abc-123"}}, "")
	if got := hdr.Get("X-Request-Id"); got != "abc-123" {
		t.Fatalf("response X-Request-Id = %q, want the client's abc-123", got)
	}
	_, hdr, _ = h.do("GET", "/api/orgs/1/people", http.Header{"X-Request-Id": {"bad id with spaces/and;semicolons"}}, "")
	made := hdr.Get("X-Request-Id")
	if made == "" || strings.ContainsAny(made, " /;") {
		t.Fatalf("response X-Request-Id = %q, want a fresh token", made)
	}
	reqs := api.Requests()
	if len(reqs) != 2 || reqs[0].Header.Get("X-Request-Id") != "abc-123" || reqs[1].Header.Get("X-Request-Id") != made {
		t.Fatalf("upstream saw %v", reqs)
	}
}
