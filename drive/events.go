package drive

import (
	"context"
	"sync"
	"time"
)

// claimTimeout bounds the Redis claim of a batch of changes.
const claimTimeout = 5 * time.Second

// event is one callback due: Changed, or Lost when lost is set.
type event struct {
	lost    bool
	scope   string
	file    string
	version int64
	watcher string
	err     error
}

// dispatcher queues callbacks so that they run in order, from one
// goroutine, with no lock held.
type dispatcher struct {
	mu     sync.Mutex
	q      []event
	signal chan struct{}
	done   chan struct{} // closed by finish: drain and stop
	once   sync.Once
}

func newDispatcher() *dispatcher {
	return &dispatcher{signal: make(chan struct{}, 1), done: make(chan struct{})}
}

func (d *dispatcher) push(evs ...event) {
	if len(evs) == 0 {
		return
	}
	d.mu.Lock()
	d.q = append(d.q, evs...)
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

func (d *dispatcher) take() []event {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.q
	d.q = nil
	return q
}

func (d *dispatcher) finish() { d.once.Do(func() { close(d.done) }) }

// runEvents delivers queued callbacks until the watcher is killed, or
// finished and drained.
func (w *Watcher) runEvents() {
	defer w.bgWG.Done()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.events.done:
			w.deliver(w.events.take())
			return
		case <-w.events.signal:
			w.deliver(w.events.take())
		}
	}
}

// deliver makes the callbacks of evs. With Redis, a change is reported
// only by the node that claims its (scope, file, version) first.
func (w *Watcher) deliver(evs []event) {
	if len(evs) == 0 {
		return
	}
	won := make([]bool, len(evs))
	for i := range won {
		won[i] = true
	}
	if w.cluster != nil {
		ctx, cancel := context.WithTimeout(w.ctx, claimTimeout)
		w.cluster.claim(ctx, evs, won)
		cancel()
	}
	for i, ev := range evs {
		switch {
		case ev.lost:
			w.stats.lost.Add(1)
			w.cfg.Lost(ev.watcher, ev.file, ev.err)
		case won[i]:
			w.stats.changed.Add(1)
			w.cfg.Changed(ev.scope, ev.file, ev.version)
		}
	}
}
