package auth

import (
	"testing"
	"time"
)

func key(i int) entryKey {
	return entryKey{cred: Credentials{Authorization: string(rune('a' + i))}.Key()}
}

func TestTTLCache_Expiry(t *testing.T) {
	c := newTTLCache(time.Minute, 10)
	t0 := time.Unix(1000, 0)
	c.put(key(0), result{unauthorized: true}, t0)
	if r, ok := c.get(key(0), t0.Add(time.Minute-time.Nanosecond)); !ok || !r.unauthorized {
		t.Fatalf("entry missing before its TTL: %v %v", r, ok)
	}
	if _, ok := c.get(key(0), t0.Add(time.Minute)); ok {
		t.Fatal("entry served at its TTL")
	}
	if n := c.len(); n != 0 {
		t.Fatalf("expired entry kept: len %d", n)
	}
}

func TestTTLCache_BoundEvictsExpiredThenOldest(t *testing.T) {
	c := newTTLCache(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	c.put(key(0), result{}, t0)
	c.put(key(1), result{}, t0.Add(30*time.Second))
	c.put(key(2), result{}, t0.Add(40*time.Second))
	c.put(key(1), result{}, t0.Add(50*time.Second)) // refresh moves 1 to the back
	c.put(key(3), result{}, t0.Add(61*time.Second)) // 0 expired: swept, no live entry lost
	now := t0.Add(61 * time.Second)
	for i, want := range []bool{false, true, true, true} {
		if _, ok := c.get(key(i), now); ok != want {
			t.Fatalf("after sweep key %d present=%v, want %v", i, ok, want)
		}
	}
	c.put(key(4), result{}, now) // full of live entries: oldest (2) evicted
	for i, want := range []bool{false, true, false, true, true} {
		if _, ok := c.get(key(i), now); ok != want {
			t.Fatalf("after eviction key %d present=%v, want %v", i, ok, want)
		}
	}
	if n := c.len(); n != 3 {
		t.Fatalf("len = %d, want 3", n)
	}
}

// Credentials the upstream refuses lose every cached org at once (per-org mode caches one
// entry per org), and other credentials keep theirs.
func TestTTLCache_RemoveCredForgetsEveryOrg(t *testing.T) {
	c := newTTLCache(time.Minute, 10)
	t0 := time.Unix(1000, 0)
	alice, bob := key(0).cred, key(1).cred
	for _, org := range []string{"a", "b", "c"} {
		c.put(entryKey{alice, org}, result{}, t0)
	}
	c.put(entryKey{bob, "a"}, result{}, t0)
	c.removeCred(alice)
	for _, org := range []string{"a", "b", "c"} {
		if _, ok := c.get(entryKey{alice, org}, t0); ok {
			t.Fatalf("alice's org %s survived removeCred", org)
		}
	}
	if _, ok := c.get(entryKey{bob, "a"}, t0); !ok {
		t.Fatal("bob's entry was removed with alice's")
	}
	if n := c.len(); n != 1 {
		t.Fatalf("len = %d, want 1", n)
	}
	// The per-credential index shrinks with its entries: expired or evicted orgs leave nothing.
	if _, ok := c.get(entryKey{bob, "a"}, t0.Add(time.Minute)); ok {
		t.Fatal("bob's entry served after its TTL")
	}
	if len(c.orgs) != 0 || len(c.items) != 0 {
		t.Fatalf("index keeps %d credentials, %d items after every entry expired", len(c.orgs), len(c.items))
	}
}
