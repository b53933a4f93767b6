package engineio

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Handshake describes the request that opened a session. A session may live for hours and a
// pending one costs its client nothing, so it keeps only what the layers above read later,
// each part capped (see HandshakeHeaders and the Max* constants): not a copy of the request.
type Handshake struct {
	// Header holds only the HandshakeHeaders of the request, each at most HandshakeHeaderBytes.
	Header http.Header
	// Query holds the parameters of the query string's first HandshakeQueryBytes (cut
	// between parameters) other than Engine.IO's own (EIO, transport, sid, t, j, b64);
	// nil when there are none, as for the official clients: a parsed query kept by every
	// idle session cost about 400 bytes.
	Query      url.Values
	RemoteAddr string     // the peer address ("host:port")
	ClientIP   netip.Addr // Options.ClientIP of the request: the address per-IP limits count
	Host       string     // at most HandshakeHostBytes
	Secure     bool
	Time       time.Time
}

// HandshakeHeaders are the request headers a Handshake keeps: the credentials that admit a
// socket (Cookie, Authorization) and the request ID its refusals are logged with.
var HandshakeHeaders = []string{"Cookie", "Authorization", "X-Request-Id"}

// Caps on what a Handshake keeps. 8 KiB per header is the longest header line a default
// nginx accepts (large_client_header_buffers 4 8k), and more than a browser sends for
// credentials in practice; net/http's Server.MaxHeaderBytes (1 MB by default) bounds only
// what arrives.
const (
	HandshakeHeaderBytes = 8 << 10 // per header name, all its values together
	HandshakeQueryBytes  = 4 << 10
	HandshakeHostBytes   = 256
)

func newHandshake(r *http.Request, ip netip.Addr) *Handshake {
	h := http.Header{} // empty maps are not allocated until a header is kept
	for _, name := range HandshakeHeaders {
		if vs := keepValues(name, r.Header.Values(name)); len(vs) > 0 {
			h[name] = vs
		}
	}
	host := r.Host
	if len(host) > HandshakeHostBytes {
		host = host[:HandshakeHostBytes]
	}
	return &Handshake{
		Header:     h,
		Query:      capQuery(r.URL.RawQuery),
		RemoteAddr: strings.Clone(r.RemoteAddr),
		ClientIP:   ip,
		Host:       strings.Clone(host),
		Secure:     r.TLS != nil,
		Time:       time.Now(),
	}
}

// keepValues returns copies of a header's values while they fit in HandshakeHeaderBytes
// together.
// A Cookie value that does not fit is cut after its last whole cookie that does ("a=1; b=2"
// keeps "a=1"), so the cookies sent first still authenticate; any other value that does
// not fit is dropped whole (a cut token or ID is worthless).
func keepValues(name string, vs []string) []string {
	var out []string
	room := HandshakeHeaderBytes
	for _, v := range vs {
		if len(v) > room {
			if name == "Cookie" {
				if i := strings.LastIndex(v[:room+1], "; "); i > 0 {
					out = append(out, strings.Clone(v[:i]))
				}
			}
			break
		}
		out = append(out, strings.Clone(v)) // a copy: not a slice of the request's header block
		room -= len(v)
	}
	return out
}

// capQuery parses the first HandshakeQueryBytes of a raw query, cut at a parameter boundary.
func capQuery(raw string) url.Values {
	if len(raw) > HandshakeQueryBytes {
		raw = raw[:HandshakeQueryBytes+1]
		if i := strings.LastIndexByte(raw, '&'); i >= 0 {
			raw = raw[:i]
		} else {
			raw = ""
		}
	}
	if !hasOwnParams(raw) {
		return nil
	}
	q, _ := url.ParseQuery(raw) // the parameters that parse; the first error is not fatal here
	for _, k := range engineParams {
		delete(q, k)
	}
	if len(q) == 0 {
		return nil
	}
	return q
}

// engineParams are the query parameters of the Engine.IO protocol itself.
var engineParams = []string{"EIO", "transport", "sid", "t", "j", "b64"}

// hasOwnParams reports whether raw has a parameter that is not one of engineParams, without
// parsing it into a map.
func hasOwnParams(raw string) bool {
	for param := range strings.SplitSeq(raw, "&") {
		if param == "" {
			continue
		}
		key, _, _ := strings.Cut(param, "=")
		if !slices.Contains(engineParams, key) {
			return true
		}
	}
	return false
}
