package drive

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// loadTimeout bounds a shared load: its callers may give up sooner, the
// load goes on for the others.
const loadTimeout = time.Minute

// ttlCache keeps answers for ttl, loads each key once at a time, and keeps
// at most max entries. Errors are kept only when keep says so.
type ttlCache[V any] struct {
	ttl  time.Duration
	max  int
	keep func(error) bool

	mu    sync.Mutex
	items map[string]cached[V]
	sf    singleflight.Group
}

type cached[V any] struct {
	val     V
	err     error
	expires time.Time
}

func newTTLCache[V any](ttl time.Duration, max int, keep func(error) bool) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, keep: keep, items: make(map[string]cached[V])}
}

// get returns the cached answer for key or loads it.
func (c *ttlCache[V]) get(ctx context.Context, key string, load func(ctx context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if it, ok := c.items[key]; ok && time.Now().Before(it.expires) {
		c.mu.Unlock()
		return it.val, it.err
	}
	c.mu.Unlock()
	ch := c.sf.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		v, err := load(lctx)
		if err == nil || c.keep(err) {
			c.put(key, cached[V]{val: v, err: err, expires: time.Now().Add(c.ttl)})
		}
		return v, err
	})
	select {
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	case res := <-ch:
		v, _ := res.Val.(V)
		return v, res.Err
	}
}

func (c *ttlCache[V]) put(key string, it cached[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= c.max {
		now := time.Now()
		for k, old := range c.items {
			if now.After(old.expires) || len(c.items) >= c.max {
				delete(c.items, k)
			}
		}
	}
	c.items[key] = it
}

// forget drops every key with prefix.
func (c *ttlCache[V]) forget(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.items {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(c.items, k)
		}
	}
}
