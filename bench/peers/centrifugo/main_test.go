package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/bench/upstream"
)

// fakeCentrifugo records the publishes the relay makes and answers /health.
type fakeCentrifugo struct {
	mu        sync.Mutex
	published []string
	keys      []string
}

func (f *fakeCentrifugo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health":
		w.WriteHeader(http.StatusOK)
	case "/api/publish":
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.published = append(f.published, string(b))
		f.keys = append(f.keys, r.Header.Get("X-API-Key"))
		f.mu.Unlock()
		_, _ = io.WriteString(w, `{"result":{}}`)
	default:
		http.NotFound(w, r)
	}
}

func setup(t *testing.T) (*httptest.Server, *fakeCentrifugo) {
	t.Helper()
	up := httptest.NewServer(upstream.New(1))
	t.Cleanup(up.Close)
	fc := &fakeCentrifugo{}
	cs := httptest.NewServer(fc)
	t.Cleanup(cs.Close)
	relay := httptest.NewServer(newRelay(up.URL+upstream.Prefix, cs.URL).routes())
	t.Cleanup(relay.Close)
	return relay, fc
}

func connect(t *testing.T, relay *httptest.Server, data string) map[string]any {
	t.Helper()
	resp, err := relay.Client().Post(relay.URL+"/centrifugo/connect", "application/json",
		strings.NewReader(`{"client":"c1","transport":"websocket","protocol":"json","encoding":"json","data":`+data+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConnectProxyAdmitsMembersToTheirOrgChannelOnly(t *testing.T) {
	relay, _ := setup(t)
	ok := connect(t, relay, `{"token":"user7","org":1}`)
	res, _ := ok["result"].(map[string]any)
	if res == nil || res["user"] != "user7" || len(res["channels"].([]any)) != 1 || res["channels"].([]any)[0] != "org:1" {
		t.Fatalf("member of org 1: %v, want user7 subscribed to org:1", ok)
	}
	// The fake upstream's users belong to org 1 only.
	if out := connect(t, relay, `{"token":"user7","org":2}`); out["error"] == nil || out["result"] != nil {
		t.Fatalf("org 2: %v, want an error", out)
	}
	if out := connect(t, relay, `{"token":"intruder","org":1}`); out["error"] == nil {
		t.Fatalf("unknown token: %v, want an error", out)
	}
}

func TestMutationIsForwardedThenPublishedToTheOrgChannel(t *testing.T) {
	relay, fc := setup(t)
	put := func(token string) int {
		req, _ := http.NewRequest(http.MethodPut, relay.URL+"/api/orgs/1/people/views/2/rows/42", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := relay.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put("user0"); code != http.StatusOK {
		t.Fatalf("PUT answered %d, want 200", code)
	}
	if code := put("intruder"); code != http.StatusUnauthorized {
		t.Fatalf("PUT with a bad token answered %d, want the upstream's 401", code)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.published) != 1 {
		t.Fatalf("%d publishes, want 1 (only the 2xx mutation): %v", len(fc.published), fc.published)
	}
	var p struct {
		Channel string
		Data    struct{ ViewID, PersonID int }
	}
	if err := json.Unmarshal([]byte(fc.published[0]), &p); err != nil || p.Channel != "org:1" || p.Data.PersonID != 42 || p.Data.ViewID != 2 || fc.keys[0] == "" {
		t.Fatalf("published %s (key %q), want personId 42 to org:1 with the API key", fc.published[0], fc.keys[0])
	}
}
