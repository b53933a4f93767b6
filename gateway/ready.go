package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/syncgate/syncgate/auth"
)

// Readiness: /readyz answers 503 while the upstream does not answer, while broadcasts
// cannot reach the other nodes, or while draining. Problems that leave the node serving
// (a trigger file that failed to reload, a memberships answer that does not fit the
// configured contract) keep it ready (200) but are listed in its detail and on the status
// page: taking the node out of the load balancer would not fix them.

// probeInterval bounds how often /readyz sends a probe upstream; answers in between are
// the last probe's.
const probeInterval = 2 * time.Second

// probeTimeout bounds one probe: a readiness check must answer before the load balancer
// gives up on it.
const probeTimeout = time.Second

// upstreamProbe checks, when asked and at most every probeInterval, that the upstream is
// there. Without --readyz-probe-path it sends HEAD to the base URL and any HTTP answer
// counts (the host is up and speaks HTTP; the API's own paths are not its business). With
// it, it sends GET to base URL + path and any answer below 500 counts, 401 and 403
// included: the probe carries no credentials, and an API that refuses them is running. A
// 5xx or no answer is "not ready". It sends nothing unless /readyz (or the status page) is
// polled, and logs only when the state changes, never per probe.
type upstreamProbe struct {
	method   string
	url      string
	anyReply bool // no probe path: every HTTP answer, 5xx included, is reachable
	client   *http.Client
	interval time.Duration
	log      *slog.Logger

	mu    sync.Mutex
	last  time.Time
	ran   bool   // a probe has run
	ok    bool   // the last probe's verdict
	cause string // why the last probe failed
}

func newUpstreamProbe(base, path string, log *slog.Logger) *upstreamProbe {
	p := &upstreamProbe{
		method:   http.MethodHead,
		url:      base,
		anyReply: true,
		interval: probeInterval,
		log:      log,
		client: &http.Client{
			Timeout: probeTimeout,
			// A redirect is an answer; following it could probe another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if path != "" {
		p.method, p.url, p.anyReply = http.MethodGet, strings.TrimSuffix(base, "/")+path, false
	}
	return p
}

// reachable returns the verdict of the last probe, probing again when it is older than
// the interval, and why the upstream is not reachable when it is not.
func (p *upstreamProbe) reachable() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ran && time.Since(p.last) < p.interval {
		return p.ok, p.cause
	}
	p.last = time.Now()
	ok, cause := p.probe()
	p.logChange(ok, cause)
	p.ran, p.ok, p.cause = true, ok, cause
	return ok, cause
}

// probe sends one request and judges its answer.
func (p *upstreamProbe) probe() (bool, string) {
	req, err := http.NewRequest(p.method, p.url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // keep the connection for the next probe
	resp.Body.Close()
	if !p.anyReply && resp.StatusCode >= 500 {
		return false, fmt.Sprintf("%s %s answered %s", p.method, req.URL.Path, resp.Status)
	}
	return true, ""
}

// logChange logs a change of verdict: the first failure, and the recovery after one. A
// first success is not news, and a state that holds is not logged again however often a
// load balancer polls.
func (p *upstreamProbe) logChange(ok bool, cause string) {
	switch {
	case !ok && (!p.ran || p.ok):
		p.log.Warn("upstream not reachable: /readyz answers 503 until it is", "probe", p.method+" "+p.url, "reason", cause)
	case ok && p.ran && !p.ok:
		p.log.Info("upstream reachable again: /readyz answers 200", "probe", p.method+" "+p.url)
	}
}

// readiness is what /readyz reports (and the status page shows).
type readiness struct {
	Ready         bool   `json:"ready"`
	Upstream      bool   `json:"upstream"`
	UpstreamError string `json:"upstream_error,omitempty"`
	Fanout        bool   `json:"fanout"`
	Triggers      int    `json:"triggers"`
	Draining      bool   `json:"draining,omitempty"`
	Status        string `json:"status"`

	// Problems that do not make the node unready but that operators must see.
	ReloadFailure       *ReloadFailure   `json:"reload_failure,omitempty"`
	MembershipsContract *contractProblem `json:"memberships_contract,omitempty"`
	Warnings            []string         `json:"warnings,omitempty"` // the two above, as sentences
}

// contractProblem is auth.ContractProblem as /readyz shows it.
type contractProblem struct {
	Problem string    `json:"problem"`
	At      time.Time `json:"at"`
}

func (g *Gateway) readiness() readiness {
	r := readiness{
		Fanout:   g.sio.Adapter().Ready(),
		Triggers: g.triggers.Load().Len(),
		Draining: g.draining.Load(),
	}
	r.Upstream, r.UpstreamError = g.probe.reachable()
	r.Ready = r.Upstream && r.Fanout && !r.Draining
	switch {
	case r.Draining:
		r.Status = "draining"
	case !r.Upstream:
		r.Status = "upstream unreachable"
	case !r.Fanout:
		r.Status = "degraded: redis unreachable, serving this node only"
	default:
		r.Status = "ready"
	}
	r.addProblems(g.reload.lastFailure(), g.members.Contract())
	return r
}

// addProblems records what keeps the node serving but wrong or stale: the trigger file
// that failed to reload (the previous triggers are in force) and the last memberships
// answer that did not fit the contract (admissions fail closed until it does).
func (r *readiness) addProblems(rf *ReloadFailure, cp auth.ContractProblem) {
	if rf != nil {
		r.ReloadFailure = rf
		r.Warnings = append(r.Warnings, fmt.Sprintf("trigger file %s not reloaded at %s, the previous %d triggers are in force: %s",
			rf.File, rf.At.Format(time.RFC3339), r.Triggers, rf.Error))
	}
	if cp.Problem != "" {
		r.MembershipsContract = &contractProblem{Problem: cp.Problem, At: cp.At.UTC()}
		r.Warnings = append(r.Warnings, fmt.Sprintf("memberships answer at %s did not fit the configured contract (--memberships-list/-org/-role, --org-id-format), sockets are refused until it does: %s",
			cp.At.UTC().Format(time.RFC3339), cp.Problem))
	}
}

// readyz answers 200 when the node is fully ready, else 503 with the reason; both with
// the detail as JSON.
func (g *Gateway) readyz(w http.ResponseWriter, _ *http.Request) {
	r := g.readiness()
	w.Header().Set("Content-Type", "application/json")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}
