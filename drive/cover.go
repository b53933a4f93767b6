package drive

import "time"

// rebalanceLocked chooses which feeds cover the watched files: a greedy set
// cover, taking each time the user who watches the most files not yet
// covered (ties: a feed already covering, then the smaller key). Covering
// feeds are polled at the adaptive interval, the others every
// RecheckInterval. Every user with a watch keeps a feed, so when a
// covering user leaves, another feed takes over from its own page token and
// misses nothing.
func (w *Watcher) rebalanceLocked() {
	left := make(map[string]bool, len(w.files))
	count := make(map[*user]int, len(w.users))
	for id, f := range w.files {
		left[id] = true
		f.cover = nil
		for k := range f.users {
			if u := w.users[k]; u != nil {
				count[u]++
			}
		}
	}
	covers := make(map[*user]int, len(w.users))
	for len(left) > 0 {
		var best *user
		for u, n := range count {
			if n > 0 && (best == nil || better(u, n, best, count[best])) {
				best = u
			}
		}
		if best == nil {
			break // files whose users all left: they go with their last sub
		}
		for id := range best.files {
			if !left[id] {
				continue
			}
			f := w.files[id]
			f.cover = best
			covers[best]++
			delete(left, id)
			for k := range f.users {
				if u := w.users[k]; u != nil {
					count[u]--
				}
			}
		}
	}
	for _, u := range w.users {
		f := u.feed
		now := covers[u] > 0
		if now && !f.primary {
			f.announce = true
			f.leaseDue = time.Time{} // renew (and announce) at once
			f.quicken(w.cfg.MinInterval)
		}
		f.primary = now
		f.covers = covers[u]
	}
}

// better orders cover candidates: more files, then already covering, then
// the smaller key (so the choice is stable).
func better(u *user, n int, b *user, bn int) bool {
	if n != bn {
		return n > bn
	}
	if u.feed.primary != b.feed.primary {
		return u.feed.primary
	}
	return u.key < b.key
}
