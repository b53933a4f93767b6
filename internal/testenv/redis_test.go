package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func newRedisClient(t *testing.T, r *Redis) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatalf("parse %s: %v", r.URL(), err)
	}
	opt.MaxRetries = -1 // report a down server at once instead of retrying
	opt.DialTimeout = time.Second
	opt.DialerRetries = 1
	opt.DialerRetryTimeout = time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisServesOnItsLoopbackPort(t *testing.T) {
	r := StartRedis(t)
	if r.Addr() != "127.0.0.1:"+itoa(r.Port()) {
		t.Fatalf("Addr %q does not match Port %d", r.Addr(), r.Port())
	}
	c := newRedisClient(t, r)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	// No persistence: the server must not be configured to save.
	cfg, err := c.ConfigGet(ctx, "save").Result()
	if err != nil || cfg["save"] != "" {
		t.Fatalf("CONFIG GET save = %v, %v; want empty", cfg, err)
	}
}

func TestRedisStopAndStartKeepsThePort(t *testing.T) {
	r := StartRedis(t)
	c := newRedisClient(t, r)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	addr := r.Addr()

	r.Stop()
	if r.Running() {
		t.Fatal("Running after Stop")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded while redis is stopped")
	}

	r.Start()
	if r.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", r.Addr(), addr)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after restart = %d, %v; want 0 (no persistence)", n, err)
	}
}

func TestRedisKillAndStart(t *testing.T) {
	r := StartRedis(t)
	c := newRedisClient(t, r)
	ctx := context.Background()
	r.Kill()
	if r.Running() {
		t.Fatal("Running after Kill")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Kill")
	}
	r.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
}

func TestRedisInstancesAreSeparate(t *testing.T) {
	a, b := StartRedis(t), StartRedis(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both on %s", a.Addr())
	}
	ctx := context.Background()
	if err := newRedisClient(t, a).Set(ctx, "only-a", "1", 0).Err(); err != nil {
		t.Fatalf("SET on a: %v", err)
	}
	if n, err := newRedisClient(t, b).Exists(ctx, "only-a").Result(); err != nil || n != 0 {
		t.Fatalf("b sees a's key: %d, %v", n, err)
	}
}
