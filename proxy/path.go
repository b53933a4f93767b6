package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDecodes bounds how many layers of percent-encoding a segment is unwrapped to be
// checked; a segment that still changes after that many is refused.
const maxDecodes = 4

// cleanPath reports whether rel, an escaped path relative to the prefix, may be sent
// upstream as is. Each segment is checked raw and after every layer of percent-decoding
// (an upstream or a framework behind it may decode once more: %252e%252e), and refused if
// at any layer it
//   - is a dot-segment (".", ".."), also with ";" path parameters ("..;x", Tomcat and
//     Jetty drop them) or trailing spaces, or is made of dots only ("...");
//   - contains a slash or a backslash (%2f, %5c, "\": many upstreams decode them and
//     split the segment, which makes "a%2f..%2f.." a dot-segment);
//   - contains NUL or another control character (C strings end at NUL; logs and headers
//     split at CR/LF);
//   - is not valid UTF-8, which includes overlong forms such as %c0%ae ('.') and %c0%af
//     ('/') that lenient decoders turn into dots and slashes;
//   - contains a character some upstreams fold to a dot or a slash (fullwidth ．／＼,
//     U+2215, U+2216, U+2024).
//
// An undecodable first layer ("%zz", "%u002e") is refused too. A "%" that only appears
// after decoding (100%25 → "100%") is a literal percent sign and allowed.
func cleanPath(rel string) bool {
	for seg := range strings.SplitSeq(rel, "/") {
		if !cleanSegment(seg) {
			return false
		}
	}
	return true
}

func cleanSegment(seg string) bool {
	cur := seg
	for layer := 0; ; layer++ {
		if !cleanLayer(cur) {
			return false
		}
		dec, err := url.PathUnescape(cur)
		switch {
		case err != nil && layer == 0:
			return false // the path as received is not a valid encoding
		case err != nil || dec == cur:
			return true // nothing left to decode
		case layer == maxDecodes:
			return false
		}
		cur = dec
	}
}

// cleanLayer checks one decoding layer of a segment.
func cleanLayer(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || r == 0x7f || unicode.IsControl(r):
			return false
		case r == '\uff0e' || r == '\uff0f' || r == '\uff3c' || r == '\u2215' || r == '\u2216' || r == '\u2024':
			return false
		}
	}
	name, _, _ := strings.Cut(s, ";") // path parameters: /..;jsessionid=x/
	name = strings.TrimRight(name, " ")
	return name == "" || strings.Trim(name, ".") != ""
}

// badUpgrade reports whether r asks to switch protocols to anything but websocket: an
// "Upgrade: h2c" passed to an upstream that speaks h2c would open an HTTP/2 connection
// behind the proxy's back (request smuggling past every check made here).
func badUpgrade(r *http.Request) bool {
	if len(r.Header.Values("HTTP2-Settings")) > 0 {
		return true
	}
	ups := r.Header.Values("Upgrade")
	if len(ups) == 0 {
		return false
	}
	return len(ups) != 1 || !strings.EqualFold(strings.TrimSpace(ups[0]), "websocket")
}
