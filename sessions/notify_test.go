package sessions

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/oauthtest"
)

// Logout on one node closes the user's sockets on every node.
func TestEndNoticeReachesOtherNode(t *testing.T) {
	c := redisClient(t)
	st := NewRedisStore(c, "")
	idp := oauthtest.Start(t, oauthtest.Config{})
	clock := newClock()
	withRedis := func(cfg *Config) { cfg.Redis = c }
	a := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock, config: withRedis})
	bNode := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock, config: withRedis})

	br := a.browser()
	br.mustLogin()
	id := br.session().ID
	onA, onB := make(ended, 1), make(ended, 1)
	if _, err := a.m.Register(t.Context(), id, onA.onEnd); err != nil {
		t.Fatal(err)
	}
	// The socket on node B resumes the session from the store.
	if _, err := bNode.m.Admit(bNode.requestWithCookie(br.cookie())); err != nil {
		t.Fatalf("node B admit: %v", err)
	}
	if _, err := bNode.m.Register(t.Context(), id, onB.onEnd); err != nil {
		t.Fatal(err)
	}
	resp, _ := br.do(br.c, http.MethodPost, DefaultLogoutPath, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout on node A: %d", resp.StatusCode)
	}
	if r := onA.wait(t, "node A"); !errors.Is(r, ErrLoggedOut) {
		t.Fatalf("node A reason %v", r)
	}
	if r := onB.wait(t, "node B"); !errors.Is(r, ErrLoggedOut) {
		t.Fatalf("node B reason %v, want ErrLoggedOut carried by the notice", r)
	}
}

// Without a notice (no Redis pub/sub configured), the other node's sweep
// still finds the session gone and closes its sockets.
func TestSweepCatchesMissedNotice(t *testing.T) {
	c := redisClient(t)
	st := NewRedisStore(c, "")
	idp := oauthtest.Start(t, oauthtest.Config{})
	clock := newClock()
	a := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock})
	bNode := newHarness(t, harnessOpts{store: st, idp: idp, clock: clock, config: func(cfg *Config) { cfg.SweepInterval = 20 * time.Millisecond }})
	br := a.browser()
	br.mustLogin()
	id := br.session().ID
	onB := make(ended, 1)
	if _, err := bNode.m.Register(t.Context(), id, onB.onEnd); err != nil {
		t.Fatal(err)
	}
	if err := a.m.Revoke(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if r := onB.wait(t, "node B sweep"); !errors.Is(r, ErrSessionEnded) {
		t.Fatalf("reason %v", r)
	}
}

// A forged notice with a malformed ID is ignored and does not stop the listener.
func TestMalformedNoticeIgnored(t *testing.T) {
	c := redisClient(t)
	h := newHarness(t, harnessOpts{store: NewRedisStore(c, ""), config: func(cfg *Config) { cfg.Redis = c }})
	b := h.browser()
	b.mustLogin()
	id := b.session().ID
	e := make(ended, 1)
	if _, err := h.m.Register(t.Context(), id, e.onEnd); err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{"not json", `{"id":"../../x","reason":"revoked"}`} {
		if err := c.Publish(t.Context(), DefaultChannel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Publish(t.Context(), DefaultChannel, `{"id":"`+id+`","reason":"revoked"}`).Err(); err != nil {
		t.Fatal(err)
	}
	if r := e.wait(t, "valid notice after malformed ones"); !errors.Is(r, ErrRevoked) {
		t.Fatalf("reason %v", r)
	}
}
