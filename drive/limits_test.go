package drive_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"golang.org/x/time/rate"
)

// watchAll makes each user watch each of files concurrently.
func watchAll(t *testing.T, e *env, users []string, files []string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, name := range users {
		u := e.user(name)
		for _, f := range files {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.w.Watch(context.Background(), u, drive.Sub{Watcher: name + "/" + f, Scope: "/org/1"}, f); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}

func TestConcurrentRequestsCapped(t *testing.T) {
	e := newEnv(t, func(c *drive.Config) { c.MaxConcurrent = 3 })
	users := names("user", 12)
	e.fake.AddFile("f1", "a", users...)
	e.fake.SetLatency(30 * time.Millisecond)
	watchAll(t, e, users, []string{"f1"})
	if n := e.fake.MaxInFlight(); n > 3 || n < 2 {
		t.Fatalf("at most %d requests in flight, want 2..3 (cap 3, 12 users at once)", n)
	}
}

// span is the time from the first to the last call of calls matching keep.
func span(calls []fakedrive.Call, keep func(fakedrive.Call) bool) (time.Duration, int) {
	var first, last time.Time
	n := 0
	for _, c := range calls {
		if !keep(c) {
			continue
		}
		if n == 0 {
			first = c.Time
		}
		last = c.Time
		n++
	}
	return last.Sub(first), n
}

func TestPerUserRateLimit(t *testing.T) {
	const r = 25 // per second: one call per 40ms after the burst of 1
	e := newEnv(t, func(c *drive.Config) { c.PerUserRate, c.PerUserBurst = rate.Limit(r), 1 })
	files := names("f", 6)
	for _, f := range files {
		e.fake.AddFile(f, "x", "alice", "bob")
	}
	watchAll(t, e, []string{"alice", "bob"}, files)
	for _, u := range []string{"alice", "bob"} {
		d, n := span(e.fake.Calls(), func(c fakedrive.Call) bool { return c.User == u })
		floor := time.Duration(n-1) * time.Second / r * 9 / 10
		t.Logf("%s: %d calls in %v (floor %v)", u, n, d.Round(time.Millisecond), floor)
		if n < 7 || d < floor {
			t.Fatalf("%s: %d calls in %v, want them spaced by the per-user rate (at least %v)", u, n, d, floor)
		}
	}
	// The two users are limited separately: together they finish in about
	// the time of one.
	all, n := span(e.fake.Calls(), func(fakedrive.Call) bool { return true })
	if limit := time.Duration(n) * time.Second / r; all > limit {
		t.Fatalf("%d calls of two users took %v, want them in parallel (under %v)", n, all, limit)
	}
}

func TestGlobalRateLimit(t *testing.T) {
	const r = 25
	e := newEnv(t, func(c *drive.Config) { c.GlobalRate, c.GlobalBurst = rate.Limit(r), 1 })
	users := names("user", 4)
	e.fake.AddFile("f1", "a", users...)
	e.fake.AddFile("f2", "b", users...)
	watchAll(t, e, users, []string{"f1", "f2"})
	d, n := span(e.fake.Calls(), func(c fakedrive.Call) bool { return c.Endpoint != fakedrive.ChangesList })
	floor := time.Duration(n-1) * time.Second / r * 9 / 10
	if n < 10 || d < floor {
		t.Fatalf("%d calls of 4 users in %v, want them spaced by the global rate (at least %v)", n, d, floor)
	}
}

// An idle covering feed slows down to MaxInterval; a change speeds it up.
func TestPollIntervalAdapts(t *testing.T) {
	const min, max = 20 * time.Millisecond, 160 * time.Millisecond
	e := newEnv(t, func(c *drive.Config) { c.MinInterval, c.MaxInterval, c.IdleGrowth = min, max, 2 })
	e.fake.AddFile("f1", "a", "alice")
	e.watch(e.user("alice"), "a1", "/org/1", "f1")
	e.waitFor("six idle polls", func() bool { return len(pollsOf(e.fake, "alice")) >= 6 })
	p := pollsOf(e.fake, "alice")
	if first, last := p[1].Sub(p[0]), p[5].Sub(p[4]); first > 3*min || last < max*9/10 {
		t.Fatalf("idle gaps went from %v to %v, want about %v growing to %v", first, last, min, max)
	}
	v := e.fake.Touch("f1")
	e.waitFor("the change", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })
	n := len(pollsOf(e.fake, "alice"))
	e.waitFor("the poll after the change", func() bool { return len(pollsOf(e.fake, "alice")) > n })
	p = pollsOf(e.fake, "alice")
	if gap := p[n].Sub(p[n-1]); gap > 3*min {
		t.Fatalf("gap after an active poll %v, want about %v", gap, min)
	}
}

// PollNow brings an idle feed's next poll forward, but never closer than
// MinInterval to the last one: notifications cannot flood Google.
func TestPollNowIsBoundedByMinInterval(t *testing.T) {
	const min = 100 * time.Millisecond
	e := newEnv(t, func(c *drive.Config) { c.MinInterval, c.MaxInterval, c.IdleGrowth = min, time.Hour, 10 })
	e.fake.AddFile("f1", "a", "alice")
	e.watch(e.user("alice"), "a1", "/org/1", "f1")
	e.waitFor("two polls", func() bool { return len(pollsOf(e.fake, "alice")) >= 2 })
	// The interval is 10s now, growing to an hour; notifications arrive.
	for range 50 {
		e.w.PollNow("alice")
	}
	e.waitFor("the early poll", func() bool { return len(pollsOf(e.fake, "alice")) >= 3 })
	for range 50 {
		e.w.PollNow("alice")
	}
	e.waitFor("the next early poll", func() bool { return len(pollsOf(e.fake, "alice")) >= 4 })
	p := pollsOf(e.fake, "alice")
	for i := 1; i < len(p); i++ {
		if gap := p[i].Sub(p[i-1]); gap < min*9/10 {
			t.Fatalf("polls %v apart, want at least MinInterval %v", gap, min)
		}
	}
	for i := 2; i <= 3; i++ {
		if gap := p[i].Sub(p[i-1]); gap > 3*min {
			t.Fatalf("PollNow took %v to poll, want about MinInterval", gap)
		}
	}
}
