package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/triggers"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// gatedPublisher blocks every Publish until open is closed, then records the event.
type gatedPublisher struct {
	open    chan struct{}
	started chan triggers.Event // one value per Publish entered
	rec     *recorder
}

func newGated() *gatedPublisher {
	return &gatedPublisher{open: make(chan struct{}), started: make(chan triggers.Event, 64), rec: newRecorder()}
}

func (g *gatedPublisher) Publish(ctx context.Context, ev triggers.Event) error {
	g.started <- ev
	<-g.open
	return g.rec.Publish(ctx, ev)
}

// TestQueuedPublishDoesNotDelayResponse: with the publisher blocked (Redis unreachable, a
// slow membership check), a mutation's response is complete and the proxy handler has
// returned at once; the event is published when the publisher unblocks.
func TestQueuedPublishDoesNotDelayResponse(t *testing.T) {
	gate := newGated()
	q := NewPublishQueue(gate, QueueOptions{Logger: quiet})
	r := newRig(t, okUpstream(200, `{}`), func(c *Config) { c.Publisher = q })

	start := time.Now()
	resp, _ := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	r.waitDone(t)
	took := time.Since(start)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	select { // the publish did start: it is the publisher that holds it, not the request
	case <-gate.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never reached the publisher")
	}
	if took > time.Second {
		t.Fatalf("the response took %v with the publisher blocked; it must not wait for it", took)
	}
	t.Logf("response with a blocked publisher: %v", took)
	if n := len(gate.rec.all()); n != 0 {
		t.Fatalf("%d events published while the publisher was blocked", n)
	}
	close(gate.open)
	if ev := gate.rec.next(t); ev.Name != "personview.addrow" || ev.Org != "1" {
		t.Fatalf("published %#v", ev)
	}
	if err := q.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := q.Stats().Published.Load(); got != 1 {
		t.Fatalf("Published = %d, want 1", got)
	}
}

// orderPublisher records events per org, sleeping a little at random and failing each
// event's first try now and then, so that workers interleave and retries happen.
type orderPublisher struct {
	mu     sync.Mutex
	seen   map[string][]int
	failed map[string]bool
}

func (p *orderPublisher) Publish(_ context.Context, ev triggers.Event) error {
	time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	key := ev.Org + "/" + ev.Name
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failed[key] && rand.IntN(10) == 0 {
		p.failed[key] = true
		return errors.New("transient")
	}
	n, _ := strconv.Atoi(ev.Name)
	p.seen[ev.Org] = append(p.seen[ev.Org], n)
	return nil
}

