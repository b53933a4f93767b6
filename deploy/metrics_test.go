package deploy

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/syncgate/syncgate/examples"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

const (
	dashboardFile = "grafana/syncgate-dashboard.json"
	rulesFile     = "prometheus/syncgate-rules.yaml"
	rulesTestFile = "prometheus/syncgate-rules.test.yaml"
)

// metricNameRe finds the metric names in a PromQL expression of these files: syncgate's own
// and the Go and process collectors'. (Label names, functions and keywords never start so.)
var metricNameRe = regexp.MustCompile(`\b(?:syncgate|process|go)_[a-zA-Z0-9_:]*`)

// dashboard is the part of the Grafana dashboard JSON the tests read.
type dashboard struct {
	UID           string          `json:"uid"`
	Title         string          `json:"title"`
	SchemaVersion int             `json:"schemaVersion"`
	Inputs        json.RawMessage `json:"__inputs"`
	Panels        []panel         `json:"panels"`
	Templating    struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int     `json:"id"`
	Type       string  `json:"type"`
	Title      string  `json:"title"`
	Datasource *dsRef  `json:"datasource"`
	Panels     []panel `json:"panels"` // a collapsed row's
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource *dsRef `json:"datasource"`
	} `json:"targets"`
}

type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
	Datasource *dsRef          `json:"datasource"`
}

// query is the variable's PromQL query ("" for a datasource variable).
func (v templateVar) query() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &q)
	return q.Query
}

// allPanels returns every panel, those inside collapsed rows too.
func (d *dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// exprs returns where → PromQL for every query of the dashboard: panel targets and variables.
func (d *dashboard) exprs() map[string]string {
	out := map[string]string{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %q query %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out[fmt.Sprintf("variable %s", v.Name)] = v.query()
		}
	}
	return out
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &d
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return out
}

// startBusyGateway starts a gateway with Redis in front of a fake API, makes every labelled
// series appear (an admitted and a refused socket, a proxied call that fires an event and is
// delivered, a header-org event refused), and returns the base URL of its admin listener.
func startBusyGateway(t *testing.T) string {
	t.Helper()
	redis := testenv.StartRedis(t)
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("carol", testenv.Membership{Org: 2, Role: "admin"})
	set, err := triggers.Parse("zetkin-poc.yaml", examples.ZetkinPoC())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := gateway.ParseConfig([]string{"--upstream", api.URL(), "--redis", redis.URL()},
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pub := httptest.NewServer(g.Handler())
	admin := httptest.NewServer(g.AdminHandler())
	t.Cleanup(func() {
		admin.Close()
		pub.Close()
		_ = g.Close()
	})

	n := testenv.StartNode(t)
	opts := func(cred string) map[string]any {
		return map[string]any{"reconnection": false, "transports": []string{"websocket"},
			"extraHeaders": map[string]string{"Cookie": "zsid=" + cred}}
	}
	if _, err := n.Connect("a", pub.URL+"/org/1", opts("alice")); err != nil {
		t.Fatalf("alice joins org 1: %v", err)
	}
	if ce, err := n.ConnectErr("c", pub.URL+"/org/1", opts("carol")); err != nil || ce.Message != "forbidden" {
		t.Fatalf("carol joins org 1: %+v, %v; want connect_error forbidden", ce, err)
	}
	call := func(method, path string, header http.Header) {
		t.Helper()
		req, err := http.NewRequest(method, pub.URL+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d, want 200", method, path, resp.StatusCode)
		}
	}
	call("PUT", "/api/orgs/1/people/views/2/rows/3", http.Header{"Cookie": {"zsid=alice"}})
	if _, err := n.WaitEvent("a", "personview.addrow", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// org: header:X-Org-Id, an org alice is not a member of: refused, counted.
	call("PATCH", "/api/tasks/5", http.Header{"Cookie": {"zsid=alice"}, "X-Org-Id": {"2"}})
	return admin.URL
}

// exportedNames scrapes /metrics on the admin listener and returns every name a query can
// use: counters and gauges by name, histograms as _bucket, _sum, _count.
func exportedNames(t *testing.T, admin string) map[string]dto.MetricType {
	t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	names := map[string]dto.MetricType{}
	for name, f := range fams {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = f.GetType()
			}
		case dto.MetricType_SUMMARY:
			names[name], names[name+"_sum"], names[name+"_count"] = f.GetType(), f.GetType(), f.GetType()
		default:
			names[name] = f.GetType()
		}
	}
	return names
}

