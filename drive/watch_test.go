package drive_test

import (
	"context"
	"testing"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
)

func TestChangeReachesEveryScopeOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "Plan", "alice", "bob", "carol")
	e.fake.AddFile("f2", "Budget", "alice", "bob")
	for i := range 5 { // noise in alice's feed, so that it takes several pages
		e.fake.AddFile(fileName(i), "noise", "alice")
	}
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	if v := e.watch(alice, "s1", "/org/1", "f1"); v != 1 {
		t.Fatalf("ack version = %d, want 1", v)
	}
	e.watch(bob, "s2", "/org/1", "f1")
	e.watch(carol, "s3", "/org/2", "f1")
	e.watch(alice, "s4", "/org/1", "f2")
	e.watch(bob, "s5", "/org/2", "f2")

	for i := range 5 {
		e.fake.Touch(fileName(i))
	}
	v := e.fake.Touch("f1")
	e.waitFor("f1's change in both scopes", func() bool {
		return e.rec.count(changedEv{"/org/1", "f1", v}) > 0 && e.rec.count(changedEv{"/org/2", "f1", v}) > 0
	})
	// Let every feed poll a few more times: nothing may be reported again.
	after := e.fake.Count(fakedrive.ChangesList, "")
	e.waitFor("more polls", func() bool { return e.fake.Count(fakedrive.ChangesList, "") >= after+6 })
	for _, scope := range []string{"/org/1", "/org/2"} {
		if n := e.rec.count(changedEv{scope, "f1", v}); n != 1 {
			t.Errorf("Changed(%s, f1, %d) %d times, want once", scope, v, n)
		}
	}
	if n := e.rec.count(changedEv{File: "f2"}); n != 0 {
		t.Errorf("f2 reported %d times, want never (it did not change)", n)
	}
	for i := range 5 {
		if n := e.rec.count(changedEv{File: fileName(i)}); n != 0 {
			t.Fatalf("unwatched %s reported %d times", fileName(i), n)
		}
	}
	// A later watch acks the current version.
	if got := e.watch(carol, "s6", "/org/2", "f1"); got != v {
		t.Fatalf("ack after the change = %d, want %d", got, v)
	}
	for _, c := range e.fake.Calls() {
		if c.Fields == "" {
			t.Fatalf("call %s without a fields parameter: responses must be trimmed", c.Endpoint)
		}
	}
}

func TestUnwatchAndForgetStopReports(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice")
	alice := e.user("alice")
	e.watch(alice, "s1", "/org/1", "f1")
	e.watch(alice, "s2", "/org/2", "f1")
	e.w.Unwatch("s1", "f1")
	v := e.fake.Touch("f1")
	e.waitFor("the change in /org/2", func() bool { return e.rec.count(changedEv{"/org/2", "f1", v}) == 1 })
	if n := e.rec.count(changedEv{Scope: "/org/1"}); n != 0 {
		t.Fatalf("/org/1 got %d reports after its only watcher unwatched", n)
	}
	e.w.Forget("s2")
	if st := e.w.Stats(); st.Users != 0 || st.Files != 0 || st.Watches != 0 {
		t.Fatalf("after Forget: %+v, want no users, files or watches", st)
	}
	polls := e.fake.Count(fakedrive.ChangesList, "alice")
	e.fake.AddFile("other", "b", "bob")
	bob := e.user("bob")
	e.watch(bob, "s3", "/org/1", "other")
	e.waitFor("bob's feed polled", func() bool { return e.fake.Count(fakedrive.ChangesList, "bob") >= 3 })
	if n := e.fake.Count(fakedrive.ChangesList, "alice"); n != polls {
		t.Fatalf("alice's feed polled %d more times after her last watcher left", n-polls)
	}
}

func TestCoverFailsOverWhenUserLeaves(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice", "bob")
	e.watch(e.user("alice"), "a1", "/org/1", "f1")
	e.watch(e.user("bob"), "b1", "/org/1", "f1")
	if st := e.w.Stats(); st.CoveringFeeds != 1 || st.OtherFeeds != 1 {
		t.Fatalf("stats %+v, want one covering and one other feed", st)
	}
	e.w.Forget("a1") // alice covered f1 (smaller key)
	v := e.fake.Touch("f1")
	e.waitFor("the change through bob's feed", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })
	if st := e.w.Stats(); st.CoveringFeeds != 1 || st.OtherFeeds != 0 || st.Users != 1 {
		t.Fatalf("stats %+v, want bob's feed alone, covering", st)
	}
}

func TestLostAccessEndsOnlyThatUsersWatch(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice", "bob")
	e.watch(e.user("alice"), "a1", "/org/1", "f1")
	e.watch(e.user("bob"), "b1", "/org/2", "f1") // bob's feed covers nothing: polled every RecheckInterval
	e.fake.Unshare("f1", "bob")
	e.waitFor("bob's watch lost", func() bool { return len(e.rec.lostOf("b1")) == 1 })
	l := e.rec.lostOf("b1")[0]
	if l.File != "f1" || drive.Code(l.Err) != "not_found" {
		t.Fatalf("lost = %+v, want f1 not_found", l)
	}
	v := e.fake.Touch("f1")
	e.waitFor("alice still told", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })
	if n := e.rec.count(changedEv{Scope: "/org/2"}); n != 0 {
		t.Fatalf("bob's scope got %d reports after he lost access", n)
	}
	if len(e.rec.lostOf("a1")) != 0 {
		t.Fatal("alice's watch reported lost")
	}
}

func TestWatchTwiceIsOneWatch(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice")
	alice := e.user("alice")
	e.watch(alice, "s1", "/org/1", "f1")
	e.watch(alice, "s1", "/org/1", "f1")
	if st := e.w.Stats(); st.Watches != 1 {
		t.Fatalf("Watches = %d, want 1", st.Watches)
	}
	if n := e.fake.Count(fakedrive.FilesGet, "alice"); n != 1 {
		t.Fatalf("files.get %d times, want 1 (the second watch is known)", n)
	}
}

func TestWatchAfterCloseFails(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice")
	if err := e.w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.w.Watch(context.Background(), e.user("alice"), drive.Sub{Watcher: "s", Scope: "/org/1"}, "f1")
	mustIs(t, err, drive.ErrClosed)
	if drive.Code(err) != "unavailable" {
		t.Fatalf("Code = %q, want unavailable", drive.Code(err))
	}
}
