package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds the memberships body read into memory; larger is unavailable.
const maxBody = 1 << 20

// Reasons an upstream answer gave no definite answer: the keys of Stats.Errors.
const (
	reasonUnreachable = "unreachable" // transport error or timeout
	reasonStatus      = "status"      // a status that is no answer (5xx, 3xx, 429; list mode 404)
	reasonBadBody     = "bad_body"    // not one JSON value, or larger than maxBody
	reasonContract    = "contract"    // JSON that does not fit the configured paths
)

// Membership is one membership read from an upstream answer.
type Membership struct {
	Org     string  // canonical org ID
	Role    *string // nil: no role (null or missing: a follower)
	Allowed bool    // the role admits a socket under MembershipsConfig.Roles
}

// answer is what one upstream call said, before anything is cached or counted.
type answer struct {
	status       int          // 0: no HTTP answer
	reason       string       // "" for a definite answer, else one of ErrorReasons
	detail       error        // why there is no definite answer (never credentials or body values)
	problem      string       // reason "contract": expected and arrived shape
	unauthorized bool         // 401 (list mode: also 403)
	forbidden    bool         // per-org mode: 403/404
	items        []Membership // list mode: every membership; per-org mode: the org, on 2xx
}

// result turns a definite answer into what is cached.
func (a answer) result() result {
	if a.unauthorized {
		return result{unauthorized: true}
	}
	orgs := make(map[string]bool, len(a.items))
	for _, ms := range a.items {
		orgs[ms.Org] = orgs[ms.Org] || ms.Allowed
	}
	return result{orgs: orgs}
}

// fetch asks the upstream about e (the credential's memberships, or in per-org mode its
// membership of e.org). A definite answer is cached and returned; anything else is
// ErrUnavailable, counted by reason and not cached.
func (m *Memberships) fetch(e entryKey, c Credentials) (result, error) {
	ctx, cancel := context.WithTimeout(m.base, m.timeout)
	defer cancel()
	start := time.Now()
	a := m.call(ctx, c, e.org)
	m.report(a, e.org, time.Since(start))
	if a.reason != "" {
		return result{}, ErrUnavailable
	}
	res := a.result()
	m.store(e, res)
	return res, nil
}

// call sends one request and reads the answer. It neither logs nor caches: Diagnose uses it too.
func (m *Memberships) call(ctx context.Context, c Credentials, org string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.urlFor(org), nil)
	if err != nil {
		return answer{reason: reasonUnreachable, detail: fmt.Errorf("building request: %w", err)}
	}
	req.Header.Set("Accept", "application/json")
	if c.Cookie != "" {
		req.Header.Set("Cookie", c.Cookie)
	}
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	if m.rewrite != nil {
		m.rewrite(req)
	}
	m.stats.upstreamCalls.Add(1)
	resp, err := m.client.Do(req)
	if err != nil {
		return answer{reason: reasonUnreachable, detail: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		m.read2xx(resp.Body, org, &a)
	case code == http.StatusUnauthorized || code == http.StatusForbidden && !m.perOrg:
		drain(resp.Body)
		a.unauthorized = true
	case m.perOrg && (code == http.StatusForbidden || code == http.StatusNotFound):
		drain(resp.Body)
		a.forbidden = true
	default:
		drain(resp.Body)
		a.reason, a.detail = reasonStatus, fmt.Errorf("unexpected status %d", code)
	}
	return a
}

// read2xx reads a 2xx answer into a.
func (m *Memberships) read2xx(body io.Reader, org string, a *answer) {
	if m.perOrg && !m.shape.readsRole() {
		drain(body) // the status says it all
		a.items = []Membership{{Org: org, Allowed: true}}
		return
	}
	data, err := readBounded(body)
	if err != nil {
		a.reason, a.detail = reasonBadBody, err
		if !errors.Is(err, errBodyTooLarge) {
			a.reason = reasonUnreachable // the connection failed mid-body
		}
		return
	}
	doc, err := decodeJSON(data)
	if err != nil {
		a.reason, a.detail = reasonBadBody, err
		return
	}
	if !m.perOrg {
		a.items, a.problem = m.shape.readList(doc, m.roleAllowed)
	} else {
		role, detail := m.shape.readRole(doc)
		if detail != "" {
			a.problem = m.shape.problem(doc, detail)
		} else {
			a.items = []Membership{{Org: org, Role: role, Allowed: m.roleAllowed(role)}}
		}
	}
	if a.problem != "" {
		a.reason, a.detail = reasonContract, errors.New("the answer does not fit the memberships contract")
	}
}

var errBodyTooLarge = errors.New("body larger than 1 MiB")

func readBounded(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading memberships: %w", err)
	}
	if len(data) > maxBody {
		return nil, errBodyTooLarge
	}
	return data, nil
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(body io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10)) }

// report counts and logs one call's outcome and keeps the contract state.
func (m *Memberships) report(a answer, org string, elapsed time.Duration) {
	orgAttr := []any{}
	if m.perOrg {
		orgAttr = []any{"org", org}
	}
	if a.reason != "" && m.base.Err() == nil { // calls cut by Close are no upstream failure
		m.stats.countError(a.reason)
	}
	switch {
	case a.reason == reasonUnreachable:
		m.log.Warn("memberships upstream unreachable", append(orgAttr, "err", a.detail, "elapsed", elapsed)...)
	case a.reason == reasonStatus:
		m.log.Warn("memberships upstream answered unexpectedly", append(orgAttr, "status", a.status)...)
	case a.reason == reasonBadBody:
		m.log.Warn("memberships upstream sent a bad body", append(orgAttr, "status", a.status, "err", a.detail)...)
	case a.reason == reasonContract:
		m.logContract(m.broken.broke(a.problem), a, orgAttr)
	case a.unauthorized:
		m.log.Debug("memberships upstream refused the credentials", append(orgAttr, "status", a.status)...)
	case a.forbidden:
		m.log.Debug("memberships upstream: not a member", append(orgAttr, "status", a.status)...)
	default:
		m.broken.fits()
	}
}

// logContract warns about a broken contract at most once per contractWarnEvery; repeats
// go to Debug. The problem describes shapes only: no value of the answer reaches the log.
func (m *Memberships) logContract(warn bool, a answer, orgAttr []any) {
	const msg = "memberships answer does not fit the configured contract; admissions fail as unavailable"
	attrs := append(orgAttr, "status", a.status, "problem", a.problem)
	if warn {
		m.log.Warn(msg, attrs...)
		return
	}
	m.log.Debug(msg, attrs...)
}
