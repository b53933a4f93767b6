package drive

import "fmt"

// change is one entry of a change feed.
type change struct {
	file    string
	version int64
	removed bool // the feed's user lost access, or the file is gone
}

// apply records the changes seen in the feed of userKey ("" when that user
// has no watch here) and queues the callbacks: a newer version of a watched
// file is reported to every scope watching it; a removal ends that user's
// watches of the file. It reports whether a file this feed covers changed
// (whoever reported the new version first).
func (w *Watcher) apply(userKey string, cs []change) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	active, lost := false, false
	for _, c := range cs {
		f := w.files[c.file]
		if f == nil {
			continue
		}
		if c.removed {
			if userKey == "" || f.users[userKey] == 0 {
				continue
			}
			cause := fmt.Errorf("drive: %w: access to the file ended", ErrNotFound)
			for wid, s := range f.subs {
				if s.user == userKey {
					w.removeSubLocked(wid, c.file)
					w.events.push(event{lost: true, watcher: wid, file: c.file, err: cause})
				}
			}
			lost = true
			continue
		}
		if f.cover != nil && f.cover.key == userKey {
			active = true // a file this feed covers moves: poll it faster
		}
		if c.version <= f.version {
			continue
		}
		f.version = c.version
		for scope := range f.scopes {
			w.events.push(event{scope: scope, file: c.file, version: c.version})
		}
	}
	if lost {
		if u := w.users[userKey]; u != nil {
			w.dropIfIdleLocked(u)
		}
		w.rebalanceLocked()
	}
	return active
}
