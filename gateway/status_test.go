package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// statusDoc is /status.json as README "Status page" documents it: the field names are a
// contract with operators' scripts, so they are spelled out here, not taken from the Go type.
type statusDoc struct {
	Node        string         `json:"node"`
	Connections map[string]int `json:"connections"`
	Orgs        int            `json:"orgs"`
	OrgSockets  []struct {
		Org       string `json:"org"`
		Namespace string `json:"namespace"`
		Sockets   int    `json:"sockets"`
	} `json:"org_sockets"`
	OrgsNotListed *int `json:"org_sockets_not_listed"`
	Readiness     struct {
		Ready  bool `json:"ready"`
		Fanout bool `json:"fanout"`
	} `json:"readiness"`
	Reload *struct {
		OK       bool      `json:"ok"`
		File     string    `json:"file"`
		At       time.Time `json:"at"`
		Triggers int       `json:"triggers"`
		Added    int       `json:"added"`
		Removed  int       `json:"removed"`
		Error    string    `json:"error"`
	} `json:"reload"`
	Redis *struct {
		Ready       bool       `json:"ready"`
		Queued      int64      `json:"queued"`
		LastError   string     `json:"last_error"`
		LastErrorAt *time.Time `json:"last_error_at"`
		Published   int64      `json:"published"`
		Replayed    int64      `json:"replayed"`
	} `json:"redis"`
	Nodes []statusNode `json:"nodes"`
}

type statusNode struct {
	ID          string         `json:"id"`
	Seen        time.Time      `json:"seen"`
	Connections map[string]int `json:"connections"`
	Orgs        int            `json:"orgs"`
	Self        bool           `json:"self"`
}

// getStatus reads an admin listener's /status.json.
func getStatus(t *testing.T, admin string) statusDoc {
	t.Helper()
	resp, err := http.Get(admin + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/status.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var st statusDoc
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/status.json: %v", err)
	}
	return st
}

