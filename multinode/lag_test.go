package multinode

import (
	"net/http"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/fanout"
	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
)

// laggingAdapter is a real RedisAdapter whose deliveries of other nodes' broadcasts can be
// held, as when a node's bus reader falls behind under load. Its own publishes are
// delivered at once, as always.
type laggingAdapter struct {
	namespaces.Adapter

	mu    sync.Mutex
	gate  chan struct{} // closed while deliveries flow
	local map[*namespaces.Broadcast]bool
}

// newLaggingNode starts node name on Redis at url with a laggingAdapter. The adapter is
// let go before the node closes.
func newLaggingNode(t *testing.T, api *testenv.FakeAPI, name, url string) (*node, *laggingAdapter) {
	t.Helper()
	rdb, err := fanout.ParseRedisURL(url + "?client_name=" + name)
	if err != nil {
		t.Fatal(err)
	}
	la := &laggingAdapter{
		Adapter: fanout.NewRedis(fanout.RedisOptions{Client: rdb}),
		gate:    make(chan struct{}),
		local:   map[*namespaces.Broadcast]bool{},
	}
	close(la.gate)
	n := startNodeWith(t, api, name, la)
	t.Cleanup(la.release) // runs before the node's cleanup, which waits for the reader
	return n, la
}

// Init wraps the server's delivery hook with the gate.
func (l *laggingAdapter) Init(h namespaces.AdapterHooks) {
	deliver := h.DeliverLocal
	h.DeliverLocal = func(b *namespaces.Broadcast) int {
		l.mu.Lock()
		gate, own := l.gate, l.local[b]
		l.mu.Unlock()
		if !own {
			<-gate
		}
		return deliver(b)
	}
	l.Adapter.Init(h)
}

// Publish marks b as this node's own before the adapter delivers it.
func (l *laggingAdapter) Publish(b *namespaces.Broadcast) error {
	l.mu.Lock()
	l.local[b] = true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.local, b)
		l.mu.Unlock()
	}()
	return l.Adapter.Publish(b)
}

// hold makes the bus reader stop at the next broadcast of another node.
func (l *laggingAdapter) hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gate = make(chan struct{})
}

// release lets the bus reader go on.
func (l *laggingAdapter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.gate:
	default:
		close(l.gate)
	}
}

// A socket that recovered on a node whose bus reader is behind must not get the recovered
// events a second time when the reader catches up: recovery promises exactly once.
func TestRecoveryOnLaggingNodeDeliversMissedEventsOnce(t *testing.T) {
	api := members(t, 1)
	r := testenv.StartRedis(t)
	a := startNode(t, api, "A", r.URL())
	b, lag := newLaggingNode(t, api, "B", r.URL())
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c := testenv.StartNode(t)
	lb := startForwarder(t, a.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	connect(t, c, "w", b.url("/org/1"), once("alice")) // a witness on B
	a.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})
	expectRows(t, c, "w", row{"personview.addrow", 1}) // B's reader is past event 1

	lag.hold()
	moveClient(t, c, "s", lb, b)
	a.addRow(1, 2) // B's reader stops here
	a.addRow(1, 3)
	lb.Resume()
	if ev := reconnected(t, c, "s"); !ev.Recovered {
		t.Fatalf("socket s did not recover on node B: %v", ev)
	}
	expectRows(t, c, "s", row{"personview.addrow", 2}, row{"personview.addrow", 3})

	lag.release() // B's reader delivers 2 and 3 to its sockets, s included
	a.addRow(1, 4)
	ev := waitOnly(t, c, "s", "personview.addrow")
	if got := personID(t, ev); got != 4 {
		t.Fatalf("after recovering 2 and 3, socket s got person %d again before 4 (events delivered twice)", got)
	}
}

// A node delivers its own publishes in bus order, like everyone else's: event 3, published
// through B after event 2 went through A, never reaches B's sockets before 2. While B's
// reader lags, its socket has 1 only; moved to A, it recovers 2 and 3 in order (or is told
// to resync): nothing is skipped silently.
func TestRecoveryAfterOwnEventOvertookRemoteOneLosesNothing(t *testing.T) {
	api := members(t, 1)
	r := testenv.StartRedis(t)
	a := startNode(t, api, "A", r.URL())
	b, lag := newLaggingNode(t, api, "B", r.URL())
	a.waitReadyz(http.StatusOK)
	b.waitReadyz(http.StatusOK)
	c := testenv.StartNode(t)
	lb := startForwarder(t, b.addr)
	connect(t, c, "s", "http://"+lb.Addr()+"/org/1", reconnecting("alice"))
	b.addRow(1, 1)
	expectRows(t, c, "s", row{"personview.addrow", 1})

	lag.hold()
	a.addRow(1, 2) // logged and on the bus; B's reader holds it
	b.addRow(1, 3) // on the bus after 2: B's sockets do not get it before 2
	moveClient(t, c, "s", lb, a)
	lb.Resume()
	rec := reconnected(t, c, "s")
	a.addRow(1, 4) // the barrier
	ev, err := c.WaitEvent("s", "personview.addrow", waitLong)
	if err != nil {
		t.Fatal(err)
	}
	if personID(t, ev) == 2 {
		return // delivered after all
	}
	for _, e := range ev.Skipped {
		if e.Event == "resync" {
			return // told it may have missed something
		}
	}
	t.Fatalf("event 2 was lost silently: the socket reconnected (recovered=%v) and got %v, skipped %v; neither event 2 nor a resync",
		rec.Recovered, ev, ev.Skipped)
}
