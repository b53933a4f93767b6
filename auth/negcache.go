package auth

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// negCache remembers, briefly, credentials the upstream refused (401/403), so a client
// repeating a bad token does not call the upstream each time. It is a bounded LRU apart from
// the answers cache: a flood of random tokens evicts only other refusals, never a member's
// cached answer, and cannot grow memory past its size.
type negCache struct {
	ttl time.Duration
	lru *lru.Cache[Key, time.Time] // → expiry
}

func newNegCache(ttl time.Duration, size int) *negCache {
	c, err := lru.New[Key, time.Time](size)
	if err != nil { // only for size <= 0, which NewMemberships never passes
		panic("auth: negative cache: " + err.Error())
	}
	return &negCache{ttl: ttl, lru: c}
}

// has reports whether k was refused less than ttl ago.
func (c *negCache) has(k Key, now time.Time) bool {
	exp, ok := c.lru.Get(k)
	if !ok {
		return false
	}
	if !now.Before(exp) {
		c.lru.Remove(k)
		return false
	}
	return true
}

func (c *negCache) put(k Key, now time.Time) { c.lru.Add(k, now.Add(c.ttl)) }

func (c *negCache) remove(k Key) { c.lru.Remove(k) }

func (c *negCache) len() int { return c.lru.Len() }
