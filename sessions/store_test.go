package sessions

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestStoreConformance runs one suite against every Store implementation.
func TestStoreConformance(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("CreateGetDelete", func(t *testing.T) { testCreateGetDelete(t, kind.open(t)) })
			t.Run("UpdateIsAtomic", func(t *testing.T) { testUpdateAtomic(t, kind.open(t)) })
			t.Run("UpdateErrors", func(t *testing.T) { testUpdateErrors(t, kind.open(t)) })
			t.Run("StateSingleUse", func(t *testing.T) { testStateSingleUse(t, kind.open(t)) })
			t.Run("Purge", func(t *testing.T) { testPurge(t, kind.open(t)) })
		})
	}
}

func sampleSession(id string, now time.Time) *Session {
	return &Session{
		ID: id, Created: now, LastSeen: now, ExpiresAt: now.Add(time.Hour),
		User: &User{Subject: "s1", Email: "e@example.test", Name: "N"},
		Token: &oauth2.Token{
			AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt",
			Expiry: now.Add(30 * time.Minute).Round(0), ExpiresIn: 1800,
		},
	}
}

func testCreateGetDelete(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Now()
	id := hashKey("cookie-a")
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of absent: %v, want ErrNotFound", err)
	}
	in := sampleSession(id, now)
	if err := st.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	// Create never overwrites: a second session with a taken ID is refused.
	other := sampleSession(id, now)
	other.Token.AccessToken = "other"
	if err := st.Create(ctx, other); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	got, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || !got.Created.Equal(in.Created) || !got.ExpiresAt.Equal(in.ExpiresAt) ||
		*got.User != *in.User || got.Token.AccessToken != "at" || got.Token.RefreshToken != "rt" ||
		!got.Token.Expiry.Equal(in.Token.Expiry) || got.Token.TokenType != "Bearer" {
		t.Fatalf("round trip: got %+v token %+v, want %+v", got, got.Token, in)
	}
	// The copy is not the stored record.
	got.Token.AccessToken = "changed"
	if again, _ := st.Get(ctx, id); again.Token.AccessToken != "at" {
		t.Fatal("changing a returned session changed the store")
	}
	if err := st.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := st.Delete(ctx, id); err != nil {
		t.Fatalf("Delete of absent: %v", err)
	}
}

// Concurrent read-modify-writes must not lose updates: a lost update is a
// refreshed token overwritten by a stale copy.
func testUpdateAtomic(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	id := hashKey("cookie-b")
	if err := st.Create(ctx, sampleSession(id, now)); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := st.Update(ctx, id, func(s *Session) error {
					s.LastSeen = s.LastSeen.Add(time.Second)
					return nil
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(workers * each * time.Second); !got.LastSeen.Equal(want) {
		t.Fatalf("LastSeen %v, want %v: updates were lost", got.LastSeen, want)
	}
	if got.Token.AccessToken != "at" {
		t.Fatal("Update lost the token")
	}
}

func testUpdateErrors(t *testing.T, st Store) {
	ctx := context.Background()
	id := hashKey("cookie-c")
	if _, err := st.Update(ctx, id, func(*Session) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of absent: %v", err)
	}
	if err := st.Create(ctx, sampleSession(id, time.Now())); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := st.Update(ctx, id, func(s *Session) error {
		s.Token = nil
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn error: %v, want boom", err)
	}
	if got, _ := st.Get(ctx, id); got.Token == nil {
		t.Fatal("an aborted Update was stored")
	}
	// fn cannot move the record to another ID.
	got, err := st.Update(ctx, id, func(s *Session) error { s.ID = "other"; return nil })
	if err != nil || got.ID != id {
		t.Fatalf("Update changed the ID: %v %v", got, err)
	}
}

// A login state is single use, even under a race: a replayed callback must
// never find it twice.
func testStateSingleUse(t *testing.T, st Store) {
	ctx := context.Background()
	in := &LoginState{SessionID: hashKey("x"), Verifier: "v", ExpiresAt: time.Now().Add(time.Minute).Round(0)}
	if err := st.PutState(ctx, "k1", in); err != nil {
		t.Fatal(err)
	}
	const racers = 8
	var wg sync.WaitGroup
	results := make(chan *LoginState, racers)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := st.TakeState(ctx, "k1")
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
			results <- got
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for got := range results {
		if got != nil {
			won++
			if got.SessionID != in.SessionID || got.Verifier != in.Verifier || !got.ExpiresAt.Equal(in.ExpiresAt) {
				t.Fatalf("state %+v, want %+v", got, in)
			}
		}
	}
	if won != 1 {
		t.Fatalf("%d racers took the state, want exactly 1", won)
	}
	if _, err := st.TakeState(ctx, "k1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("third take: %v", err)
	}
}

func testPurge(t *testing.T, st Store) {
	ctx := context.Background()
	now := time.Now()
	dead, live := sampleSession(hashKey("dead"), now), sampleSession(hashKey("live"), now)
	dead.ExpiresAt = now.Add(-time.Minute)
	for _, s := range []*Session{dead, live} {
		if err := st.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutState(ctx, "old", &LoginState{ExpiresAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Purge(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, dead.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session after Purge: %v", err)
	}
	if _, err := st.TakeState(ctx, "old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired state after Purge: %v", err)
	}
	if _, err := st.Get(ctx, live.ID); err != nil {
		t.Fatalf("live session purged: %v", err)
	}
}

func TestBoltSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	in := sampleSession(hashKey("persist"), time.Now())
	if err := st.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Get(ctx, in.ID)
	if err != nil || got.Token.RefreshToken != "rt" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

// A second process must not open the same file (two writers would corrupt
// it): the lock makes the second open fail instead of hang.
func TestBoltFileIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := OpenBolt(path); err == nil {
		t.Fatal("second OpenBolt of a locked file succeeded")
	}
}
