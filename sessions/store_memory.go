package sessions

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MemoryStore keeps records in this process, encoded as the other stores
// encode them. For tests and throwaway single-node runs: nothing survives a
// restart.
type MemoryStore struct {
	mu       sync.Mutex
	sessions map[string]memRecord
	states   map[string]memRecord
}

type memRecord struct {
	data    []byte
	expires time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{sessions: make(map[string]memRecord), states: make(map[string]memRecord)}
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, s *Session) error {
	b, err := encodeSession(s)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return fmt.Errorf("sessions: memory create %s: %w", shortID(s.ID), ErrExists)
	}
	m.sessions[s.ID] = memRecord{data: b, expires: s.ExpiresAt}
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	r, ok := m.sessions[id]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("sessions: memory get %s: %w", shortID(id), ErrNotFound)
	}
	return decodeSession(r.data)
}

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, id string, fn func(*Session) error) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[id]
	if !ok {
		return nil, fmt.Errorf("sessions: memory update %s: %w", shortID(id), ErrNotFound)
	}
	s, b, err := applyUpdate(id, r.data, fn)
	if err != nil {
		return nil, err
	}
	m.sessions[id] = memRecord{data: b, expires: s.ExpiresAt}
	return s, nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	delete(m.sessions, id)
	m.mu.Unlock()
	return nil
}

// PutState implements Store.
func (m *MemoryStore) PutState(_ context.Context, key string, st *LoginState) error {
	b, err := encodeState(st)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.states[key] = memRecord{data: b, expires: st.ExpiresAt}
	m.mu.Unlock()
	return nil
}

// TakeState implements Store.
func (m *MemoryStore) TakeState(_ context.Context, key string) (*LoginState, error) {
	m.mu.Lock()
	r, ok := m.states[key]
	delete(m.states, key)
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("sessions: memory take state: %w", ErrNotFound)
	}
	return decodeState(r.data)
}

// Purge implements Store.
func (m *MemoryStore) Purge(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, tab := range []map[string]memRecord{m.sessions, m.states} {
		for k, r := range tab {
			if r.expires.Before(now) {
				delete(tab, k)
				n++
			}
		}
	}
	return n, nil
}

// Close implements Store.
func (m *MemoryStore) Close() error { return nil }
