package drive

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Kinds of Google calls, as counted in Stats.Calls.
const (
	CallFilesGet       = "files.get"
	CallFilesList      = "files.list"
	CallStartPageToken = "changes.getStartPageToken"
	CallChangesList    = "changes.list"
)

// userIdle is how long a user's limiter is kept after its last call, so
// that dropping and re-adding a user does not refill its bucket.
const userIdle = 2 * time.Minute

// scheduler is the one gate of every call to Google: backoff gates
// (global and per user), token buckets (per user, then global) and a cap
// on requests in flight.
type scheduler struct {
	cfg    *Config
	global *rate.Limiter
	gate   gate // project-wide backoff (429, rateLimitExceeded)
	sem    chan struct{}
	stats  *counters

	mu    sync.Mutex
	users map[string]*userLimits
	swept time.Time
}

// userLimits are one user's bucket and backoff gate.
type userLimits struct {
	lim  *rate.Limiter
	gate gate
	last time.Time
}

func newScheduler(cfg *Config, stats *counters) *scheduler {
	return &scheduler{
		cfg:    cfg,
		global: rate.NewLimiter(cfg.GlobalRate, cfg.GlobalBurst),
		sem:    make(chan struct{}, cfg.MaxConcurrent),
		stats:  stats,
		users:  make(map[string]*userLimits),
	}
}

// limits returns user's limits, creating them, and forgets long-idle users.
func (s *scheduler) limits(user string) *userLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.swept) > userIdle {
		s.swept = now
		for k, u := range s.users {
			if now.Sub(u.last) > userIdle && u.gate.open(now) {
				delete(s.users, k)
			}
		}
	}
	u := s.users[user]
	if u == nil {
		u = &userLimits{lim: rate.NewLimiter(s.cfg.PerUserRate, s.cfg.PerUserBurst)}
		s.users[user] = u
	}
	u.last = now
	return u
}

// call runs fn, one request of user to Google, through the gates, at most
// attempts times while it fails with a retryable error. A non-retryable
// error is returned as is; running out of attempts (or of ctx's time while
// backing off) returns an error wrapping ErrUnavailable.
func (s *scheduler) call(ctx context.Context, user, kind string, attempts int, fn func(ctx context.Context) error) error {
	u := s.limits(user)
	for attempt := 1; ; attempt++ {
		admitted, err := s.admit(ctx, u)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		err = fn(cctx)
		cancel()
		<-s.sem
		s.stats.call(kind)
		c := classify(ctx, err, s.cfg.IsRevoked)
		now := time.Now()
		switch c {
		case classOK:
			u.gate.reset(admitted)
			s.gate.reset(admitted)
			return nil
		case classUserRate, classTransient:
			u.gate.trip(now, s.cfg.BackoffBase, s.cfg.BackoffMax)
		case classGlobalRate:
			// Project-wide: everyone waits a step, and this user's own
			// gate grows with each of its failures (any success of another
			// user resets the global step).
			s.gate.trip(now, s.cfg.BackoffBase, s.cfg.BackoffMax)
			u.gate.trip(now, s.cfg.BackoffBase, s.cfg.BackoffMax)
		}
		s.stats.failure(c)
		if !c.retryable() {
			return fmt.Errorf("%s: %w", kind, err)
		}
		s.stats.backoff()
		if attempt >= attempts {
			return fmt.Errorf("%s: %w: %w", kind, ErrUnavailable, err)
		}
	}
}

// admit waits for the backoff gates, the buckets and a free slot, in that
// order (a throttled user holds no global tokens or slots), and returns
// when the call was let through. A gate that closed meanwhile is waited
// for again: no call goes out while a backoff is running.
func (s *scheduler) admit(ctx context.Context, u *userLimits) (time.Time, error) {
	for range 16 {
		if err := s.gate.wait(ctx); err != nil {
			return time.Time{}, err
		}
		if err := u.gate.wait(ctx); err != nil {
			return time.Time{}, err
		}
		if err := u.lim.Wait(ctx); err != nil {
			return time.Time{}, fmt.Errorf("%w: per-user rate limit: %w", ErrUnavailable, err)
		}
		if err := s.global.Wait(ctx); err != nil {
			return time.Time{}, fmt.Errorf("%w: global rate limit: %w", ErrUnavailable, err)
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
		now := time.Now()
		if s.gate.open(now) && u.gate.open(now) {
			return now, nil
		}
		<-s.sem
	}
	return time.Time{}, fmt.Errorf("%w: backoff gates kept closing", ErrUnavailable)
}