// TestQueueKeepsOrgOrderUnderConcurrency: events of one org are published in the order they
// were queued, retries included, while many orgs are queued and published concurrently.
func TestQueueKeepsOrgOrderUnderConcurrency(t *testing.T) {
	const orgs, perOrg = 16, 200
	pub := &orderPublisher{seen: map[string][]int{}, failed: map[string]bool{}}
	q := NewPublishQueue(pub, QueueOptions{Logger: quiet, Backoff: time.Millisecond, MaxQueued: 500})
	var wg sync.WaitGroup
	for o := range orgs {
		wg.Go(func() {
			for i := range perOrg {
				ev := triggers.Event{Org: strconv.Itoa(o), Name: strconv.Itoa(i)}
				if err := q.Publish(context.Background(), ev); err != nil {
					t.Errorf("Publish: %v", err)
				}
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for o := range orgs {
		got := pub.seen[strconv.Itoa(o)]
		if len(got) != perOrg {
			t.Fatalf("org %d: %d events published, want %d", o, len(got), perOrg)
		}
		for i, n := range got {
			if n != i {
				t.Fatalf("org %d: event %d published in position %d (order %v...)", o, n, i, got[:min(len(got), i+3)])
			}
		}
	}
	st := q.Stats()
	if st.Published.Load() != orgs*perOrg || st.Failed.Load() != 0 {
		t.Fatalf("published %d, failed %d", st.Published.Load(), st.Failed.Load())
	}
	if st.Retries.Load() == 0 {
		t.Fatal("no retry happened: the test did not exercise retries")
	}
	t.Logf("retries: %d, waited for room: %d", st.Retries.Load(), st.Waited.Load())
}

// TestQueueFlushWaitsForEveryEvent: Flush returns only once every queued event is
// published, and reports what is left when its context ends first.
func TestQueueFlushWaitsForEveryEvent(t *testing.T) {
	gate := newGated()
	q := NewPublishQueue(gate, QueueOptions{Logger: quiet})
	for i := range 10 {
		_ = q.Publish(context.Background(), triggers.Event{Org: strconv.Itoa(i % 3), Name: "e"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Flush(ctx); err == nil {
		t.Fatal("Flush returned nil with 10 events blocked")
	}
	if q.Len() != 10 {
		t.Fatalf("Len = %d, want 10", q.Len())
	}
	done := make(chan error, 1)
	go func() { done <- q.Flush(context.Background()) }()
	close(gate.open)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Flush did not return after the publisher unblocked")
	}
	if n := len(gate.rec.all()); n != 10 {
		t.Fatalf("Flush returned with %d of 10 events published", n)
	}
}

// failingPublisher fails its first fails tries, then succeeds.
type failingPublisher struct {
	mu    sync.Mutex
	fails int
	tries int
}

func (p *failingPublisher) Publish(context.Context, triggers.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	if p.tries <= p.fails {
		return fmt.Errorf("try %d failed", p.tries)
	}
	return nil
}

// TestQueueRetriesThenCountsFailure: a failing publish is retried up to Attempts; one that
// never succeeds is counted as failed, and the org's next event is still published.
func TestQueueRetriesThenCountsFailure(t *testing.T) {
	p := &failingPublisher{fails: 2}
	q := NewPublishQueue(p, QueueOptions{Logger: quiet, Attempts: 3, Backoff: time.Millisecond})
	_ = q.Publish(context.Background(), triggers.Event{Org: "1", Name: "a"})
	_ = q.Flush(context.Background())
	if st := q.Stats(); st.Published.Load() != 1 || st.Retries.Load() != 2 || st.Failed.Load() != 0 {
		t.Fatalf("published %d retries %d failed %d, want 1 2 0", st.Published.Load(), st.Retries.Load(), st.Failed.Load())
	}

	p = &failingPublisher{fails: 3}
	var gaveUp []string // GaveUp is called on the org's worker, before its next event
	q = NewPublishQueue(p, QueueOptions{Logger: quiet, Attempts: 3, Backoff: time.Millisecond,
		GaveUp: func(_ context.Context, ev triggers.Event, err error) { gaveUp = append(gaveUp, ev.Org+":"+ev.Name) }})
	_ = q.Publish(context.Background(), triggers.Event{Org: "1", Name: "a"})
	_ = q.Publish(context.Background(), triggers.Event{Org: "1", Name: "b"})
	_ = q.Flush(context.Background())
	if st := q.Stats(); st.Failed.Load() != 1 || st.Published.Load() != 1 || p.tries != 4 {
		t.Fatalf("failed %d published %d tries %d, want 1 1 4", st.Failed.Load(), st.Published.Load(), p.tries)
	}
	if len(gaveUp) != 1 || gaveUp[0] != "1:a" {
		t.Fatalf("GaveUp called for %q, want once for 1:a (so the org can be told to resync)", gaveUp)
	}
}

// TestQueueFullWaitsForRoom: past MaxQueued, Publish waits in its caller instead of
// growing the queue or dropping the event.
func TestQueueFullWaitsForRoom(t *testing.T) {
	gate := newGated()
	q := NewPublishQueue(gate, QueueOptions{Logger: quiet, MaxQueued: 2})
	_ = q.Publish(context.Background(), triggers.Event{Org: "1", Name: "a"})
	_ = q.Publish(context.Background(), triggers.Event{Org: "2", Name: "b"})
	third := make(chan struct{})
	go func() {
		_ = q.Publish(context.Background(), triggers.Event{Org: "1", Name: "c"})
		close(third)
	}()
	select {
	case <-third:
		t.Fatal("a third event was queued past MaxQueued 2")
	case <-time.After(100 * time.Millisecond):
	}
	close(gate.open)
	select {
	case <-third:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish still waiting after the queue drained")
	}
	if err := q.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, w := len(gate.rec.all()), q.Stats().Waited.Load(); n != 3 || w != 1 {
		t.Fatalf("published %d, waited %d; want 3, 1", n, w)
	}
}

// slowPublisher takes d per event, as a publish through Redis with a membership check may.
type slowPublisher struct{ d time.Duration }

func (p slowPublisher) Publish(context.Context, triggers.Event) error {
	time.Sleep(p.d)
	return nil
}

// BenchmarkMutationResponse times a firing PUT through the proxy, response read and
// handler returned, with a publisher that takes 2 ms: direct (the publish in the response
// body's Close, as before PublishQueue) and queued.
func BenchmarkMutationResponse(b *testing.B) {
	for _, mode := range []string{"direct", "queued"} {
		b.Run(mode, func(b *testing.B) {
			var pub Publisher = slowPublisher{2 * time.Millisecond}
			var q *PublishQueue
			if mode == "queued" {
				q = NewPublishQueue(pub, QueueOptions{Logger: quiet})
				pub = q
			}
			r := newRig(b, okUpstream(200, `{}`), func(c *Config) { c.Publisher = pub })
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				resp, _ := r.do(b, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
				r.waitDone(b)
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			if q != nil {
				_ = q.Flush(context.Background())
			}
		})
	}
}
