package drive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

// changedEv and lostEv are recorded callbacks.
type changedEv struct {
	Scope, File string
	Version     int64
}

type lostEv struct {
	Watcher, File string
	Err           error
}

// recorder collects a Watcher's callbacks and wakes waiters on each.
type recorder struct {
	mu      sync.Mutex
	changed []changedEv
	lost    []lostEv
	notify  chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{})} }

func (r *recorder) onChanged(scope, file string, v int64) {
	r.mu.Lock()
	r.changed = append(r.changed, changedEv{scope, file, v})
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) onLost(watcher, file string, err error) {
	r.mu.Lock()
	r.lost = append(r.lost, lostEv{watcher, file, err})
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) next() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notify
}

// count returns how many Changed callbacks match (zero fields match any).
func (r *recorder) count(want changedEv) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.changed {
		if (want.Scope == "" || c.Scope == want.Scope) && (want.File == "" || c.File == want.File) &&
			(want.Version == 0 || c.Version == want.Version) {
			n++
		}
	}
	return n
}

func (r *recorder) lostOf(watcher string) []lostEv {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []lostEv
	for _, l := range r.lost {
		if l.Watcher == watcher {
			out = append(out, l)
		}
	}
	return out
}

// fastConfig is a Config with test-sized intervals.
func fastConfig(fake *fakedrive.Server, rec *recorder) drive.Config {
	return drive.Config{
		NewService:      drive.EndpointService(fake.Endpoint(), nil),
		Changed:         rec.onChanged,
		Lost:            rec.onLost,
		GlobalRate:      10000,
		GlobalBurst:     1000,
		PerUserRate:     10000,
		PerUserBurst:    1000,
		MinInterval:     20 * time.Millisecond,
		MaxInterval:     80 * time.Millisecond,
		RecheckInterval: 300 * time.Millisecond,
		BackoffBase:     20 * time.Millisecond,
		BackoffMax:      500 * time.Millisecond,
		CallTimeout:     5 * time.Second,
		MetaTTL:         50 * time.Millisecond,
		ListTTL:         100 * time.Millisecond,
		LeaseTTL:        600 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// env is a fake Drive, a Watcher on it and the Watcher's callbacks.
type env struct {
	t    *testing.T
	fake *fakedrive.Server
	rec  *recorder
	w    *drive.Watcher
}

// newEnv starts a fake (pageSize 2) and a Watcher with fastConfig changed
// by mod.
func newEnv(t *testing.T, mod func(*drive.Config)) *env {
	t.Helper()
	return newEnvWith(t, fakedrive.Config{}, mod)
}

// newEnvWith is newEnv with a fake configured by fc.
func newEnvWith(t *testing.T, fc fakedrive.Config, mod func(*drive.Config)) *env {
	t.Helper()
	e := &env{t: t, fake: fakedrive.Start(t, fc), rec: newRecorder()}
	cfg := fastConfig(e.fake, e.rec)
	if mod != nil {
		mod(&cfg)
	}
	e.w = startWatcher(t, context.Background(), cfg)
	return e
}

func startWatcher(t *testing.T, ctx context.Context, cfg drive.Config) *drive.Watcher {
	t.Helper()
	w, err := drive.New(ctx, cfg)
	if err != nil {
		t.Fatalf("drive.New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// user is name with a fresh token of the fake.
func (e *env) user(name string) drive.User {
	return drive.User{Key: name, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.fake.Token(name)})}
}

// watch must succeed.
func (e *env) watch(u drive.User, watcher, scope, file string) int64 {
	e.t.Helper()
	v, err := e.w.Watch(context.Background(), u, drive.Sub{Watcher: watcher, Scope: scope}, file)
	if err != nil {
		e.t.Fatalf("Watch(%s, %s, %s): %v", u.Key, watcher, file, err)
	}
	return v
}

// waitFor re-checks cond on every fake call and every callback until it
// holds, or fails the test after waitTimeout.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	waitFor(e.t, what, cond, e.fake, e.rec)
}

func waitFor(t *testing.T, what string, cond func() bool, fake *fakedrive.Server, recs ...*recorder) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		next := fake.Next()
		var recNext []<-chan struct{}
		for _, r := range recs {
			recNext = append(recNext, r.next())
		}
		if cond() {
			return
		}
		anyRec := make(chan struct{})
		stop := make(chan struct{})
		for _, c := range recNext {
			go func() {
				select {
				case <-c:
					select {
					case anyRec <- struct{}{}:
					case <-stop:
					}
				case <-stop:
				}
			}()
		}
		select {
		case <-next:
		case <-anyRec:
		case <-deadline.C:
			close(stop)
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		close(stop)
	}
}

// pollsOf returns the times of user's changes.list calls.
func pollsOf(fake *fakedrive.Server, user string) []time.Time {
	var out []time.Time
	for _, c := range fake.Calls() {
		if c.Endpoint == fakedrive.ChangesList && c.User == user {
			out = append(out, c.Time)
		}
	}
	return out
}

// mustIs fails unless errors.Is(err, target).
func mustIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v is not %v", err, target)
	}
}

func fileName(i int) string { return fmt.Sprintf("file%03d", i) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func staticToken(tok string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})
}
