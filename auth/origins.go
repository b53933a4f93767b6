package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Origins is an exact allowlist of browser origins for the Engine.IO handshake.
//
// Entries are "scheme://host[:port]" with scheme http or https. They are
// normalised (scheme and host lower-cased, default ports 80/443 dropped) and an
// incoming Origin header is normalised the same way, then compared for exact
// equality: never by substring, prefix or suffix.
//
// An empty list means "same host": the Origin's host[:port] must equal the
// request's Host header (after the same normalisation, using the Origin's
// scheme for the default port) and its scheme must be http or https.
//
// Requests without an Origin header are allowed. Browsers always send Origin on
// websocket handshakes and on cross-origin requests, so a missing Origin means a
// non-browser client (a Go service, a Node client); those are not subject to
// cross-site attacks and must still authenticate through the membership check.
// "Origin: null" (sandboxed iframes, file://, some redirects), a malformed
// Origin, or several Origin headers are refused.
type Origins struct {
	allowed map[string]struct{} // normalised "scheme://host[:port]"; empty = same host
}

// NewOrigins validates and normalises list. An entry with a path, query,
// fragment, userinfo, wildcard, other scheme, or bad port is an error naming
// the entry.
func NewOrigins(list []string) (*Origins, error) {
	o := &Origins{allowed: make(map[string]struct{}, len(list))}
	for _, entry := range list {
		n, err := parseOrigin(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("auth: allowed origin %q: %w", entry, err)
		}
		o.allowed[n.String()] = struct{}{}
	}
	return o, nil
}

// Allowed reports whether r's Origin may open a socket. A refusal wraps
// ErrOriginNotAllowed. A nil *Origins applies the same-host rule.
func (o *Origins) Allowed(r *http.Request) error {
	values := r.Header.Values("Origin")
	switch len(values) {
	case 0:
		return nil // non-browser client: see the type's doc comment
	case 1:
	default:
		return refuseOrigin(strings.Join(values, ", "))
	}
	raw := values[0]
	got, err := parseOrigin(raw)
	if err != nil { // includes "null"
		return refuseOrigin(raw)
	}
	if o == nil || len(o.allowed) == 0 {
		host, err := parseOrigin(got.scheme + "://" + r.Host)
		if err != nil || host.String() != got.String() {
			return refuseOrigin(raw)
		}
		return nil
	}
	if _, ok := o.allowed[got.String()]; !ok {
		return refuseOrigin(raw)
	}
	return nil
}

func refuseOrigin(raw string) error {
	const max = 128
	if len(raw) > max {
		raw = raw[:max] + "..."
	}
	return fmt.Errorf("%w: %q", ErrOriginNotAllowed, raw)
}

// origin is a parsed, normalised web origin.
type origin struct {
	scheme string // "http" or "https"
	host   string // lower-case name, IPv4, or "[ipv6]"
	port   string // "" for the scheme's default port
}

func (o origin) String() string {
	if o.port == "" {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + o.host + ":" + o.port
}

// parseOrigin parses "scheme://host[:port]" strictly.
func parseOrigin(s string) (origin, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return origin{}, fmt.Errorf("want scheme://host[:port]")
	}
	scheme = strings.ToLower(scheme)
	var defaultPort string
	switch scheme {
	case "http":
		defaultPort = "80"
	case "https":
		defaultPort = "443"
	default:
		return origin{}, fmt.Errorf("scheme must be http or https")
	}
	if rest == "" {
		return origin{}, fmt.Errorf("missing host")
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '/' || c == '\\':
			return origin{}, fmt.Errorf("must not have a path")
		case c == '?' || c == '#':
			return origin{}, fmt.Errorf("must not have a query or fragment")
		case c == '@':
			return origin{}, fmt.Errorf("must not have userinfo")
		case c == '*':
			return origin{}, fmt.Errorf("wildcards are not supported")
		case c >= 0x80:
			return origin{}, fmt.Errorf("non-ASCII host: use its punycode (xn--) form")
		case c <= ' ' || c == 0x7f:
			return origin{}, fmt.Errorf("invalid character %q", c)
		}
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") || strings.Contains(rest, ":") {
		var err error
		host, port, err = net.SplitHostPort(rest)
		if err != nil {
			if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
				host, port, err = rest[1:len(rest)-1], "", nil
			} else {
				return origin{}, fmt.Errorf("bad host:port: %w", err)
			}
		} else if port == "" {
			return origin{}, fmt.Errorf("empty port")
		}
	}
	if strings.HasPrefix(rest, "[") && !strings.Contains(host, ":") {
		return origin{}, fmt.Errorf("brackets are for IPv6 addresses only")
	}
	host, err := normaliseHost(host)
	if err != nil {
		return origin{}, err
	}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return origin{}, fmt.Errorf("bad port %q", port)
		}
		port = strconv.FormatUint(n, 10)
		if port == defaultPort {
			port = ""
		}
	}
	return origin{scheme: scheme, host: host, port: port}, nil
}

// normaliseHost lower-cases a DNS name or IPv4 address, or brackets an IPv6
// address (given without brackets).
func normaliseHost(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("missing host")
	}
	if strings.Contains(h, ":") {
		ip, err := netip.ParseAddr(h)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", fmt.Errorf("bad IPv6 address %q", h)
		}
		return "[" + ip.String() + "]", nil
	}
	h = strings.ToLower(h)
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("invalid character %q in host", c)
		}
	}
	if h[0] == '.' || h[0] == '-' || strings.Contains(h, "..") {
		return "", fmt.Errorf("bad host %q", h)
	}
	return h, nil
}
