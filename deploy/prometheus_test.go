package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// promServer is a real Prometheus on a loopback port, stopped on t.Cleanup.
type promServer struct {
	base string
	out  *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startPrometheus runs the prometheus binary with the alert rules of this directory, scraping
// and evaluating every 500ms the admin listener at target (host:port).
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin := testenv.OptionalTool(t, "prometheus")
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
rule_files: [%q]
scrape_configs:
  - job_name: syncgate
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; attempt < 3; attempt++ {
		if p := tryPrometheus(t, bin, dir, attempt); p != nil {
			return p
		}
	}
	t.Fatal("prometheus: no free port after 3 attempts")
	return nil
}

// tryPrometheus starts prometheus on a free port and waits until it is ready; nil when the
// port was taken meanwhile.
func tryPrometheus(t *testing.T, bin, dir string, attempt int) *promServer {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	out := &lockedBuffer{}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data%d", attempt)),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	p := &promServer{base: "http://" + addr, out: out}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			if strings.Contains(out.String(), "address already in use") {
				return nil
			}
			t.Fatalf("prometheus exited:\n%s", out.String())
		default:
		}
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond) // polling a starting process: bounded by the deadline
	}
	t.Fatalf("prometheus not ready within 20s:\n%s", out.String())
	return nil
}

// api GETs /api/v1/PATH and decodes the "data" of a successful answer into v.
func (p *promServer) api(t *testing.T, path string, q url.Values, v any) error {
	t.Helper()
	resp, err := http.Get(p.base + "/api/v1/" + path + "?" + q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %d, %v", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// query runs an instant PromQL query and returns its series.
func (p *promServer) query(t *testing.T, q string) ([]json.RawMessage, error) {
	t.Helper()
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.api(t, "query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	return data.Result, nil
}

// await polls cond every 200ms until it holds or timeout passes.
func await(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond) // polling Prometheus' API: bounded by the deadline
	}
}

// A real Prometheus scrapes a real gateway: every alert rule evaluates without error and none
// fires on a healthy node, and every query of the dashboard returns data.
func TestPrometheusScrapesAGatewayForTheDashboardAndRules(t *testing.T) {
	admin := startBusyGateway(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	p := startPrometheus(t, u.Host)

	// Enough samples for rate() over the dashboard's window.
	await(t, "four scrapes of the gateway", 30*time.Second, func() (bool, string) {
		r, err := p.query(t, `count_over_time(up{job="syncgate"}[1m]) >= 4 and on() up{job="syncgate"} == 1`)
		return err == nil && len(r) == 1, fmt.Sprintf("%v %v\n%s", r, err, p.out.String())
	})

	// Rules: every one evaluated, healthy; no alert pending or firing.
	type ruleState struct {
		Name      string `json:"name"`
		Health    string `json:"health"`
		LastError string `json:"lastError"`
		State     string `json:"state"`
	}
	var rules []ruleState
	await(t, "every rule evaluated", 30*time.Second, func() (bool, string) {
		var data struct {
			Groups []struct {
				Rules []ruleState `json:"rules"`
			} `json:"groups"`
		}
		if err := p.api(t, "rules", nil, &data); err != nil {
			return false, err.Error()
		}
		rules = rules[:0]
		for _, g := range data.Groups {
			rules = append(rules, g.Rules...)
		}
		for _, r := range rules {
			if r.Health == "unknown" {
				return false, r.Name + " not evaluated yet"
			}
		}
		return len(rules) > 0, "no rules loaded"
	})
	if want := len(loadRules(t)); len(rules) != want {
		t.Errorf("Prometheus loaded %d rules, the file has %d", len(rules), want)
	}
	for _, r := range rules {
		if r.Health != "ok" || r.LastError != "" {
			t.Errorf("rule %s: health %s, error %q", r.Name, r.Health, r.LastError)
		}
		if r.State != "" && r.State != "inactive" {
			t.Errorf("alert %s is %s on a healthy gateway", r.Name, r.State)
		}
	}

	// Every dashboard query returns at least one series.
	exprs := loadDashboard(t).exprs()
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$job", ".*", "$instance", ".*")
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		q := vars.Replace(exprs[where])
		if strings.HasPrefix(q, "label_values(") {
			inner := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
			q = inner[:strings.LastIndex(inner, ",")]
		}
		r, err := p.query(t, q)
		if err != nil {
			t.Errorf("%s: %q: %v", where, q, err)
			continue
		}
		if len(r) == 0 {
			t.Errorf("%s: %q returns no series from a gateway with traffic", where, q)
		}
	}
}
