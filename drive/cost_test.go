package drive_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
)

// 50 sockets of 10 users watching 5 files: at most 10 feed polls (one per
// user) in any poll interval, where one poll per file per socket would be
// 50. Counted at the fake while the files keep changing (the worst case:
// covering feeds stay at MinInterval).
func TestFeedPollsPerInterval(t *testing.T) {
	const users, files, interval = 10, 5, 50 * time.Millisecond
	// Pages of 100: one poll is one call, so calls count polls.
	e := newEnvWith(t, fakedrive.Config{PageSize: 100}, func(c *drive.Config) {
		c.MinInterval, c.MaxInterval, c.RecheckInterval = interval, 4*interval, 8*interval
	})
	var names []string
	for u := range users {
		names = append(names, fmt.Sprintf("user%02d", u))
	}
	for f := range files {
		e.fake.AddFile(fileName(f), "shared", names...)
	}
	var wg sync.WaitGroup
	for u, name := range names {
		usr := e.user(name)
		for f := range files { // socket f of this user watches file f
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub := drive.Sub{Watcher: fmt.Sprintf("u%d-s%d", u, f), Scope: "/org/1"}
				if _, err := e.w.Watch(context.Background(), usr, sub, fileName(f)); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if st := e.w.Stats(); st.Watches != users*files || st.CoveringFeeds != 1 {
		t.Fatalf("stats %+v, want 50 watches and one covering feed", st)
	}

	e.fake.ResetCalls()
	start := time.Now()
	const windows = 20
	var versions [files]int64
	for range windows { // a change every interval, round robin over the files
		time.Sleep(interval) // paces the scenario: the clock is what is measured
		f := int(time.Since(start)/interval) % files
		versions[f] = e.fake.Touch(fileName(f))
	}
	end := time.Now()
	perWindow := make(map[int]int)
	total := 0
	for _, c := range e.fake.Calls() {
		if c.Endpoint == fakedrive.ChangesList && c.Time.Before(end) {
			perWindow[int(c.Time.Sub(start)/interval)]++
			total++
		}
	}
	worst := 0
	for _, n := range perWindow {
		worst = max(worst, n)
	}
	t.Logf("polls per interval: %v", perWindow)
	t.Logf("%d feed polls in %d intervals of %v (worst interval: %d); one poll per file per socket would be %d",
		total, windows, interval, worst, windows*users*files)
	if worst > users {
		t.Fatalf("%d feed polls in one interval, want at most %d", worst, users)
	}
	if total == 0 {
		t.Fatal("no feed polls at all")
	}
	for f, v := range versions {
		if v == 0 {
			continue
		}
		e.waitFor("the last change of "+fileName(f), func() bool {
			return e.rec.count(changedEv{"/org/1", fileName(f), v}) == 1
		})
	}
}
