package scenario

import (
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
)

func step(sent, sockets int, inTime int64, p99 time.Duration, lag time.Duration, busy float64) RateStep {
	return RateStep{Sockets: sockets, Send: loadgen.OpenResult{Sent: sent, Lag: []time.Duration{lag}},
		InTime: inTime, Stats: loadgen.PhaseStats{Latencies: []uint32{uint32(p99.Microseconds())}}, GenCoreBusy: busy}
}

func TestKeepUpNeedsTheShareAndTheP99(t *testing.T) {
	cases := []struct {
		name string
		s    RateStep
		want bool
	}{
		{"all in time, fast", step(100, 10, 1000, 5*time.Millisecond, 0, -1), true},
		{"95% exactly", step(100, 10, 950, 5*time.Millisecond, 0, -1), true},
		{"94.9%", step(100, 10, 949, 5*time.Millisecond, 0, -1), false},
		{"p99 over 100 ms", step(100, 10, 1000, 101*time.Millisecond, 0, -1), false},
		// Failed mutations count against the offer: 10 of 100 sends failed, their 100
		// deliveries never come, so 900 of 1000 is not keeping up.
		{"failed sends are offered too", step(100, 10, 900, time.Millisecond, 0, -1), false},
	}
	for _, c := range cases {
		if got := c.s.KeptUp(); got != c.want {
			t.Errorf("%s: KeptUp = %v, want %v (share %v)", c.name, got, c.want, c.s.DeliveredShare())
		}
	}
}

func TestGeneratorBoundByBusyCoresOrLag(t *testing.T) {
	if step(1, 1, 1, 0, time.Millisecond, 0.5).GeneratorBound() {
		t.Error("half-busy generator with 1 ms lag flagged")
	}
	if !step(1, 1, 1, 0, time.Millisecond, 0.9).GeneratorBound() {
		t.Error("90% busy generator CPUs not flagged")
	}
	if !step(1, 1, 1, 0, 11*time.Millisecond, -1).GeneratorBound() {
		t.Error("11 ms schedule lag p99 not flagged")
	}
}

func TestStepEventsFollowTheOfferedDeliveries(t *testing.T) {
	// 20k deliveries/s to 1000 sockets is 20 events/s: 160 events in 8 s.
	if got := stepEvents(20000, 1000, 8*time.Second); got != 160 {
		t.Fatalf("events = %d, want 160", got)
	}
	if got := stepEvents(1, 1000, time.Second); got != 1 {
		t.Fatalf("a tiny offer sends %d events, want at least 1", got)
	}
}
