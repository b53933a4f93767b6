package multinode

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// A stream of mutations, and what every socket made of it, event by event.

// stream publishes mutations PUT rows/{i} (i = 1, 2, ...) in a goroutine through one
// node, at a steady pace, and remembers when each one started.
type stream struct {
	via   *node
	orgOf func(i int) int

	mu      sync.Mutex
	started map[int]time.Time
	orgs    map[int]int
	last    atomic.Int64 // the last i whose request returned
	errs    []error

	stop chan struct{}
	done chan struct{}
}

// startStream starts publishing through via, one mutation every pace. The pace spreads
// the stream over the failures the test causes; it is load, not synchronization.
func startStream(via *node, pace time.Duration, orgOf func(int) int) *stream {
	s := &stream{via: via, orgOf: orgOf, started: map[int]time.Time{}, orgs: map[int]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(pace)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			org := orgOf(i)
			s.mu.Lock()
			s.started[i] = time.Now()
			s.orgs[i] = org
			s.mu.Unlock()
			code, err := via.send("PUT", rowPath(org, i))
			if err == nil && code != 200 {
				err = fmt.Errorf("PUT row %d: status %d", i, code)
			}
			if err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
			s.last.Store(int64(i))
		}
	}()
	return s
}

// waitMore waits until at least n more mutations than now have been published.
func (s *stream) waitMore(t *testing.T, n int) {
	t.Helper()
	target := s.last.Load() + int64(n)
	deadline := time.Now().Add(waitLong)
	for s.last.Load() < target {
		if time.Now().After(deadline) {
			t.Fatalf("stream: %d mutations published, waited for %d", s.last.Load(), target)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter of the stream's own goroutine
	}
}

// end stops the stream and returns how many mutations it published; it fails the test if
// any of them failed (a node must keep serving its API whatever happens to Redis).
func (s *stream) end(t *testing.T) int {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		t.Fatalf("%d mutations failed during the stream, first: %v", len(s.errs), s.errs[0])
	}
	return int(s.last.Load())
}

// sentTo returns the mutations of org, in order.
func (s *stream) sentTo(org int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for i := 1; i <= int(s.last.Load()); i++ {
		if s.orgs[i] == org {
			out = append(out, i)
		}
	}
	return out
}

func (s *stream) startOf(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started[i]
}

// seen is a server event of a socket and when the test took it from the driver.
type seen struct {
	ev testenv.Event
	at time.Time
}

// collector takes the server events of one socket as they arrive, until an end marker.
type collector struct {
	name string
	done chan struct{}

	mu   sync.Mutex
	got  []seen
	err  error
	stop atomic.Bool
}

// collect starts taking the events of socket name until one satisfies isEnd.
func collect(c *testenv.Node, name string, isEnd func(testenv.Event) bool) *collector {
	k := &collector{name: name, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for !k.stop.Load() {
			ev, err := c.NextEvent(name, 2*waitLong)
			if err != nil {
				k.mu.Lock()
				k.err = err
				k.mu.Unlock()
				return
			}
			k.mu.Lock()
			k.got = append(k.got, seen{ev, time.Now()})
			k.mu.Unlock()
			if isEnd(ev) {
				return
			}
		}
	}()
	return k
}

// wait returns what the socket got, the end marker included; it fails the test if the
// marker did not come.
func (k *collector) wait(t *testing.T) []seen {
	t.Helper()
	select {
	case <-k.done:
	case <-time.After(3 * waitLong):
		k.stop.Store(true)
		t.Fatalf("socket %s: collector still running after %v", k.name, 3*waitLong)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		t.Fatalf("socket %s: end marker not received: %v", k.name, k.err)
	}
	return k.got
}

// tally is what one socket made of the events meant for it.
type tally struct {
	Sent       int // events meant for the socket
	Delivered  int // received
	Covered    int // not received, but a resync arrived after the event was published
	Lost       int // neither: a silent loss
	Duplicates int // received more than once
	Disorder   int // received after an event published later
	Foreign    int // events of other orgs: an isolation breach
	Resyncs    int
}

func (a *tally) add(b tally) {
	a.Sent += b.Sent
	a.Delivered += b.Delivered
	a.Covered += b.Covered
	a.Lost += b.Lost
	a.Duplicates += b.Duplicates
	a.Disorder += b.Disorder
	a.Foreign += b.Foreign
	a.Resyncs += b.Resyncs
}

func (a tally) String() string {
	return fmt.Sprintf("sent %d / delivered %d / covered by resync %d / lost %d (duplicates %d, out of order %d, foreign %d, resyncs %d)",
		a.Sent, a.Delivered, a.Covered, a.Lost, a.Duplicates, a.Disorder, a.Foreign, a.Resyncs)
}

// account counts, event by event, what a socket made of the mutations sent to its org.
// A resync covers the events published before the test saw it arrive (an upper bound of
// when the server sent it, so by the few milliseconds of that delay this is lenient).
func account(t *testing.T, s *stream, sent []int, got []seen) (tally, []int) {
	t.Helper()
	tl := tally{Sent: len(sent)}
	count := map[int]int{}
	var resyncs []time.Time
	prev := 0
	for _, g := range got {
		switch g.ev.Event {
		case "resync":
			resyncs = append(resyncs, g.at)
			tl.Resyncs++
		case "personview.addrow":
			id := personID(t, g.ev)
			count[id]++
			if id < prev {
				tl.Disorder++
			}
			prev = max(prev, id)
		}
	}
	mine := map[int]bool{}
	for _, id := range sent {
		mine[id] = true
	}
	for id, n := range count {
		if !mine[id] {
			tl.Foreign += n
		}
	}
	var lost []int
	for _, id := range sent {
		switch n := count[id]; {
		case n > 0:
			tl.Delivered++
			tl.Duplicates += n - 1
		case coveredBy(s.startOf(id), resyncs):
			tl.Covered++
		default:
			tl.Lost++
			lost = append(lost, id)
		}
	}
	return tl, lost
}

func coveredBy(published time.Time, resyncs []time.Time) bool {
	for _, r := range resyncs {
		if r.After(published) {
			return true
		}
	}
	return false
}
