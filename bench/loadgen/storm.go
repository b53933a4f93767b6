package loadgen

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// StormReport is what ConnectEach saw: every socket's outcome and how long admission took.
type StormReport struct {
	Admitted int             // CONNECT acknowledged
	Refused  int             // CONNECT_ERROR answered
	Hanging  int             // CONNECT sent, no answer before the per-socket timeout
	Failed   int             // never got as far as a CONNECT (dial, upgrade, open packet)
	FirstErr error           // the first failure of any kind
	Elapsed  time.Duration   // first dial → last socket settled
	Admit    []time.Duration // CONNECT sent → answer, admitted and refused sockets, sorted
}

// ConnectEach opens every socket like Connect, ConnectConcurrency at a time, but does not stop
// at the first failure: it classifies each socket and times its admission.
func (f *Fleet) ConnectEach(ctx context.Context) StormReport {
	var (
		mu  sync.Mutex
		rep StormReport
		wg  sync.WaitGroup
	)
	sem := make(chan struct{}, f.cfg.ConnectConcurrency)
	t0 := time.Now()
	for _, s := range f.sockets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, f.cfg.ConnectTimeout)
			err := s.connect(cctx)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if s.admit > 0 {
				rep.Admit = append(rep.Admit, s.admit)
			}
			rep.classify(err, s.admit > 0)
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(t0)
	rep.Failed += len(f.sockets) - (rep.Admitted + rep.Refused + rep.Hanging + rep.Failed)
	slices.Sort(rep.Admit)
	return rep
}

// classify counts one socket's outcome; answered says a CONNECT answer arrived.
func (r *StormReport) classify(err error, answered bool) {
	switch {
	case err == nil:
		r.Admitted++
		return
	case errors.Is(err, ErrRefused):
		r.Refused++
	case !answered && r.sentConnect(err):
		r.Hanging++
	default:
		r.Failed++
	}
	if r.FirstErr == nil {
		r.FirstErr = err
	}
}

// sentConnect reports whether err ended the wait for a CONNECT answer.
func (r *StormReport) sentConnect(err error) bool { return errors.Is(err, errAwaitingAck) }

// AdmitPercentile returns the q-quantile (0..1) of the admission times, nearest rank.
func (r StormReport) AdmitPercentile(q float64) time.Duration {
	n := len(r.Admit)
	if n == 0 {
		return 0
	}
	i := min(max(int(q*float64(n)+0.5)-1, 0), n-1)
	return r.Admit[i]
}
