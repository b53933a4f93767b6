package auth

import "errors"

// Sentinel errors of membership checks. Their messages are exactly what a
// Socket.IO client sees in connect_error, so they carry no detail: details go to
// the log. Compare with errors.Is.
var (
	// ErrUnauthorized: the handshake carried no usable credentials, or the
	// upstream refused them (401; in list mode also 403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credentials are valid but the user is not a member of
	// the org with an allowed role (per-org mode: the upstream answered 403/404),
	// or the org is no valid org ID.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the upstream could not give a definite answer (down,
	// timeout, 5xx, unexpected status, malformed body, an answer that does not fit
	// the configured contract). Admission fails closed.
	ErrUnavailable = errors.New("unavailable")
	// ErrOriginNotAllowed: the request's Origin is not in the allowlist.
	ErrOriginNotAllowed = errors.New("origin not allowed")
)
