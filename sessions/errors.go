package sessions

import (
	"errors"
	"fmt"
)

// Errors of the Manager. Reasons passed to onEnd callbacks wrap ErrSessionEnded.
var (
	// ErrNoSession: the request carries no valid session cookie (absent,
	// malformed, unknown, forged or expired).
	ErrNoSession = errors.New("sessions: no session")
	// ErrNotLoggedIn: the session exists but holds no token yet.
	ErrNotLoggedIn = errors.New("sessions: not logged in")
	// ErrSessionEnded: the session is over; the caller answers 401.
	ErrSessionEnded = errors.New("sessions: session ended")
	// ErrUnavailable: the store or the identity provider could not answer;
	// the session is kept and the caller answers 503.
	ErrUnavailable = errors.New("sessions: unavailable")
	// ErrOrigin: the request's Origin is not allowed (CSRF, cross-site socket).
	ErrOrigin = errors.New("sessions: origin not allowed")

	// Reasons a session ended, as passed to onEnd.
	ErrLoggedOut     = fmt.Errorf("%w: logged out", ErrSessionEnded)
	ErrExpired       = fmt.Errorf("%w: expired", ErrSessionEnded)
	ErrRefreshFailed = fmt.Errorf("%w: token refresh refused", ErrSessionEnded)
	ErrRotated       = fmt.Errorf("%w: replaced by a new session at login", ErrSessionEnded)
	ErrRevoked       = fmt.Errorf("%w: revoked", ErrSessionEnded)
)

// Errors of a Store.
var (
	ErrNotFound = errors.New("sessions: not found")
	ErrExists   = errors.New("sessions: already exists")
)

// reasonCodes name the end reasons on the Redis channel.
var reasonCodes = map[error]string{
	ErrLoggedOut:     "logged_out",
	ErrExpired:       "expired",
	ErrRefreshFailed: "refresh_failed",
	ErrRotated:       "rotated",
	ErrRevoked:       "revoked",
	ErrSessionEnded:  "ended",
}

func reasonCode(err error) string {
	if c, ok := reasonCodes[err]; ok {
		return c
	}
	return "ended"
}

func reasonFromCode(code string) error {
	for err, c := range reasonCodes {
		if c == code {
			return err
		}
	}
	return ErrSessionEnded
}
