package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

const reloadV1 = `
triggers:
  - event: task.updated
    method: PUT
    path: /orgs/{orgId}/tasks/{taskId}
  - event: task.deleted
    method: DELETE
    path: /orgs/{orgId}/tasks/{taskId}
`

const reloadV2 = `
triggers:
  - event: task.updated
    method: PUT
    path: /orgs/{orgId}/tasks/{taskId}
  - event: note.created
    method: POST
    path: /orgs/{orgId}/notes
`

// A reload that fails keeps the triggers in force and stays visible (readiness detail with
// the node still ready, status page, metric) until a good reload clears it; a good reload
// logs which triggers it added and removed.
func TestReloadFailureVisibleUntilAGoodReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "triggers.yaml")
	writeFile(t, file, reloadV1)
	set, err := triggers.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	logs := &logRecords{}
	h := startGatewayLogging(t, api, set, slogTo(logs), "--triggers", file)
	admin := httptest.NewServer(h.g.AdminHandler())
	t.Cleanup(admin.Close)
	n := testenv.StartNode(t)
	connect(t, n, "a", h.url("/org/1"), opts("websocket", cookie("alice")))
	alice := http.Header{"Cookie": {"zsid=alice"}}

	writeFile(t, file, "triggers:\n  - event: task.updated\n    metod: PUT\n")
	err = h.g.ReloadTriggers(file)
	if err == nil || !strings.Contains(err.Error(), "triggers.yaml") {
		t.Fatalf("bad file reloaded: %v", err)
	}
	// The old triggers are in force: a DELETE (gone from the bad file) still fires.
	h.mustDo(200, "DELETE", "/api/orgs/1/tasks/5", alice, "")
	assertIDs(t, waitOnly(t, n, "a", "task.deleted"), map[string]int64{"taskId": 5})

	code, rz := readyzDetail(t, h)
	rf, _ := rz["reload_failure"].(map[string]any)
	if code != 200 || rz["ready"] != true || rz["triggers"] != float64(2) || rf["file"] != file || !strings.Contains(rf["error"].(string), "metod") {
		t.Fatalf("/readyz after a failed reload: %d %v", code, rz)
	}
	if ws, _ := rz["warnings"].([]any); len(ws) != 1 || !strings.Contains(ws[0].(string), "not reloaded") {
		t.Fatalf("/readyz warnings %v", rz["warnings"])
	}
	if st := statusOf(t, admin.URL); st.Readiness.ReloadFailure == nil || len(st.Readiness.Warnings) != 1 {
		t.Fatalf("status page data after a failed reload: %+v", st.Readiness)
	}
	if got := scrape(t, admin.URL)["syncgate_config_reload_failures_total"]; got != 1 {
		t.Fatalf("syncgate_config_reload_failures_total = %v, want 1", got)
	}
	if got := scrape(t, admin.URL)["syncgate_config_reload_failing"]; got != 1 {
		t.Fatalf("syncgate_config_reload_failing = %v after a failed reload, want 1", got)
	}
	if got := logs.matching("trigger file not reloaded"); len(got) != 1 {
		t.Fatalf("failure logged %d times: %q", len(got), got)
	}

	writeFile(t, file, reloadV2)
	if err := h.g.ReloadTriggers(file); err != nil {
		t.Fatalf("good file: %v", err)
	}
	code, rz = readyzDetail(t, h)
	if code != 200 || rz["reload_failure"] != nil || rz["warnings"] != nil || rz["triggers"] != float64(2) {
		t.Fatalf("/readyz after a good reload: %d %v", code, rz)
	}
	if st := statusOf(t, admin.URL); st.Readiness.ReloadFailure != nil || len(st.Readiness.Warnings) != 0 {
		t.Fatalf("status page data after a good reload: %+v", st.Readiness)
	}
	if got := scrape(t, admin.URL)["syncgate_config_reload_failures_total"]; got != 1 {
		t.Fatalf("syncgate_config_reload_failures_total = %v after a good reload, want still 1 (a counter)", got)
	}
	if got := scrape(t, admin.URL)["syncgate_config_reload_failing"]; got != 0 {
		t.Fatalf("syncgate_config_reload_failing = %v after a good reload, want 0", got)
	}
	done := logs.matching("triggers reloaded")
	if len(done) != 1 || !strings.Contains(done[0], "added=1 removed=1") ||
		!strings.Contains(done[0], "added_triggers=[POST /orgs/{orgId}/notes → note.created]") ||
		!strings.Contains(done[0], "removed_triggers=[DELETE /orgs/{orgId}/tasks/{taskId} → task.deleted]") {
		t.Fatalf("reload logged %q, want the diff", done)
	}
	// The new triggers are in force.
	h.mustDo(200, "POST", "/api/orgs/1/notes", alice, `{}`)
	waitOnly(t, n, "a", "note.created")
}

