// Package coalesce merges bursts of one org's invalidation events of the same name and room
// (triggers with coalesce:) into one delivery whose differing IDs become lists, or a scoped resync.
package coalesce

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/syncgate/syncgate/triggers"
)

// Defaults of Options.
const (
	DefaultMaxIDs     = 100
	DefaultMaxPending = 10000
)

// ResyncReason is the reason of the resync a burst too large to list becomes.
const ResyncReason = "coalesced"

// ResyncPayload is the argument of the `resync` event a Delivery with Resync set is sent
// as: {"reason": "coalesced", "event": NAME}. Clients refetch what that event invalidates
// (the kit's bindings: the event's scope, by default every query), not the whole org.
func ResyncPayload(name string) map[string]string {
	return map[string]string{"reason": ResyncReason, "event": name}
}

// Delivery is what the sink publishes: one event, or many merged, or a scoped resync.
type Delivery struct {
	Org, Name, Room string
	// Data is the merged payload: a field equal in every merged event stays a scalar, a
	// field that differs becomes the sorted list ([]any) of its distinct values (numbers
	// first, in numeric order, then strings). triggers.MetaKey is kept with those of its
	// entries that are equal in every event. nil when Resync is set.
	Data map[string]any
	// Resync says some field had more than Options.MaxIDs distinct values: send
	// `resync` with ResyncPayload(Name) to the org (to Room when it is not "") instead.
	Resync bool
	// Count is how many events were merged (at least 1).
	Count int
	// Origin is the value Add was given with the event when Count is 1, else nil: a
	// merged delivery goes to every socket, the caller's too, since it carries others'
	// changes.
	Origin any
}

// Options tune a Coalescer; zero values take the defaults.
type Options struct {
	// MaxIDs is the most distinct values of one field a delivery lists (default 100);
	// one more makes the burst a scoped resync.
	MaxIDs int
	// MaxPending is the most (org, event, room) bursts held at once (default 10000); a
	// new one past it flushes every pending burst at once, so memory stays bounded.
	MaxPending int
	// AfterFunc schedules a flush (default time.AfterFunc); tests pass a fake clock.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
}

type key struct{ org, name, room string }

// burst is the pending delivery of one key.
type burst struct {
	key    key
	fields []string             // payload keys of the first event, sorted: a different set starts a new burst
	values map[string]*valueSet // field → distinct values
	meta   map[string]any       // entries equal in every event so far; nil: none
	count  int
	origin any
	resync bool
	stop   func() bool
}

// valueSet is a field's distinct values, in arrival order until sorted.
type valueSet struct {
	seen map[any]struct{}
	list []any
}

// Coalescer holds bursts for their window and hands them, in order, to one sink goroutine.
// Safe for concurrent use.
type Coalescer struct {
	sink func(Delivery)
	opt  Options

	mu      sync.Mutex
	pending map[key]*burst
	queue   []Delivery // flushed, not yet given to the sink, in flush order
	wake    *sync.Cond
	closed  bool
	done    chan struct{}
}

// New starts a Coalescer that calls sink, from one goroutine, with every delivery in the
// order the bursts were flushed (so the deliveries of one org, event and room stay in the
// order of their events). Close it to flush and stop.
func New(sink func(Delivery), o Options) *Coalescer {
	if o.MaxIDs <= 0 {
		o.MaxIDs = DefaultMaxIDs
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.AfterFunc == nil {
		o.AfterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	c := &Coalescer{sink: sink, opt: o, pending: map[key]*burst{}, done: make(chan struct{})}
	c.wake = sync.NewCond(&c.mu)
	go c.run()
	return c
}

// Add takes an event to deliver within ev.Coalesce (at least triggers.MinCoalesce), merged
// with the others of its org, name and room in that window. origin is passed back in the
// Delivery when the event is delivered alone (e.g. the socket to skip). Incomplete events
// must not be given: they are resyncs, sent at once. After Close, Add delivers at once.
func (c *Coalescer) Add(ev triggers.Event, origin any) {
	k := key{ev.Org, ev.Name, ev.Room}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.sink(single(ev, origin))
		return
	}
	defer c.mu.Unlock()
	b := c.pending[k]
	if b != nil && !slices.Equal(b.fields, fieldsOf(ev.Data)) {
		// Another trigger fires this name with other fields: merging would hand the
		// client a payload neither trigger makes. Deliver what came before, then go on.
		c.flushLocked(b)
		b = nil
	}
	if b == nil {
		if len(c.pending) >= c.opt.MaxPending {
			for _, p := range c.pendingInOrder() {
				c.flushLocked(p)
			}
		}
		b = &burst{key: k, fields: fieldsOf(ev.Data), values: map[string]*valueSet{}, origin: origin}
		c.pending[k] = b
		window := max(ev.Coalesce, triggers.MinCoalesce)
		b.stop = c.opt.AfterFunc(window, func() { c.expire(b) })
	}
	b.add(ev, origin, c.opt.MaxIDs)
}

// Close flushes every pending burst, waits until the sink has had every delivery, and
// stops the sink goroutine. Events added later are delivered at once.
func (c *Coalescer) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return
	}
	for _, b := range c.pendingInOrder() {
		c.flushLocked(b)
	}
	c.closed = true
	c.wake.Broadcast()
	c.mu.Unlock()
	<-c.done
}

