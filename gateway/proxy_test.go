package gateway_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

func TestProxyForwardsCallUnchanged(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.Handle("POST", "/orgs/1/x", http.StatusCreated, `{"data":{"id":5,"note":"kept as is"}}`)
	h := startGateway(t, api, pocTriggers(t))

	hdr := http.Header{"Cookie": {"zsid=alice"}, "Authorization": {"Bearer tok-1"}, "Content-Type": {"application/json"}}
	code, _, body := h.do("POST", "/api/orgs/1/x?y=2", hdr, `{"name":"n"}`)
	if code != http.StatusCreated || string(body) != `{"data":{"id":5,"note":"kept as is"}}` {
		t.Fatalf("answer %d %s, want the upstream's 201 and body unchanged", code, body)
	}
	reqs := api.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests, want 1: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/orgs/1/x" || r.Query != "y=2" || string(r.Body) != `{"name":"n"}` {
		t.Fatalf("upstream got %s %s?%s %q, want POST /orgs/1/x?y=2 with the body", r.Method, r.Path, r.Query, r.Body)
	}
	if r.Header.Get("Cookie") != "zsid=alice" || r.Header.Get("Authorization") != "Bearer tok-1" {
		t.Fatalf("upstream got Cookie %q Authorization %q", r.Header.Get("Cookie"), r.Header.Get("Authorization"))
	}
}

func TestProxyPassesErrorStatusAndNoContent(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.Handle("GET", "/orgs/1/missing", http.StatusNotFound, `{"error":"Not Found"}`)
	api.Handle("DELETE", "/orgs/1/people/3", http.StatusNoContent, "")
	h := startGateway(t, api, pocTriggers(t))

	if code, _, body := h.do("GET", "/api/orgs/1/missing", nil, ""); code != 404 || string(body) != `{"error":"Not Found"}` {
		t.Fatalf("GET missing: %d %s", code, body)
	}
	if code, _, body := h.do("DELETE", "/api/orgs/1/people/3", nil, ""); code != 204 || len(body) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 with no body", code, body)
	}
}

func TestProxyUpstreamDownIs502AndGatewayKeepsServing(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	h := startGateway(t, api, pocTriggers(t))

	api.SetDown() // connections to the upstream are refused
	code, hdr, body := h.do("GET", "/api/orgs/1/people", nil, "")
	var e struct{ Error string }
	if code != http.StatusBadGateway || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Fatalf("upstream down: %d %s, want 502 with a JSON error", code, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("502 Content-Type %q", ct)
	}
	h.mustDo(http.StatusOK, "GET", "/healthz", nil, "")

	api.SetUp()
	if body := h.mustDo(http.StatusOK, "GET", "/api/orgs/1/people", nil, ""); string(body) != `{"data":[]}` {
		t.Fatalf("after the upstream came back: %s", body)
	}
}

func TestProxySlowUpstreamIs504(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	h := startGateway(t, api, pocTriggers(t), "--upstream-timeout", "100ms")
	api.SetDelay(5 * time.Second)

	start := time.Now()
	code, _, body := h.do("GET", "/api/orgs/1/people", nil, "")
	if code != http.StatusGatewayTimeout {
		t.Fatalf("slow upstream: %d %s, want 504", code, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("504 took %v with --upstream-timeout 100ms", d)
	}
}

// A dot segment, even percent-encoded, would let a caller climb out of the upstream's /v1
// prefix to any other path of the upstream host.
func TestProxyPathTraversalNeverReachesUpstream(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	h := startGateway(t, api, pocTriggers(t))
	for _, p := range []string{"/api/orgs/1/..%2F..%2Fadmin", "/api/%2e%2e/admin"} {
		if code, _, body := h.do("GET", p, nil, ""); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", p, code, body)
		}
	}
	if reqs := api.Requests(); len(reqs) != 0 {
		t.Fatalf("upstream saw %+v", reqs)
	}
}
