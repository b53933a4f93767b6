package auth

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func awaitRevoked(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("revoked was not called")
		return nil
	}
}

func TestWatch_RevokedWhenMembershipRemoved(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin"), member(2, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{TTL: 50 * time.Millisecond})
	if err := m.Check(context.Background(), bearer("t"), "1"); err != nil {
		t.Fatal(err)
	}
	revoked1, revoked2 := make(chan error, 1), make(chan error, 1)
	m.Watch(bearer("t"), "1", func(err error) { revoked1 <- err })
	m.Watch(bearer("t"), "2", func(err error) { revoked2 <- err })

	u.set("Bearer t", memberships(member(2, "admin")))
	if err := awaitRevoked(t, revoked1); err != ErrForbidden {
		t.Fatalf("revoked with %v, want ErrForbidden", err)
	}
	// The refresh also updated the cache: new checks see the removal at once.
	if err := m.Check(context.Background(), bearer("t"), "1"); err != ErrForbidden {
		t.Fatalf("Check after revocation = %v", err)
	}
	u.drainCalls()
	u.awaitCalls(t, 2) // a full later round has been processed
	if s := m.Stats(); s.Revoked != 1 || s.Watches != 1 {
		t.Fatalf("stats = %+v, want 1 revoked and org 2 still watched", s)
	}
	select {
	case err := <-revoked2:
		t.Fatalf("org 2 revoked with %v", err)
	default:
	}
}

func TestWatch_RoleDowngradeRevokes(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{TTL: 50 * time.Millisecond})
	revoked := make(chan error, 1)
	m.Watch(bearer("t"), "1", func(err error) { revoked <- err })
	u.set("Bearer t", memberships(member(1, ""))) // demoted to follower
	if err := awaitRevoked(t, revoked); err != ErrForbidden {
		t.Fatalf("revoked with %v, want ErrForbidden", err)
	}
}

// A logged-out or expired session must lose its sockets.
func TestWatch_LogoutRevokesWithUnauthorized(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{TTL: 50 * time.Millisecond})
	revoked := make(chan error, 2)
	m.Watch(bearer("t"), "1", func(err error) { revoked <- err })
	m.Watch(bearer("t"), "1", func(err error) { revoked <- err })
	u.mu.Lock()
	delete(u.users, "Bearer t")
	u.mu.Unlock()
	for range 2 {
		if err := awaitRevoked(t, revoked); err != ErrUnauthorized {
			t.Fatalf("revoked with %v, want ErrUnauthorized", err)
		}
	}
}

// A transient upstream outage must not drop every connected user.
func TestWatch_UnavailableDuringRecheckKeepsSockets(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{TTL: 50 * time.Millisecond})
	revoked := make(chan error, 1)
	m.Watch(bearer("t"), "1", func(err error) { revoked <- err })
	u.setStatus(http.StatusServiceUnavailable)
	u.drainCalls()
	u.awaitCalls(t, 3) // at least two full rounds answered 503
	if s := m.Stats(); s.Revoked != 0 || s.RecheckErrors < 2 || s.Watches != 1 {
		t.Fatalf("stats = %+v, want no revocation and >=2 re-check errors", s)
	}
	select {
	case err := <-revoked:
		t.Fatalf("revoked during outage with %v", err)
	default:
	}
	// Once the upstream answers again, revocations work again.
	u.set("Bearer t", memberships())
	u.setStatus(0)
	if err := awaitRevoked(t, revoked); err != ErrForbidden {
		t.Fatalf("revoked with %v, want ErrForbidden", err)
	}
}

func TestWatch_StopIsIdempotentAndStopsRevocation(t *testing.T) {
	u := newFakeUpstream(t)
	u.set("Bearer t", memberships(member(1, "admin")))
	m := newTestMemberships(t, u, MembershipsConfig{TTL: time.Hour})
	revoked := make(chan error, 1)
	stop := m.Watch(bearer("t"), "1", func(err error) { revoked <- err })
	other := m.Watch(bearer("t"), "1", func(error) {})
	stop()
	stop()
	if n := m.Stats().Watches; n != 1 {
		t.Fatalf("watches = %d after stopping one of two twice, want 1", n)
	}
	other()
	u.set("Bearer t", memberships())
	m.recheck(context.Background())
	if s := m.Stats(); s.Revoked != 0 || s.Watches != 0 {
		t.Fatalf("stats = %+v", s)
	}
	select {
	case err := <-revoked:
		t.Fatalf("stopped watch revoked with %v", err)
	default:
	}
}

// 1,000 sockets of 100 users cost 100 upstream calls per re-check round.
func TestWatch_RecheckSharesCallsPerCredential(t *testing.T) {
	u := newFakeUpstream(t)
	const users, perUser = 100, 10
	for i := range users {
		u.set(fmt.Sprintf("Bearer u%d", i), memberships(member(1, "admin")))
	}
	m := newTestMemberships(t, u, MembershipsConfig{TTL: time.Hour})
	revoked := make(chan string, users*perUser)
	for i := range users * perUser {
		user := fmt.Sprintf("u%d", i%users)
		m.Watch(bearer(user), "1", func(error) { revoked <- user })
	}
	m.recheck(context.Background())
	if n := u.calls.Load(); n != users {
		t.Fatalf("upstream calls for one round = %d, want %d", n, users)
	}
	if s := m.Stats(); s.Revoked != 0 || s.Watches != users*perUser {
		t.Fatalf("stats = %+v", s)
	}
	u.set("Bearer u7", memberships())
	m.recheck(context.Background())
	if n := u.calls.Load(); n != 2*users {
		t.Fatalf("upstream calls after two rounds = %d, want %d", n, 2*users)
	}
	for range perUser {
		select {
		case user := <-revoked:
			if user != "u7" {
				t.Fatalf("revoked a socket of %s", user)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not all sockets of u7 were revoked")
		}
	}
	if s := m.Stats(); s.Revoked != perUser {
		t.Fatalf("revoked = %d, want %d", s.Revoked, perUser)
	}
}

func TestWatch_AfterCloseIsNoop(t *testing.T) {
	u := newFakeUpstream(t)
	m := newTestMemberships(t, u, MembershipsConfig{})
	m.Watch(bearer("t"), "1", func(error) {})() // starts the loop, then stops the watch
	m.Close()
	stop := m.Watch(bearer("t"), "1", func(error) { t.Error("revoked after Close") })
	stop()
	if n := m.Stats().Watches; n != 0 {
		t.Fatalf("watches after Close = %d", n)
	}
}
