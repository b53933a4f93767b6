package sessions

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Store keeps sessions and pending logins. Keys are hashes (Session.ID, the
// hash of an OAuth state); nothing a client presents is stored in clear.
// Implementations must be safe for concurrent use, across processes where
// they are shared. A store may forget a record after its ExpiresAt; the
// Manager checks lifetimes itself and never relies on that.
type Store interface {
	// Create stores a new session; ErrExists if its ID is taken (never overwrites).
	Create(ctx context.Context, s *Session) error
	// Get returns a copy of the session; ErrNotFound if absent.
	Get(ctx context.Context, id string) (*Session, error)
	// Update atomically applies fn to the stored session and stores the
	// result, which it returns. ErrNotFound if absent; an error from fn aborts
	// the update and is returned as is. fn may run more than once (Redis
	// retries on a concurrent write) and must not change the ID.
	Update(ctx context.Context, id string, fn func(*Session) error) (*Session, error)
	// Delete removes the session; deleting an absent one is not an error.
	Delete(ctx context.Context, id string) error
	// PutState stores a pending login under key.
	PutState(ctx context.Context, key string, st *LoginState) error
	// TakeState atomically returns and deletes a pending login: of two
	// concurrent calls with one key, only one gets it. ErrNotFound if absent.
	TakeState(ctx context.Context, key string) (*LoginState, error)
	// Purge deletes records whose ExpiresAt is before now and returns how
	// many (stores with native expiry may return 0).
	Purge(ctx context.Context, now time.Time) (int, error)
	// Close releases the store's resources (not a client passed to it).
	Close() error
}

func encodeSession(s *Session) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("sessions: encode session: %w", err)
	}
	return b, nil
}

func decodeSession(b []byte) (*Session, error) {
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("sessions: decode session: %w", err)
	}
	return &s, nil
}

func encodeState(st *LoginState) ([]byte, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("sessions: encode login state: %w", err)
	}
	return b, nil
}

func decodeState(b []byte) (*LoginState, error) {
	var st LoginState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("sessions: decode login state: %w", err)
	}
	return &st, nil
}

// applyUpdate decodes a stored record, applies fn, keeps the ID and encodes
// the result: the shared body of every store's Update.
func applyUpdate(id string, stored []byte, fn func(*Session) error) (*Session, []byte, error) {
	s, err := decodeSession(stored)
	if err != nil {
		return nil, nil, err
	}
	if err := fn(s); err != nil {
		return nil, nil, err
	}
	s.ID = id
	b, err := encodeSession(s)
	if err != nil {
		return nil, nil, err
	}
	return s, b, nil
}
