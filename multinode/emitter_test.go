package multinode

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	zredis "github.com/zishang520/socket.io/adapters/redis/v3"
	"github.com/zishang520/socket.io/adapters/redis/v3/emitter"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/syncgate/syncgate/internal/testenv"
)

// emit is one broadcast of an emitter of the reference redis-adapter protocol.
type emit struct {
	Nsp    string `json:"nsp"`
	Event  string `json:"event"`
	Args   []any  `json:"args,omitempty"`
	To     string `json:"to,omitempty"`     // one room (a socket ID is a room)
	Except string `json:"except,omitempty"` // one room left out
}

// emitterFunc publishes broadcasts in order and returns once Redis has taken them all.
type emitterFunc func(t *testing.T, emits ...emit)

// referenceEmitter publishes with the official @socket.io/redis-emitter (node/emit.js).
func referenceEmitter(redisURL string) emitterFunc {
	return func(t *testing.T, emits ...emit) {
		t.Helper()
		dir := filepath.Join(testenv.RepoRoot(t), "multinode", "node")
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-emitter")); err != nil {
			t.Fatalf("%s has no node_modules/@socket.io/redis-emitter (%v): run npm ci there (./scripts/test.sh)", dir, err)
		}
		spec, err := json.Marshal(emits)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "emit.js", redisURL, string(spec))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("node emit.js: %v\n%s", err, out)
		}
	}
}

// goEmitter publishes with the Go port of the emitter (github.com/zishang520/socket.io).
func goEmitter(redisAddr string) emitterFunc {
	return func(t *testing.T, emits ...emit) {
		t.Helper()
		rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		io := emitter.NewEmitter(zredis.NewRedisClient(ctx, rdb), nil)
		for _, e := range emits {
			var err error
			switch {
			case e.To != "":
				err = io.Of(e.Nsp).To(socket.Room(e.To)).Emit(e.Event, e.Args...)
			case e.Except != "":
				err = io.Of(e.Nsp).Except(socket.Room(e.Except)).Emit(e.Event, e.Args...)
			default:
				err = io.Of(e.Nsp).Emit(e.Event, e.Args...)
			}
			if err != nil {
				t.Fatalf("Go emitter: %s to %s: %v", e.Event, e.Nsp, err)
			}
		}
	}
}

// waitSubscribed waits until n connections listen to emitters (psub > 0 in CLIENT LIST;
// PUBSUB NUMPAT counts patterns, not subscribers): readiness, not synchronization.
func waitSubscribed(t *testing.T, r *testenv.Redis, n int) {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rdb.Close()
	deadline := time.Now().Add(waitLong)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		list, err := rdb.ClientList(ctx).Result()
		cancel()
		got := 0
		for _, line := range strings.Split(list, "\n") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "psub="); ok && v != "0" {
					got++
				}
			}
		}
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pattern subscribers after %v (%v), want %d", got, waitLong, err, n)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis's state: nothing to await
	}
}

// expectPayload waits for event on socket name (nothing before it) and checks that its
// only argument is the JSON want: an emitter's broadcast is live, with no recovery offset.
func expectPayload(t *testing.T, c *testenv.Node, name, event, want string) {
	t.Helper()
	ev := waitOnly(t, c, name, event)
	if len(ev.Args) != 1 || string(ev.Args[0]) != want {
		t.Fatalf("socket %s: %v, want %s with the single argument %s", name, ev, event, want)
	}
}

func TestReferenceEmitterReachesItsNamespaceOnEveryNode(t *testing.T) {
	r, a, b := twoNodes(t, members(t, 2))
	emitterInterop(t, r, a, b, referenceEmitter(r.URL()))
}

func TestGoEmitterReachesItsNamespaceOnEveryNode(t *testing.T) {
	r, a, b := twoNodes(t, members(t, 2))
	emitterInterop(t, r, a, b, goEmitter(r.Addr()))
}

// emitterInterop checks that an emitter's broadcasts reach the sockets of their namespace
// on both nodes and no other, and honour rooms (to) and exclusions (except).
func emitterInterop(t *testing.T, r *testenv.Redis, a, b *node, publish emitterFunc) {
	waitSubscribed(t, r, 2)
	c := testenv.StartNode(t)
	sid := map[string]string{}
	for _, s := range []struct {
		name string
		n    *node
		nsp  string
	}{{"a1", a, "/org/1"}, {"b1", b, "/org/1"}, {"a2", a, "/org/2"}, {"b2", b, "/org/2"}} {
		sid[s.name] = connect(t, c, s.name, s.n.url(s.nsp), once("alice")).Sid
	}

	// io.of("/org/1").emit("person.updated", {personId: 3}), then a barrier to /org/2 on
	// the same connection: org 2's sockets must get the barrier and nothing before it.
	publish(t,
		emit{Nsp: "/org/1", Event: "person.updated", Args: []any{map[string]any{"personId": 3}}},
		emit{Nsp: "/org/2", Event: "emitter.barrier"},
	)
	for _, s := range []string{"a1", "b1"} {
		expectPayload(t, c, s, "person.updated", `{"personId":3}`)
	}
	for _, s := range []string{"a2", "b2"} {
		waitOnly(t, c, s, "emitter.barrier")
	}

	// .to(room) and .except(room), with the room every socket is in: its own ID.
	publish(t,
		emit{Nsp: "/org/1", Event: "person.updated", Args: []any{map[string]any{"personId": 4}}, To: sid["b1"]},
		emit{Nsp: "/org/1", Event: "person.deleted", Args: []any{map[string]any{"personId": 5}}, Except: sid["b1"]},
		emit{Nsp: "/org/1", Event: "emitter.barrier"},
	)
	expectPayload(t, c, "b1", "person.updated", `{"personId":4}`)
	waitOnly(t, c, "b1", "emitter.barrier")
	expectPayload(t, c, "a1", "person.deleted", `{"personId":5}`)
	waitOnly(t, c, "a1", "emitter.barrier")
}

// An emitter's broadcast is live only (not in the recovery log). A socket that was away
// while one went out must not come back "recovered" without it: it must get the event or
// a resync.
func TestEmitterEventMissedDuringDisconnectionIsNotSilent(t *testing.T) {
	r, a, b := twoNodes(t, members(t, 1))
	waitSubscribed(t, r, 2)
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	connect(t, c, "w", b.url("/org/1"), once("alice")) // a witness on B
	a.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})
	expectRows(t, c, "w", row{"personview.addrow", 1})

	moveClient(t, c, "s", lb, b)
	referenceEmitter(r.URL())(t, emit{Nsp: "/org/1", Event: "person.updated", Args: []any{map[string]any{"personId": 9}}})
	expectPayload(t, c, "w", "person.updated", `{"personId":9}`) // B has handled it
	lb.Resume()
	rec := reconnected(t, c, "s")
	b.addRow(1, 2) // the barrier
	ev, err := c.WaitEvent("s", "personview.addrow", waitLong)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev.Skipped {
		if e.Event == "person.updated" || e.Event == "resync" {
			return
		}
	}
	t.Fatalf("the emitter's person.updated was lost silently: socket s reconnected (recovered=%v) and got %v with nothing before it; want the event or a resync",
		rec.Recovered, ev)
}
