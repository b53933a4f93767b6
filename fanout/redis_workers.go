package fanout

import (
	"hash/fnv"
	"runtime"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxBusWorkers bounds RedisOptions.BusWorkers' default (GOMAXPROCS).
const maxBusWorkers = 8

// busWorkers deliver what the bus reader reads on several goroutines, keyed by namespace:
// one namespace's broadcasts stay on one worker, in bus order, while different namespaces
// fan out to their sockets in parallel. What concerns every namespace (a global resync)
// is handled by the reader after a barrier, so it comes after everything read before it
// and before everything read after it, on every worker.
//
// With one worker there are no goroutines: the reader delivers inline, as a single core
// gains nothing from a hand-off.
type busWorkers struct {
	deliver func(redis.XMessage)
	in      []chan busItem
	wg      sync.WaitGroup
}

type busItem struct {
	m       redis.XMessage
	barrier *sync.WaitGroup // set: not a message; Done once everything before it is delivered
}

// busWorkerQueue is how many messages one worker may have waiting before the reader waits
// for it (the bus reader reads 512 at a time).
const busWorkerQueue = 1024

func defaultBusWorkers() int { return min(runtime.GOMAXPROCS(0), maxBusWorkers) }

func newBusWorkers(n int, deliver func(redis.XMessage)) *busWorkers {
	w := &busWorkers{deliver: deliver}
	if n <= 1 {
		return w
	}
	w.in = make([]chan busItem, n)
	for i := range w.in {
		c := make(chan busItem, busWorkerQueue)
		w.in[i] = c
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for it := range c {
				if it.barrier != nil {
					it.barrier.Done()
					continue
				}
				deliver(it.m)
			}
		}()
	}
	return w
}

// stripes is how many delivery stripes (locks) the adapter needs: one per worker.
func (w *busWorkers) stripes() int { return max(1, len(w.in)) }

// dispatch hands m to the worker of its namespace (inline with one worker). Messages of
// every namespace ("*": a node was lost) wait for the barrier and run on the reader.
func (w *busWorkers) dispatch(m redis.XMessage) {
	if len(w.in) == 0 {
		w.deliver(m)
		return
	}
	nsp, ok := busNamespace(m)
	if !ok || nsp == allNamespaces {
		w.barrier()
		w.deliver(m)
		return
	}
	w.in[stripeOf(nsp, len(w.in))] <- busItem{m: m}
}

// barrier returns once every message dispatched before it has been delivered.
func (w *busWorkers) barrier() {
	if len(w.in) == 0 {
		return
	}
	var wg sync.WaitGroup
	wg.Add(len(w.in))
	for _, c := range w.in {
		c <- busItem{barrier: &wg}
	}
	wg.Wait()
}

// stop delivers what is queued and ends the workers.
func (w *busWorkers) stop() {
	for _, c := range w.in {
		close(c)
	}
	w.wg.Wait()
}

// stripeOf is the worker, and the delivery lock, of namespace nsp among n.
func stripeOf(nsp string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(nsp))
	return int(h.Sum32() % uint32(n))
}

// busNamespace reads the namespace of a bus entry without decoding it: the payload is
// json.Marshal of wireBroadcast, whose first field is the namespace, and namespace names
// never need escaping. Anything else reports false (and is delivered after a barrier).
func busNamespace(m redis.XMessage) (string, bool) {
	p, _ := m.Values["p"].(string)
	rest, ok := strings.CutPrefix(p, `{"nsp":"`)
	if !ok {
		return "", false
	}
	nsp, _, ok := strings.Cut(rest, `"`)
	if !ok || nsp == "" || strings.ContainsRune(nsp, '\\') {
		return "", false
	}
	return nsp, true
}
