// Package sessions holds browser sessions for syncgate's session mode: an
// opaque cookie from POST /api/generate_cookie, OAuth 2.0 login (state + PKCE,
// session ID rotated at login), tokens kept server-side and refreshed, and
// every socket of a session closed, on every node, when the session ends.
//
// # Identifiers
//
// A cookie value is 32 random bytes, base64url. The store never sees it: a
// session's ID (its store key, also used by Register and in logs) is the hex
// SHA-256 of the cookie value, so a leaked store or log yields no cookie.
// A cookie that is unknown, expired, malformed or forged is never adopted:
// the client gets a brand-new value (no session fixation).
//
// # Stores
//
// Store has three implementations with one conformance suite: MemoryStore
// (tests), BoltStore (single node, a file that survives restarts) and
// RedisStore (many nodes). Updates are atomic read-modify-writes, so a token
// refreshed on one node is never overwritten by a stale copy from another.
//
// # Lifetimes
//
// A session ends at the first of: IdleTTL without use (AnonymousTTL before
// login), AbsoluteTTL after creation, logout, Revoke, a refused token refresh,
// or the login that replaces it. Ending deletes the record and calls the
// onEnd callbacks registered for it on this node and, through Redis pub/sub
// when Config.Redis is set, on every node; a periodic sweep catches what a
// lost message or a clock-driven expiry would miss.
package sessions
