package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

const coalesceTriggers = `
triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
    coalesce: 300ms
  - event: person.updated
    method: PATCH
    path: /orgs/{orgId}/people/{personId}
`

// A burst of mutations of a trigger with coalesce: reaches each socket as one delivery
// carrying the list of IDs; a trigger without it still delivers every event at once; past
// 100 distinct IDs the sockets get one resync scoped to the event instead.
func TestCoalescedBurstIsOneDelivery(t *testing.T) {
	set, err := triggers.Parse("coalesce.yaml", []byte(coalesceTriggers))
	if err != nil {
		t.Fatal(err)
	}
	h := startGateway(t, member1(t), set)
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))

	for i := 1; i <= 30; i++ {
		h.mustDo(200, "PUT", fmt.Sprintf("/api/orgs/1/people/views/2/rows/%d", i), nil, "")
	}
	ev := waitOnly(t, n, "a", "personview.addrow")
	var got struct {
		PersonID []int `json:"personId"`
		ViewID   int   `json:"viewId"`
	}
	if err := json.Unmarshal(ev.Args[0], &got); err != nil {
		t.Fatalf("%v: %v", ev, err)
	}
	if len(got.PersonID) != 30 || got.PersonID[0] != 1 || got.PersonID[29] != 30 || got.ViewID != 2 {
		t.Fatalf("coalesced delivery %s, want personId [1..30], viewId 2", ev.Args[0])
	}
	// Nothing else of the burst follows: the next event is an uncoalesced one, at once.
	h.mustDo(200, "PATCH", "/api/orgs/1/people/7", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "person.updated"), map[string]int64{"personId": 7})

	for i := 1; i <= 101; i++ {
		h.mustDo(200, "PUT", fmt.Sprintf("/api/orgs/1/people/views/2/rows/%d", i), nil, "")
	}
	rs := waitOnly(t, n, "a", "resync")
	var reason struct{ Reason, Event string }
	if err := json.Unmarshal(rs.Args[0], &reason); err != nil || reason.Reason != "coalesced" || reason.Event != "personview.addrow" {
		t.Fatalf("past the cap: %v, want resync {reason: coalesced, event: personview.addrow}", rs)
	}
	// And nothing after it: the next event is the barrier.
	h.mustDo(200, "PATCH", "/api/orgs/1/people/8", nil, "")
	assertIDs(t, waitOnly(t, n, "a", "person.updated"), map[string]int64{"personId": 8})
}

const metaTriggers = `
triggers:
  - event: person.updated
    method: PATCH
    path: /orgs/{orgId}/people/{personId}
    version_from: data.updated_at
    meta: [request_id, etag]
`

// A trigger with version_from: and meta: sends, beside the IDs, the version read from the
// response, the call's request ID and the response's ETag, through the real proxy.
func TestEventMetadataThroughTheProxy(t *testing.T) {
	set, err := triggers.Parse("meta.yaml", []byte(metaTriggers))
	if err != nil {
		t.Fatal(err)
	}
	api := member1(t)
	api.HandleFunc("PATCH", "/orgs/1/people/7", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `W/"v7"`)
		_, _ = w.Write([]byte(`{"data":{"id":7,"updated_at":"2026-12-04T12:00:00Z","name":"Clara"}}`))
	})
	h := startGateway(t, api, set)
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	h.mustDo(200, "PATCH", "/api/orgs/1/people/7", http.Header{"X-Request-Id": {"req-42"}}, "{}")
	ev := waitOnly(t, n, "a", "person.updated")
	var got struct {
		PersonID int               `json:"personId"`
		Meta     map[string]string `json:"_meta"`
	}
	if err := json.Unmarshal(ev.Args[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": "2026-12-04T12:00:00Z", "requestId": "req-42", "etag": `W/"v7"`}
	if got.PersonID != 7 || len(got.Meta) != 3 || got.Meta["version"] != want["version"] ||
		got.Meta["requestId"] != want["requestId"] || got.Meta["etag"] != want["etag"] {
		t.Fatalf("event %s, want personId 7 and _meta %v (and nothing of the body else)", ev.Args[0], want)
	}
}
