package drive_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
)

// Rate-limit and server errors back off exponentially (with jitter in
// [c/2, c], c = base·2ⁿ), then polling recovers at the normal interval.
func TestRateLimitAnswersBackOffAndRecover(t *testing.T) {
	const base, fails = 80 * time.Millisecond, 4
	cases := []struct {
		name   string
		status int
		reason string
		global bool // the backoff holds every user's calls, not only the failing user's
	}{
		{"403 userRateLimitExceeded", http.StatusForbidden, fakedrive.ReasonUserRateLimit, false},
		{"403 rateLimitExceeded", http.StatusForbidden, fakedrive.ReasonRateLimit, true},
		{"429", http.StatusTooManyRequests, "", true},
		{"503", http.StatusServiceUnavailable, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *drive.Config) {
				c.MinInterval, c.MaxInterval = 10*time.Millisecond, 30*time.Millisecond
				c.BackoffBase, c.BackoffMax = base, 10*base
			})
			e.fake.AddFile("f1", "a", "alice")
			e.fake.AddFile("f2", "b", "bob")
			e.watch(e.user("alice"), "a1", "/org/1", "f1")
			e.watch(e.user("bob"), "b1", "/org/1", "f2")
			e.fake.Fail("alice", fakedrive.ChangesList, tc.status, tc.reason, fails)
			v := e.fake.Touch("f1")
			e.waitFor("the change after the failures", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })

			var alice []fakedrive.Call
			for _, c := range e.fake.Calls() {
				if c.Endpoint == fakedrive.ChangesList && c.User == "alice" {
					alice = append(alice, c)
				}
			}
			first := -1
			for i, c := range alice {
				if c.Status == tc.status {
					first = i
					break
				}
			}
			if first < 0 || len(alice) < first+fails+1 {
				t.Fatalf("alice's polls %d, first failure at %d: want %d failures then a success", len(alice), first, fails)
			}
			for k := range fails {
				gap := alice[first+k+1].Time.Sub(alice[first+k].Time)
				floor := (base << k) / 2
				if gap < floor {
					t.Errorf("gap after failure %d = %v, want at least %v", k+1, gap, floor)
				}
				t.Logf("gap after failure %d: %v (floor %v, cap %v)", k+1, gap.Round(time.Millisecond), floor, base<<k)
			}
			if s := alice[first+fails].Status; s != http.StatusOK {
				t.Fatalf("poll after %d failures answered %d, want 200", fails, s)
			}
			// A project-wide limit holds bob too: after each of alice's
			// failures, nobody calls for at least base/2 (less the time the
			// answer takes to reach the scheduler).
			if tc.global {
				const slack = 10 * time.Millisecond
				for k := range fails {
					done := alice[first+k].Done
					for _, p := range pollsOf(e.fake, "bob") {
						if d := p.Sub(done); d > slack && d < base/2 {
							t.Errorf("bob polled %v after alice's failure %d, inside the project-wide backoff", d, k+1)
						}
					}
				}
			}
			// Recovered: the next polls come at the normal interval again.
			n := len(alice)
			e.waitFor("two more polls", func() bool { return len(pollsOf(e.fake, "alice")) >= n+2 })
			p := pollsOf(e.fake, "alice")
			if gap := p[n+1].Sub(p[n]); gap > 4*base {
				t.Fatalf("gap after recovery %v, want about the poll interval", gap)
			}
			if st := e.w.Stats(); st.Backoffs < fails {
				t.Fatalf("Stats.Backoffs = %d, want at least %d", st.Backoffs, fails)
			}
		})
	}
}
