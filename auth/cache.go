package auth

import (
	"container/list"
	"sync"
	"time"
)

// result is a definite upstream answer for one credential (list mode) or for one
// (credential, org) pair (per-org mode).
type result struct {
	unauthorized bool            // the upstream refused the credentials
	orgs         map[string]bool // org ID → some membership has an allowed role; absent: not a member
}

// entryKey names one cached answer: the credential's key and, in per-org mode, the org it
// is about ("" in list mode, where one answer covers every org of the credential).
type entryKey struct {
	cred Key
	org  string
}

// ttlCache maps entry keys to results for a fixed TTL and holds at most max entries.
// Because every entry lives for the same TTL, insertion order is expiry order: the list's
// front is always the next to expire, so expired entries are swept from the front and,
// when full, the oldest entry is evicted in O(1). A flood of random tokens (or of random
// orgs in per-org mode) therefore cannot grow memory past max. Entries are indexed by
// credential too, so that credentials the upstream refuses lose every cached org at once.
type ttlCache struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	items map[entryKey]*list.Element // of *cacheEntry
	order *list.List                 // oldest first
	// orgs indexes per-org entries (org != "") by credential. List-mode entries need no
	// index (one per credential), so list mode pays no map per credential.
	orgs map[Key]map[string]struct{}
}

type cacheEntry struct {
	key     entryKey
	res     result
	expires time.Time
}

func newTTLCache(ttl time.Duration, max int) *ttlCache {
	return &ttlCache{ttl: ttl, max: max, items: make(map[entryKey]*list.Element), order: list.New(),
		orgs: make(map[Key]map[string]struct{})}
}

func (c *ttlCache) get(k entryKey, now time.Time) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return result{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.removeLocked(el)
		return result{}, false
	}
	return e.res, true
}

func (c *ttlCache) put(k entryKey, r result, now time.Time) {
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
		c.removeLocked(front)
	}
	c.items[k] = c.order.PushBack(&cacheEntry{key: k, res: r, expires: now.Add(c.ttl)})
	if k.org != "" {
		orgs := c.orgs[k.cred]
		if orgs == nil {
			orgs = make(map[string]struct{}, 1)
			c.orgs[k.cred] = orgs
		}
		orgs[k.org] = struct{}{}
	}
}

// removeCred forgets every cached answer of one credential.
func (c *ttlCache) removeCred(cred Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[entryKey{cred: cred}]; ok {
		c.removeLocked(el)
	}
	for org := range c.orgs[cred] {
		c.removeLocked(c.items[entryKey{cred, org}])
	}
}

func (c *ttlCache) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.items, e.key)
	if e.key.org == "" {
		return
	}
	orgs := c.orgs[e.key.cred]
	delete(orgs, e.key.org)
	if len(orgs) == 0 {
		delete(c.orgs, e.key.cred)
	}
}

func (c *ttlCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
