package loadgen

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// OpenLoop sends mutations on a fixed schedule, each on its own goroutine: event i leaves at
// start + i/Rate whether or not earlier ones were answered (an open-loop generator), so a
// slow server faces the whole offer instead of slowing the generator down (as a sender with a
// fixed number of requests in flight does). How late each send left against its schedule is
// recorded: that lag is the generator's own, and a large one means the generator, not the
// server, limited the run.
type OpenLoop struct {
	Client    *http.Client // see NewOpenLoopClient
	BaseURL   string       // API base, e.g. http://127.0.0.1:8080/api
	Token     string       // sent as "Authorization: Bearer TOKEN"
	Org       int          // the org every event goes to
	View      int          // viewId of the path, default 1
	Rate      float64      // events per second, > 0
	LateAfter time.Duration
	// AfterLastSend, when set, is called as soon as the last request has been started
	// (before the answers arrive), to time what follows from the end of the offer.
	AfterLastSend func()
}

// DefaultLateAfter is the schedule lag past which a send counts as late.
const DefaultLateAfter = 5 * time.Millisecond

// OpenResult says what an open-loop run sent.
type OpenResult struct {
	Sent        int             // requests started
	OK          int             // answered 2xx
	Failed      int             // non-2xx or transport error
	FirstErr    error           // the first failure, if any
	Late        int             // sends that left more than LateAfter behind schedule
	Lag         []time.Duration // every send's schedule lag, sorted
	SendSpan    time.Duration   // scheduled start → last send left
	Elapsed     time.Duration   // scheduled start → last answer
	MaxInflight int             // most requests under way at once
}

// LagPercentile returns the q-quantile (0..1) of the schedule lags, nearest rank.
func (r OpenResult) LagPercentile(q float64) time.Duration {
	n := len(r.Lag)
	if n == 0 {
		return 0
	}
	return r.Lag[min(max(int(q*float64(n)+0.5)-1, 0), n-1)]
}

// NewOpenLoopClient returns a client with no cap on connections per host (an open-loop
// generator opens as many as the offer needs) that keeps many of them alive.
func NewOpenLoopClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 5 * time.Minute}
}

// Run sends events first .. first+count-1 on schedule and returns once every request has
// been answered.
func (o *OpenLoop) Run(ctx context.Context, f *Fleet, first, count int) OpenResult {
	view := max(o.View, 1)
	late := o.LateAfter
	if late <= 0 {
		late = DefaultLateAfter
	}
	prefix := o.BaseURL + "/orgs/" + strconv.Itoa(o.Org) + "/people/views/" + strconv.Itoa(view) + "/rows/"
	auth := "Bearer " + o.Token
	s := &Sender{Client: o.Client}
	interval := time.Duration(float64(time.Second) / o.Rate)

	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		res      = OpenResult{Lag: make([]time.Duration, 0, count)}
		inflight int
	)
	start := time.Now()
	for i := range count {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		res.Sent++
		wg.Add(1)
		go func(seq int, due time.Time) {
			defer wg.Done()
			lag := max(0, time.Since(due))
			mu.Lock()
			res.Lag = append(res.Lag, lag)
			if lag > late {
				res.Late++
			}
			inflight++
			res.MaxInflight = max(res.MaxInflight, inflight)
			mu.Unlock()
			err := s.put(ctx, f, prefix, auth, seq)
			mu.Lock()
			inflight--
			if err != nil {
				res.Failed++
				if res.FirstErr == nil {
					res.FirstErr = err
				}
			} else {
				res.OK++
			}
			mu.Unlock()
		}(first+i, due)
	}
	res.SendSpan = time.Since(start)
	if o.AfterLastSend != nil {
		o.AfterLastSend()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Lag)
	return res
}
