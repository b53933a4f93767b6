package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Credentials are what a socket's handshake carries to prove who the user is.
// They are forwarded as-is to the upstream's memberships endpoint and nowhere
// else. String, GoString and LogValue redact them; never log the fields.
type Credentials struct {
	Cookie        string // the handshake's Cookie header(s), joined with "; "
	Authorization string // the handshake's Authorization header, or "Bearer <auth.token>"
}

// CredentialsFromHeader takes the handshake's Cookie and Authorization headers.
// A non-empty authToken (the Socket.IO CONNECT packet's auth.token) becomes
// "Authorization: Bearer <authToken>", overriding the header.
func CredentialsFromHeader(h http.Header, authToken string) Credentials {
	c := Credentials{
		Cookie:        strings.Join(h.Values("Cookie"), "; "),
		Authorization: h.Get("Authorization"),
	}
	if authToken != "" {
		c.Authorization = "Bearer " + authToken
	}
	return c
}

// Empty reports whether there is nothing to authenticate with.
func (c Credentials) Empty() bool { return c.Cookie == "" && c.Authorization == "" }

// Key identifies credentials in caches without keeping them in clear.
type Key [sha256.Size]byte

// Key is the SHA-256 of both fields (length-prefixed, so that moving bytes from
// one field to the other changes the key).
func (c Credentials) Key() Key {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(c.Cookie)))])
	h.Write([]byte(c.Cookie))
	h.Write([]byte(c.Authorization))
	var k Key
	h.Sum(k[:0])
	return k
}

// String redacts: it only says which fields are set.
func (c Credentials) String() string {
	return "auth.Credentials{Cookie:" + redacted(c.Cookie) + " Authorization:" + redacted(c.Authorization) + "}"
}

// GoString redacts, for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue redacts, for log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("cookie", redacted(c.Cookie)),
		slog.String("authorization", redacted(c.Authorization)),
	)
}

func redacted(s string) string {
	if s == "" {
		return "<none>"
	}
	return "<redacted>"
}

// usable reports whether c can be sent upstream: something is set, nothing is
// oversized, and neither field could inject headers (CR, LF, other controls).
func usable(c Credentials) bool {
	if c.Empty() || len(c.Cookie) > maxCredentialLen || len(c.Authorization) > maxCredentialLen {
		return false
	}
	return httpguts.ValidHeaderFieldValue(c.Cookie) && httpguts.ValidHeaderFieldValue(c.Authorization)
}
