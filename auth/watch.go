package auth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// watch is one admitted socket.
type watch struct {
	org     string
	revoked func(error)
}

// watchedCred groups the watches of one credential: one refresh serves them all.
type watchedCred struct {
	cred    Credentials
	watches map[*watch]struct{}
}

// Watch registers an admitted socket of c in org. Every TTL a background loop refreshes
// each distinct watched credential once from the upstream (in per-org mode each distinct
// watched (credential, org) pair), also refreshing the cache, and calls revoked, in its
// own goroutine, for every watch whose org is no longer allowed (ErrForbidden) or whose
// credentials the upstream now refuses (ErrUnauthorized). A revoked watch is removed.
//
// When a re-check gets no definite answer (ErrUnavailable) the sockets are
// kept and the failure is logged: a transient upstream outage must not drop
// every connected user, and new admissions still fail closed meanwhile.
//
// revoked must not be nil. stop unregisters the watch and is idempotent. After
// Close, Watch registers nothing and its stop does nothing.
func (m *Memberships) Watch(c Credentials, org string, revoked func(error)) (stop func()) {
	if revoked == nil {
		panic("auth: Watch with a nil revoked callback")
	}
	k := c.Key()
	w := &watch{org: org, revoked: revoked}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return func() {}
	}
	wc := m.watched[k]
	if wc == nil {
		wc = &watchedCred{cred: c, watches: make(map[*watch]struct{})}
		m.watched[k] = wc
	}
	wc.watches[w] = struct{}{}
	m.stats.watches.Add(1)
	if !m.started {
		m.started = true
		go m.loop()
	}
	var once sync.Once
	return func() { once.Do(func() { m.unwatch(k, w) }) }
}

func (m *Memberships) unwatch(k Key, w *watch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(k, w)
}

// removeLocked removes w (if still there) and reports whether it was.
func (m *Memberships) removeLocked(k Key, w *watch) bool {
	wc := m.watched[k]
	if wc == nil {
		return false
	}
	if _, ok := wc.watches[w]; !ok {
		return false
	}
	delete(wc.watches, w)
	m.stats.watches.Add(-1)
	if len(wc.watches) == 0 {
		delete(m.watched, k)
	}
	return true
}

// Close stops the re-check loop and cancels upstream calls in flight. Checks
// after Close return ErrUnavailable. Close is idempotent.
func (m *Memberships) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	started := m.started
	m.mu.Unlock()
	m.cancel()
	if started {
		<-m.loopDone
	}
}

func (m *Memberships) loop() {
	defer close(m.loopDone)
	t := time.NewTicker(m.ttl)
	defer t.Stop()
	for {
		select {
		case <-m.base.Done():
			return
		case <-t.C:
			m.recheck(m.base)
		}
	}
}

// recheck refreshes every watched credential once (in per-org mode: every watched
// (credential, org) once), at most recheckWorkers at a time, and revokes what is no longer
// allowed.
func (m *Memberships) recheck(ctx context.Context) {
	type unit struct {
		k   Key
		c   Credentials
		org string // per-org mode: the org re-checked; list mode: "" (one call covers all)
	}
	m.mu.Lock()
	units := make([]unit, 0, len(m.watched))
	for k, wc := range m.watched {
		if !m.perOrg {
			units = append(units, unit{k, wc.cred, ""})
			continue
		}
		seen := make(map[string]bool, 1)
		for w := range wc.watches {
			if !seen[w.org] {
				seen[w.org] = true
				units = append(units, unit{k, wc.cred, w.org})
			}
		}
	}
	m.mu.Unlock()

	var g errgroup.Group
	g.SetLimit(m.recheckWorkers)
	for _, u := range units {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			m.recheckOne(ctx, u.k, u.c, u.org)
			return nil
		})
	}
	_ = g.Wait()
}

// recheckOne refreshes one cache entry and revokes the watches it answers for: every watch
// of the credential in list mode, the watches of org in per-org mode.
func (m *Memberships) recheckOne(ctx context.Context, k Key, c Credentials, org string) {
	res, err := m.lookup(ctx, c, org, true)
	if err != nil {
		m.stats.recheckErrors.Add(1)
		if m.perOrg {
			m.log.Warn("membership re-check got no answer; keeping its sockets", "org", org, "err", err)
		} else {
			m.log.Warn("membership re-check got no answer; keeping its sockets", "err", err)
		}
		return
	}
	type revocation struct {
		w   *watch
		err error
	}
	var revoke []revocation
	m.mu.Lock()
	if wc := m.watched[k]; wc != nil {
		for w := range wc.watches {
			if m.perOrg && w.org != org {
				continue
			}
			if err := decide(res, w.org); err != nil {
				revoke = append(revoke, revocation{w, err})
			}
		}
		for _, r := range revoke {
			m.removeLocked(k, r.w)
		}
	}
	m.mu.Unlock()
	for _, r := range revoke {
		m.stats.revoked.Add(1)
		m.log.Info("membership revoked; disconnecting socket", "org", r.w.org, "err", r.err)
		go r.w.revoked(r.err)
	}
}
