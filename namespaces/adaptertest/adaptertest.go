package adaptertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/namespaces"
)

// NewFunc returns an initialised adapter, ready to publish, whose hooks report to
// hooks; window is the recovery window and perNsp the broadcasts kept per namespace. The
// adapter is closed when the test ends.
type NewFunc func(t *testing.T, window time.Duration, perNsp int, hooks *HookLog) namespaces.Adapter

// HookLog records what an adapter delivers and resyncs through its hooks (Hooks), in
// order, and can hold deliveries (Hold) until Release.
type HookLog struct {
	mu      sync.Mutex
	got     []*namespaces.Broadcast
	resyncs []string // namespaces ("" = all)
	seq     []string // both, in order: "event" for a delivery, "resync:<nsp>" for a resync
	changed chan struct{}
	block   chan struct{} // when set, the next deliveries wait for it to close
	entered chan struct{} // closed when a delivery starts waiting on block
}

func (h *HookLog) Hooks() namespaces.AdapterHooks {
	return namespaces.AdapterHooks{
		DeliverLocal: func(b *namespaces.Broadcast) int {
			h.mu.Lock()
			block, entered := h.block, h.entered
			if block != nil && entered != nil {
				close(entered)
				h.entered = nil
			}
			h.mu.Unlock()
			if block != nil {
				<-block
			}
			h.record(func() { h.got, h.seq = append(h.got, b), append(h.seq, b.Event) })
			return 1
		},
		Resync: func(nsp, _ string) {
			h.record(func() { h.resyncs, h.seq = append(h.resyncs, nsp), append(h.seq, "resync:"+nsp) })
		},
	}
}

func (h *HookLog) record(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
	if h.changed != nil {
		close(h.changed)
	}
	h.changed = make(chan struct{})
}

// hold makes deliveries wait from now until release; the returned channel is closed when
// one is waiting.
func (h *HookLog) Hold() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.block, h.entered = make(chan struct{}), make(chan struct{})
	return h.entered
}

func (h *HookLog) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.block != nil {
		close(h.block)
		h.block, h.entered = nil, nil
	}
}

func (h *HookLog) Delivered() []*namespaces.Broadcast {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// sequence returns deliveries and resyncs in the order they happened.
func (h *HookLog) Sequence() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.seq)
}

func (h *HookLog) Resynced() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.resyncs)
}

// waitFor waits until cond holds for what was delivered and resynced, for at most 20s.
func (h *HookLog) WaitFor(t *testing.T, what string, cond func(got []*namespaces.Broadcast, resyncs []string) bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok := cond(h.got, h.resyncs)
		if h.changed == nil {
			h.changed = make(chan struct{})
		}
		changed := h.changed
		got, res := slices.Clone(h.got), slices.Clone(h.resyncs)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %s within 20s; delivered %s, resyncs %q", what, EventNames(got), res)
		}
	}
}

// EventNames lists broadcasts as "nsp:event" for messages.
func EventNames(bs []*namespaces.Broadcast) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Nsp + ":" + b.Event
	}
	return out
}

// HasEvent reports whether event was delivered.
func HasEvent(got []*namespaces.Broadcast, event string) bool {
	return slices.ContainsFunc(got, func(b *namespaces.Broadcast) bool { return b.Event == event })
}

// PublishTo publishes an event to nsp and returns the broadcast (its Offset set).
func PublishTo(t *testing.T, a namespaces.Adapter, nsp, event string, args ...any) *namespaces.Broadcast {
	t.Helper()
	b := &namespaces.Broadcast{Nsp: nsp, Event: event, Args: args}
	if err := a.Publish(b); err != nil {
		t.Fatalf("Publish %s %s: %v", nsp, event, err)
	}
	return b
}

// WireOf is what of a broadcast must survive the adapter: JSON-equal rooms, except, event
// and args.
func WireOf(b *namespaces.Broadcast) string {
	j, _ := json.Marshal(map[string]any{"rooms": b.Rooms, "except": b.Except, "event": b.Event, "args": b.Args})
	return string(j)
}

