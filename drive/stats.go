package drive

import (
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of a Watcher's counters and state.
type Stats struct {
	Calls    map[string]int64 // Google calls answered (any status), by kind (CallFilesGet, ...)
	Failures map[string]int64 // failed calls by class ("user_rate", "global_rate", "transient", "revoked", ...)
	Backoffs int64            // retryable failures that closed a backoff gate

	Changed int64 // Changed callbacks made
	Lost    int64 // Lost callbacks made

	Users, Files, Watches int // local state
	CoveringFeeds         int // feeds polled at the adaptive interval
	OtherFeeds            int // feeds polled every RecheckInterval
	HeldFeeds             int // feeds whose lease this node holds (all feeds without Redis)
}

// counters are the cumulative parts of Stats.
type counters struct {
	mu       sync.Mutex
	calls    map[string]int64
	failures map[string]int64
	backoffs atomic.Int64
	changed  atomic.Int64
	lost     atomic.Int64
}

func newCounters() *counters {
	return &counters{calls: make(map[string]int64), failures: make(map[string]int64)}
}

func (c *counters) call(kind string) {
	c.mu.Lock()
	c.calls[kind]++
	c.mu.Unlock()
}

func (c *counters) failure(cl class) {
	c.mu.Lock()
	c.failures[cl.String()]++
	c.mu.Unlock()
}

func (c *counters) backoff() { c.backoffs.Add(1) }

func (c *counters) fill(s *Stats) {
	c.mu.Lock()
	s.Calls = make(map[string]int64, len(c.calls))
	for k, v := range c.calls {
		s.Calls[k] = v
	}
	s.Failures = make(map[string]int64, len(c.failures))
	for k, v := range c.failures {
		s.Failures[k] = v
	}
	c.mu.Unlock()
	s.Backoffs = c.backoffs.Load()
	s.Changed = c.changed.Load()
	s.Lost = c.lost.Load()
}
