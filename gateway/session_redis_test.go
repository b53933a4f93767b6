package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// A gateway in session mode with Redis closes every Redis connection it opened when it is
// closed: the fan-out adapter's and the one client shared by sessions and Drive.
func TestSessionModeClosesItsRedisConnections(t *testing.T) {
	rs := testenv.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr(), ClientName: "test-admin"})
	defer admin.Close()
	ctx := context.Background()
	clients := func() int {
		t.Helper()
		list, err := admin.ClientList(ctx).Result()
		if err != nil {
			t.Fatalf("CLIENT LIST: %v", err)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			if line != "" && !strings.Contains(line, "name=test-admin") {
				n++
			}
		}
		return n
	}
	before := clients()

	env := newSessionEnv(t, oauthtest.Config{})
	node := env.startSessionNode("--redis", rs.URL(), "--session-store", "redis")
	b := newBrowser(t)
	b.generate(node)
	b.login(node) // the store, the end-of-session subscription and the adapter are in use
	if clients() <= before {
		t.Fatal("the gateway opened no Redis connection")
	}

	node.stop()
	deadline := time.Now().Add(10 * time.Second)
	for clients() != before { // Redis drops closed connections from its list asynchronously
		if time.Now().After(deadline) {
			t.Fatalf("%d Redis connections left open after Close (before: %d)", clients(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