// awaitStatus polls /status.json until ok holds (bounded by testenv.DefaultTimeout): node
// announcements and Redis state change on their own clocks, not on a request's.
func awaitStatus(t *testing.T, admin, what string, ok func(statusDoc) bool) statusDoc {
	t.Helper()
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for {
		st := getStatus(t, admin)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("/status.json of %s: never %s; last %+v", admin, what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The status page's JSON twin lists the orgs with sockets (busiest first) and the outcome
// of the last trigger reload, good or bad; on a single node there is no Redis and one node.
func TestStatusJSONListsOrgsAndTheLastReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "triggers.yaml")
	writeFile(t, file, reloadV1)
	set, err := triggers.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	h := startGateway(t, member1(t), set, "--triggers", file)
	admin := httptest.NewServer(h.g.AdminHandler())
	t.Cleanup(admin.Close)

	st := getStatus(t, admin.URL)
	if st.Orgs != 0 || st.OrgSockets == nil || len(st.OrgSockets) != 0 || st.OrgsNotListed == nil || st.Reload != nil || st.Redis != nil || st.Nodes == nil || len(st.Nodes) != 0 {
		t.Fatalf("fresh single node: %+v", st)
	}

	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b", h.url("/org/1"), opts("polling", cookie("bob")))
	connect(t, n, "c", h.url("/org/2"), opts("websocket", cookie("carol")))
	st = getStatus(t, admin.URL)
	got := fmt.Sprint(st.OrgSockets)
	if want := "[{1 /org/1 2} {2 /org/2 1}]"; got != want || st.Orgs != 2 || *st.OrgsNotListed != 0 {
		t.Fatalf("org_sockets %s (orgs %d), want %s", got, st.Orgs, want)
	}
	if st.Connections["websocket"] != 2 || st.Connections["polling"] != 1 {
		t.Fatalf("connections %v", st.Connections)
	}

	writeFile(t, file, "triggers:\n  - event: task.updated\n    metod: PUT\n")
	if h.g.ReloadTriggers(file) == nil {
		t.Fatal("bad file reloaded")
	}
	st = getStatus(t, admin.URL)
	if r := st.Reload; r == nil || r.OK || r.File != file || !strings.Contains(r.Error, "metod") || r.Triggers != 2 || time.Since(r.At) > time.Minute {
		t.Fatalf("reload after a bad file: %+v", r)
	}

	writeFile(t, file, reloadV2)
	if err := h.g.ReloadTriggers(file); err != nil {
		t.Fatal(err)
	}
	st = getStatus(t, admin.URL)
	if r := st.Reload; r == nil || !r.OK || r.Error != "" || r.Triggers != 2 || r.Added != 1 || r.Removed != 1 {
		t.Fatalf("reload after a good file: %+v", r)
	}

	// The page itself renders that JSON.
	resp, err := http.Get(admin.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "fetch('/status.json'") {
		t.Fatalf("/status: %d, page does not poll /status.json", resp.StatusCode)
	}
}

// With Redis, each node's page lists every node with its own counts, and shows Redis's
// state: ready, then the error and the publishes queued while it is down, then ready again
// with the queue replayed (the error stays listed, with its time).
func TestStatusPerNodeAndRedisState(t *testing.T) {
	api := members(t)
	r := testenv.StartRedis(t)
	a := startGateway(t, api, clientTriggers(t), "--redis", r.URL())
	b := startGateway(t, api, clientTriggers(t), "--redis", r.URL())
	waitReady(t, a)
	waitReady(t, b)
	adminA := httptest.NewServer(a.g.AdminHandler())
	t.Cleanup(adminA.Close)
	adminB := httptest.NewServer(b.g.AdminHandler())
	t.Cleanup(adminB.Close)

	n := testenv.StartNode(t)
	connect(t, n, "a1", a.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "a2", a.url("/org/2"), opts("websocket", cookie("carol")))
	connect(t, n, "b1", b.url("/org/1"), opts("polling", cookie("bob")))

	idA, idB := getStatus(t, adminA.URL).Node, getStatus(t, adminB.URL).Node
	if idA == "" || idA == idB {
		t.Fatalf("node IDs %q and %q", idA, idB)
	}
	// Each node's view: both nodes, the other one as it announced itself.
	both := func(self, other string) func(statusDoc) bool {
		return func(st statusDoc) bool {
			if len(st.Nodes) != 2 {
				return false
			}
			byID := map[string]statusNode{}
			for _, nd := range st.Nodes {
				byID[nd.ID] = nd
			}
			na, nb := byID[idA], byID[idB]
			return na.Connections["websocket"] == 2 && na.Orgs == 2 && nb.Connections["polling"] == 1 && nb.Orgs == 1 &&
				byID[self].Self && !byID[other].Self && time.Since(nb.Seen) < 15*time.Second
		}
	}
	st := awaitStatus(t, adminA.URL, "listing both nodes with their counts", both(idA, idB))
	if st.Redis == nil || !st.Redis.Ready || st.Redis.LastError != "" || st.Redis.Queued != 0 {
		t.Fatalf("redis up: %+v", st.Redis)
	}
	awaitStatus(t, adminB.URL, "listing both nodes with their counts", both(idB, idA))

	r.Stop()
	st = awaitStatus(t, adminA.URL, "showing Redis down with its error", func(st statusDoc) bool {
		return st.Redis != nil && !st.Redis.Ready && st.Redis.LastError != "" && !st.Readiness.Fanout
	})
	if len(st.Nodes) != 1 || !st.Nodes[0].Self || st.Nodes[0].ID != idA {
		t.Fatalf("Redis down: this node must still list itself: %+v", st.Nodes)
	}
	// A mutation while Redis is down reaches the local socket at once and waits in the queue.
	a.mustDo(200, "PUT", "/api/orgs/1/people/views/2/rows/7", nil, "")
	assertIDs(t, waitOnly(t, n, "a1", "personview.addrow"), map[string]int64{"viewId": 2, "personId": 7})
	if st := getStatus(t, adminA.URL); st.Redis.Queued != 1 {
		t.Fatalf("queued while Redis is down: %+v", st.Redis)
	}

	r.Start()
	st = awaitStatus(t, adminA.URL, "showing Redis back with the queue replayed", func(st statusDoc) bool {
		return st.Redis != nil && st.Redis.Ready && st.Redis.Queued == 0 && st.Redis.Replayed == 1
	})
	if st.Redis.LastError == "" || st.Redis.LastErrorAt == nil || time.Since(*st.Redis.LastErrorAt) > time.Minute {
		t.Fatalf("the last error must stay listed after recovery: %+v", st.Redis)
	}
}

// With --redis-cluster too, each node's page lists every node with its counts (announced
// through the cluster) and the engine's state.
func TestStatusPerNodeWithRedisCluster(t *testing.T) {
	api := members(t)
	c := testenv.StartRedisCluster(t, 3, 0)
	a := startGateway(t, api, clientTriggers(t), "--redis-cluster", c.Seeds())
	b := startGateway(t, api, clientTriggers(t), "--redis-cluster", c.Seeds())
	waitReady(t, a)
	waitReady(t, b)
	adminA := httptest.NewServer(a.g.AdminHandler())
	t.Cleanup(adminA.Close)
	adminB := httptest.NewServer(b.g.AdminHandler())
	t.Cleanup(adminB.Close)

	n := testenv.StartNode(t)
	connect(t, n, "a1", a.url("/org/1"), opts("websocket", cookie("alice")))
	connect(t, n, "b1", b.url("/org/2"), opts("websocket", cookie("dave")))
	connect(t, n, "b2", b.url("/org/1"), opts("polling", cookie("bob")))
	idA, idB := getStatus(t, adminA.URL).Node, getStatus(t, adminB.URL).Node
	if idA == "" || idA == idB {
		t.Fatalf("node IDs %q and %q", idA, idB)
	}
	st := awaitStatus(t, adminA.URL, "listing both cluster nodes with their counts", func(st statusDoc) bool {
		if len(st.Nodes) != 2 {
			return false
		}
		na, nb := st.Nodes[0], st.Nodes[1]
		if na.ID != idA {
			na, nb = nb, na
		}
		return na.ID == idA && na.Self && na.Connections["websocket"] == 1 && na.Orgs == 1 &&
			nb.ID == idB && !nb.Self && nb.Connections["websocket"] == 1 && nb.Connections["polling"] == 1 && nb.Orgs == 2
	})
	if st.Redis == nil || !st.Redis.Ready || st.Redis.LastError != "" {
		t.Fatalf("redis cluster up: %+v", st.Redis)
	}
}
