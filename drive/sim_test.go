package drive_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"golang.org/x/time/rate"
)

// simScale is how much faster than production the simulation runs.
const simScale = 100

// simMinute is one production minute of simulated time.
const simMinute = time.Minute / simScale

// TestCallsPerMinuteSimulation measures the Google calls per minute of
// 1,000 watchers (sockets) of 100 files by 200 users, at the production
// defaults with every duration divided by simScale, counted at the fake.
// Each user watches 5 random files (one socket per watch) in one of 10
// scopes and can read all 100 files. Two phases: idle, then 10 files
// edited every 10 production seconds each.
func TestCallsPerMinuteSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulation takes about 10s")
	}
	const users, files, perUser, active = 200, 100, 5, 10
	rec := newRecorder()
	fake := fakedrive.Start(t, fakedrive.Config{PageSize: 1000})
	cfg := fastConfig(fake, rec)
	cfg.MinInterval = drive.DefaultMinInterval / simScale
	cfg.MaxInterval = drive.DefaultMaxInterval / simScale
	cfg.IdleGrowth = drive.DefaultIdleGrowth
	cfg.RecheckInterval = drive.DefaultRecheckInterval / simScale
	cfg.BackoffBase, cfg.BackoffMax = drive.DefaultBackoffBase/simScale, drive.DefaultBackoffMax/simScale
	cfg.GlobalRate, cfg.PerUserRate = rate.Limit(drive.DefaultGlobalRate*simScale), rate.Limit(drive.DefaultPerUserRate*simScale)
	cfg.GlobalBurst, cfg.PerUserBurst = drive.DefaultGlobalBurst, drive.DefaultPerUserBurst
	w := startWatcher(t, context.Background(), cfg)

	userNames := names("user", users)
	for f := range files {
		fake.AddFile(fileName(f), "doc", userNames...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type watch struct{ user, file, scope string }
	var watches []watch
	watchers := map[string]map[string]bool{} // file → scopes
	for u, name := range userNames {
		for _, f := range rng.Perm(files)[:perUser] {
			wt := watch{name, fileName(f), fmt.Sprintf("/org/%d", u%10)}
			watches = append(watches, wt)
			if watchers[wt.file] == nil {
				watchers[wt.file] = map[string]bool{}
			}
			watchers[wt.file][wt.scope] = true
		}
	}
	if len(watchers) != files {
		t.Fatalf("only %d files watched, want %d", len(watchers), files)
	}
	sessions := map[string]drive.User{}
	for _, name := range userNames {
		sessions[name] = drive.User{Key: name, Tokens: staticToken(fake.Token(name))}
	}
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i, wt := range watches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sub := drive.Sub{Watcher: fmt.Sprintf("socket%04d", i), Scope: wt.scope}
			if _, err := w.Watch(context.Background(), sessions[wt.user], sub, wt.file); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st := w.Stats()
	t.Logf("setup: %d watches, %d users: %d files.get, %d changes.getStartPageToken (once); %d covering feeds, %d others",
		st.Watches, st.Users, fake.Count(fakedrive.FilesGet, ""), fake.Count(fakedrive.StartPageToken, ""),
		st.CoveringFeeds, st.OtherFeeds)
	if st.Watches != users*perUser {
		t.Fatalf("%d watches, want %d", st.Watches, users*perUser)
	}

	// measure lets warm simulated minutes pass, then counts the calls of
	// the next window minutes and returns them per production minute.
	measure := func(phase string, warm, window int) float64 {
		time.Sleep(time.Duration(warm) * simMinute) // simulated time passing
		fake.ResetCalls()
		start := time.Now()
		time.Sleep(time.Duration(window) * simMinute)
		minutes := float64(time.Since(start)) / float64(simMinute)
		byKind := ""
		for _, e := range []string{fakedrive.ChangesList, fakedrive.FilesGet, fakedrive.StartPageToken, fakedrive.FilesList} {
			byKind += fmt.Sprintf(" %s %.1f", e, float64(fake.Count(e, ""))/minutes)
		}
		total := float64(fake.Count("", "")) / minutes
		t.Logf("%s: %.0f Google calls per minute (by kind:%s)", phase, total, byKind)
		return total
	}

	// Upper bounds from the design (a loaded machine only makes polls
	// later, so fewer): others every RecheckInterval, covering feeds at
	// MaxInterval when idle and at worst MinInterval when active; +20%.
	perMin := func(d time.Duration) float64 { return float64(time.Minute) / float64(d) }
	others := float64(st.OtherFeeds) * perMin(drive.DefaultRecheckInterval)
	idle := measure("idle", 2, 5)
	if bound := (float64(st.CoveringFeeds)*perMin(drive.DefaultMaxInterval) + others) * 1.2; idle > bound || idle == 0 {
		t.Fatalf("idle: %.0f calls per minute, want between 1 and %.0f", idle, bound)
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	last := make([]int64, active)
	go func() { // 10 files, each edited every 10 production seconds, staggered
		defer close(done)
		tick := time.NewTicker(10 * time.Second / simScale / active)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				last[i%active] = fake.Touch(fileName(i % active * 7))
			}
		}
	}()
	busy := measure("10 files edited every 10s", 1, 5)
	close(stop)
	<-done
	for i, v := range last {
		f := fileName(i * 7)
		for scope := range watchers[f] {
			waitFor(t, "the last edit of "+f, func() bool { return rec.count(changedEv{scope, f, v}) == 1 }, fake, rec)
		}
	}
	t.Logf("for comparison, one poll per watcher every %v would be %d calls per minute",
		drive.DefaultMinInterval, users*perUser*int(time.Minute/drive.DefaultMinInterval))
	if bound := (active*perMin(drive.DefaultMinInterval) + float64(st.CoveringFeeds)*perMin(drive.DefaultMaxInterval) + others) * 1.2; busy > bound || busy == 0 {
		t.Fatalf("active: %.0f calls per minute, want between 1 and %.0f", busy, bound)
	}
}
