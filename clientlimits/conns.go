package clientlimits

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxConnectionsPerIP is the default of --max-connections-per-ip. It is generous on
// purpose: an office behind one NAT address, or every user of a gateway behind a proxy that
// is not listed in --trusted-proxies, shares one address, and must keep working; one host
// still cannot hold more than this many sessions (a few tens of MB at most).
const DefaultMaxConnectionsPerIP = 1024

// ConnsConfig configures NewConns.
type ConnsConfig struct {
	// Max is the number of sessions (open sockets and pending handshakes) one client IP may
	// hold; 0 or less: no limit (Acquire only counts).
	Max int
	// ProxiesTrusted tells whether --trusted-proxies lists any proxy. When it does not, an
	// address that holds many sessions may be a proxy every client shares, and the log
	// lines say so.
	ProxiesTrusted bool
	Logger         *slog.Logger
}

// Conns counts the sessions each client IP holds (IPv6: per /64, the block one host usually
// gets) and refuses one past the limit. An IP's entry is removed when its count drops to 0,
// so memory follows the sessions that are open. A nil *Conns limits nothing.
type Conns struct {
	max     int
	proxies bool
	log     *slog.Logger
	logs    *rate.Limiter // bounds the warnings an attack can cause
	dropped atomic.Int64  // warnings not logged since the last one

	mu    sync.Mutex
	n     map[netip.Addr]int
	total int
}

// NewConns returns a counter with cfg.
func NewConns(cfg ConnsConfig) *Conns {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Conns{
		max:     cfg.Max,
		proxies: cfg.ProxiesTrusted,
		log:     cfg.Logger,
		logs:    rate.NewLimiter(rate.Every(10*time.Second), 3),
		n:       make(map[netip.Addr]int),
	}
}

// Acquire takes one of ip's slots. ok false: ip holds the maximum already (answer 429).
// Otherwise release gives the slot back; calling it more than once has no further effect.
func (c *Conns) Acquire(ip netip.Addr) (release func(), ok bool) {
	if c == nil {
		return func() {}, true
	}
	k := slotKey(ip)
	c.mu.Lock()
	n := c.n[k]
	if c.max > 0 && n >= c.max {
		c.mu.Unlock()
		c.warn("connection refused: client IP holds --max-connections-per-ip sessions", ip, n)
		return nil, false
	}
	n++
	c.n[k] = n
	c.total++
	c.mu.Unlock()
	if c.max > 1 && !c.proxies && n == c.max/2 {
		c.warn("one client IP holds many sessions", ip, n)
	}
	var once atomic.Bool
	return func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n[k]--; c.n[k] <= 0 {
			delete(c.n, k)
		}
		c.total--
	}, true
}

func (c *Conns) warn(msg string, ip netip.Addr, n int) {
	if !c.logs.Allow() {
		c.dropped.Add(1)
		return
	}
	args := []any{"client_ip", ip.String(), "sessions", n, "limit", c.max, "suppressed", c.dropped.Swap(0)}
	if !c.proxies {
		args = append(args, "hint", "no --trusted-proxies is set: if this address is a proxy or load balancer, every client behind it shares its slots; list it in --trusted-proxies")
	}
	c.log.Warn(msg, args...)
}

// Count returns the sessions ip (its /64 for IPv6) holds.
func (c *Conns) Count(ip netip.Addr) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[slotKey(ip)]
}

// Total returns the sessions held by all IPs, and how many IPs hold at least one.
func (c *Conns) Total() (sessions, ips int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.n)
}

// slotKey maps an address to its counter: IPv4 (also IPv4-mapped IPv6) per address, IPv6
// per /64. The zero Addr (unknown peer) is one counter of its own.
func slotKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip.WithZone("")
}
