package coalesce

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/triggers"
)

// fakeClock records the flushes a Coalescer schedules; fire runs them as if their window ended.
type fakeClock struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (fc *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	fc.timers = append(fc.timers, t)
	return func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// fireAll ends every window scheduled so far that was not stopped.
func (fc *fakeClock) fireAll() {
	fc.mu.Lock()
	ts := fc.timers
	fc.timers = nil
	fc.mu.Unlock()
	for _, t := range ts {
		if !t.stopped {
			t.f()
		}
	}
}

// sink collects deliveries; next awaits the next one.
type sink struct{ ch chan Delivery }

func newSink() *sink { return &sink{ch: make(chan Delivery, 1000)} }

func (s *sink) deliver(d Delivery) { s.ch <- d }

func (s *sink) next(t *testing.T) Delivery {
	t.Helper()
	select {
	case d := <-s.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
		return Delivery{}
	}
}

func (s *sink) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-s.ch:
		t.Fatalf("unexpected delivery %+v", d)
	default:
	}
}

func ev(name string, data map[string]any) triggers.Event {
	return triggers.Event{Org: "1", Name: name, Data: data, Coalesce: 200 * time.Millisecond}
}

func TestBurstBecomesLists(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	defer c.Close()
	for _, p := range []int64{5, 3, 4, 3} {
		c.Add(ev("personview.addrow", map[string]any{"viewId": int64(2), "personId": p}), "sock")
	}
	s.none(t)
	if len(fc.timers) != 1 || fc.timers[0].d != 200*time.Millisecond {
		t.Fatalf("one window of 200ms expected, got %d timers", len(fc.timers))
	}
	fc.fireAll()
	d := s.next(t)
	want := Delivery{Org: "1", Name: "personview.addrow", Count: 4,
		Data: map[string]any{"viewId": int64(2), "personId": []any{int64(3), int64(4), int64(5)}}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("delivery = %#v\nwant %#v", d, want)
	}
	// The next event opens a new window.
	c.Add(ev("personview.addrow", map[string]any{"viewId": int64(2), "personId": int64(9)}), "sock")
	fc.fireAll()
	d = s.next(t)
	if d.Count != 1 || d.Origin != "sock" || !reflect.DeepEqual(d.Data, map[string]any{"viewId": int64(2), "personId": int64(9)}) {
		t.Fatalf("single delivery = %#v", d)
	}
}

func TestKeysAreSeparate(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	defer c.Close()
	a := ev("a", map[string]any{"id": int64(1)})
	b := ev("b", map[string]any{"id": int64(2)})
	org2 := ev("a", map[string]any{"id": int64(3)})
	org2.Org = "2"
	room := ev("a", map[string]any{"id": int64(4)})
	room.Room = "view:1"
	for _, e := range []triggers.Event{a, b, org2, room} {
		c.Add(e, nil)
	}
	if c.Pending() != 4 {
		t.Fatalf("Pending = %d, want 4", c.Pending())
	}
	fc.fireAll()
	got := map[string]any{}
	for range 4 {
		d := s.next(t)
		got[d.Org+"/"+d.Name+"/"+d.Room] = d.Data["id"]
	}
	want := map[string]any{"1/a/": int64(1), "1/b/": int64(2), "2/a/": int64(3), "1/a/view:1": int64(4)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deliveries = %v, want %v", got, want)
	}
}

func TestPastCapIsScopedResync(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc, MaxIDs: 3})
	defer c.Close()
	for p := range int64(4) {
		c.Add(ev("personview.addrow", map[string]any{"viewId": int64(2), "personId": p}), nil)
	}
	fc.fireAll()
	d := s.next(t)
	if !d.Resync || d.Data != nil || d.Count != 4 || d.Name != "personview.addrow" {
		t.Fatalf("delivery = %#v, want a resync of 4 events", d)
	}
	if p := ResyncPayload(d.Name); !reflect.DeepEqual(p, map[string]string{"reason": "coalesced", "event": "personview.addrow"}) {
		t.Fatalf("ResyncPayload = %v", p)
	}
	// Exactly MaxIDs values are still listed.
	for p := range int64(3) {
		c.Add(ev("personview.addrow", map[string]any{"personId": p, "viewId": int64(2)}), nil)
	}
	fc.fireAll()
	if d := s.next(t); d.Resync || len(d.Data["personId"].([]any)) != 3 {
		t.Fatalf("delivery of 3 = %#v", d)
	}
}

func TestMixedIDTypesSorted(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	defer c.Close()
	for _, id := range []any{"b", int64(10), "a", int64(9)} {
		c.Add(ev("x", map[string]any{"id": id}), nil)
	}
	fc.fireAll()
	if got := s.next(t).Data["id"]; !reflect.DeepEqual(got, []any{int64(9), int64(10), "a", "b"}) {
		t.Fatalf("ids = %v", got)
	}
}

