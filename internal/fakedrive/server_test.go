package fakedrive

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// client is the real Drive client pointed at s with token.
func client(t *testing.T, s *Server, token string) *drivev3.Service {
	t.Helper()
	hc := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}),
		Base:   http.DefaultTransport,
	}}
	svc, err := drivev3.NewService(context.Background(), option.WithEndpoint(s.Endpoint()), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return svc
}

// apiErr returns err as a googleapi.Error, failing the test otherwise.
func apiErr(t *testing.T, err error) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a googleapi.Error", err, err)
	}
	return ge
}

func reason(ge *googleapi.Error) string {
	if len(ge.Errors) == 0 {
		return ""
	}
	return ge.Errors[0].Reason
}

func TestFilesGetVersionAndAccess(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "Plan", "alice")
	alice := client(t, s, s.Token("alice"))
	bob := client(t, s, s.Token("bob"))

	f, err := alice.Files.Get("f1").Fields("id", "version").Do()
	if err != nil || f.Id != "f1" || f.Version != 1 {
		t.Fatalf("alice get = %+v, %v; want f1 at version 1", f, err)
	}
	if v := s.Touch("f1"); v != 2 {
		t.Fatalf("Touch = %d, want 2", v)
	}
	if f, _ = alice.Files.Get("f1").Do(); f.Version != 2 {
		t.Fatalf("version after Touch = %d, want 2", f.Version)
	}
	// Google answers 404, not 403, for a file the caller cannot read.
	_, err = bob.Files.Get("f1").Do()
	if ge := apiErr(t, err); ge.Code != http.StatusNotFound || reason(ge) != "notFound" {
		t.Fatalf("bob get: %d %q, want 404 notFound", ge.Code, reason(ge))
	}
	if n := s.Count(FilesGet, "bob"); n != 1 {
		t.Fatalf("Count(files.get, bob) = %d, want 1", n)
	}
	if c := s.Calls()[0]; c.Fields != "id,version" || c.User != "alice" {
		t.Fatalf("first call = %+v, want alice with fields id,version", c)
	}
}

func TestChangesPagingFollowsNextPageToken(t *testing.T) {
	s := Start(t, Config{PageSize: 2})
	s.AddFile("f1", "a", "alice")
	s.AddFile("f2", "b", "alice", "bob")
	s.AddFile("hidden", "c", "bob")
	alice := client(t, s, s.Token("alice"))
	start, err := alice.Changes.GetStartPageToken().Do()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Touch("f1")
		s.Touch("hidden")
		s.Touch("f2")
	}
	seen := map[string]int64{}
	pages, tok := 0, start.StartPageToken
	for pages < 20 {
		cl, err := alice.Changes.List(tok).PageSize(1000).Do()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(cl.Changes) > 2 {
			t.Fatalf("page of %d changes, want at most 2", len(cl.Changes))
		}
		for _, c := range cl.Changes {
			seen[c.FileId] = c.File.Version
		}
		if cl.NewStartPageToken != "" {
			tok = cl.NewStartPageToken
			break
		}
		tok = cl.NextPageToken
	}
	if pages < 3 {
		t.Fatalf("%d pages, want several (nextPageToken followed)", pages)
	}
	if len(seen) != 2 || seen["f1"] != 4 || seen["f2"] != 4 {
		t.Fatalf("alice saw %v, want f1 and f2 at version 4 and never bob's file", seen)
	}
	cl, err := alice.Changes.List(tok).Do()
	if err != nil || len(cl.Changes) != 0 || cl.NewStartPageToken != tok {
		t.Fatalf("drained feed = %+v, %v; want no changes and the same token", cl, err)
	}
}

func TestUnshareListsRemovedForThatUserOnly(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "a", "alice", "bob")
	alice, bob := client(t, s, s.Token("alice")), client(t, s, s.Token("bob"))
	st, _ := alice.Changes.GetStartPageToken().Do()
	s.Unshare("f1", "bob")
	cl, err := bob.Changes.List(st.StartPageToken).Do()
	if err != nil || len(cl.Changes) != 1 || !cl.Changes[0].Removed || cl.Changes[0].FileId != "f1" {
		t.Fatalf("bob's feed = %+v, %v; want f1 removed", cl, err)
	}
	if cl, _ = alice.Changes.List(st.StartPageToken).Do(); len(cl.Changes) != 0 {
		t.Fatalf("alice's feed lists %d changes, want none", len(cl.Changes))
	}
}