// Every reason of membership errors is exported from the start, at 0, and so is the reload
// failure counter: alerts can be written before the first error.
func TestOpsMetricsExistFromTheStart(t *testing.T) {
	h := startGateway(t, testenv.NewFakeAPI(t), nil)
	admin := httptest.NewServer(h.g.AdminHandler())
	t.Cleanup(admin.Close)
	m := scrape(t, admin.URL)
	for _, reason := range auth.ErrorReasons {
		k := `syncgate_membership_errors_total{reason="` + reason + `"}`
		if v, ok := m[k]; !ok || v != 0 {
			t.Errorf("%s = %v (exported %v), want 0", k, v, ok)
		}
	}
	if v, ok := m["syncgate_config_reload_failures_total"]; !ok || v != 0 {
		t.Errorf("syncgate_config_reload_failures_total = %v (exported %v), want 0", v, ok)
	}
}

// --readyz-probe-path: a 401 of the probe path is ready (the API runs, it only wants
// credentials), a 500 is not; a state that holds is logged once however often /readyz is
// polled.
func TestReadyzProbePath(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.Handle("GET", "/health", http.StatusUnauthorized, `{"error":"Unauthorized"}`)
	logs := &logRecords{}
	h := startGatewayLogging(t, api, nil, slogTo(logs), "--readyz-probe-path", "/health")
	for range 5 {
		if code, rz := readyzDetail(t, h); code != 200 || rz["upstream"] != true {
			t.Fatalf("/readyz with the probe path answering 401: %d %v", code, rz)
		}
	}
	api.Handle("GET", "/health", http.StatusInternalServerError, `{"error":"down"}`)
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for {
		code, rz := readyzDetail(t, h)
		if code == 503 {
			if rz["upstream"] != false || !strings.Contains(rz["upstream_error"].(string), "500") {
				t.Fatalf("/readyz 503 detail %v", rz)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %v with the probe path answering 500", code, rz)
		}
		time.Sleep(50 * time.Millisecond) // polling /readyz is what a load balancer does
	}
	for range 20 {
		if code, _ := readyzDetail(t, h); code != 503 {
			t.Fatalf("/readyz = %d while the probe path answers 500", code)
		}
	}
	if got := api.Calls("/health"); got > 3 {
		t.Fatalf("%d probes for ~30 polls in a few seconds, want at most one per 2s", got)
	}
	if got := logs.matching("upstream"); len(got) != 1 || !strings.Contains(got[0], "not reachable") {
		t.Fatalf("logged %q, want one record of the change", got)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// statusOf reads the admin listener's /v1/status (what the status page renders).
func statusOf(t *testing.T, admin string) struct {
	Readiness struct {
		Ready         bool           `json:"ready"`
		ReloadFailure map[string]any `json:"reload_failure"`
		Warnings      []string       `json:"warnings"`
	} `json:"readiness"`
} {
	t.Helper()
	resp, err := http.Get(admin + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Readiness struct {
			Ready         bool           `json:"ready"`
			ReloadFailure map[string]any `json:"reload_failure"`
			Warnings      []string       `json:"warnings"`
		} `json:"readiness"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
