package namespaces_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncgate/syncgate/namespaces"
	"github.com/syncgate/syncgate/namespaces/adaptertest"
)

// The behaviours every Adapter must have are written once in adaptertest and run against
// MemoryAdapter here and the engines of package fanout there.

func TestMemoryAdapterBehaviours(t *testing.T) {
	adaptertest.Behaviours(t, func(t *testing.T, window time.Duration, perNsp int, hooks *adaptertest.HookLog) namespaces.Adapter {
		a := namespaces.NewMemoryAdapter(window, perNsp)
		a.Init(hooks.Hooks())
		t.Cleanup(func() { _ = a.Close() })
		return a
	})
}

func TestMemoryAdapterWithoutWindowKeepsNothing(t *testing.T) {
	hooks := &adaptertest.HookLog{}
	a := namespaces.NewMemoryAdapter(0, 0)
	a.Init(hooks.Hooks())
	b := &namespaces.Broadcast{Nsp: "/org/1", Event: "e"}
	if err := a.Publish(b); err != nil {
		t.Fatal(err)
	}
	if b.Offset != "" || len(hooks.Delivered()) != 1 {
		t.Fatalf("offset %q, %d deliveries; want no offset and one delivery", b.Offset, len(hooks.Delivered()))
	}
	if err := a.SaveSession(context.Background(), namespaces.SessionState{PID: "p", SID: "s", Nsp: "/org/1"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.TakeSession(context.Background(), "p"); st != nil {
		t.Fatalf("session kept with recovery off: %+v", st)
	}
	if _, complete, _ := a.Missed(context.Background(), "/org/1", "1-0"); complete {
		t.Fatal("Missed is complete with recovery off")
	}
}
