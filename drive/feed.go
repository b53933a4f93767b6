package drive

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	drivev3 "google.golang.org/api/drive/v3"
)

// changesFields trims changes.list to what the watcher reads.
const changesFields = "nextPageToken,newStartPageToken,changes(fileId,removed,file(version))"

// releaseTimeout bounds the release of a lease on Close.
const releaseTimeout = 2 * time.Second

// feed is one user's change feed. Its fields after the channels are
// guarded by Watcher.mu.
type feed struct {
	u        *user
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once

	primary   bool          // covers at least one file on this node
	covers    int           // files it covers
	hot       bool          // another node wants it polled at the adaptive interval
	announce  bool          // newly covering: tell the holder (Redis)
	held      bool          // this node polls it (always, without Redis)
	heldUntil time.Time     // the lease is surely ours until then
	leaseDue  time.Time     // next lease renewal or attempt
	interval  time.Duration // adaptive poll interval
	spread    float64       // random factor of the next period, so feeds do not poll in step
	urgent    bool          // quickened since the current poll began
	lastPoll  time.Time
	token     string // page token; "" until taken
}

func newFeed(u *user, interval time.Duration, held bool) *feed {
	return &feed{u: u, wake: make(chan struct{}, 1), stop: make(chan struct{}), interval: interval, held: held, spread: spread()}
}

func (f *feed) close() { f.stopOnce.Do(func() { close(f.stop) }) }

// poke makes the feed's goroutine look at its schedule now.
func (f *feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// quicken sets the interval back to its minimum, also for after a poll
// in flight (Watcher.mu held).
func (f *feed) quicken(min time.Duration) {
	f.interval = min
	f.urgent = true
	f.poke()
}

// pollAt is when the feed is due, if this node polls it (Watcher.mu held).
func (f *feed) pollAt(cfg *Config) (time.Time, bool) {
	if !f.held {
		return time.Time{}, false
	}
	period := cfg.RecheckInterval
	if f.primary || f.hot {
		period = f.interval
	}
	return f.lastPoll.Add(time.Duration(float64(period) * f.spread)), true
}

// spread returns a random factor in [0.9, 1.1].
func spread() float64 { return 0.9 + rand.Float64()/5 }

// runFeed is the feed's goroutine: it sleeps until the next poll or lease
// renewal, or until poked.
func (w *Watcher) runFeed(f *feed) {
	defer w.feedsWG.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return // killed: the lease expires by itself
		case <-f.stop:
			w.releaseLease(f)
			return
		case <-f.wake:
		case <-t.C:
		}
		t.Reset(w.tick(f))
	}
}

