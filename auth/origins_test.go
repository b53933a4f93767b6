package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewOrigins_RejectsNonOrigins(t *testing.T) {
	bad := []string{
		"",
		"example.com",                   // no scheme
		"https://",                      // no host
		"https://example.com/",          // path
		"https://example.com/app",       // path
		"https://example.com?x=1",       // query
		"https://example.com#f",         // fragment
		"https://user:pw@example.com",   // userinfo
		"https://*.example.com",         // wildcard
		"*",                             // wildcard
		"ftp://example.com",             // scheme
		"chrome-extension://abc",        // scheme
		"https://example.com:",          // empty port
		"https://example.com:0",         // port 0
		"https://example.com:65536",     // port out of range
		"https://example.com:https",     // non-numeric port
		"https://exa mple.com",          // space
		"https://exämple.com",           // non-ASCII: must be punycode
		"https://::1",                   // IPv6 without brackets
		"https://[fe80::1%25eth0]",      // zone
		"https://[1.2.3.4]",             // IPv4 in brackets
		"https://example.com\\evil.com", // backslash
		"https://.example.com",          // leading dot
		"https://example..com",          // empty label
		"null",                          // opaque origin
		"https://example.com:443:443",   // two ports
	}
	for _, entry := range bad {
		_, err := NewOrigins([]string{"https://ok.example", entry})
		if err == nil {
			t.Errorf("NewOrigins accepted %q", entry)
			continue
		}
		if !strings.Contains(err.Error(), "\""+strings.ReplaceAll(entry, "\\", "\\\\")+"\"") {
			t.Errorf("error for %q does not name the entry: %v", entry, err)
		}
	}
}

func TestOrigins_AllowList(t *testing.T) {
	o, err := NewOrigins([]string{"https://Example.COM:443", "http://localhost:3000", "https://[::1]:8443", "https://app.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		want   bool
		why    string
	}{
		{"https://example.com", true, "normalised default port and case"},
		{"https://EXAMPLE.com", true, "host case"},
		{"HTTPS://example.com", true, "scheme case"},
		{"https://example.com:443", true, "explicit default port"},
		{"http://localhost:3000", true, "exact"},
		{"https://[::1]:8443", true, "IPv6"},
		{"https://[0:0:0:0:0:0:0:1]:8443", true, "IPv6 normalised"},
		// Attacks: each would pass a substring, prefix or suffix check.
		{"https://example.com.evil.com", false, "allowed host as a prefix of an attacker's domain"},
		{"https://evil-example.com", false, "allowed host as a suffix"},
		{"https://evilexample.com", false, "allowed host as a suffix without separator"},
		{"https://sub.example.com", false, "subdomains are not implied"},
		{"https://app.example.org.evil.com", false, "suffix attack on a subdomain entry"},
		{"http://example.com", false, "scheme downgrade"},
		{"https://example.com:8443", false, "other port"},
		{"http://localhost:3001", false, "other port"},
		{"http://localhost", false, "default port vs 3000"},
		{"https://localhost:3000", false, "scheme differs"},
		{"https://example.com/", false, "a browser never sends a path; refuse anything odd"},
		{"https://user@example.com", false, "userinfo"},
		{"null", false, "opaque origin from sandboxed iframes or file://"},
		{"", false, "empty Origin header is present but meaningless"},
		{"https://example.com, https://evil.com", false, "list in one header"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "http://syncgate.internal/socket.io/", nil)
		r.Header.Set("Origin", tt.origin)
		err := o.Allowed(r)
		if (err == nil) != tt.want {
			t.Errorf("%q (%s): Allowed = %v, want allowed=%v", tt.origin, tt.why, err, tt.want)
		}
		if err != nil && !errors.Is(err, ErrOriginNotAllowed) {
			t.Errorf("%q: error %v is not ErrOriginNotAllowed", tt.origin, err)
		}
	}
}

func TestOrigins_SameHostWhenListEmpty(t *testing.T) {
	o, err := NewOrigins(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host, origin string
		want         bool
	}{
		{"example.com", "https://example.com", true},
		{"example.com", "http://example.com", true},
		{"Example.com", "https://example.COM", true},
		{"example.com:443", "https://example.com", true},
		{"example.com:8080", "http://example.com:8080", true},
		{"example.com", "https://example.com.evil.com", false},
		{"example.com", "https://evil-example.com", false},
		{"example.com", "https://example.com:8443", false},
		{"example.com:8080", "http://example.com", false},
		{"example.com:443", "http://example.com", false}, // http default port is 80
		{"example.com", "ws://example.com", false},
		{"example.com", "null", false},
		{"example.com/evil", "https://example.com", false}, // hostile Host header
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/socket.io/", nil)
		r.Host = tt.host
		r.Header.Set("Origin", tt.origin)
		if err := o.Allowed(r); (err == nil) != tt.want {
			t.Errorf("Host %q Origin %q: Allowed = %v, want allowed=%v", tt.host, tt.origin, err, tt.want)
		}
	}
	var nilOrigins *Origins
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "a.test"
	r.Header.Set("Origin", "https://b.test")
	if err := nilOrigins.Allowed(r); err == nil {
		t.Error("nil *Origins allowed a cross-host Origin")
	}
}

func TestOrigins_NoOriginHeaderIsAllowed(t *testing.T) {
	o, err := NewOrigins([]string{"https://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/socket.io/", nil)
	if err := o.Allowed(r); err != nil {
		t.Fatalf("request without Origin: %v", err)
	}
}

// Two Origin headers let an attacker hope one check reads the first and
// another the last.
func TestOrigins_DuplicateOriginHeadersRefused(t *testing.T) {
	o, err := NewOrigins([]string{"https://example.com"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/socket.io/", nil)
	r.Header.Add("Origin", "https://example.com")
	r.Header.Add("Origin", "https://evil.com")
	if err := o.Allowed(r); !errors.Is(err, ErrOriginNotAllowed) {
		t.Fatalf("got %v, want ErrOriginNotAllowed", err)
	}
}

// A hostile Origin ends up in logs: it is quoted and truncated.
func TestOrigins_RefusalQuotesAndTruncates(t *testing.T) {
	o, _ := NewOrigins([]string{"https://example.com"})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://evil.com/"+strings.Repeat("x", 1000)+"\x1b[31m")
	err := o.Allowed(r)
	if err == nil || len(err.Error()) > 200 || strings.ContainsRune(err.Error(), '\x1b') {
		t.Fatalf("refusal error not bounded/quoted: %q", err)
	}
}
