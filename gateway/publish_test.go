package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

const adminToken = "s3cret-admin-token-0123456789"

// admin is the gateway's admin listener (AdminHandler on its own loopback port), with a
// single keep-alive connection so that calls are handled in order.
type admin struct {
	t      *testing.T
	base   string
	client *http.Client
}

func startAdmin(t *testing.T, h *harness) *admin {
	t.Helper()
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: h.g.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
	})
	return &admin{t: t, base: "http://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

// publish POSTs body to /v1/publish with the given Authorization header values and returns
// the status, the header and the decoded JSON answer.
func (a *admin) publish(body string, authorization ...string) (int, http.Header, map[string]any) {
	a.t.Helper()
	return postPublish(a.t, a.client, a.base+"/v1/publish", body, authorization...)
}

func postPublish(t *testing.T, c *http.Client, url, body string, authorization ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, v := range authorization {
		req.Header.Add("Authorization", v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("POST %s: %d answer %q is not JSON: %v", url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// mustPublish publishes with the right token and checks 200 {"published": n}.
func (a *admin) mustPublish(body string, n int) {
	a.t.Helper()
	code, _, out := a.publish(body, "Bearer "+adminToken)
	if code != http.StatusOK || out["published"] != float64(n) {
		a.t.Fatalf("publish %.200s: %d %v, want 200 {published: %d}", body, code, out, n)
	}
}

// anyIndex tells mustRefuse not to check "index".
const anyIndex = -2

// mustRefuse checks a publish (case name) answers status with a JSON error, and "index"
// when index >= 0.
func (a *admin) mustRefuse(name string, status int, body string, index int) {
	a.t.Helper()
	code, _, out := a.publish(body, "Bearer "+adminToken)
	msg, _ := out["error"].(string)
	if code != status || msg == "" {
		a.t.Errorf("%s: publish %.120q: %d %v, want %d with an error", name, body, code, out, status)
		return
	}
	idx, has := out["index"]
	if index == anyIndex {
		return
	}
	if index >= 0 && idx != float64(index) || index < 0 && has {
		a.t.Errorf("%s: publish %.120q: %v, want index %d", name, body, out, index)
	}
}

// An event published by a back-office job reaches the sockets of its org only, with the
// same IDs-only payload as a trigger's.
func TestPublishReachesOrgSockets(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := testenv.StartNode(t)
	connect(t, n, "alice", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "carol", h.url("/org/2"), opts("websocket", cookie("carol")))

	adm.mustPublish(`{"org":1,"event":"personview.addrow","data":{"viewId":2,"personId":3}}`, 1)
	assertIDs(t, waitOnly(t, n, "alice", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})

	// IDs as strings become numbers when all digits (leading zeros dropped); the org too.
	adm.mustPublish(`{"org":"2","event":"personview.addrow","data":{"viewId":"7","personId":"008"}}`, 1)
	assertIDs(t, waitOnly(t, n, "carol", "personview.addrow"), map[string]int64{"viewId": 7, "personId": 8})

	// No data: an empty object. A client event's name is known too.
	adm.mustPublish(`{"org":1,"event":"user.typing"}`, 1)
	assertPayload(t, waitOnly(t, n, "alice", "user.typing"), map[string]any{})
}

// A batch publishes every event, to their orgs and rooms.
func TestPublishBatchAndRoom(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := testenv.StartNode(t)
	connect(t, n, "alice", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "carol", h.url("/org/2"), opts("websocket", cookie("carol")))
	connect(t, n, "dave", h.url("/org/2"), opts("websocket", cookie("dave")))
	mustAck(t, n, "", "carol", "subscribe", "view:2")

	adm.mustPublish(`[
		{"org":2,"event":"view.updated","data":{"viewId":2},"room":"view:2"},
		{"org":1,"event":"personview.addrow","data":{"viewId":2,"personId":3}},
		{"org":2,"event":"personview.addrow","data":{"viewId":"x-1","personId":4}}
	]`, 3)
	assertIDs(t, waitOnly(t, n, "carol", "view.updated"), map[string]int64{"viewId": 2})
	assertPayload(t, waitOnly(t, n, "carol", "personview.addrow"), map[string]any{"viewId": "x-1", "personId": int64(4)})
	// dave is not in view:2: his first event is the unroomed one.
	assertPayload(t, waitOnly(t, n, "dave", "personview.addrow"), map[string]any{"viewId": "x-1", "personId": int64(4)})
	assertIDs(t, waitOnly(t, n, "alice", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
}

// barrier publishes one valid event to orgs 1 and 2 and checks it is the first thing alice
// and carol got: whatever was refused before it published nothing.
func barrier(t *testing.T, adm *admin, n *testenv.Node) {
	t.Helper()
	adm.mustPublish(`[{"org":1,"event":"personview.addrow","data":{"viewId":9,"personId":9}},`+
		`{"org":2,"event":"personview.addrow","data":{"viewId":9,"personId":9}}]`, 2)
	for _, s := range []string{"alice", "carol"} {
		assertIDs(t, waitOnly(t, n, s, "personview.addrow"), map[string]int64{"viewId": 9, "personId": 9})
	}
}

func publishSockets(t *testing.T, h *harness) *testenv.Node {
	t.Helper()
	n := testenv.StartNode(t)
	connect(t, n, "alice", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "carol", h.url("/org/2"), opts("websocket", cookie("carol")))
	return n
}

// Without the exact token nothing is published: the API writes into every org. The token
// is compared in constant time, so wrong tokens of any length get the same answer.
func TestPublishWithoutRightTokenUnauthorized(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := publishSockets(t, h)
	body := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}}`

	wrong := [][]string{
		nil, // no Authorization header
		{"Bearer " + strings.Repeat("x", len(adminToken))}, // wrong, same length
		{"Bearer " + adminToken[:len(adminToken)-1] + "X"}, // last character wrong
		{"Bearer " + adminToken[:len(adminToken)-1]},       // a prefix
		{"Bearer " + adminToken + "x"},                     // longer
		{"Bearer x"},                                       // much shorter
		{"Bearer " + strings.Repeat("x", 10_000)},          // much longer
		{"Bearer "},  // empty token
		{adminToken}, // no scheme
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminToken))}, // other scheme
		{"Bearer  " + adminToken},                // the token with a leading space
		{"Bearer wrong", "Bearer " + adminToken}, // the right one second: only the first counts
	}
	for _, auth := range wrong {
		code, hdr, out := adm.publish(body, auth...)
		if code != http.StatusUnauthorized || out["error"] != "unauthorized" || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %.40q: %d %v %q, want 401 unauthorized with WWW-Authenticate", auth, code, out, hdr.Get("WWW-Authenticate"))
		}
	}
	// The token in the URL is no token.
	code, _, _ := postPublish(t, adm.client, adm.base+"/v1/publish?token="+adminToken, body)
	if code != http.StatusUnauthorized {
		t.Errorf("token in the query: %d, want 401", code)
	}
	barrier(t, adm, n)
}

// With no --admin-token the publish API is off: nothing opens it, not even an empty token.
func TestPublishDisabledWithoutToken(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t))
	adm := startAdmin(t, h)
	body := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}}`
	for _, auth := range [][]string{nil, {"Bearer "}, {"Bearer"}, {"Bearer " + adminToken}, {"Bearer null"}} {
		if code, _, out := adm.publish(body, auth...); code != http.StatusUnauthorized || out["error"] != "unauthorized" {
			t.Errorf("Authorization %q: %d %v, want 401", auth, code, out)
		}
	}
}

// The admin routes are on the admin listener only: a browser reaching the public listener
// must not find a way to write into every org.
func TestPublishNotOnPublicListener(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := publishSockets(t, h)
	body := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}}`
	for _, path := range []string{"/v1/publish", "/api/../v1/publish"} {
		code, _, _ := postPublish(t, h.client, h.base+path, body, "Bearer "+adminToken)
		if code == http.StatusOK {
			t.Errorf("POST %s on the public listener: %d", path, code)
		}
	}
	barrier(t, adm, n)
}

// Anything but IDs for known events of real orgs is refused with 400 and publishes nothing.
func TestPublishBadRequests(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := publishSockets(t, h)
	ev := func(org, event, data string) string {
		return fmt.Sprintf(`{"org":%s,"event":%s,"data":%s}`, org, event, data)
	}
	const okEvent, okData = `"personview.addrow"`, `{"viewId":2,"personId":3}`
	bad := []struct {
		name, body string
		index      int // -1: the body as a whole; anyIndex: either
	}{
		{"empty body", ``, -1},
		{"not JSON", `org=1&event=x`, -1},
		{"truncated JSON", `{"org":1,"event":`, -1},
		{"trailing data", ev("1", okEvent, okData) + `{}`, -1},
		{"unknown key", `{"org":1,"event":"personview.addrow","data":{},"nsp":"/org/2"}`, -1},
		{"empty batch", `[]`, -1},
		{"JSON null", `null`, anyIndex},
		// Org IDs are text by default ([A-Za-z0-9_-]{1,64}); integer-only refusals are in
		// TestPublishOrgIDFormats.
		{"org not an ID", ev(`"a b"`, okEvent, okData), 0},
		{"org negative", ev("-1", okEvent, okData), 0},
		{"org fraction", ev("1.5", okEvent, okData), 0},
		{"org exponent", ev("1e3", okEvent, okData), 0},
		{"org bool", ev("true", okEvent, okData), 0},
		{"org null", ev("null", okEvent, okData), 0},
		{"org object", ev(`{"id":1}`, okEvent, okData), 0},
		{"org too long", ev(`"`+strings.Repeat("x", 65)+`"`, okEvent, okData), 0},
		{"org injection", ev(`"1/../2"`, okEvent, okData), 0},
		{"org with hash tag", ev(`"{sg}"`, okEvent, okData), 0},
		{"org missing", `{"event":"personview.addrow","data":{}}`, 0},
		{"bad event name", ev("1", `"Person Created"`, okData), 0},
		{"empty event", ev("1", `""`, okData), 0},
		// An event no client listens for, or one the gateway uses itself (resync makes every
		// app re-fetch everything), needs --publish-events.
		{"unknown event", ev("1", `"person.exploded"`, okData), 0},
		{"gateway event", ev("1", `"resync"`, `{}`), 0},
		{"personal data", ev("1", okEvent, `{"name":"Clara Zetkin","email":"clara@example.org"}`), 0},
		{"negative ID", ev("1", okEvent, `{"viewId":-1}`), 0},
		{"fraction ID", ev("1", okEvent, `{"viewId":1.5}`), 0},
		{"ID beyond 2^53", ev("1", okEvent, `{"viewId":9007199254740993}`), 0},
		{"bool ID", ev("1", okEvent, `{"viewId":true}`), 0},
		{"nested ID", ev("1", okEvent, `{"viewId":{"id":2}}`), 0},
		{"data not an object", ev("1", okEvent, `[2,3]`), 0},
		{"too many keys", ev("1", okEvent, `{`+idKeys(17)+`}`), 0},
		{"bad key", ev("1", okEvent, `{"view-id":2}`), 0},
		{"undeclared room", `{"org":1,"event":"view.updated","data":{"viewId":2},"room":"admin"}`, 0},
		{"room traversal", `{"org":1,"event":"view.updated","data":{"viewId":2},"room":"view:../x"}`, 0},
		{"room not canonical", `{"org":1,"event":"view.updated","data":{"viewId":2},"room":"view:02"}`, 0},
	}
	for _, tc := range bad {
		adm.mustRefuse(tc.name, http.StatusBadRequest, tc.body, tc.index)
	}
	barrier(t, adm, n)
}

func idKeys(n int) string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(k, ",")
}

// A batch is all or nothing: one bad item refuses the whole batch, names its index, and
// publishes none of the good ones (a half-applied batch would leave clients stale).
func TestPublishBatchAllOrNothing(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := publishSockets(t, h)

	adm.mustRefuse("bad third item", http.StatusBadRequest, `[
		{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}},
		{"org":2,"event":"personview.addrow","data":{"viewId":1,"personId":1}},
		{"org":1,"event":"personview.addrow","data":{"viewId":"Clara Zetkin"}},
		{"org":2,"event":"personview.addrow","data":{"viewId":1,"personId":2}}
	]`, 2)
	adm.mustRefuse("unknown key in second item", http.StatusBadRequest, `[
		{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}},
		{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1},"extra":1}
	]`, -1)
	barrier(t, adm, n)
}

// Bodies over 1 MiB get 413, batches over 1,000 events 400; neither publishes anything.
func TestPublishOversized(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken)
	adm := startAdmin(t, h)
	n := publishSockets(t, h)

	item := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}}`
	huge := `[` + strings.Repeat(item+",", (1<<20)/len(item)+1) + item + `]`
	adm.mustRefuse("huge batch", http.StatusRequestEntityTooLarge, huge, -1)
	padded := `{"org":1,"event":"personview.addrow","data":{"viewId":1,"personId":1}}` + strings.Repeat(" ", 1<<20)
	adm.mustRefuse("padded body", http.StatusRequestEntityTooLarge, padded, -1)
	many := `[` + strings.Repeat(item+",", 1000) + item + `]` // 1,001 events, under 1 MiB
	adm.mustRefuse("1,001 events", http.StatusBadRequest, many, -1)
	barrier(t, adm, n)

	adm.mustPublish(`[`+strings.Repeat(item+",", 999)+item+`]`, 1000)
}

// --publish-events admits event names the trigger file does not know; others stay refused.
func TestPublishEventsFlag(t *testing.T) {
	h := startGateway(t, members(t), clientTriggers(t), "--admin-token", adminToken, "--publish-events", "announcement.created, export.done")
	adm := startAdmin(t, h)
	n := publishSockets(t, h)
	adm.mustRefuse("event not listed", http.StatusBadRequest, `{"org":1,"event":"announcement.deleted","data":{"id":1}}`, 0)
	adm.mustPublish(`{"org":1,"event":"announcement.created","data":{"announcementId":5}}`, 1)
	assertIDs(t, waitOnly(t, n, "alice", "announcement.created"), map[string]int64{"announcementId": 5})
}

// Published on node A, delivered on node B: the publish API goes through the adapter.
func TestPublishOnOneNodeReachesAnother(t *testing.T) {
	nodeA, nodeB := startCluster(t, members(t), "--admin-token", adminToken)
	adm := startAdmin(t, nodeA)
	n := testenv.StartNode(t)
	connect(t, n, "alice", nodeB.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "bob", nodeB.url("/org/1"), opts("websocket", cookie("bob")))
	connect(t, n, "carol", nodeB.url("/org/2"), opts("websocket", cookie("carol")))
	mustAck(t, n, "", "bob", "subscribe", "view:2")

	adm.mustPublish(`[{"org":1,"event":"view.updated","data":{"viewId":2},"room":"view:2"},`+
		`{"org":1,"event":"personview.addrow","data":{"viewId":2,"personId":3}},`+
		`{"org":2,"event":"personview.addrow","data":{"viewId":7,"personId":8}}]`, 3)
	assertIDs(t, waitOnly(t, n, "bob", "view.updated"), map[string]int64{"viewId": 2})
	assertIDs(t, waitOnly(t, n, "bob", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
	assertIDs(t, waitOnly(t, n, "alice", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 3})
	assertIDs(t, waitOnly(t, n, "carol", "personview.addrow"), map[string]int64{"viewId": 7, "personId": 8})
}