func TestRevokedAndScopelessTokens(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "a", "alice", "carol")
	alice := client(t, s, s.Token("alice"))
	if _, err := alice.Files.Get("f1").Do(); err != nil {
		t.Fatal(err)
	}
	s.Revoke("alice")
	_, err := alice.Files.Get("f1").Do()
	if ge := apiErr(t, err); ge.Code != http.StatusUnauthorized || reason(ge) != "authError" {
		t.Fatalf("revoked: %d %q, want 401 authError", ge.Code, reason(ge))
	}
	_, err = client(t, s, "made-up").Files.Get("f1").Do()
	if ge := apiErr(t, err); ge.Code != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d, want 401", ge.Code)
	}
	s.SetNoDriveScope("carol", true)
	_, err = client(t, s, s.Token("carol")).Files.Get("f1").Do()
	if ge := apiErr(t, err); ge.Code != http.StatusForbidden || reason(ge) != "insufficientPermissions" {
		t.Fatalf("no scope: %d %q, want 403 insufficientPermissions", ge.Code, reason(ge))
	}
}

func TestInjectedFaultsThenRecovery(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "a", "alice")
	alice := client(t, s, s.Token("alice"))
	s.Fail("alice", FilesGet, http.StatusForbidden, ReasonUserRateLimit, 1)
	s.Fail("", FilesGet, http.StatusTooManyRequests, "", 1)
	s.Fail("", "", http.StatusServiceUnavailable, "", 1)
	want := []struct {
		code   int
		reason string
	}{{403, ReasonUserRateLimit}, {429, ReasonRateLimit}, {503, ReasonBackendError}}
	for i, w := range want {
		_, err := alice.Files.Get("f1").Do()
		if ge := apiErr(t, err); ge.Code != w.code || reason(ge) != w.reason {
			t.Fatalf("call %d: %d %q, want %d %q", i, ge.Code, reason(ge), w.code, w.reason)
		}
	}
	if _, err := alice.Files.Get("f1").Do(); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	if n := s.Count(FilesGet, "alice"); n != 4 {
		t.Fatalf("Count = %d, want 4", n)
	}
}

func TestFilesListOnlyReadable(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "Old", "alice")
	s.AddFile("f2", "Secret", "bob")
	s.AddFile("f3", "New", "alice")
	fl, err := client(t, s, s.Token("alice")).Files.List().PageSize(10).Fields("files(id,name)").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(fl.Files) != 2 || fl.Files[0].Id != "f3" || fl.Files[1].Name != "Old" {
		t.Fatalf("files = %+v, want f3 then f1", fl.Files)
	}
}

func TestAuthenticateHookAcceptsForeignTokens(t *testing.T) {
	s := Start(t, Config{Authenticate: func(tok string) (string, bool) { return "dave", tok == "from-elsewhere" }})
	s.AddFile("f1", "a", "dave")
	if _, err := client(t, s, "from-elsewhere").Files.Get("f1").Do(); err != nil {
		t.Fatalf("hook token refused: %v", err)
	}
	if n := s.Count(FilesGet, "dave"); n != 1 {
		t.Fatalf("Count(dave) = %d, want 1", n)
	}
}

func TestLatencyAndInFlight(t *testing.T) {
	s := Start(t, Config{})
	s.AddFile("f1", "a", "alice")
	s.SetLatency(40 * time.Millisecond)
	alice := client(t, s, s.Token("alice"))
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := alice.Files.Get("f1").Do(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("answered in %v, want at least the 40ms latency", d)
	}
	if n := s.MaxInFlight(); n < 2 || n > 4 {
		t.Fatalf("MaxInFlight = %d, want 2..4 for 4 concurrent calls", n)
	}
}