// tick renews the lease and polls when due, and returns the time until
// the next tick.
func (w *Watcher) tick(f *feed) time.Duration {
	if w.cluster != nil {
		w.mu.Lock()
		due := !time.Now().Before(f.leaseDue)
		w.mu.Unlock()
		if due {
			w.leaseTick(w.ctx, f)
		}
	}
	w.mu.Lock()
	at, ok := f.pollAt(&w.cfg)
	w.mu.Unlock()
	if ok && !time.Now().Before(at) {
		w.poll(f)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	next := time.Hour
	if at, ok := f.pollAt(&w.cfg); ok {
		next = time.Until(at)
	}
	if w.cluster != nil {
		next = min(next, time.Until(f.leaseDue))
	}
	return max(next, time.Millisecond)
}

// ensureToken makes sure the feed has a page token from before now: this
// node's (taking a new one if needed) or, with Redis, the lease holder's.
func (w *Watcher) ensureToken(ctx context.Context, f *feed, attempts int) error {
	if w.cluster != nil {
		w.mu.Lock()
		held := f.held
		w.mu.Unlock()
		if !held {
			w.leaseTick(ctx, f)
		}
	}
	w.mu.Lock()
	need := f.held && f.token == ""
	w.mu.Unlock()
	if !need {
		return nil
	}
	_, err, _ := w.starts.Do(fmt.Sprintf("%p", f), func() (any, error) {
		var st *drivev3.StartPageToken
		err := w.sched.call(ctx, f.u.key, CallStartPageToken, attempts, func(cctx context.Context) error {
			var err error
			st, err = f.u.svc.Changes.GetStartPageToken().SupportsAllDrives(true).Fields("startPageToken").Context(cctx).Do()
			return err
		})
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		set := f.held && f.token == ""
		if set {
			f.token = st.StartPageToken
			f.lastPoll = time.Now()
		}
		w.mu.Unlock()
		if set && w.cluster != nil {
			w.saveToken(ctx, f, st.StartPageToken)
		}
		return nil, nil
	})
	return err
}

// poll follows the feed from its page token until newStartPageToken (at
// most MaxPages pages), applies and shares what it finds, and adapts the
// interval.
func (w *Watcher) poll(f *feed) {
	ctx := w.ctx
	if w.cluster != nil {
		w.mu.Lock()
		until := f.heldUntil
		w.mu.Unlock()
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, until) // never poll past our lease
		defer cancel()
	}
	if err := w.ensureToken(ctx, f, 1); err != nil {
		w.feedFailed(ctx, f, err)
		return
	}
	w.mu.Lock()
	tok, svc, key := f.token, f.u.svc, f.u.key
	at, due := f.pollAt(&w.cfg)
	// Polled for another node only: its covered files are unknown here, so
	// any change counts as activity.
	forOthers := f.hot && !f.primary
	f.urgent = false
	w.mu.Unlock()
	if tok == "" || !due || time.Now().Before(at) {
		return // the lease went elsewhere, or the token is brand new
	}
	active, drained := false, false
	for page := 0; page < w.cfg.MaxPages && !drained; page++ {
		var cl *drivev3.ChangeList
		err := w.sched.call(ctx, key, CallChangesList, 1, func(cctx context.Context) error {
			var err error
			cl, err = svc.Changes.List(tok).PageSize(w.cfg.PageSize).Spaces("drive").IncludeRemoved(true).
				IncludeItemsFromAllDrives(true).SupportsAllDrives(true).Fields(changesFields).Context(cctx).Do()
			return err
		})
		if err != nil {
			w.feedFailed(ctx, f, err)
			return
		}
		if cs := fromAPI(cl.Changes); len(cs) > 0 {
			if w.apply(key, cs) || forOthers {
				active = true
			}
			if w.cluster != nil {
				w.cluster.publishChanges(ctx, f.u.hash, cs)
			}
		}
		switch {
		case cl.NewStartPageToken != "":
			tok, drained = cl.NewStartPageToken, true
		case cl.NextPageToken != "":
			tok = cl.NextPageToken
		default:
			drained = true // neither token: keep ours and try again later
		}
		w.mu.Lock()
		f.token = tok
		w.mu.Unlock()
	}
	w.mu.Lock()
	f.lastPoll, f.spread = time.Now(), spread()
	if active || !drained || f.urgent {
		f.interval = w.cfg.MinInterval
	} else {
		f.interval = min(w.cfg.MaxInterval, time.Duration(float64(f.interval)*w.cfg.IdleGrowth))
	}
	w.mu.Unlock()
	if w.cluster != nil {
		w.saveToken(ctx, f, tok)
	}
}

// fromAPI keeps the file changes with a valid ID.
func fromAPI(in []*drivev3.Change) []change {
	out := make([]change, 0, len(in))
	for _, c := range in {
		switch {
		case !validFileID(c.FileId):
		case c.Removed:
			out = append(out, change{file: c.FileId, removed: true})
		case c.File != nil:
			out = append(out, change{file: c.FileId, version: c.File.Version})
		}
	}
	return out
}

// feedFailed acts on a failed poll: a gone grant ends the user; a refused
// page token is replaced; anything else waits for the next poll (the
// scheduler's backoff gates space the retries).
func (w *Watcher) feedFailed(ctx context.Context, f *feed, err error) {
	c := classify(ctx, err, w.cfg.IsRevoked)
	if errors.Is(err, ErrUnavailable) {
		c = classTransient
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f.lastPoll = time.Now()
	switch c {
	case classRevoked, classForbidden:
		w.log.Info("Drive feed ended", "class", c.String(), "err", err)
		w.dropUserLocked(f.u, watchError(c, err))
	case classFatal, classNotFound:
		w.log.Warn("Drive refused the page token; starting the feed over", "err", err)
		f.token = ""
	case classCanceled:
	default:
		w.log.Debug("Drive feed poll failed; will retry", "class", c.String(), "err", err)
	}
}
