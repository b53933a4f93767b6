package sessions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// liveSession is a session with sockets on this node: their end callbacks
// and the last copy of the record this node read or wrote.
type liveSession struct {
	snap    *Session
	checked time.Time // when snap came from the store
	regs    map[uint64]*registration
}

type registration struct {
	once  sync.Once
	onEnd func(reason error)
}

// fire runs onEnd in its own goroutine, at most once per registration.
func (r *registration) fire(reason error) {
	r.once.Do(func() { go r.onEnd(reason) })
}

// disarm makes sure onEnd never runs.
func (r *registration) disarm() { r.once.Do(func() {}) }

// Register attaches a connection (a socket) to session id on this node: when
// the session ends — logout, expiry, revocation, refused refresh, or the
// login that replaces it — on any node, onEnd runs once, in its own
// goroutine, with a reason wrapping ErrSessionEnded. Call unregister when the
// connection closes.
//
// Register checks the store after registering, so a session ended a moment
// before is never registered with: it returns ErrNoSession (or
// ErrUnavailable) and the caller must close the connection; onEnd may then
// have run as well.
func (m *Manager) Register(ctx context.Context, id string, onEnd func(reason error)) (unregister func(), err error) {
	if onEnd == nil {
		onEnd = func(error) {}
	}
	reg := &registration{onEnd: onEnd}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: manager closed", ErrUnavailable)
	}
	l := m.live[id]
	if l == nil {
		l = &liveSession{regs: make(map[uint64]*registration)}
		m.live[id] = l
	}
	m.nextReg++
	n := m.nextReg
	l.regs[n] = reg
	m.mu.Unlock()

	unregister = func() {
		reg.disarm()
		m.mu.Lock()
		defer m.mu.Unlock()
		if cur := m.live[id]; cur == l {
			delete(l.regs, n)
			if len(l.regs) == 0 {
				delete(m.live, id)
			}
		}
	}
	// An end published before the registration above is visible in the store
	// now; one published after it reaches the registration.
	now := m.cfg.Now()
	s, err := m.store.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		unregister()
		return nil, ErrNoSession
	case err != nil:
		unregister()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case !m.alive(s, now):
		unregister()
		_ = m.end(ctx, id, ErrExpired)
		return nil, ErrNoSession
	}
	m.remember(id, s, now)
	return unregister, nil
}

// endLocal runs the end callbacks of session id on this node.
func (m *Manager) endLocal(id string, reason error) {
	m.mu.Lock()
	l := m.live[id]
	delete(m.live, id)
	m.mu.Unlock()
	if l == nil {
		return
	}
	for _, r := range l.regs {
		r.fire(reason)
	}
}

// cached returns a copy of the live snapshot of id if it was read from the
// store less than a sweep interval ago, else nil. Ends reach live sessions
// by notice, and the sweep re-reads them every interval.
func (m *Manager) cached(id string, now time.Time) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.live[id]
	if l == nil || l.snap == nil || now.Sub(l.checked) >= m.cfg.SweepInterval || now.Before(l.checked) {
		return nil
	}
	return l.snap.clone()
}

// remember refreshes the live snapshot of id, if it is live here.
func (m *Manager) remember(id string, s *Session, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := m.live[id]; l != nil {
		l.snap, l.checked = s.clone(), now
	}
}

// liveIDs lists the sessions live on this node.
func (m *Manager) liveIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.live))
	for id := range m.live {
		ids = append(ids, id)
	}
	return ids
}

// sweepLoop re-checks live sessions and purges the store every SweepInterval.
func (m *Manager) sweepLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), m.cfg.SweepInterval)
			m.Sweep(ctx)
			cancel()
		}
	}
}

// Sweep ends the live sessions of this node that expired or vanished from
// the store, and purges expired records. It runs every SweepInterval; call
// it directly to force a round.
func (m *Manager) Sweep(ctx context.Context) {
	now := m.cfg.Now()
	for _, id := range m.liveIDs() {
		s, err := m.store.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			m.endLocal(id, ErrSessionEnded)
		case err != nil:
			m.log.Warn("session sweep: store unavailable", "err", err)
			return
		case !m.alive(s, now):
			_ = m.end(ctx, id, ErrExpired)
		default:
			m.remember(id, s, now)
		}
	}
	if n, err := m.store.Purge(ctx, now); err != nil {
		m.log.Warn("session sweep: purge failed", "err", err)
	} else if n > 0 {
		m.log.Debug("session sweep: purged expired records", "count", n)
	}
}
