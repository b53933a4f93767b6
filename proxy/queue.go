package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncgate/syncgate/triggers"
)

// PublishQueue takes fired events off the request path. It is a Publisher whose Publish
// queues the event and returns at once, so the upstream's response is passed on without
// waiting for the next Publisher (the gateway's broadcast: Redis, a membership check).
// Behind it:
//
//   - events of one org are published one at a time, in the order they were queued, by a
//     worker that exists only while the org has events queued; orgs do not wait for each
//     other;
//   - a failed publish is retried (Attempts, with a doubling Backoff), each attempt bounded
//     by Timeout; an event that fails every attempt is logged and counted (Stats().Failed);
//   - at most MaxQueued events wait: past that, Publish waits for room in the caller (the
//     request path slows down rather than memory growing or an event being dropped);
//   - Flush (at shutdown: after the HTTP server has let in-flight calls finish, before the
//     Redis client closes) waits until everything queued is published.
type PublishQueue struct {
	next Publisher
	opts QueueOptions

	mu      sync.Mutex
	room    *sync.Cond // signalled when an event leaves the queue
	orgs    map[string][]queuedEvent
	pending int           // events queued or being published
	idle    chan struct{} // closed when pending drops to 0; nil while nobody waits

	stats QueueStats
}

// QueueOptions configure NewPublishQueue. Zero values take the defaults shown.
type QueueOptions struct {
	MaxQueued int           // events waiting across all orgs before Publish blocks, default 100,000
	Attempts  int           // tries per event, default 3
	Timeout   time.Duration // bound of one try, default DefaultPublishTimeout (10s)
	Backoff   time.Duration // wait before the first retry, doubling after each, default 100ms
	Logger    *slog.Logger  // default slog.Default()
	// GaveUp, if set, is called with an event that failed every try (after it is logged
	// and counted), so that the org's sockets can be told to resync rather than stay stale.
	GaveUp func(ctx context.Context, ev triggers.Event, err error)
}

// QueueStats counts what a PublishQueue did.
type QueueStats struct {
	Queued    atomic.Int64 // events accepted by Publish
	Published atomic.Int64 // events the next Publisher took
	Retries   atomic.Int64 // tries after a failed one
	Failed    atomic.Int64 // events given up after every try failed
	Waited    atomic.Int64 // Publish calls that waited for room (queue full)
}

type queuedEvent struct {
	ctx context.Context // the call's values (the originator), without its cancellation
	ev  triggers.Event
}

// NewPublishQueue returns a queue in front of next.
func NewPublishQueue(next Publisher, o QueueOptions) *PublishQueue {
	if o.MaxQueued <= 0 {
		o.MaxQueued = 100_000
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultPublishTimeout
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	q := &PublishQueue{next: next, opts: o, orgs: make(map[string][]queuedEvent)}
	q.room = sync.NewCond(&q.mu)
	return q
}

// Stats returns the queue's counters.
func (q *PublishQueue) Stats() *QueueStats { return &q.stats }

// Len returns the number of events queued or being published.
func (q *PublishQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

// Publish implements Publisher: it queues ev and returns nil, without waiting for it to be
// published, unless the queue is full (then it waits for room: never reordering an org's
// events nor dropping one). ctx's values travel with the event; its cancellation and
// deadline do not.
func (q *PublishQueue) Publish(ctx context.Context, ev triggers.Event) error {
	item := queuedEvent{ctx: context.WithoutCancel(ctx), ev: ev}
	q.mu.Lock()
	if q.pending >= q.opts.MaxQueued {
		q.stats.Waited.Add(1)
		for q.pending >= q.opts.MaxQueued {
			q.room.Wait()
		}
	}
	q.stats.Queued.Add(1)
	q.pending++
	waiting := q.orgs[ev.Org]
	q.orgs[ev.Org] = append(waiting, item)
	if len(waiting) == 0 { // no worker for this org: start one
		go q.work(ev.Org)
	}
	q.mu.Unlock()
	return nil
}

// work publishes org's events in order until none is left.
func (q *PublishQueue) work(org string) {
	for {
		q.mu.Lock()
		item := q.orgs[org][0]
		q.mu.Unlock()
		_ = q.publish(item)
		q.mu.Lock()
		rest := q.orgs[org][1:]
		if len(rest) == 0 {
			delete(q.orgs, org)
		} else {
			q.orgs[org] = rest
		}
		q.pending--
		q.room.Signal()
		if q.pending == 0 && q.idle != nil {
			close(q.idle)
			q.idle = nil
		}
		q.mu.Unlock()
		if len(rest) == 0 {
			return
		}
	}
}

// publish hands item to the next Publisher, retrying failures.
func (q *PublishQueue) publish(item queuedEvent) error {
	backoff := q.opts.Backoff
	var err error
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(item.ctx, q.opts.Timeout)
		err = q.next.Publish(ctx, item.ev)
		cancel()
		if err == nil {
			q.stats.Published.Add(1)
			return nil
		}
		if try == q.opts.Attempts {
			break
		}
		q.stats.Retries.Add(1)
		q.opts.Logger.Warn("publish event failed; retrying", "event", item.ev.Name, "org", item.ev.Org, "try", try, "err", err)
		time.Sleep(backoff)
		backoff *= 2
	}
	q.stats.Failed.Add(1)
	q.opts.Logger.Error("publish event failed; given up", "event", item.ev.Name, "org", item.ev.Org,
		"tries", q.opts.Attempts, "err", err)
	if q.opts.GaveUp != nil {
		q.opts.GaveUp(item.ctx, item.ev, err)
	}
	return err
}

// Flush waits until every event queued so far is published (or given up), or ctx ends; an
// error means some accepted event may never be published. At shutdown, call it once no
// call is in flight any more (http.Server.Shutdown returned) and before the next
// Publisher's resources (the Redis client) close.
func (q *PublishQueue) Flush(ctx context.Context) error {
	q.mu.Lock()
	if q.pending == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("proxy: %d events still unpublished: %w", q.Len(), ctx.Err())
	}
}
