package auth

import (
	"container/list"
	"sync"
	"time"
)

// result is a definite answer of the upstream for one credential.
type result struct {
	unauthorized bool            // the upstream refused the credentials (401/403)
	orgs         map[string]bool // org id (canonical decimal) → some membership has an allowed role
}

// ttlCache maps credential keys to results for a fixed TTL and holds at most
// max entries. Because every entry lives for the same TTL, insertion order is
// expiry order: the list's front is always the next to expire, so expired
// entries are swept from the front and, when full, the oldest entry is evicted
// in O(1). A flood of random tokens therefore cannot grow memory past max.
type ttlCache struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	items map[Key]*list.Element // of *cacheEntry
	order *list.List            // oldest first
}

type cacheEntry struct {
	key     Key
	res     result
	expires time.Time
}

func newTTLCache(ttl time.Duration, max int) *ttlCache {
	return &ttlCache{ttl: ttl, max: max, items: make(map[Key]*list.Element), order: list.New()}
}

func (c *ttlCache) get(k Key, now time.Time) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return result{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		return result{}, false
	}
	return e.res, true
}

func (c *ttlCache) put(k Key, r result, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry)
		e.res, e.expires = r, now.Add(c.ttl)
		c.order.MoveToBack(el)
		return
	}
	for front := c.order.Front(); front != nil; front = c.order.Front() {
		e := front.Value.(*cacheEntry)
		if now.Before(e.expires) && c.order.Len() < c.max {
			break
		}
		c.order.Remove(front)
		delete(c.items, e.key)
	}
	c.items[k] = c.order.PushBack(&cacheEntry{key: k, res: r, expires: now.Add(c.ttl)})
}

func (c *ttlCache) remove(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

func (c *ttlCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
