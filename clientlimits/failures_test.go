package clientlimits

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func mustFailures(t *testing.T, limit rate.Limit, burst, maxIPs int) *Failures {
	t.Helper()
	f, err := NewFailures(limit, burst, maxIPs)
	if err != nil {
		t.Fatalf("NewFailures: %v", err)
	}
	return f
}

// fail begins one admission from ip and ends it failed; it reports whether it was allowed.
func fail(f *Failures, ip netip.Addr) bool {
	done, ok := f.Begin(ip)
	if ok {
		done(true)
	}
	return ok
}

// TestBadCredentialFloodFromOneIPStopsAtBurst: each failed CONNECT may have cost an
// upstream call; one address must not buy more than its bucket, while admissions that
// succeed cost nothing and other addresses keep theirs.
func TestBadCredentialFloodFromOneIPStopsAtBurst(t *testing.T) {
	f := mustFailures(t, rate.Every(time.Hour), 5, 0)
	attacker, user := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for range 100 { // successes do not spend
		done, ok := f.Begin(attacker)
		if !ok {
			t.Fatal("a successful admission spent the bucket")
		}
		done(false)
	}
	allowed := 0
	for range 2000 {
		if fail(f, attacker) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("%d failed admissions allowed from one IP, want the burst 5", allowed)
	}
	if !fail(f, user) {
		t.Fatal("another IP was limited by the attacker's failures")
	}
}

// TestManyConcurrentMembersFromOneIPAllAdmitted: behind a NAT or a load balancer without
// --trusted-proxies, a node restart makes a thousand members reconnect at once from one
// address; admissions that do not fail must never be refused (the bucket counts failures,
// and concurrency is bounded per connection and by --max-connections-per-ip instead).
func TestManyConcurrentMembersFromOneIPAllAdmitted(t *testing.T) {
	f := mustFailures(t, rate.Every(time.Hour), 3, 0)
	ip := netip.MustParseAddr("198.51.100.7")
	var dones []func(bool)
	for range 1000 {
		done, ok := f.Begin(ip)
		if !ok {
			t.Fatalf("admission %d from one IP refused with no failure yet", len(dones))
		}
		dones = append(dones, done)
	}
	for _, d := range dones {
		d(false)
	}
	dones[0](true) // done twice does nothing
	for range 3 {
		if done, ok := f.Begin(ip); ok {
			done(true)
		}
	}
	if fail(f, ip) {
		t.Fatal("admission allowed with every token spent")
	}
}

// TestBucketRefills: the limit is a rate, not a ban: a client that stops failing gets
// admissions again.
func TestBucketRefills(t *testing.T) {
	f := mustFailures(t, 50, 1, 0) // a token every 20ms
	ip := netip.MustParseAddr("203.0.113.9")
	if !fail(f, ip) || fail(f, ip) {
		t.Fatal("burst 1: want one failure allowed, then refused")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !fail(f, ip) {
		if time.Now().After(deadline) {
			t.Fatal("bucket never refilled")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAddressSprayKeepsBucketsBounded: an attacker with many addresses (an IPv6 block, a
// botnet) creates one bucket per address; they must stay within the LRU's size.
func TestAddressSprayKeepsBucketsBounded(t *testing.T) {
	const maxIPs = 1000
	f := mustFailures(t, 1, 1, maxIPs)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range 100_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		fail(f, ip)
		if n := f.Len(); n > maxIPs {
			t.Fatalf("%d buckets after %d addresses, bound %d", n, i+1, maxIPs)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap growth after 100k addresses: %d KiB (%d buckets)", growth>>10, f.Len())
	if growth > 2<<20 {
		t.Fatalf("heap grew %d bytes for %d buckets", growth, f.Len())
	}
}

// TestIPv6HostSharesOneBucketPerSlash64: one IPv6 host can use any of the 2^64 addresses
// of its /64; limiting per address would limit nothing.
func TestIPv6HostSharesOneBucketPerSlash64(t *testing.T) {
	f := mustFailures(t, rate.Every(time.Hour), 2, 0)
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::99")
	other := netip.MustParseAddr("2001:db8:1:3::1")
	if !fail(f, a) || !fail(f, b) || fail(f, a) {
		t.Fatal("two addresses of one /64 did not share a burst of 2")
	}
	if !fail(f, other) {
		t.Fatal("another /64 was limited")
	}
	v4 := netip.MustParseAddr("192.0.2.50")
	if !fail(f, netip.AddrFrom16(v4.As16())) || !fail(f, v4) || fail(f, v4) {
		t.Fatal("an IPv4-mapped address did not share the IPv4 address's bucket")
	}
}

func TestNilFailuresLimitsNothing(t *testing.T) {
	var f *Failures
	for range 100 {
		if !fail(f, netip.MustParseAddr("192.0.2.1")) {
			t.Fatal("nil Failures refused")
		}
	}
}

func TestParseFailureRate(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit rate.Limit
		burst int
	}{
		{"1/s,burst=20", 1, 20},
		{"10/s", 10, 10},
		{"0.5/s", 0.5, 1},
		{"60/m, burst=5", 1, 5},
		{"3600/h", 1, 3600},
		{"off", 0, 0},
		{"0", 0, 0},
	} {
		limit, burst, err := ParseFailureRate(tt.in)
		if err != nil || limit != tt.limit || burst != tt.burst {
			t.Errorf("ParseFailureRate(%q) = %v, %d, %v; want %v, %d", tt.in, limit, burst, err, tt.limit, tt.burst)
		}
	}
	for _, in := range []string{"", "10", "10/d", "-1/s", "x/s", "1/s,20", "1/s,burst=0", "1/s,burst=x", "1e9/s"} {
		if _, _, err := ParseFailureRate(in); err == nil {
			t.Errorf("ParseFailureRate(%q) accepted", in)
		}
	}
	if _, err := NewFailures(0, 1, 0); err == nil {
		t.Error("NewFailures with rate 0 accepted")
	}
}
