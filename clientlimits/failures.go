package clientlimits

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// ErrRateLimited refuses a CONNECT whose client IP used up its admission failures. Its
// message, "rate_limited", is what the Socket.IO client's connect_error carries.
var ErrRateLimited = errors.New("rate_limited")

// DefaultFailureIPs bounds how many client IPs (IPv6: /64 prefixes) Failures remembers.
const DefaultFailureIPs = 65_536

// Failures limits failed admissions per client IP with a token bucket: every failure takes
// a token, tokens come back at a fixed rate, and while an IP's bucket is empty its CONNECTs
// are refused with ErrRateLimited before anything is asked upstream. Admissions that
// succeed cost nothing, however many run at once (a thousand members reconnecting through
// one NAT or an untrusted load balancer after a node restart); how many CONNECTs one
// address can have in flight is bounded per connection (namespaces) and by
// --max-connections-per-ip instead. The buckets
// live in an LRU of bounded size: a spray of addresses evicts old buckets instead of
// growing memory (an evicted IP starts again with a full bucket). IPv6 addresses are
// limited per /64, the block one host usually gets. A nil *Failures limits nothing.
type Failures struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets *simplelru.LRU[netip.Addr, *bucket]
}

type bucket struct {
	lim *rate.Limiter
}

// NewFailures allows burst failures per IP, refilled at limit per second, remembering at
// most maxIPs addresses (DefaultFailureIPs when <= 0).
func NewFailures(limit rate.Limit, burst, maxIPs int) (*Failures, error) {
	if limit <= 0 || burst < 1 {
		return nil, fmt.Errorf("clientlimits: admission failures: rate %v and burst %d must be positive", limit, burst)
	}
	if maxIPs <= 0 {
		maxIPs = DefaultFailureIPs
	}
	l, err := simplelru.NewLRU[netip.Addr, *bucket](maxIPs, nil)
	if err != nil {
		return nil, fmt.Errorf("clientlimits: admission failures: %w", err)
	}
	return &Failures{limit: limit, burst: burst, buckets: l}, nil
}

// Begin starts an admission from ip. It returns ok false when ip has no failure left to
// spend (refuse with ErrRateLimited, without an upstream call); otherwise call done exactly
// once with whether the admission failed (refused credentials or membership).
func (f *Failures) Begin(ip netip.Addr) (done func(failed bool), ok bool) {
	if f == nil {
		return func(bool) {}, true
	}
	k := bucketKey(ip)
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	b, found := f.buckets.Get(k)
	if !found {
		b = &bucket{lim: rate.NewLimiter(f.limit, f.burst)}
		f.buckets.Add(k, b)
	}
	if b.lim.TokensAt(now) < 1 {
		return nil, false
	}
	var once sync.Once
	return func(failed bool) {
		once.Do(func() {
			if failed {
				f.mu.Lock()
				defer f.mu.Unlock()
				b.lim.AllowN(time.Now(), 1) // a failure takes a token
			}
		})
	}, true
}

// Len returns how many IPs have a bucket.
func (f *Failures) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buckets.Len()
}

// bucketKey maps an address to its bucket: IPv4 (also IPv4-mapped IPv6) per address, IPv6
// per /64. The zero Addr (unknown peer) is one bucket of its own.
func bucketKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip.WithZone("")
}

// ParseFailureRate parses the --admission-failures-per-ip value: "off" (no limit: zero
// rate), or "N/s", "N/m" or "N/h" (tokens back per second, minute or hour) with an optional
// ",burst=B" (default: N, at least 1). Example: "1/s,burst=20".
func ParseFailureRate(s string) (limit rate.Limit, burst int, err error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return 0, 0, nil
	}
	bad := func(why string) (rate.Limit, int, error) {
		return 0, 0, fmt.Errorf("admission failure rate %q: %s (want e.g. \"1/s,burst=20\" or \"off\")", s, why)
	}
	spec, burstSpec, hasBurst := strings.Cut(s, ",")
	num, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return bad("no /unit")
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || n > 1e6 {
		return bad("the rate must be a positive number")
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if per == 0 {
		return bad("unit must be s, m or h")
	}
	limit = rate.Limit(n / per.Seconds())
	burst = max(1, int(n))
	if hasBurst {
		v, ok := strings.CutPrefix(strings.TrimSpace(burstSpec), "burst=")
		if !ok {
			return bad("expected burst=N after the comma")
		}
		burst, err = strconv.Atoi(v)
		if err != nil || burst < 1 || burst > 1_000_000 {
			return bad("burst must be a whole number from 1 to 1000000")
		}
	}
	return limit, burst, nil
}