// Every metric the dashboard and the alert rules query is one a running gateway exports, and
// between them they cover what an operator watches: connections, admissions, events,
// deliveries, resyncs, recoveries, the proxy and its latency, membership calls and their
// latency, Redis.
func TestDashboardAndRulesQueryExportedMetrics(t *testing.T) {
	d := loadDashboard(t)
	rules := loadRules(t)
	exported := exportedNames(t, startBusyGateway(t))

	check := func(file string, exprs map[string]string) map[string]bool {
		used := map[string]bool{}
		for where, e := range exprs {
			names := metricNameRe.FindAllString(e, -1)
			if len(names) == 0 {
				t.Errorf("%s: %s queries no syncgate metric: %q", file, where, e)
			}
			for _, name := range names {
				used[name] = true
				if _, ok := exported[name]; !ok {
					t.Errorf("%s: %s queries %s, which /metrics does not export", file, where, name)
				}
			}
		}
		return used
	}
	dashUsed := check(dashboardFile, d.exprs())
	ruleExprs := map[string]string{}
	for _, r := range rules {
		ruleExprs["rule "+r.Alert+r.Record] = r.Expr
	}
	rulesUsed := check(rulesFile, ruleExprs)

	for _, name := range []string{
		"syncgate_connections", "syncgate_admissions_total", "syncgate_events_fired_total",
		"syncgate_deliveries_total", "syncgate_resyncs_total", "syncgate_recoveries_total",
		"syncgate_proxy_requests_total", "syncgate_proxy_request_seconds_bucket",
		"syncgate_membership_upstream_calls_total", "syncgate_membership_upstream_seconds_bucket",
		"syncgate_membership_errors_total", "syncgate_fanout_ready", "syncgate_redis_publish_failures_total",
		"syncgate_redis_reconnects_total", "syncgate_config_reload_failures_total",
	} {
		if !dashUsed[name] {
			t.Errorf("the dashboard shows no %s", name)
		}
	}
	for _, name := range []string{
		"syncgate_fanout_ready", "syncgate_redis_publish_failures_total", "syncgate_resyncs_total",
		"syncgate_membership_errors_total", "syncgate_connections_closed_by_limit_total",
		"syncgate_config_reload_failing",
	} {
		if !rulesUsed[name] {
			t.Errorf("no alert rule watches %s", name)
		}
	}
	t.Logf("dashboard: %d metric names, rules: %d, /metrics: %d names", len(dashUsed), len(rulesUsed), len(exported))
}

// The alerts the operators' toolkit promises exist, each with a severity, a summary and a
// description.
func TestRulesAlertOnWhatOperatorsWatch(t *testing.T) {
	byName := map[string]rule{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if _, dup := byName[r.Alert]; dup {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		byName[r.Alert] = r
		if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
			t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s lacks a summary or description annotation", r.Alert)
		}
		if r.For != "" {
			if _, err := model.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
		}
	}
	for _, want := range []string{
		"SyncgateFanoutNotReady", "SyncgateRedisPublishFailures", "SyncgateResyncRateHigh",
		"SyncgateMembershipUpstreamErrors", "SyncgateSlowConsumersDropped", "SyncgateConfigReloadFailed",
	} {
		if _, ok := byName[want]; !ok {
			t.Errorf("no alert %s in %s", want, rulesFile)
		}
	}
}

