package loadgen

import (
	"slices"
	"time"
)

// PhaseStats is what the sockets of a fleet received in one phase.
type PhaseStats struct {
	Sockets         int
	Expected        int64 // deliveries the sent events called for
	Received        int64 // distinct deliveries
	Lost            int64 // Σ per socket max(0, expected − received)
	SocketsWithLoss int
	MaxLoss         int           // worst socket's loss
	Dups            int64         // deliveries of an event a socket already had
	Strays          int64         // deliveries of events outside the phase
	Disconnected    int           // sockets whose connection ended
	LastDelivery    time.Duration // fleet-clock time of the last delivery
	Latencies       []uint32      // every distinct delivery's latency in µs, sorted
}

// Stats collects the phase's record. expectedPerOrg[o] is how many events each socket of org
// o should have received (the sender's OK count for its org).
func (f *Fleet) Stats(expectedPerOrg map[int]int) PhaseStats {
	st := PhaseStats{Sockets: len(f.sockets)}
	total := 0
	for _, s := range f.sockets {
		s.mu.Lock()
		total += len(s.win.lat)
		s.mu.Unlock()
	}
	st.Latencies = make([]uint32, 0, total)
	for _, s := range f.sockets {
		want := expectedPerOrg[s.org]
		s.mu.Lock()
		w := &s.win
		st.Expected += int64(want)
		st.Received += int64(w.got)
		st.Dups += int64(w.dup)
		st.Strays += int64(w.stray)
		if lost := want - w.got; lost > 0 {
			st.Lost += int64(lost)
			st.SocketsWithLoss++
			st.MaxLoss = max(st.MaxLoss, lost)
		}
		st.LastDelivery = max(st.LastDelivery, time.Duration(w.last))
		st.Latencies = append(st.Latencies, w.lat...)
		s.mu.Unlock()
		if s.dead.Load() {
			st.Disconnected++
		}
	}
	slices.Sort(st.Latencies)
	return st
}

// Percentile returns the q-quantile (0..1) of the sorted latencies, nearest rank.
func (st PhaseStats) Percentile(q float64) time.Duration {
	n := len(st.Latencies)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.5) - 1
	i = min(max(i, 0), n-1)
	return time.Duration(st.Latencies[i]) * time.Microsecond
}

// FleetClock converts a fleet-clock reading into wall time.
func (f *Fleet) FleetClock(d time.Duration) time.Time { return f.base.Add(d) }

// Now returns the fleet clock now.
func (f *Fleet) Now() time.Duration { return time.Duration(f.now()) }

// FirstSent returns the earliest send time among sequence numbers [first, first+count).
func (f *Fleet) FirstSent(first, count int) time.Duration {
	best := int64(-1)
	for seq := first; seq < first+count && seq < len(f.sent); seq++ {
		if at := f.sent[seq].Load(); at > 0 && (best < 0 || at < best) {
			best = at
		}
	}
	return time.Duration(max(best, 0))
}
