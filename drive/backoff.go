package drive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// backoffDelay is truncated exponential backoff with "equal jitter": the
// n-th consecutive failure (from 0) waits a random time in [c/2, c], where
// c = min(max, base·2ⁿ). The lower half keeps successive waits growing; the
// random half keeps many clients from retrying in step.
func backoffDelay(base, limit time.Duration, n int) time.Duration {
	c := limit
	if n < 32 {
		if d := base << n; d > 0 && d < limit {
			c = d
		}
	}
	half := c / 2
	return half + rand.N(c-half+1)
}

// gate delays calls after a failure: until is when the next call may go,
// n counts failures since the last success.
type gate struct {
	mu      sync.Mutex
	until   time.Time
	tripped time.Time // when the last failure closed the gate
	n       int
}

// trip records a failure at now and returns the new wait. Failures while
// the gate is already closed count once, so a burst of concurrent failures
// does not jump the backoff several steps.
func (g *gate) trip(now time.Time, base, limit time.Duration) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.until) {
		return g.until.Sub(now)
	}
	d := backoffDelay(base, limit, g.n)
	g.n++
	g.until = now.Add(d)
	g.tripped = now
	return d
}

// reset records the success of a call admitted at admitted. A call let
// through before the last failure proves nothing about the backoff.
func (g *gate) reset(admitted time.Time) {
	g.mu.Lock()
	if admitted.After(g.tripped) {
		g.n = 0
	}
	g.mu.Unlock()
}

// open reports whether the gate lets calls through at now.
func (g *gate) open(now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !now.Before(g.until)
}

// wait blocks until the gate opens. It fails at once when ctx's deadline
// comes before that.
func (g *gate) wait(ctx context.Context) error {
	for range 64 { // the gate may close again while we wait; bounded
		g.mu.Lock()
		until := g.until
		g.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
			return fmt.Errorf("%w: backing off for %v, beyond the deadline", ErrUnavailable, d.Round(time.Millisecond))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return fmt.Errorf("%w: backoff gate kept closing", ErrUnavailable)
}