// promtool accepts the rules, and their unit tests (each alert fires on the series that
// should fire it, and not on a healthy node) pass.
func TestPromtoolChecksAndTestsRules(t *testing.T) {
	promtool := testenv.OptionalTool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", filepath.Base(rulesFile)},
		{"test", "rules", filepath.Base(rulesTestFile)},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Dir(rulesFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool %s printed no SUCCESS:\n%s", strings.Join(args, " "), out)
		}
	}
}

// grafanaVars are what Grafana substitutes in the dashboard's queries, with values that make
// them plain PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__range", "1h", "$job", ".*", "$instance", ".*",
)

// Every query of the dashboard is valid PromQL once Grafana's variables are substituted:
// promtool checks them as recording rules.
func TestDashboardQueriesArePromQL(t *testing.T) {
	promtool := testenv.OptionalTool(t, "promtool")
	d := loadDashboard(t)
	type rec struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var recs []rec
	var wheres []string
	exprs := d.exprs()
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		e := exprs[where]
		q := grafanaVars.Replace(e)
		if strings.Contains(q, "$") {
			t.Errorf("%s: a variable the dashboard does not define: %q", where, e)
			continue
		}
		if strings.HasPrefix(q, "label_values(") { // Grafana's, not PromQL: its argument is
			q = strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
			q = q[:strings.LastIndex(q, ",")]
		}
		wheres = append(wheres, where)
		recs = append(recs, rec{Record: fmt.Sprintf("dashboard:query_%d", len(recs)), Expr: q})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
	if err != nil {
		var culprits []string
		for _, m := range regexp.MustCompile(`dashboard:query_(\d+)`).FindAllStringSubmatch(string(out), -1) {
			i, _ := strconv.Atoi(m[1])
			culprits = append(culprits, fmt.Sprintf("query_%d is %s: %q", i, wheres[i], recs[i].Expr))
		}
		t.Fatalf("promtool check rules on the dashboard's queries: %v\n%s\n%s", err, out, strings.Join(culprits, "\n"))
	}
	if want := fmt.Sprintf("SUCCESS: %d rules found", len(recs)); !strings.Contains(string(out), want) {
		t.Fatalf("promtool: %s, want %q", out, want)
	}
}

// The dashboard imports into any Grafana: its data source is a variable (no UID of one
// installation), every panel and query uses it, panel IDs are unique and panels do not
// overlap on the 24-column grid.
func TestDashboardImportsAnywhere(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d: all must be set", d.UID, d.Title, d.SchemaVersion)
	}
	if len(d.Inputs) > 0 {
		t.Errorf("__inputs present: the data source must be a variable, not an import-time input")
	}
	dsVar := ""
	for _, v := range d.Templating.List {
		if v.Type == "datasource" {
			if v.query() != "prometheus" {
				t.Errorf("data source variable %s selects %q, want prometheus", v.Name, v.query())
			}
			dsVar = "${" + v.Name + "}"
		}
	}
	if dsVar == "" {
		t.Fatal("no data source variable")
	}
	uses := func(where string, ds *dsRef) {
		if ds == nil || ds.UID != dsVar || ds.Type != "prometheus" {
			t.Errorf("%s: data source %+v, want {prometheus %s}", where, ds, dsVar)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			uses("variable "+v.Name, v.Datasource)
		}
	}
	ids := map[int]string{}
	type rect struct {
		title      string
		x, y, w, h int
	}
	var rects []rect
	panels := d.allPanels()
	if len(panels) < 10 {
		t.Fatalf("%d panels: the dashboard is nearly empty", len(panels))
	}
	for _, p := range panels {
		if other, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d (also %q)", p.Title, p.ID, other)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for _, r := range rects {
			if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
				t.Errorf("panels %q and %q overlap", p.Title, r.title)
			}
		}
		rects = append(rects, rect{p.Title, g.X, g.Y, g.W, g.H})
		if p.Type == "row" {
			continue
		}
		uses(fmt.Sprintf("panel %q", p.Title), p.Datasource)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			uses(fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Datasource)
		}
	}
}
