package auth

import (
	"errors"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Memberships' counters, for metrics.
type Stats struct {
	Checks        uint64 // calls of Check
	CacheHits     uint64 // lookups answered from the cache
	UpstreamCalls uint64 // requests sent to the memberships endpoint
	Allowed       uint64 // Check results by kind
	Forbidden     uint64
	Unauthorized  uint64
	Unavailable   uint64
	Revoked       uint64 // watched sockets revoked by re-checks
	RecheckErrors uint64 // re-checks that got no definite answer (sockets kept)
	CacheEntries  int    // current size of the answers cache
	RefusedCached int    // current size of the negative cache (credentials refused upstream)
	Watches       int    // current watched sockets
	// Errors counts upstream answers that were no definite answer, by reason (see
	// ErrorReasons); the gateway exports it as syncgate_membership_errors_total{reason}.
	Errors map[string]uint64
}

// ErrorReasons are the keys of Stats.Errors: the upstream could not be reached or timed
// out, answered a status that is no answer (5xx, 3xx, 429…), sent a body that is not JSON
// or is too large, or sent JSON that does not fit the configured memberships contract.
var ErrorReasons = []string{reasonUnreachable, reasonStatus, reasonBadBody, reasonContract}

// ContractProblem describes the last memberships answer that did not fit the configured
// contract (shape only, never values), with when it arrived; zero when the last answer
// fitted or none has arrived yet.
type ContractProblem struct {
	Problem string
	At      time.Time
}

type counters struct {
	checks, cacheHits, upstreamCalls              atomic.Uint64
	allowed, forbidden, unauthorized, unavailable atomic.Uint64
	revoked, recheckErrors                        atomic.Uint64
	watches                                       atomic.Int64
	byReason                                      [4]atomic.Uint64 // Stats.Errors, by index in ErrorReasons
}

// countError counts an answer that was no definite answer, by reason.
func (c *counters) countError(reason string) {
	for i, r := range ErrorReasons {
		if r == reason {
			c.byReason[i].Add(1)
			return
		}
	}
}

func (c *counters) countResult(err error) {
	switch {
	case err == nil:
		c.allowed.Add(1)
	case errors.Is(err, ErrForbidden):
		c.forbidden.Add(1)
	case errors.Is(err, ErrUnauthorized):
		c.unauthorized.Add(1)
	default:
		c.unavailable.Add(1)
	}
}

// Stats returns the current counters.
func (m *Memberships) Stats() Stats {
	return Stats{
		Checks:        m.stats.checks.Load(),
		CacheHits:     m.stats.cacheHits.Load(),
		UpstreamCalls: m.stats.upstreamCalls.Load(),
		Allowed:       m.stats.allowed.Load(),
		Forbidden:     m.stats.forbidden.Load(),
		Unauthorized:  m.stats.unauthorized.Load(),
		Unavailable:   m.stats.unavailable.Load(),
		Revoked:       m.stats.revoked.Load(),
		RecheckErrors: m.stats.recheckErrors.Load(),
		CacheEntries:  m.cache.len(),
		RefusedCached: m.refused.len(),
		Watches:       int(m.stats.watches.Load()),
		Errors:        m.stats.errorCounts(),
	}
}

// errorCounts has every reason, zero included, so metrics export all series from the start.
func (c *counters) errorCounts() map[string]uint64 {
	out := make(map[string]uint64, len(ErrorReasons))
	for i, r := range ErrorReasons {
		out[r] = c.byReason[i].Load()
	}
	return out
}

// Contract returns the last contract problem (zero if the last answer fitted).
// The gateway shows it on /readyz details, the status page and metrics: a broken contract
// fails every admission as unavailable, which otherwise looks like an outage.
func (m *Memberships) Contract() ContractProblem { return m.broken.get() }
