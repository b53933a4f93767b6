package sessions

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	boltSessions = []byte("sessions")
	boltStates   = []byte("login_states")
)

// boltOpenTimeout bounds the wait for the file lock another process holds.
const boltOpenTimeout = 2 * time.Second

// BoltStore keeps records in one bbolt file: the single-node default.
// Sessions survive a restart. The file is locked: one process at a time.
type BoltStore struct {
	db *bolt.DB
}

// OpenBolt opens (creating if needed, mode 0600) the store file at path.
func OpenBolt(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltOpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("sessions: open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{boltSessions, boltStates} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sessions: init bolt store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Create implements Store.
func (b *BoltStore) Create(_ context.Context, s *Session) error {
	data, err := encodeSession(s)
	if err != nil {
		return err
	}
	err = b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltSessions)
		if bk.Get([]byte(s.ID)) != nil {
			return ErrExists
		}
		return bk.Put([]byte(s.ID), data)
	})
	if err != nil {
		return fmt.Errorf("sessions: bolt create %s: %w", shortID(s.ID), err)
	}
	return nil
}

// Get implements Store.
func (b *BoltStore) Get(_ context.Context, id string) (*Session, error) {
	var data []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltSessions).Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		data = append([]byte(nil), v...) // v is valid only inside the transaction
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: bolt get %s: %w", shortID(id), err)
	}
	return decodeSession(data)
}

// Update implements Store. bbolt serialises write transactions, which makes
// the read-modify-write atomic.
func (b *BoltStore) Update(_ context.Context, id string, fn func(*Session) error) (*Session, error) {
	var out *Session
	var fnErr error
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltSessions)
		v := bk.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		s, data, err := applyUpdate(id, v, fn)
		if err != nil {
			fnErr = err
			return err
		}
		out = s
		return bk.Put([]byte(id), data)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: bolt update %s: %w", shortID(id), err)
	}
	return out, nil
}

// Delete implements Store.
func (b *BoltStore) Delete(_ context.Context, id string) error {
	err := b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(boltSessions).Delete([]byte(id)) })
	if err != nil {
		return fmt.Errorf("sessions: bolt delete %s: %w", shortID(id), err)
	}
	return nil
}

// PutState implements Store.
func (b *BoltStore) PutState(_ context.Context, key string, st *LoginState) error {
	data, err := encodeState(st)
	if err != nil {
		return err
	}
	err = b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(boltStates).Put([]byte(key), data) })
	if err != nil {
		return fmt.Errorf("sessions: bolt put state: %w", err)
	}
	return nil
}

// TakeState implements Store.
func (b *BoltStore) TakeState(_ context.Context, key string) (*LoginState, error) {
	var data []byte
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(boltStates)
		v := bk.Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		data = append([]byte(nil), v...)
		return bk.Delete([]byte(key))
	})
	if err != nil {
		return nil, fmt.Errorf("sessions: bolt take state: %w", err)
	}
	return decodeState(data)
}

// Purge implements Store: it scans both buckets in one write transaction.
func (b *BoltStore) Purge(_ context.Context, now time.Time) (int, error) {
	n := 0
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{boltSessions, boltStates} {
			bk := tx.Bucket(name)
			var dead [][]byte
			err := bk.ForEach(func(k, v []byte) error {
				var rec struct {
					ExpiresAt time.Time `json:"expires_at"`
				}
				// An undecodable record is garbage: purge it too.
				if json.Unmarshal(v, &rec) != nil || rec.ExpiresAt.Before(now) {
					dead = append(dead, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				if err := bk.Delete(k); err != nil {
					return err
				}
			}
			n += len(dead)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sessions: bolt purge: %w", err)
	}
	return n, nil
}

// Close implements Store: it releases the file and its lock.
func (b *BoltStore) Close() error {
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("sessions: close bolt store: %w", err)
	}
	return nil
}
