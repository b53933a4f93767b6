package drive

import (
	"context"
	"time"
)

// leaseTick renews or tries to take the feed's lease, marks the feed hot
// when it covers files here, and wakes the holder of a newly covering feed.
func (w *Watcher) leaseTick(ctx context.Context, f *feed) {
	w.mu.Lock()
	primary, wasHeld, announce := f.primary, f.held, f.announce
	f.announce = false
	w.mu.Unlock()
	start := time.Now()
	held, hot, err := w.cluster.tick(ctx, f.u.hash, primary)
	var tok string
	if err == nil && held && !wasHeld {
		tok, err = w.cluster.loadToken(ctx, f.u.hash)
	}
	w.mu.Lock()
	f.leaseDue = start.Add(w.cfg.LeaseTTL / 3)
	switch {
	case err != nil:
		if f.held && time.Now().After(f.heldUntil) {
			w.log.Warn("Drive feed lease lost: Redis unreachable; polling stops until it is back", "err", err)
			f.held, f.token = false, ""
		} else {
			w.log.Debug("Drive feed lease not renewed", "err", err)
		}
	case held:
		f.heldUntil = start.Add(w.cfg.LeaseTTL)
		if !f.held {
			f.held, f.token = true, tok
			f.lastPoll = time.Time{} // catch up at once
		}
	default:
		f.held, f.token = false, ""
	}
	if err == nil {
		if hot && !f.hot {
			f.interval = w.cfg.MinInterval
		}
		f.hot = hot
	}
	notHeld := !f.held
	w.mu.Unlock()
	if err == nil && announce && primary && notHeld {
		if perr := w.cluster.publish(ctx, wireMsg{Feed: f.u.hash, Wake: true}); perr != nil {
			w.log.Warn("Drive feed wake-up", "err", perr)
		}
	}
}

// saveToken stores the feed's page token for the next holder; a lost lease
// ends this node's polling of the feed.
func (w *Watcher) saveToken(ctx context.Context, f *feed, tok string) {
	ok, err := w.cluster.saveToken(ctx, f.u.hash, tok)
	if err != nil {
		w.log.Warn("Drive feed page token not shared", "err", err)
		return
	}
	if !ok {
		w.mu.Lock()
		f.held, f.token = false, ""
		w.mu.Unlock()
	}
}

// releaseLease gives the feed's lease up (on Close or when its user left).
func (w *Watcher) releaseLease(f *feed) {
	w.mu.Lock()
	held := f.held
	w.mu.Unlock()
	if w.cluster == nil || !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), releaseTimeout)
	defer cancel()
	if err := w.cluster.release(ctx, f.u.hash); err != nil {
		w.log.Warn("Drive feed lease not released", "err", err)
	}
}

// receive applies what another node published.
func (w *Watcher) receive(msg wireMsg) {
	if msg.Wake {
		w.mu.Lock()
		if u := w.byHash[msg.Feed]; u != nil && u.feed.held {
			u.feed.leaseDue = time.Time{}
			u.feed.poke()
		}
		w.mu.Unlock()
		return
	}
	cs := make([]change, 0, len(msg.Changes))
	for _, c := range msg.Changes {
		if validFileID(c.File) {
			cs = append(cs, change{file: c.File, version: c.Version, removed: c.Removed})
		}
	}
	w.mu.Lock()
	key := ""
	if u := w.byHash[msg.Feed]; u != nil {
		key = u.key
	}
	w.mu.Unlock()
	w.apply(key, cs)
}
