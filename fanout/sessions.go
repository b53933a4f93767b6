package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/namespaces"
)

// saveSession keeps a socket's recovery state under prefix+pid for the recovery window;
// both engines store sessions the same way (a key hashes anywhere on a cluster).
func saveSession(ctx context.Context, rdb redis.Cmdable, prefix string, s namespaces.SessionState, window time.Duration) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := rdb.Set(ctx, prefix+s.PID, b, window).Err(); err != nil {
		return fmt.Errorf("fanout: save recovery session: %w", err)
	}
	return nil
}

// takeSession returns and deletes the state saved under prefix+pid, or nil.
func takeSession(ctx context.Context, rdb redis.Cmdable, prefix, pid string) (*namespaces.SessionState, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	b, err := rdb.GetDel(ctx, prefix+pid).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fanout: take recovery session: %w", err)
	}
	var s namespaces.SessionState
	if err := json.Unmarshal(b, &s); err != nil || s.PID != pid {
		return nil, nil
	}
	return &s, nil
}
