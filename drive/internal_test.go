package drive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

func TestBackoffDelayIsTruncatedExponentialWithJitter(t *testing.T) {
	const base, limit = 100 * time.Millisecond, 3 * time.Second
	for n := range 40 {
		c := min(limit, base<<min(n, 30))
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoffDelay(base, limit, n)
			if d < c/2 || d > c {
				t.Fatalf("n=%d: delay %v outside [%v, %v]", n, d, c/2, c)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("n=%d: %d distinct delays in 200, want jitter", n, len(seen))
		}
	}
}

func TestGateCountsConcurrentFailuresOnce(t *testing.T) {
	var g gate
	now := time.Now()
	d := g.trip(now, 100*time.Millisecond, time.Second)
	g.trip(now.Add(time.Millisecond), 100*time.Millisecond, time.Second) // while closed
	if g.n != 1 || d > 100*time.Millisecond {
		t.Fatalf("n=%d after two overlapping failures (first delay %v), want 1", g.n, d)
	}
	g.reset(now.Add(-time.Second)) // a call let through before the failure
	if g.n != 1 {
		t.Fatal("a success admitted before the failure reset the backoff")
	}
	g.reset(now.Add(time.Second))
	if g.n != 0 {
		t.Fatal("a success admitted after the failure did not reset the backoff")
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	api := func(code int, reason string) error {
		return fmt.Errorf("wrapped: %w", &googleapi.Error{Code: code, Errors: []googleapi.ErrorItem{{Reason: reason}}})
	}
	refused := &url.Error{Op: "Get", URL: "x", Err: &oauth2.RetrieveError{
		Response: &http.Response{StatusCode: http.StatusBadRequest}, ErrorCode: "invalid_grant"}}
	sessionEnded := errors.New("session ended")
	cases := []struct {
		err  error
		want class
	}{
		{nil, classOK},
		{api(401, "authError"), classRevoked},
		{api(403, "userRateLimitExceeded"), classUserRate},
		{api(403, "rateLimitExceeded"), classGlobalRate},
		{api(429, ""), classGlobalRate},
		{api(403, "insufficientPermissions"), classForbidden},
		{api(404, "notFound"), classNotFound},
		{api(500, "backendError"), classTransient},
		{api(503, ""), classTransient},
		{api(400, "invalid"), classFatal},
		{refused, classRevoked},
		{&oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}}, classTransient},
		{fmt.Errorf("token: %w", sessionEnded), classRevoked},
		{errors.New("connection refused"), classTransient},
	}
	isRevoked := func(err error) bool { return errors.Is(err, sessionEnded) }
	for _, c := range cases {
		if got := classify(ctx, c.err, isRevoked); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if got := classify(canceled, api(503, ""), nil); got != classCanceled {
		t.Errorf("classify under a canceled context = %v, want canceled", got)
	}
}

// The greedy cover takes the user who watches most uncovered files, and
// keeps a current cover on ties.
func TestRebalanceGreedyCover(t *testing.T) {
	w := &Watcher{cfg: Config{MinInterval: time.Second}, users: map[string]*user{}, files: map[string]*file{}}
	add := func(key string, files ...string) {
		u := w.users[key]
		if u == nil {
			u = &user{key: key, files: map[string]int{}, feed: newFeed(nil, time.Second, true)}
			w.users[key] = u
		}
		for _, id := range files {
			f := w.files[id]
			if f == nil {
				f = &file{id: id, users: map[string]int{}}
				w.files[id] = f
			}
			f.users[key]++
			u.files[id]++
		}
	}
	add("a", "f1")
	add("b", "f1", "f2", "f3")
	add("c", "f3", "f4")
	add("d", "f4")
	w.rebalanceLocked()
	covers := map[string]string{}
	for id, f := range w.files {
		covers[id] = f.cover.key
	}
	if covers["f1"] != "b" || covers["f2"] != "b" || covers["f3"] != "b" || covers["f4"] != "c" {
		t.Fatalf("covers %v, want b for f1-f3 and c for f4", covers)
	}
	if w.users["a"].feed.primary || !w.users["b"].feed.primary || !w.users["c"].feed.primary || w.users["d"].feed.primary {
		t.Fatal("primary flags do not follow the covers")
	}
	// d now ties with c for f4 (one file each): c, already covering, keeps it.
	add("d", "f5")
	add("c", "f5")
	w.rebalanceLocked()
	if w.files["f4"].cover.key != "c" || w.users["d"].feed.primary {
		t.Fatalf("f4 moved to %s on a tie", w.files["f4"].cover.key)
	}
}
