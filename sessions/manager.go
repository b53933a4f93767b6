package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Manager issues, resumes, logs in, refreshes and ends sessions. It is safe
// for concurrent use. Several Managers (nodes) may share one Store.
type Manager struct {
	cfg   Config
	store Store
	log   *slog.Logger

	mu      sync.Mutex
	live    map[string]*liveSession // sessions with registered sockets on this node
	nextReg uint64
	closed  bool

	refreshes singleflight.Group
	ps        *redis.PubSub
	stop      chan struct{}
	wg        sync.WaitGroup
}

// New validates cfg, subscribes to end notices (Config.Redis) and starts the sweep.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:   cfg,
		store: cfg.Store,
		log:   cfg.Logger,
		live:  make(map[string]*liveSession),
		stop:  make(chan struct{}),
	}
	if cfg.Redis != nil {
		m.subscribe()
	}
	m.wg.Add(1)
	go m.sweepLoop()
	return m, nil
}

// Close stops the sweep and the subscription. Registered callbacks are not
// called (the sessions did not end); the store is not closed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	close(m.stop)
	var err error
	if m.ps != nil {
		if cerr := m.ps.Close(); cerr != nil {
			err = fmt.Errorf("sessions: close subscription: %w", cerr)
		}
	}
	m.wg.Wait()
	return err
}

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string { return m.cfg.CookieName }

// FromRequest returns the session of r's cookie, resuming it from the live
// sessions of this node or from the store, and records the use (idle
// lifetime). ErrNoSession when there is none or it has expired;
// ErrUnavailable when the store cannot answer.
func (m *Manager) FromRequest(r *http.Request) (*Session, error) {
	c := m.cookieValue(r)
	if c == "" {
		return nil, ErrNoSession
	}
	return m.lookup(r.Context(), hashKey(c), true)
}

// Revoke ends session id everywhere (its sockets on every node are closed).
func (m *Manager) Revoke(ctx context.Context, id string) error {
	return m.end(ctx, id, ErrRevoked)
}

// lookup finds session id; touch records the use.
func (m *Manager) lookup(ctx context.Context, id string, touch bool) (*Session, error) {
	now := m.cfg.Now()
	s := m.cached(id, now)
	if s == nil {
		got, err := m.store.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			m.endLocal(id, ErrSessionEnded) // sockets of a session gone from the store
			return nil, ErrNoSession
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		s = got
		m.remember(id, s, now)
	}
	if !m.alive(s, now) {
		if err := m.end(ctx, id, ErrExpired); err != nil {
			m.log.Warn("deleting an expired session failed", "session", shortID(id), "err", err)
		}
		return nil, ErrNoSession
	}
	if touch && now.Sub(s.LastSeen) >= m.idleTTL(s)/10 {
		upd, err := m.store.Update(ctx, id, func(x *Session) error {
			if now.After(x.LastSeen) {
				x.LastSeen = now
			}
			x.ExpiresAt = m.expiresAt(x)
			return nil
		})
		switch {
		case errors.Is(err, ErrNotFound):
			m.endLocal(id, ErrSessionEnded)
			return nil, ErrNoSession
		case err != nil:
			m.log.Warn("recording a session's use failed", "session", shortID(id), "err", err)
		default:
			s = upd
			m.remember(id, s, now)
		}
	}
	return s, nil
}

// create stores a new session holding tok and u (nil before login) and
// returns its cookie value.
func (m *Manager) create(ctx context.Context, tok *oauth2.Token, u *User) (string, *Session, error) {
	for attempt := 0; attempt < 3; attempt++ {
		c, err := newSecret()
		if err != nil {
			return "", nil, err
		}
		now := m.cfg.Now()
		s := &Session{ID: hashKey(c), Created: now, LastSeen: now, Token: cloneToken(tok), User: u}
		s.ExpiresAt = m.expiresAt(s)
		err = m.store.Create(ctx, s)
		if errors.Is(err, ErrExists) {
			continue // 2^-256: a broken random source more likely; try again anyway
		}
		if err != nil {
			return "", nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return c, s, nil
	}
	return "", nil, fmt.Errorf("sessions: three session IDs in a row were taken: %w", ErrExists)
}

// end deletes session id and ends its sockets on every node.
func (m *Manager) end(ctx context.Context, id string, reason error) error {
	err := m.store.Delete(ctx, id)
	m.endLocal(id, reason)
	m.publish(ctx, id, reason)
	m.log.Info("session ended", "session", shortID(id), "reason", reasonCode(reason))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// idleTTL is the idle lifetime of s: shorter before login.
func (m *Manager) idleTTL(s *Session) time.Duration {
	if s.LoggedIn() {
		return m.cfg.IdleTTL
	}
	return min(m.cfg.IdleTTL, m.cfg.AnonymousTTL)
}

// alive reports whether s is within both lifetimes at now.
func (m *Manager) alive(s *Session, now time.Time) bool {
	return now.Before(s.Created.Add(m.cfg.AbsoluteTTL)) && now.Before(s.LastSeen.Add(m.idleTTL(s)))
}

// expiresAt is when s ends if unused from now on.
func (m *Manager) expiresAt(s *Session) time.Time {
	abs, idle := s.Created.Add(m.cfg.AbsoluteTTL), s.LastSeen.Add(m.idleTTL(s))
	if idle.Before(abs) {
		return idle
	}
	return abs
}
