package clientlimits

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// TestConnsCapsOneIP: without a cap one address can hold sessions until the process runs
// out of memory or descriptors; with it, the IP's next one is refused and other IPs are not
// affected.
func TestConnsCapsOneIP(t *testing.T) {
	c := NewConns(ConnsConfig{Max: 3, ProxiesTrusted: true})
	a, b := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	var rel []func()
	for i := 0; i < 3; i++ {
		r, ok := c.Acquire(a)
		if !ok {
			t.Fatalf("slot %d refused", i)
		}
		rel = append(rel, r)
	}
	if _, ok := c.Acquire(a); ok {
		t.Fatal("fourth slot of one IP granted")
	}
	if _, ok := c.Acquire(b); !ok {
		t.Fatal("another IP refused")
	}
	rel[0]()
	rel[0]() // twice: no effect
	if n := c.Count(a); n != 2 {
		t.Fatalf("count %d after one release (called twice), want 2", n)
	}
	if _, ok := c.Acquire(a); !ok {
		t.Fatal("freed slot not granted")
	}
}

// TestConnsIPv6CountsPerSlash64: one IPv6 host usually holds a whole /64; counting per
// address would let it open a session from each of 2^64 addresses.
func TestConnsIPv6CountsPerSlash64(t *testing.T) {
	c := NewConns(ConnsConfig{Max: 2, ProxiesTrusted: true})
	for _, s := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if _, ok := c.Acquire(netip.MustParseAddr(s)); !ok {
			t.Fatalf("%s refused", s)
		}
	}
	if _, ok := c.Acquire(netip.MustParseAddr("2001:db8:1:2::77")); ok {
		t.Error("third address of the same /64 granted")
	}
	if _, ok := c.Acquire(netip.MustParseAddr("2001:db8:1:3::1")); !ok {
		t.Error("another /64 refused")
	}
	if _, ok := c.Acquire(netip.MustParseAddr("::ffff:203.0.113.1")); !ok {
		t.Error("mapped IPv4 refused")
	}
	if n := c.Count(netip.MustParseAddr("203.0.113.1")); n != 1 {
		t.Errorf("mapped and plain IPv4 counted apart (%d)", n)
	}
}

// TestConnsThousandCyclesReturnToZero: a slot that leaks on release locks its IP out for
// good once the cap is reached; 1,000 concurrent acquire/release cycles end with nothing held.
func TestConnsThousandCyclesReturnToZero(t *testing.T) {
	c := NewConns(ConnsConfig{Max: 8, ProxiesTrusted: true})
	ip := netip.MustParseAddr("198.51.100.4")
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 125; i++ {
				rel, ok := c.Acquire(ip)
				if !ok {
					continue
				}
				mu.Lock()
				granted++
				mu.Unlock()
				rel()
				rel()
			}
		}()
	}
	wg.Wait()
	if s, ips := c.Total(); s != 0 || ips != 0 {
		t.Errorf("after 1,000 cycles: %d slots held by %d IPs, want 0", s, ips)
	}
	if granted != 1000 {
		t.Errorf("%d of 1,000 cycles granted with 8 workers under a cap of 8", granted)
	}
}

// TestConnsLogsPointAtTrustedProxies: behind a proxy nobody listed in --trusted-proxies,
// every client shares the proxy's address; the refusal (and the warning before it) must
// say how to fix that, and a flood of refusals must not flood the log.
func TestConnsLogsPointAtTrustedProxies(t *testing.T) {
	var buf bytes.Buffer
	c := NewConns(ConnsConfig{Max: 4, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	ip := netip.MustParseAddr("172.18.0.5")
	for i := 0; i < 4; i++ {
		c.Acquire(ip)
	}
	for i := 0; i < 1000; i++ {
		if _, ok := c.Acquire(ip); ok {
			t.Fatal("over the cap granted")
		}
	}
	out := buf.String()
	if !strings.Contains(out, "one client IP holds many sessions") || !strings.Contains(out, "--trusted-proxies") ||
		!strings.Contains(out, "client_ip=172.18.0.5") || !strings.Contains(out, "connection refused") {
		t.Errorf("log lacks the warning, the refusal or the hint:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 5 {
		t.Errorf("%d log lines for 1,000 refusals, want a handful", n)
	}

	buf.Reset()
	quiet := NewConns(ConnsConfig{Max: 2, ProxiesTrusted: true, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	quiet.Acquire(ip)
	quiet.Acquire(ip)
	quiet.Acquire(ip)
	if out := buf.String(); strings.Contains(out, "hint") || !strings.Contains(out, "connection refused") {
		t.Errorf("with trusted proxies: %q, want the refusal without the proxy hint", out)
	}
}

// TestNilAndUncappedConns: --max-connections-per-ip 0 limits nothing.
func TestNilAndUncappedConns(t *testing.T) {
	var c *Conns
	if rel, ok := c.Acquire(netip.Addr{}); !ok {
		t.Error("nil Conns refused")
	} else {
		rel()
	}
	u := NewConns(ConnsConfig{Max: 0})
	for i := 0; i < 10_000; i++ {
		if _, ok := u.Acquire(netip.MustParseAddr("192.0.2.1")); !ok {
			t.Fatal("uncapped Conns refused")
		}
	}
}
