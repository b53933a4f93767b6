package drive

import (
	"context"
	"errors"
	"fmt"

	drivev3 "google.golang.org/api/drive/v3"
)

// Watch verifies with u's own token that u can read fileID, then adds the
// watch and returns the file's version. Errors wrap ErrForbidden (with
// ErrRevoked when the grant is gone), ErrNotFound (no such file or no
// access, including ErrInvalidFileID) or ErrUnavailable (quota, Google
// down, ErrTooManyFiles, ErrClosed). Watching a file twice is one watch.
//
// ctx bounds the check. A caller that also calls Forget for this watcher
// must cancel ctx first: a Watch that returns after Forget then adds
// nothing.
func (w *Watcher) Watch(ctx context.Context, u User, s Sub, fileID string) (int64, error) {
	switch {
	case !validFileID(fileID):
		return 0, ErrInvalidFileID
	case u.Key == "" || u.Tokens == nil || s.Watcher == "":
		return 0, fmt.Errorf("drive: %w: Watch needs a user key, a token source and a watcher", ErrUnavailable)
	}
	svc, err := w.service(ctx, u)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	if v, done, err := w.precheckLocked(s.Watcher, fileID); done {
		w.mu.Unlock()
		return v, err
	}
	usr := w.userLocked(u.Key, svc)
	usr.pending++
	w.mu.Unlock()

	// The feed's page token is taken before the check, so a change right
	// after the check is in the feed.
	err = w.ensureToken(ctx, usr.feed, w.cfg.MaxAttempts)
	var version int64
	if err == nil {
		version, err = w.meta.get(ctx, usr.key+"\x00"+fileID, func(lctx context.Context) (int64, error) {
			return w.getVersion(lctx, usr.key, usr.svc, fileID)
		})
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	usr.pending--
	if usr.dropErr != nil {
		return 0, usr.dropErr
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err == nil {
		if v, done, perr := w.precheckLocked(s.Watcher, fileID); done {
			w.dropIfIdleLocked(usr)
			return v, perr
		}
		return w.addSubLocked(s, usr, fileID, version), nil
	}
	c := classify(ctx, err, w.cfg.IsRevoked)
	if errors.Is(err, ErrUnavailable) {
		c = classTransient
	}
	if c == classRevoked {
		// The grant is gone: so is every watch of this user.
		w.dropUserLocked(usr, watchError(c, err))
	} else {
		w.dropIfIdleLocked(usr)
	}
	return 0, watchError(c, err)
}

// precheckLocked answers a Watch without Google when it can: closed,
// already watched (the current version), or over the per-watcher cap.
func (w *Watcher) precheckLocked(watcher, fileID string) (int64, bool, error) {
	if w.closed {
		return 0, true, ErrClosed
	}
	fs := w.subs[watcher]
	if _, ok := fs[fileID]; ok {
		return w.files[fileID].version, true, nil
	}
	if len(fs) >= w.cfg.MaxFilesPerWatcher {
		return 0, true, ErrTooManyFiles
	}
	return 0, false, nil
}

// getVersion is files.get(fields=id,version) with key's token.
func (w *Watcher) getVersion(ctx context.Context, key string, svc *drivev3.Service, fileID string) (int64, error) {
	var f *drivev3.File
	err := w.sched.call(ctx, key, CallFilesGet, w.cfg.MaxAttempts, func(cctx context.Context) error {
		var err error
		f, err = svc.Files.Get(fileID).Fields("id", "version").SupportsAllDrives(true).Context(cctx).Do()
		return err
	})
	if err != nil {
		return 0, err
	}
	return f.Version, nil
}

// addSubLocked records a verified watch and returns the version to ack.
func (w *Watcher) addSubLocked(s Sub, u *user, fileID string, version int64) int64 {
	f := w.files[fileID]
	if f == nil {
		// The first watch: nothing was reported yet, so the checked version
		// is the baseline. Later checks never raise it: a newer version
		// must still reach the earlier watchers through a feed.
		f = &file{id: fileID, version: version, subs: make(map[string]sub),
			users: make(map[string]int), scopes: make(map[string]int)}
		w.files[fileID] = f
	}
	if w.subs[s.Watcher] == nil {
		w.subs[s.Watcher] = make(map[string]sub)
	}
	sb := sub{user: u.key, scope: s.Scope}
	w.subs[s.Watcher][fileID] = sb
	f.subs[s.Watcher] = sb
	f.users[u.key]++
	f.scopes[s.Scope]++
	u.files[fileID]++
	w.rebalanceLocked()
	if f.cover != nil {
		f.cover.feed.quicken(w.cfg.MinInterval)
	}
	return max(version, f.version)
}

// removeSubLocked forgets one watch. The caller drops idle users and
// rebalances.
func (w *Watcher) removeSubLocked(watcher, fileID string) *user {
	sb, ok := w.subs[watcher][fileID]
	if !ok {
		return nil
	}
	delete(w.subs[watcher], fileID)
	if len(w.subs[watcher]) == 0 {
		delete(w.subs, watcher)
	}
	f := w.files[fileID]
	delete(f.subs, watcher)
	decr(f.users, sb.user)
	decr(f.scopes, sb.scope)
	if len(f.subs) == 0 {
		delete(w.files, fileID)
	}
	u := w.users[sb.user]
	if u != nil {
		decr(u.files, fileID)
	}
	return u
}

func decr(m map[string]int, k string) {
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// Unwatch ends one watch. It reports nothing through Lost.
func (w *Watcher) Unwatch(watcherID, fileID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if u := w.removeSubLocked(watcherID, fileID); u != nil {
		w.dropIfIdleLocked(u)
	}
	w.rebalanceLocked()
}

// Forget ends every watch of a watcher (its socket is gone).
func (w *Watcher) Forget(watcherID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for fid := range w.subs[watcherID] {
		if u := w.removeSubLocked(watcherID, fid); u != nil {
			w.dropIfIdleLocked(u)
		}
	}
	w.rebalanceLocked()
}

// PollNow asks for an early poll of the feed of userKey, for example when
// a Drive push notification (changes.watch) names it. The feed still polls
// at most once per MinInterval, so a flood of notifications costs no more
// than an active feed.
func (w *Watcher) PollNow(userKey string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if u := w.users[userKey]; u != nil {
		u.feed.quicken(w.cfg.MinInterval)
	}
}
