package clientlimits

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientIPTrustsOnlyListedProxies: X-Forwarded-For is written by whoever sends the
// request; believing it from anyone lets one client spread its connections over invented
// addresses (or pin them on a victim's), so only hops added by trusted proxies count.
func TestClientIPTrustsOnlyListedProxies(t *testing.T) {
	proxies := mustPrefixes(t, "10.0.0.0/8, 192.0.2.7 fd00::/8")
	cases := []struct {
		name, peer string
		xff        []string
		trusted    []netip.Prefix
		want       string
	}{
		{"no proxy trusted: peer, XFF ignored", "198.51.100.1:5000", []string{"203.0.113.5"}, nil, "198.51.100.1"},
		{"untrusted peer: XFF ignored", "198.51.100.1:5000", []string{"203.0.113.5"}, proxies, "198.51.100.1"},
		{"trusted peer: last hop", "10.1.2.3:5000", []string{"203.0.113.5"}, proxies, "203.0.113.5"},
		{"spoofed hops left of the real one", "10.1.2.3:5000", []string{"1.1.1.1, 2.2.2.2, 203.0.113.5"}, proxies, "203.0.113.5"},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.5, 192.0.2.7, 10.9.9.9"}, proxies, "203.0.113.5"},
		{"several header lines", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.5, 10.4.4.4"}, proxies, "203.0.113.5"},
		{"every hop trusted: leftmost", "10.1.2.3:5000", []string{"10.7.7.7, 10.8.8.8"}, proxies, "10.7.7.7"},
		{"trusted peer, no XFF: peer", "10.1.2.3:5000", nil, proxies, "10.1.2.3"},
		{"garbage hop ends the walk", "10.1.2.3:5000", []string{"203.0.113.5, nonsense, 10.8.8.8"}, proxies, "10.8.8.8"},
		{"garbage last hop: the proxy", "10.1.2.3:5000", []string{"203.0.113.5, <script>"}, proxies, "10.1.2.3"},
		{"empty hops skipped", "10.1.2.3:5000", []string{"203.0.113.5, , "}, proxies, "203.0.113.5"},
		{"hop with port", "10.1.2.3:5000", []string{"203.0.113.5:4711"}, proxies, "203.0.113.5"},
		{"IPv6 hop", "[fd00::1]:5000", []string{"2001:db8::7"}, proxies, "2001:db8::7"},
		{"bracketed IPv6 hop with port", "[fd00::1]:5000", []string{"[2001:db8::7]:80"}, proxies, "2001:db8::7"},
		{"mapped IPv4 peer is IPv4", "[::ffff:10.1.2.3]:5000", []string{"203.0.113.5"}, proxies, "203.0.113.5"},
		{"overlong hop is garbage", "10.1.2.3:5000", []string{strings.Repeat("9", 100)}, proxies, "10.1.2.3"},
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, c.trusted); got != netip.MustParseAddr(c.want) {
			t.Errorf("%s: ClientIP = %v, want %s", c.name, got, c.want)
		}
	}
	if got := ClientIP(&http.Request{RemoteAddr: "pipe", Header: http.Header{}}, proxies); got.IsValid() {
		t.Errorf("unreadable peer: %v, want the zero Addr", got)
	}
}

// TestParseTrustedProxiesRejectsGarbage: a typo in --trusted-proxies must stop the start, not
// silently trust nobody (or everybody).
func TestParseTrustedProxiesRejectsGarbage(t *testing.T) {
	p := mustPrefixes(t, " 10.0.0.0/8,192.0.2.7, 2001:db8::/32 ::ffff:172.16.0.0/108")
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "172.16.0.0/12"}
	if len(p) != len(want) {
		t.Fatalf("parsed %v, want %v", p, want)
	}
	for i := range want {
		if p[i].String() != want[i] {
			t.Errorf("prefix %d = %v, want %s", i, p[i], want[i])
		}
	}
	if p := mustPrefixes(t, ""); len(p) != 0 {
		t.Errorf("empty value trusts %v", p)
	}
	for _, bad := range []string{"10.0.0.0/33", "nginx", "10.0.0.300", "fe80::1%eth0", "::ffff:1.2.3.4/64"} {
		if _, err := ParseTrustedProxies(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: error %v, want one naming the entry", bad, err)
		}
	}
	// A host address with bits set past the mask is masked, not refused.
	if p := mustPrefixes(t, "10.1.2.3/8"); p[0].String() != "10.0.0.0/8" {
		t.Errorf("10.1.2.3/8 parsed as %v", p[0])
	}
}
