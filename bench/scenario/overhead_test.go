package scenario

import (
	"testing"
	"time"
)

func TestOverheadComparesThroughputAndLatency(t *testing.T) {
	lat := func(base time.Duration) []time.Duration {
		var out []time.Duration
		for i := range 100 {
			out = append(out, base+time.Duration(i)*time.Microsecond)
		}
		return out
	}
	direct := ProxyResult{OK: 1000, Elapsed: time.Second, Lat: lat(100 * time.Microsecond)}
	via := ProxyResult{OK: 900, Elapsed: time.Second, Lat: lat(150 * time.Microsecond)}
	loss, a50, a99 := Overhead(direct, via)
	if loss < 0.0999 || loss > 0.1001 {
		t.Errorf("loss = %v, want 0.10", loss)
	}
	if a50 != 50*time.Microsecond || a99 != 50*time.Microsecond {
		t.Errorf("added p50 %v p99 %v, want 50µs each", a50, a99)
	}
	if (ProxyResult{}).Percentile(.5) != 0 || (ProxyResult{}).PerSec() != 0 {
		t.Error("an empty result is not zero")
	}
}

func TestStormTargetIsCallsWithinUsers(t *testing.T) {
	if !(StormResult{Users: 1000, MembershipCalls: 1000}).CallsWithinUsers() {
		t.Error("1000 calls for 1000 users rejected")
	}
	if (StormResult{Users: 1000, MembershipCalls: 1001}).CallsWithinUsers() {
		t.Error("1001 calls for 1000 users accepted")
	}
}

func TestTwoNodeEventsIsRateTimesDuration(t *testing.T) {
	if n := (TwoNodeConfig{Rate: 100, Duration: time.Minute}).Events(); n != 6000 {
		t.Errorf("events = %d, want 6000", n)
	}
}