func TestMetaKeptOnlyWhenEqual(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	defer c.Close()
	c.Add(ev("x", map[string]any{"id": int64(1), triggers.MetaKey: map[string]any{"version": "v1", "requestId": "r1"}}), nil)
	c.Add(ev("x", map[string]any{"id": int64(2), triggers.MetaKey: map[string]any{"version": "v2", "requestId": "r1"}}), nil)
	fc.fireAll()
	want := map[string]any{"id": []any{int64(1), int64(2)}, triggers.MetaKey: map[string]any{"requestId": "r1"}}
	if got := s.next(t).Data; !reflect.DeepEqual(got, want) {
		t.Fatalf("data = %#v, want %#v", got, want)
	}
	c.Add(ev("x", map[string]any{"id": int64(1), triggers.MetaKey: map[string]any{"version": "v1"}}), nil)
	c.Add(ev("x", map[string]any{"id": int64(1)}), nil)
	fc.fireAll()
	if got := s.next(t).Data; !reflect.DeepEqual(got, map[string]any{"id": int64(1)}) {
		t.Fatalf("data = %#v, want no meta", got)
	}
}

// Events of one name with other fields (another trigger) are not merged: what came
// before is delivered first, in order.
func TestOtherFieldsStartNewBurst(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	defer c.Close()
	c.Add(ev("x", map[string]any{"personId": int64(1)}), nil)
	c.Add(ev("x", map[string]any{"personId": int64(2)}), nil)
	c.Add(ev("x", map[string]any{"personId": int64(3), "viewId": int64(7)}), nil)
	d := s.next(t) // flushed early, before any window ended
	if !reflect.DeepEqual(d.Data, map[string]any{"personId": []any{int64(1), int64(2)}}) {
		t.Fatalf("first = %#v", d)
	}
	fc.fireAll()
	if d := s.next(t); !reflect.DeepEqual(d.Data, map[string]any{"personId": int64(3), "viewId": int64(7)}) {
		t.Fatalf("second = %#v", d)
	}
}

func TestMaxPendingFlushesEarly(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc, MaxPending: 3})
	defer c.Close()
	for i := range 3 {
		c.Add(ev(fmt.Sprintf("e%d", i), map[string]any{"id": int64(i)}), nil)
	}
	s.none(t)
	c.Add(ev("e3", map[string]any{"id": int64(3)}), nil)
	for i := range 3 {
		if d := s.next(t); d.Name != fmt.Sprintf("e%d", i) {
			t.Fatalf("early flush %d = %s", i, d.Name)
		}
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1", c.Pending())
	}
	fc.fireAll() // the stopped windows must not deliver again
	if d := s.next(t); d.Name != "e3" {
		t.Fatalf("last = %s", d.Name)
	}
	s.none(t)
}

func TestCloseFlushesAndThenDeliversAtOnce(t *testing.T) {
	fc, s := &fakeClock{}, newSink()
	c := New(s.deliver, Options{AfterFunc: fc.AfterFunc})
	c.Add(ev("x", map[string]any{"id": int64(1)}), nil)
	c.Add(ev("y", map[string]any{"id": int64(2)}), nil)
	c.Close() // returns after the sink has had both
	if len(s.ch) != 2 {
		t.Fatalf("%d deliveries after Close, want 2", len(s.ch))
	}
	s.next(t)
	s.next(t)
	c.Add(ev("z", map[string]any{"id": int64(3)}), "o")
	if d := s.next(t); d.Name != "z" || d.Origin != "o" {
		t.Fatalf("after Close = %#v", d)
	}
	fc.fireAll()
	s.none(t)
	c.Close() // twice is fine
}

// Real timers, concurrent adders: every event is delivered exactly once, and the
// deliveries of one key come in the order of their events (each burst's IDs are all
// greater than the previous burst's).
func TestConcurrentRealWindows(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]Delivery{}
	all := make(chan struct{}, 10000)
	c := New(func(d Delivery) {
		mu.Lock()
		got[d.Name] = append(got[d.Name], d)
		mu.Unlock()
		for range d.Count {
			all <- struct{}{}
		}
	}, Options{MaxIDs: 1000})
	const writers, perWriter = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				e := ev(fmt.Sprintf("w%d", w), map[string]any{"id": int64(i)})
				e.Coalesce = 10 * time.Millisecond
				c.Add(e, nil)
			}
		}()
	}
	wg.Wait()
	for range writers * perWriter {
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			t.Fatal("not every event delivered")
		}
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	for name, ds := range got {
		last := int64(-1)
		n := 0
		for _, d := range ds {
			ids := []any{d.Data["id"]}
			if l, ok := d.Data["id"].([]any); ok {
				ids = l
			}
			for _, id := range ids {
				if id.(int64) <= last {
					t.Fatalf("%s: id %v after %d: out of order", name, id, last)
				}
				last = id.(int64)
				n++
			}
		}
		if n != perWriter {
			t.Fatalf("%s: %d ids delivered, want %d", name, n, perWriter)
		}
	}
}
