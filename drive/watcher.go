package drive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
	drivev3 "google.golang.org/api/drive/v3"
)

// metaCacheMax and listCacheMax bound the caches' entries.
const (
	metaCacheMax = 100_000
	listCacheMax = 10_000
)

// User is whose token a call uses.
type User struct {
	// Key identifies the Google grant behind Tokens; use the session ID.
	// Feeds, rate limits and caches are per Key, and the Tokens of the
	// first Watch of a Key are used until that Key has no watch left.
	Key    string
	Tokens oauth2.TokenSource // refreshes through the session
}

// Sub is who watches: an opaque watcher ID (the socket) and the scope its
// room lives in (the namespace). Changed is reported once per scope.
type Sub struct {
	Watcher string
	Scope   string
}

// Watcher watches Drive files for many watchers. Its methods are safe for
// concurrent use.
type Watcher struct {
	cfg     Config
	log     *slog.Logger
	ctx     context.Context // ends everything at once: a "killed" node
	cancel  context.CancelFunc
	sched   *scheduler
	stats   *counters
	meta    *ttlCache[int64]
	lists   *ttlCache[[]File]
	starts  singleflight.Group
	events  *dispatcher
	cluster *cluster // nil without Redis
	feedsWG sync.WaitGroup
	bgWG    sync.WaitGroup

	mu     sync.Mutex
	closed bool
	users  map[string]*user
	byHash map[string]*user
	files  map[string]*file
	subs   map[string]map[string]sub // watcher → file → sub
}

// user is one Key with watches (or a Watch in flight).
type user struct {
	key, hash string
	svc       *drivev3.Service
	files     map[string]int // file → this user's subs of it
	pending   int            // Watch calls in flight
	dropErr   error          // set when the grant ended
	feed      *feed
}

// file is one watched file.
type file struct {
	id      string
	version int64          // last version reported (or seen at the first watch)
	cover   *user          // whose feed covers it
	subs    map[string]sub // watcher → sub
	users   map[string]int // user key → subs
	scopes  map[string]int // scope → subs
}

type sub struct{ user, scope string }

// New starts a Watcher. Cancelling ctx stops it at once, as a crash would
// (leases are left to expire); Close stops it gracefully.
func New(ctx context.Context, cfg Config) (*Watcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	st := newCounters()
	keepDenied := func(err error) bool {
		c := classify(context.Background(), err, cfg.IsRevoked)
		return c == classNotFound || c == classForbidden
	}
	w := &Watcher{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "drive", "node", cfg.NodeID),
		ctx:    wctx,
		cancel: cancel,
		stats:  st,
		meta:   newTTLCache[int64](cfg.MetaTTL, metaCacheMax, keepDenied),
		lists:  newTTLCache[[]File](cfg.ListTTL, listCacheMax, func(error) bool { return false }),
		events: newDispatcher(),
		users:  make(map[string]*user),
		byHash: make(map[string]*user),
		files:  make(map[string]*file),
		subs:   make(map[string]map[string]sub),
	}
	w.sched = newScheduler(&w.cfg, st)
	if cfg.Redis != nil {
		c, err := newCluster(wctx, &w.cfg, w.receive)
		if err != nil {
			cancel()
			return nil, err
		}
		w.cluster = c
	}
	w.bgWG.Add(1)
	go w.runEvents()
	return w, nil
}

// Close stops every feed, releases this node's leases, delivers the
// callbacks already due, and stops. Watch and List then fail with
// ErrClosed.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	for _, u := range w.users {
		u.feed.close()
	}
	w.mu.Unlock()
	w.feedsWG.Wait()
	w.events.finish()
	w.bgWG.Wait()
	w.cancel()
	if w.cluster != nil {
		return w.cluster.close()
	}
	return nil
}

// Stats returns the counters and the current state.
func (w *Watcher) Stats() Stats {
	var s Stats
	w.stats.fill(&s)
	w.mu.Lock()
	defer w.mu.Unlock()
	s.Users, s.Files = len(w.users), len(w.files)
	for _, fs := range w.subs {
		s.Watches += len(fs)
	}
	for _, u := range w.users {
		if u.feed.primary {
			s.CoveringFeeds++
		} else {
			s.OtherFeeds++
		}
		if u.feed.held {
			s.HeldFeeds++
		}
	}
	return s
}

// service returns the Drive client of u: its feed's, or a new one.
func (w *Watcher) service(ctx context.Context, u User) (*drivev3.Service, error) {
	w.mu.Lock()
	if usr := w.users[u.Key]; usr != nil {
		w.mu.Unlock()
		return usr.svc, nil
	}
	w.mu.Unlock()
	svc, err := w.cfg.NewService(w.ctx, u.Tokens)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return svc, nil
}

// userLocked returns the user of key, creating it and starting its feed.
func (w *Watcher) userLocked(key string, svc *drivev3.Service) *user {
	if u := w.users[key]; u != nil {
		return u
	}
	sum := sha256.Sum256([]byte(key))
	u := &user{key: key, hash: hex.EncodeToString(sum[:16]), svc: svc, files: make(map[string]int)}
	u.feed = newFeed(u, w.cfg.MinInterval, w.cluster == nil)
	w.users[key] = u
	w.byHash[u.hash] = u
	w.feedsWG.Add(1)
	go w.runFeed(u.feed)
	return u
}

// dropUserLocked ends u: its feed stops and each of its watches is
// reported lost with cause (when cause is not nil).
func (w *Watcher) dropUserLocked(u *user, cause error) {
	if w.users[u.key] != u {
		return
	}
	if cause != nil {
		u.dropErr = cause
		for fid := range u.files {
			f := w.files[fid]
			for wid, s := range f.subs {
				if s.user == u.key {
					w.removeSubLocked(wid, fid)
					w.events.push(event{lost: true, watcher: wid, file: fid, err: cause})
				}
			}
		}
	}
	delete(w.users, u.key)
	delete(w.byHash, u.hash)
	u.feed.close()
	w.meta.forget(u.key + "\x00")
	w.lists.forget(u.key + "\x00")
	w.rebalanceLocked()
}

// dropIfIdleLocked ends u when it has no watch and no Watch in flight.
func (w *Watcher) dropIfIdleLocked(u *user) {
	if len(u.files) == 0 && u.pending == 0 {
		w.dropUserLocked(u, nil)
	}
}
