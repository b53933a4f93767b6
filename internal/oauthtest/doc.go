// Package oauthtest is a small, real OAuth 2.0 authorization server on
// 127.0.0.1 for tests: authorize (auto-approves one configured user), token
// (authorization_code with mandatory PKCE S256, refresh_token with rotation)
// and userinfo, with knobs to revoke refresh tokens, deny logins or fail the
// token endpoint, and counters that tests assert on.
//
// It follows RFC 6749 and RFC 7636 closely enough that golang.org/x/oauth2
// talks to it unchanged: redirect_uri must match exactly, codes are single
// use and short-lived, a reused code revokes what it issued, a rotated refresh
// token is dead, and errors are the RFC's JSON bodies ("invalid_grant", ...).
// It is imported only from tests.
package oauthtest
