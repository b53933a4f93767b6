package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix prefixes every key of a RedisStore.
const DefaultRedisPrefix = "syncgate:"

// redisUpdateAttempts bounds optimistic retries of one Update under
// contention; between attempts it waits a random time up to
// redisBackoffMax, doubling from redisBackoffMin.
const (
	redisUpdateAttempts = 32
	redisBackoffMin     = 500 * time.Microsecond
	redisBackoffMax     = 50 * time.Millisecond
)

// RedisStore keeps records in Redis, shared by every node. Records expire
// natively (SET ... PXAT ExpiresAt; one already past is not kept), so Purge has nothing to do. Keys:
// PREFIX "session:" ID and PREFIX "login_state:" hash of the state.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedisStore uses c (not closed by Close); prefix "" means DefaultRedisPrefix.
func NewRedisStore(c redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisStore{c: c, prefix: prefix}
}

func (r *RedisStore) sessionKey(id string) string { return r.prefix + "session:" + id }
func (r *RedisStore) stateKey(k string) string    { return r.prefix + "login_state:" + k }

// Create implements Store.
func (r *RedisStore) Create(ctx context.Context, s *Session) error {
	data, err := encodeSession(s)
	if err != nil {
		return err
	}
	err = r.c.SetArgs(ctx, r.sessionKey(s.ID), data, redis.SetArgs{Mode: "NX", ExpireAt: s.ExpiresAt}).Err()
	if errors.Is(err, redis.Nil) { // NX: the key exists
		return fmt.Errorf("sessions: redis create %s: %w", shortID(s.ID), ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sessions: redis create %s: %w", shortID(s.ID), err)
	}
	return nil
}

// Get implements Store.
func (r *RedisStore) Get(ctx context.Context, id string) (*Session, error) {
	data, err := r.c.Get(ctx, r.sessionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("sessions: redis get %s: %w", shortID(id), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: redis get %s: %w", shortID(id), err)
	}
	return decodeSession(data)
}

// Update implements Store with WATCH/MULTI: a concurrent write to the key
// aborts the transaction and fn runs again on the newer record.
func (r *RedisStore) Update(ctx context.Context, id string, fn func(*Session) error) (*Session, error) {
	key := r.sessionKey(id)
	var out *Session
	var fnErr error
	txf := func(tx *redis.Tx) error {
		stored, err := tx.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		s, data, err := applyUpdate(id, stored, fn)
		if err != nil {
			fnErr = err
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetArgs(ctx, key, data, redis.SetArgs{ExpireAt: s.ExpiresAt})
			return nil
		})
		if err == nil {
			out = s
		}
		return err
	}
	for attempt := 0; attempt < redisUpdateAttempts; attempt++ {
		err := r.c.Watch(ctx, txf, key)
		switch {
		case fnErr != nil:
			return nil, fnErr
		case errors.Is(err, redis.TxFailedErr):
			// Someone else wrote the key: back off a little, read it again.
			if err := backoff(ctx, attempt); err != nil {
				return nil, fmt.Errorf("sessions: redis update %s: %w", shortID(id), err)
			}
			continue
		case err != nil:
			return nil, fmt.Errorf("sessions: redis update %s: %w", shortID(id), err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("sessions: redis update %s: %d concurrent writes in a row: %w", shortID(id), redisUpdateAttempts, redis.TxFailedErr)
}

// Delete implements Store.
func (r *RedisStore) Delete(ctx context.Context, id string) error {
	if err := r.c.Del(ctx, r.sessionKey(id)).Err(); err != nil {
		return fmt.Errorf("sessions: redis delete %s: %w", shortID(id), err)
	}
	return nil
}

// PutState implements Store.
func (r *RedisStore) PutState(ctx context.Context, key string, st *LoginState) error {
	data, err := encodeState(st)
	if err != nil {
		return err
	}
	if err := r.c.SetArgs(ctx, r.stateKey(key), data, redis.SetArgs{ExpireAt: st.ExpiresAt}).Err(); err != nil {
		return fmt.Errorf("sessions: redis put state: %w", err)
	}
	return nil
}

// TakeState implements Store with GETDEL (Redis ≥ 6.2), atomic on the server.
func (r *RedisStore) TakeState(ctx context.Context, key string) (*LoginState, error) {
	data, err := r.c.GetDel(ctx, r.stateKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("sessions: redis take state: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: redis take state: %w", err)
	}
	return decodeState(data)
}

// Purge implements Store: Redis expires keys itself.
func (r *RedisStore) Purge(context.Context, time.Time) (int, error) { return 0, nil }

// Close implements Store; the client stays open (its owner closes it).
func (r *RedisStore) Close() error { return nil }

// backoff waits a random duration in [0, min(redisBackoffMin<<attempt, redisBackoffMax)).
func backoff(ctx context.Context, attempt int) error {
	ceil := redisBackoffMax
	if attempt < 16 {
		ceil = min(redisBackoffMin<<attempt, redisBackoffMax)
	}
	t := time.NewTimer(rand.N(ceil))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
