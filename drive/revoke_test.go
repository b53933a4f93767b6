package drive_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"github.com/syncgate/syncgate/internal/oauthtest"
)

// A revoked token (401 from Drive) ends the user's feed and reports each
// of the user's watches lost; other users go on.
func TestRevokedTokenStopsFeed(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.AddFile("f1", "a", "alice", "bob")
	e.fake.AddFile("f2", "b", "alice")
	alice := e.user("alice")
	e.watch(alice, "a1", "/org/1", "f1")
	e.watch(alice, "a2", "/org/1", "f1")
	e.watch(alice, "a2", "/org/1", "f2")
	e.watch(e.user("bob"), "b1", "/org/1", "f1")

	e.fake.Revoke("alice")
	e.waitFor("alice's three watches lost", func() bool { return len(e.rec.lostOf("a1"))+len(e.rec.lostOf("a2")) == 3 })
	for _, l := range append(e.rec.lostOf("a1"), e.rec.lostOf("a2")...) {
		mustIs(t, l.Err, drive.ErrRevoked)
		if drive.Code(l.Err) != "forbidden" {
			t.Fatalf("lost %+v: Code %q, want forbidden", l, drive.Code(l.Err))
		}
	}
	polls := e.fake.Count(fakedrive.ChangesList, "alice")
	v := e.fake.Touch("f1")
	e.waitFor("bob's report", func() bool { return e.rec.count(changedEv{"/org/1", "f1", v}) == 1 })
	bobPolls := e.fake.Count(fakedrive.ChangesList, "bob")
	e.waitFor("three more polls of bob's feed", func() bool { return e.fake.Count(fakedrive.ChangesList, "bob") >= bobPolls+3 })
	if n := e.fake.Count(fakedrive.ChangesList, "alice"); n != polls {
		t.Fatalf("alice's feed polled %d more times after its grant was revoked", n-polls)
	}
	if len(e.rec.lostOf("b1")) != 0 {
		t.Fatal("bob's watch reported lost")
	}
	_, err := e.w.Watch(context.Background(), alice, drive.Sub{Watcher: "a3", Scope: "/org/1"}, "f2")
	mustIs(t, err, drive.ErrRevoked)
}

// A refused token refresh (the user revoked the app; invalid_grant) ends
// the feed the same way: the token source is a real refreshing oauth2
// source against a real authorization server.
func TestRefreshRefusedStopsFeed(t *testing.T) {
	const redirect = "http://127.0.0.1:1/cb"
	// Tokens live 1s, under oauth2's 10s early-expiry margin: every call
	// refreshes, as a session near its token's end would.
	as := oauthtest.Start(t, oauthtest.Config{RedirectURLs: []string{redirect}, AccessTTL: time.Second})
	oc := &oauth2.Config{ClientID: as.ClientID(), ClientSecret: as.ClientSecret(), Endpoint: as.Endpoint(), RedirectURL: redirect}
	rec := newRecorder()
	fake := fakedrive.Start(t, fakedrive.Config{Authenticate: func(tok string) (string, bool) {
		return "alice", as.AccessTokenValid(tok)
	}})
	fake.AddFile("f1", "a", "alice")
	w := startWatcher(t, context.Background(), fastConfig(fake, rec))

	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(oc.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok, err := oc.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	alice := drive.User{Key: "alice", Tokens: oc.TokenSource(ctx, tok)}
	if _, err := w.Watch(ctx, alice, drive.Sub{Watcher: "a1", Scope: "/org/1"}, "f1"); err != nil {
		t.Fatalf("Watch: %v", err)
	}
	fv := fake.Touch("f1")
	waitFor(t, "a change through refreshed tokens", func() bool { return rec.count(changedEv{"/org/1", "f1", fv}) == 1 }, fake, rec)
	if as.Stats().Refreshes == 0 {
		t.Fatal("no token refresh happened")
	}

	as.RevokeRefreshTokens()
	waitFor(t, "the watch lost", func() bool { return len(rec.lostOf("a1")) == 1 }, fake, rec)
	l := rec.lostOf("a1")[0]
	mustIs(t, l.Err, drive.ErrRevoked)
	var re *oauth2.RetrieveError
	if !errorsAs(l.Err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("lost error %v, want it to carry the invalid_grant RetrieveError", l.Err)
	}
	if st := w.Stats(); st.Users != 0 || st.Watches != 0 {
		t.Fatalf("stats %+v, want the user gone", st)
	}
}
