package drive_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
)

// A user who cannot read a file must not learn when it changes.
func TestUserWithoutAccessCannotWatch(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "Secret", "alice")
	e.watch(e.user("alice"), "a1", "/org/1", "f1")
	_, err := e.w.Watch(context.Background(), e.user("mallory"), drive.Sub{Watcher: "m1", Scope: "/org/9"}, "f1")
	mustIs(t, err, drive.ErrNotFound)
	if drive.Code(err) != "not_found" {
		t.Fatalf("Code = %q, want not_found", drive.Code(err))
	}
	// The check used mallory's own token, not alice's cached answer or feed.
	if n := e.fake.Count(fakedrive.FilesGet, "mallory"); n != 1 {
		t.Fatalf("files.get with mallory's token %d times, want 1", n)
	}
	v := e.fake.Touch("f1")
	e.waitFor("alice's report", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })
	if n := e.rec.count(changedEv{Scope: "/org/9"}); n != 0 {
		t.Fatalf("mallory's scope got %d reports", n)
	}
	if st := e.w.Stats(); st.Users != 1 || st.Watches != 1 {
		t.Fatalf("stats %+v: mallory left state behind", st)
	}
	// A refusal is cached per user for MetaTTL: mallory asking again at
	// once costs no call...
	mallory := e.user("mallory")
	_, err = e.w.Watch(context.Background(), mallory, drive.Sub{Watcher: "m2", Scope: "/org/9"}, "f1")
	mustIs(t, err, drive.ErrNotFound)
	if n := e.fake.Count(fakedrive.FilesGet, "mallory"); n > 2 {
		t.Fatalf("files.get with mallory's token %d times, want the refusal cached", n)
	}
	// ...and once the file is shared with her, she gets in after MetaTTL.
	e.fake.Share("f1", "mallory")
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err = e.w.Watch(context.Background(), mallory, drive.Sub{Watcher: "m3", Scope: "/org/9"}, "f1")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // waiting for a TTL to pass, not for an event
	}
	if err != nil {
		t.Fatalf("mallory's watch after the share: %v", err)
	}
}

// A token without a Drive scope must not watch anything.
func TestTokenWithoutDriveScopeIsForbidden(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "carol")
	e.fake.SetNoDriveScope("carol", true)
	_, err := e.w.Watch(context.Background(), e.user("carol"), drive.Sub{Watcher: "c1", Scope: "/org/1"}, "f1")
	mustIs(t, err, drive.ErrForbidden)
	if drive.Code(err) != "forbidden" {
		t.Fatalf("Code = %q, want forbidden", drive.Code(err))
	}
}

// Hostile IDs could walk to other Drive endpoints ("../"), smuggle
// parameters or headers, collide with room names or blow up keys and logs:
// they are refused before any call.
func TestHostileFileIDsNeverReachGoogle(t *testing.T) {
	e := newEnv(t, nil)
	ids := []string{"", "../../about", "f1/../f2", "f1?fields=*", "f1#x", "f1\r\nX-Injected: 1",
		"drive:f1", "f1 ", "%2e%2e", strings.Repeat("a", 4096), "ä"}
	for _, id := range ids {
		_, err := e.w.Watch(context.Background(), e.user("alice"), drive.Sub{Watcher: "s", Scope: "/org/1"}, id)
		if !errors.Is(err, drive.ErrInvalidFileID) || drive.Code(err) != "not_found" {
			t.Errorf("Watch(%q) = %v, want ErrInvalidFileID (not_found)", id, err)
		}
	}
	if n := e.fake.Count("", ""); n != 0 {
		t.Fatalf("%d calls reached Drive, want none", n)
	}
}

// One socket watching thousands of files would spend the quota of all.
func TestOneWatcherCannotWatchUnboundedFiles(t *testing.T) {
	e := newEnv(t, func(c *drive.Config) { c.MaxFilesPerWatcher = 3 })
	alice := e.user("alice")
	for i := range 4 {
		e.fake.AddFile(fileName(i), "x", "alice")
	}
	for i := range 3 {
		e.watch(alice, "s1", "/org/1", fileName(i))
	}
	_, err := e.w.Watch(context.Background(), alice, drive.Sub{Watcher: "s1", Scope: "/org/1"}, fileName(3))
	mustIs(t, err, drive.ErrTooManyFiles)
	if n := e.fake.Count(fakedrive.FilesGet, ""); n != 3 {
		t.Fatalf("files.get %d times, want 3 (the fourth refused before Google)", n)
	}
	e.watch(alice, "s2", "/org/1", fileName(3)) // another socket has its own allowance
}

// A listing is one user's own data: another user must never be served it
// from the cache.
func TestListNeverServesAnotherUsersCache(t *testing.T) {
	e := newEnv(t, func(c *drive.Config) { c.ListTTL = waitTimeout })
	e.fake.AddFile("a1", "Alice's diary", "alice")
	e.fake.AddFile("b1", "Bob's notes", "bob")
	alice, bob := e.user("alice"), e.user("bob")
	got, err := e.w.List(context.Background(), alice)
	if err != nil || len(got) != 1 || got[0] != (drive.File{ID: "a1", Name: "Alice's diary"}) {
		t.Fatalf("alice's List = %v, %v", got, err)
	}
	if got, _ = e.w.List(context.Background(), alice); len(got) != 1 {
		t.Fatalf("cached List = %v", got)
	}
	if n := e.fake.Count(fakedrive.FilesList, "alice"); n != 1 {
		t.Fatalf("files.list for alice %d times, want 1 (cached)", n)
	}
	got, err = e.w.List(context.Background(), bob)
	if err != nil || len(got) != 1 || got[0].ID != "b1" {
		t.Fatalf("bob's List = %v, %v; want only his own file", got, err)
	}
	got[0].Name = "tampered" // callers get copies
	if again, _ := e.w.List(context.Background(), bob); again[0].Name != "Bob's notes" {
		t.Fatalf("cache was changed through a returned slice: %v", again)
	}
}