// Pending returns how many bursts wait for their window to end.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// expire is a burst's timer: flush it unless it was flushed early.
func (c *Coalescer) expire(b *burst) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[b.key] == b {
		c.flushLocked(b)
	}
}

// flushLocked moves a pending burst to the sink's queue.
func (c *Coalescer) flushLocked(b *burst) {
	delete(c.pending, b.key)
	if b.stop != nil {
		b.stop()
	}
	c.queue = append(c.queue, b.delivery())
	c.wake.Signal()
}

// pendingInOrder lists the pending bursts in a stable order (their keys), so a mass flush
// does not depend on map order.
func (c *Coalescer) pendingInOrder() []*burst {
	out := make([]*burst, 0, len(c.pending))
	for _, b := range c.pending {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *burst) int {
		return cmp.Or(cmp.Compare(a.key.org, b.key.org), cmp.Compare(a.key.name, b.key.name), cmp.Compare(a.key.room, b.key.room))
	})
	return out
}

// run gives the queued deliveries to the sink, one at a time, outside the lock.
func (c *Coalescer) run() {
	defer close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.queue) == 0 && !c.closed {
			c.wake.Wait()
		}
		if len(c.queue) == 0 {
			return // closed and drained
		}
		d := c.queue[0]
		c.queue[0] = Delivery{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		c.sink(d)
		c.mu.Lock()
	}
}

func (b *burst) add(ev triggers.Event, origin any, maxIDs int) {
	b.count++
	if b.count > 1 {
		b.origin = nil
	}
	b.mergeMeta(ev.Data[triggers.MetaKey], b.count == 1)
	if b.resync {
		return // the values are not needed any more
	}
	for f, v := range ev.Data {
		if f == triggers.MetaKey {
			continue
		}
		vs := b.values[f]
		if vs == nil {
			vs = &valueSet{seen: map[any]struct{}{}}
			b.values[f] = vs
		}
		if !hashable(v) {
			// Not an ID as triggers makes them: listing it is not possible, refetching is.
			b.resync, b.values = true, nil
			return
		}
		if _, dup := vs.seen[v]; dup {
			continue
		}
		if len(vs.list) == maxIDs {
			b.resync, b.values = true, nil
			return
		}
		vs.seen[v] = struct{}{}
		vs.list = append(vs.list, v)
	}
}

// mergeMeta keeps the metadata entries equal in every event of the burst.
func (b *burst) mergeMeta(m any, first bool) {
	mm, _ := m.(map[string]any)
	if first {
		if len(mm) > 0 {
			b.meta = make(map[string]any, len(mm))
			for k, v := range mm {
				b.meta[k] = v
			}
		}
		return
	}
	for k, v := range b.meta {
		if mm[k] != v {
			delete(b.meta, k)
		}
	}
}

func (b *burst) delivery() Delivery {
	d := Delivery{Org: b.key.org, Name: b.key.name, Room: b.key.room, Count: b.count, Origin: b.origin}
	if b.resync {
		d.Resync = true
		return d
	}
	d.Data = make(map[string]any, len(b.values)+1)
	for f, vs := range b.values {
		if len(vs.list) == 1 {
			d.Data[f] = vs.list[0]
			continue
		}
		slices.SortFunc(vs.list, compareIDs)
		d.Data[f] = vs.list
	}
	if len(b.meta) > 0 {
		d.Data[triggers.MetaKey] = b.meta
	}
	return d
}

// single is the delivery of one event on its own.
func single(ev triggers.Event, origin any) Delivery {
	return Delivery{Org: ev.Org, Name: ev.Name, Room: ev.Room, Data: ev.Data, Count: 1, Origin: origin}
}

// fieldsOf lists a payload's ID keys, sorted.
func fieldsOf(data map[string]any) []string {
	out := make([]string, 0, len(data))
	for k := range data {
		if k != triggers.MetaKey {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// compareIDs orders IDs: integers (int64, as triggers makes them) numerically, before
// strings, which sort by text.
func compareIDs(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	as, _ := a.(string)
	bs, _ := b.(string)
	return cmp.Compare(as, bs)
}

// hashable reports whether v can be a map key: the ID types triggers makes, and other
// JSON scalars.
func hashable(v any) bool {
	switch v.(type) {
	case int64, string, int, float64, bool, nil:
		return true
	}
	return false
}