// Behaviours runs, as subtests, what every Adapter must do: deliver locally with an offset,
// keep recent broadcasts for recovery within its window, and keep sessions once.
func Behaviours(t *testing.T, newAdapter NewFunc) {
	ctx := context.Background()
	const long = time.Minute

	t.Run("PublishDeliversLocallyWithAnOffset", func(t *testing.T) {
		hooks := &HookLog{}
		a := newAdapter(t, long, 0, hooks)
		b := PublishTo(t, a, "/org/1", "e", 1)
		// The memory adapter delivers at once; the Redis adapter through its bus reader, in
		// bus order: wait for it, then check it came exactly once.
		hooks.WaitFor(t, "the broadcast delivered", func(got []*namespaces.Broadcast, _ []string) bool { return len(got) > 0 })
		if got := hooks.Delivered(); len(got) != 1 || got[0].Event != b.Event || got[0].Offset != b.Offset {
			t.Fatalf("deliveries %s, want the broadcast once", EventNames(got))
		}
		if b.Offset == "" {
			t.Fatal("a logged broadcast has no offset")
		}
	})

	t.Run("OffsetsIncreaseWithinANamespace", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		last := map[string]string{}
		for i := range 50 {
			nsp := fmt.Sprintf("/org/%d", 1+i%3)
			b := PublishTo(t, a, nsp, "e", i)
			if prev := last[nsp]; prev != "" && !namespaces.OffsetAfter(b.Offset, prev) {
				t.Fatalf("publish %d to %s: offset %q does not come after %q", i, nsp, b.Offset, prev)
			}
			last[nsp] = b.Offset
		}
	})

	t.Run("MissedReturnsWhatCameAfterInOrder", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		var sent []*namespaces.Broadcast
		for i := range 6 {
			b := &namespaces.Broadcast{Nsp: "/org/1", Event: fmt.Sprintf("e%d", i), Args: []any{map[string]any{"personId": i}}}
			if i == 3 {
				b.Rooms, b.Except = []string{"view:2"}, []string{"sid-x"}
			}
			if err := a.Publish(b); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, b)
			PublishTo(t, a, "/org/2", "other") // another namespace's log, interleaved
		}
		missed, complete, err := a.Missed(ctx, "/org/1", sent[1].Offset)
		if err != nil || !complete {
			t.Fatalf("Missed = complete %v, err %v; want complete", complete, err)
		}
		if len(missed) != 4 {
			t.Fatalf("Missed after the 2nd of 6: %s, want the last 4", EventNames(missed))
		}
		for i, m := range missed {
			want := sent[2+i]
			if m.Nsp != "/org/1" || m.Offset != want.Offset || WireOf(m) != WireOf(want) {
				t.Fatalf("missed[%d] = %s %s %s, want %s %s %s", i, m.Nsp, m.Offset, WireOf(m), want.Nsp, want.Offset, WireOf(want))
			}
		}
	})

	t.Run("MissedAtTheNewestOffsetIsEmptyAndComplete", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		b := PublishTo(t, a, "/org/1", "e")
		missed, complete, err := a.Missed(ctx, "/org/1", b.Offset)
		if err != nil || !complete || len(missed) != 0 {
			t.Fatalf("Missed = %s, %v, %v; want nothing, complete", EventNames(missed), complete, err)
		}
	})

	// An offset is client input. Redis's special IDs ("-", "+", "$", ">", "*") and other
	// garbage must make recovery fail, never reach a stream command as a range.
	t.Run("MissedIsIncompleteForMalformedOffsets", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		b := PublishTo(t, a, "/org/1", "e")
		for _, off := range []string{"", "abc", "1", "1-", "-1", "-", "+", "$", ">", "*", "0", "1-2-3", "1-x",
			"x-1", " 1-0", "99999999999999999999-0", b.Offset + " ", "(" + b.Offset} {
			missed, complete, _ := a.Missed(ctx, "/org/1", off)
			if complete || len(missed) != 0 {
				t.Errorf("Missed(%q) = %s, complete %v; want incomplete", off, EventNames(missed), complete)
			}
		}
	})

	t.Run("MissedIsIncompleteForOffsetsOlderThanTheWindow", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		PublishTo(t, a, "/org/1", "e")
		old := fmt.Sprintf("%d-0", time.Now().Add(-2*long).UnixMilli())
		if _, complete, _ := a.Missed(ctx, "/org/1", old); complete {
			t.Fatalf("Missed(%q), older than the window, is complete", old)
		}
	})

	t.Run("MissedIsIncompleteForOffsetsFromBeforeTheLogBegan", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		PublishTo(t, a, "/org/1", "e")
		before := fmt.Sprintf("%d-0", time.Now().Add(-10*time.Second).UnixMilli()) // within the window
		if _, complete, _ := a.Missed(ctx, "/org/1", before); complete {
			t.Fatalf("Missed(%q), from before this log existed, is complete", before)
		}
	})

	t.Run("MissedIsIncompleteOnceTrimmed", func(t *testing.T) {
		a := newAdapter(t, long, 10, &HookLog{})
		var sent []*namespaces.Broadcast
		for i := range 250 {
			sent = append(sent, PublishTo(t, a, "/org/1", fmt.Sprintf("e%d", i)))
		}
		if _, complete, _ := a.Missed(ctx, "/org/1", sent[0].Offset); complete {
			t.Fatal("Missed from the first of 250 broadcasts, 10 kept, is complete")
		}
		missed, complete, err := a.Missed(ctx, "/org/1", sent[245].Offset)
		if err != nil || !complete || !slices.Equal(EventNames(missed), EventNames(sent[246:])) {
			t.Fatalf("Missed from the 246th = %s, %v, %v; want the last 4, complete", EventNames(missed), complete, err)
		}
	})

	t.Run("SessionIsTakenOnce", func(t *testing.T) {
		a := newAdapter(t, long, 0, &HookLog{})
		want := namespaces.SessionState{PID: "pid-1", SID: "sid-1", Nsp: "/org/1", Rooms: []string{"view:2", "x"}}
		if err := a.SaveSession(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := a.TakeSession(ctx, "pid-1")
		if err != nil || got == nil || got.PID != want.PID || got.SID != want.SID || got.Nsp != want.Nsp || !slices.Equal(got.Rooms, want.Rooms) {
			t.Fatalf("TakeSession = %+v, %v; want %+v", got, err, want)
		}
		if again, err := a.TakeSession(ctx, "pid-1"); again != nil || err != nil {
			t.Fatalf("second TakeSession = %+v, %v; want nil", again, err)
		}
		if unknown, err := a.TakeSession(ctx, "pid-unknown"); unknown != nil || err != nil {
			t.Fatalf("TakeSession of an unknown pid = %+v, %v; want nil", unknown, err)
		}
	})

	t.Run("SessionExpiresWithTheWindow", func(t *testing.T) {
		const window = 200 * time.Millisecond
		a := newAdapter(t, window, 0, &HookLog{})
		if err := a.SaveSession(ctx, namespaces.SessionState{PID: "pid-2", SID: "sid-2", Nsp: "/org/1"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * window) // expiry is what is tested: time has to pass
		if got, err := a.TakeSession(ctx, "pid-2"); got != nil || err != nil {
			t.Fatalf("TakeSession after the window = %+v, %v; want nil", got, err)
		}
	})
}
