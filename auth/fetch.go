package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds the memberships body read into memory; larger is unavailable.
const maxBody = 1 << 20

// fetch asks the upstream for the memberships of c. A definite answer (200
// with a well-formed body, or 401/403) is cached and returned; anything else
// is ErrUnavailable and is not cached.
func (m *Memberships) fetch(k Key, c Credentials) (result, error) {
	ctx, cancel := context.WithTimeout(m.base, m.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		m.log.Error("memberships upstream: building request", "err", err)
		return result{}, ErrUnavailable
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
	start := time.Now()
	resp, err := m.client.Do(req)
	if err != nil {
		m.log.Warn("memberships upstream unreachable", "err", err, "elapsed", time.Since(start))
		return result{}, ErrUnavailable
	}
	defer resp.Body.Close()

	var res result
	switch resp.StatusCode {
	case http.StatusOK:
		orgs, err := m.parse(resp.Body)
		if err != nil {
			m.log.Warn("memberships upstream sent a bad body", "status", resp.StatusCode, "err", err)
			return result{}, ErrUnavailable
		}
		res = result{orgs: orgs}
	case http.StatusUnauthorized, http.StatusForbidden:
		drain(resp.Body)
		m.log.Debug("memberships upstream refused the credentials", "status", resp.StatusCode)
		res = result{unauthorized: true}
	default:
		drain(resp.Body)
		m.log.Warn("memberships upstream answered unexpectedly", "status", resp.StatusCode)
		return result{}, ErrUnavailable
	}
	m.store(k, res)
	return res, nil
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(body io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10)) }

var errBodyTooLarge = errors.New("body larger than 1 MiB")

// membershipsDoc is the upstream's answer:
// {"data":[{"organization":{"id":1,"title":"KPD"},"role":"admin",...}]}.
type membershipsDoc struct {
	Data *[]struct {
		Organization *struct {
			ID json.RawMessage `json:"id"`
		} `json:"organization"`
		Role *string `json:"role"` // null: a follower
	} `json:"data"`
}

// parse reads at most maxBody bytes and returns org id → allowed. It is
// strict: the body must be one JSON value with a "data" array whose entries
// all have an organization whose id is a JSON integer (not a string, not 1.0).
func (m *Memberships) parse(body io.Reader) (map[string]bool, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading memberships: %w", err)
	}
	if len(data) > maxBody {
		return nil, errBodyTooLarge
	}
	var doc membershipsDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decoding memberships: %w", err)
	}
	if doc.Data == nil {
		return nil, errors.New(`memberships: no "data" array`)
	}
	orgs := make(map[string]bool, len(*doc.Data))
	for i, ms := range *doc.Data {
		if ms.Organization == nil {
			return nil, fmt.Errorf("memberships: entry %d has no organization", i)
		}
		id := string(ms.Organization.ID)
		if !canonicalID(id) {
			return nil, fmt.Errorf("memberships: entry %d: organization id is not an integer", i)
		}
		orgs[id] = orgs[id] || m.roleAllowed(ms.Role)
	}
	return orgs, nil
}
