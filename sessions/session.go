package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// cookieBytes is the entropy of a session cookie (256 bits).
const cookieBytes = 32

// cookieLen is the length of a cookie value: base64url of cookieBytes, no padding.
var cookieLen = base64.RawURLEncoding.EncodedLen(cookieBytes)

// User is who logged in, from the provider's userinfo endpoint (OpenID
// Connect claims sub, email, name). Empty fields when no userinfo URL is set.
type User struct {
	Subject string `json:"sub,omitempty"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Session is one stored session. Values returned by the Manager and by
// stores are copies: changing them changes nothing stored.
type Session struct {
	// ID is the hex SHA-256 of the cookie value: the store key. It is not a
	// credential: knowing it does not let anyone present the session.
	ID        string        `json:"id"`
	Created   time.Time     `json:"created"`
	LastSeen  time.Time     `json:"last_seen"`
	ExpiresAt time.Time     `json:"expires_at"` // when a store may forget the record
	User      *User         `json:"user,omitempty"`
	Token     *oauth2.Token `json:"token,omitempty"` // nil until login
}

// LoggedIn reports whether the session holds a token.
func (s *Session) LoggedIn() bool { return s != nil && s.Token != nil }

// String redacts the token.
func (s *Session) String() string {
	if s == nil {
		return "sessions.Session(nil)"
	}
	return fmt.Sprintf("sessions.Session{ID:%s logged_in:%t}", shortID(s.ID), s.LoggedIn())
}

// LogValue redacts the token, for log/slog.
func (s *Session) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("id", shortID(s.ID)), slog.Bool("logged_in", s.LoggedIn()))
}

// clone returns a deep copy.
func (s *Session) clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.User != nil {
		u := *s.User
		c.User = &u
	}
	c.Token = cloneToken(s.Token)
	return &c
}

func cloneToken(t *oauth2.Token) *oauth2.Token {
	if t == nil {
		return nil
	}
	return &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		Expiry:       t.Expiry,
		ExpiresIn:    t.ExpiresIn,
	}
}

// LoginState is a pending login: the OAuth state it was started with (the
// store key is its hash), the session it belongs to and the PKCE verifier.
type LoginState struct {
	SessionID string    `json:"session_id"`
	Verifier  string    `json:"verifier"`
	ExpiresAt time.Time `json:"expires_at"`
}

// newSecret returns 32 random bytes, base64url: a cookie value or an OAuth state.
func newSecret() (string, error) {
	b := make([]byte, cookieBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sessions: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashKey is the store key of a secret: hex SHA-256.
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether v could be a cookie value this package issued.
// Anything else is ignored without a store lookup.
func wellFormed(v string) bool {
	if len(v) != cookieLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil
}

// shortID is a prefix of a session ID for logs.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
