package clientlimits

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address a request is limited as. It is the peer address, unless the
// peer is a trusted proxy: then X-Forwarded-For is walked from the right (the hop the
// nearest proxy appended) past every trusted address, and the first untrusted hop is the
// client. Hops a client wrote itself sit to the left of the one its first proxy appended, so
// they are never reached. A hop that does not parse ends the walk: the last good address
// (trusted, to its right) is used. When every hop is trusted, the leftmost one is. Addresses
// are returned unmapped (an IPv4-mapped IPv6 peer is IPv4) and without zone. The zero Addr
// means the peer address itself could not be read.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := PeerAddr(r)
	if !peer.IsValid() || !Trusted(trusted, peer) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		list := values[i]
		for list != "" {
			hop := list
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				list = ""
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue // "a, , b" or a trailing comma: no hop there
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !Trusted(trusted, a) {
				return client
			}
		}
	}
	return client
}

// PeerAddr returns the address of the request's peer (r.RemoteAddr), unmapped and without
// zone, or the zero Addr when RemoteAddr is not an address.
func PeerAddr(r *http.Request) netip.Addr {
	a, ok := parseHop(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	return a
}

// parseHop reads one address as it appears in RemoteAddr or an X-Forwarded-For hop:
// "1.2.3.4", "1.2.3.4:5", "::1", "[::1]:5".
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > 64 {
		return netip.Addr{}, false // longer than any address with port and zone
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Trusted reports whether a is inside one of the prefixes.
func Trusted(trusted []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses the --trusted-proxies value: a comma (or space) separated list
// of CIDR prefixes ("10.0.0.0/8", "fd00::/8") or single addresses ("192.0.2.7"). The empty
// string trusts nobody. IPv4-mapped IPv6 prefixes are turned into IPv4 ones.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not a CIDR prefix: %w", f, err)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix: %w", f, err)
			}
			if a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: zones are not allowed", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() {
			bits := p.Bits() - 96
			if bits < 0 {
				return nil, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix needs at least /96", f)
			}
			p = netip.PrefixFrom(a.Unmap(), bits)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
