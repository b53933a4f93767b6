package auth

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// newAPIMemberships checks memberships at a real FakeAPI.
func newAPIMemberships(t *testing.T, api *testenv.FakeAPI, cfg MembershipsConfig) *Memberships {
	t.Helper()
	cfg.URL = api.URL() + "/users/me/memberships"
	m, err := NewMemberships(cfg)
	if err != nil {
		t.Fatalf("NewMemberships: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

const membershipsPath = "/users/me/memberships"

// TestRandomTokenSprayKeepsNegativeCacheBounded: every random token is a distinct 401 the
// server must remember to spare the upstream; 100k of them must not grow memory past the
// negative cache's size nor evict a member's cached answer.
func TestRandomTokenSprayKeepsNegativeCacheBounded(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	m := newAPIMemberships(t, api, MembershipsConfig{})
	ctx := context.Background()
	if err := m.Check(ctx, bearer("member"), "1"); err != nil {
		t.Fatalf("member: %v", err)
	}
	// Through the upstream: 2,000 random tokens, each one upstream call and one refusal kept.
	for i := range 2000 {
		if err := m.Check(ctx, bearer(fmt.Sprintf("spray-%d", i)), "1"); err != ErrUnauthorized {
			t.Fatalf("random token %d: %v, want ErrUnauthorized", i, err)
		}
	}
	if n := m.Stats().RefusedCached; n != 2000 {
		t.Fatalf("refusals cached = %d, want 2000", n)
	}
	// 100k more refusals, stored as fetch stores an upstream 401, measured.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 100_000 {
		m.store(entryKey{cred: bearer(fmt.Sprintf("flood-%d", i)).Key()}, result{unauthorized: true})
		if i%10_000 == 0 {
			if n := m.Stats().RefusedCached; n > defaultNegEntries {
				t.Fatalf("after %d refusals the negative cache holds %d, bound %d", i+1, n, defaultNegEntries)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s := m.Stats()
	if s.RefusedCached != defaultNegEntries {
		t.Fatalf("negative cache holds %d after 100k refusals, want its size %d", s.RefusedCached, defaultNegEntries)
	}
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth after 100k refused tokens: %d KiB (negative cache %d entries)", growth>>10, s.RefusedCached)
	if growth > 8<<20 {
		t.Fatalf("heap grew %d bytes for a negative cache of %d entries", growth, s.RefusedCached)
	}
	// The member's answer survived the flood: no new upstream call.
	calls := api.Calls(membershipsPath)
	if err := m.Check(ctx, bearer("member"), "1"); err != nil {
		t.Fatalf("member after flood: %v", err)
	}
	if n := api.Calls(membershipsPath); n != calls {
		t.Fatalf("member's check after the flood called the upstream (%d → %d calls): answer evicted", calls, n)
	}
}

// TestRepeatedForgedTokenCostsOneUpstreamCall: a client repeating one bad token (alone or
// from many sockets at once) must cost one upstream call per negative TTL, not one per
// CONNECT; after the TTL the upstream is asked again (the token may have become valid).
func TestRepeatedForgedTokenCostsOneUpstreamCall(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetDelay(50 * time.Millisecond) // concurrent checks overlap the first call
	const negTTL = 500 * time.Millisecond
	m := newAPIMemberships(t, api, MembershipsConfig{NegativeTTL: negTTL})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- m.Check(context.Background(), bearer("forged"), "1") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != ErrUnauthorized {
			t.Fatalf("forged token: %v, want ErrUnauthorized", err)
		}
	}
	refusedAt := time.Now()
	for range 20 {
		if err := m.Check(context.Background(), bearer("forged"), "1"); err != ErrUnauthorized {
			t.Fatalf("forged token again: %v", err)
		}
	}
	if time.Since(refusedAt) < negTTL {
		if n := api.Calls(membershipsPath); n != 1 {
			t.Fatalf("upstream calls = %d for 70 checks of one forged token, want 1", n)
		}
	}
	// The token becomes valid upstream: once the refusal expired it is admitted.
	api.SetDelay(0)
	api.SetMemberships("forged", testenv.Membership{Org: 1, Role: "admin"})
	deadline := time.Now().Add(5 * time.Second)
	for m.Check(context.Background(), bearer("forged"), "1") != nil {
		if time.Now().After(deadline) {
			t.Fatal("a refusal outlived its negative TTL")
		}
		time.Sleep(negTTL / 5)
	}
}

// TestRevokedCredentialsForgetCachedMemberships: when a re-check finds the credentials
// refused (logout), their cached memberships must not keep admitting new sockets.
func TestRevokedCredentialsForgetCachedMemberships(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	m := newAPIMemberships(t, api, MembershipsConfig{TTL: time.Hour})
	if err := m.Check(context.Background(), bearer("alice"), "1"); err != nil {
		t.Fatalf("alice: %v", err)
	}
	api.RemoveCredential("alice")
	if _, err := m.lookup(context.Background(), bearer("alice"), "1", true); err != nil { // what a re-check does
		t.Fatalf("re-check: %v", err)
	}
	if err := m.Check(context.Background(), bearer("alice"), "1"); err != ErrUnauthorized {
		t.Fatalf("after logout: %v, want ErrUnauthorized (stale cached answer)", err)
	}
	if s := m.Stats(); s.CacheEntries != 0 || s.RefusedCached != 1 {
		t.Fatalf("answers cached = %d, refusals cached = %d, want 0 and 1", s.CacheEntries, s.RefusedCached)
	}
}
