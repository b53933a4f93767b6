package oauthtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

const redirect = "http://127.0.0.1:1/cb"

func setup(t *testing.T, cfg Config) (*Server, *oauth2.Config) {
	t.Helper()
	cfg.RedirectURLs = []string{redirect}
	s := Start(t, cfg)
	return s, &oauth2.Config{
		ClientID: s.ClientID(), ClientSecret: s.ClientSecret(),
		Endpoint: s.Endpoint(), RedirectURL: redirect,
	}
}

// authorize follows the authorization URL once and returns the query of the
// redirect back to the client.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func retrieveCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want *oauth2.RetrieveError", err)
	}
	return re.ErrorCode
}

func TestFullFlowRefreshAndUserinfo(t *testing.T) {
	s, oc := setup(t, Config{})
	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	q := authorize(t, oc.AuthCodeURL("st-1", oauth2.S256ChallengeOption(v)))
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if !s.AccessTokenValid(tok.AccessToken) || tok.RefreshToken == "" {
		t.Fatalf("token %+v not valid on the server", tok)
	}
	resp, err := oc.Client(ctx, tok).Get(s.UserinfoURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d", resp.StatusCode)
	}

	// Refresh rotates: the new refresh token works, the old one is dead.
	fresh, err := oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.RefreshToken == tok.RefreshToken || !s.AccessTokenValid(fresh.AccessToken) {
		t.Fatalf("refresh did not rotate or mint a valid token: %+v", fresh)
	}
	_, err = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if got := retrieveCode(t, err); got != "invalid_grant" {
		t.Fatalf("old refresh token: %q, want invalid_grant", got)
	}
	if st := s.Stats(); st.Authorizations != 1 || st.Exchanges != 1 || st.Refreshes != 1 || st.Userinfo != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A stolen code is useless without the verifier: that is what PKCE is for.
func TestPKCEVerifierMismatchRefused(t *testing.T) {
	_, oc := setup(t, Config{})
	q := authorize(t, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	_, err := oc.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if got := retrieveCode(t, err); got != "invalid_grant" {
		t.Fatalf("got %q, want invalid_grant", got)
	}
}

// Without a challenge the server would accept a code from anyone who saw it.
func TestAuthorizeWithoutPKCERefused(t *testing.T) {
	_, oc := setup(t, Config{})
	q := authorize(t, oc.AuthCodeURL("s"))
	if q.Get("error") != "invalid_request" || q.Get("code") != "" {
		t.Fatalf("query %v, want error=invalid_request and no code", q)
	}
}

// A replayed code must fail and revoke what the first use issued.
func TestCodeReplayRevokesTokens(t *testing.T) {
	s, oc := setup(t, Config{})
	v := oauth2.GenerateVerifier()
	q := authorize(t, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	tok, err := oc.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	_, err = oc.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(v))
	if got := retrieveCode(t, err); got != "invalid_grant" {
		t.Fatalf("replay: %q", got)
	}
	if s.AccessTokenValid(tok.AccessToken) {
		t.Fatal("access token still valid after code replay")
	}
}

// An unregistered redirect_uri must never be redirected to (open redirect at the IdP).
func TestUnregisteredRedirectURIRefused(t *testing.T) {
	_, oc := setup(t, Config{})
	oc.RedirectURL = "https://evil.example/cb"
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(oc.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("status %d location %q, want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestKnobs(t *testing.T) {
	s, oc := setup(t, Config{KeepRefreshToken: true})
	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	q := authorize(t, oc.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	// KeepRefreshToken: the same refresh token works twice.
	for i := 0; i < 2; i++ {
		if _, err := oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	s.SetOutage(true)
	_, err = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("outage: %v, want 503", err)
	}
	s.SetOutage(false)
	s.RevokeRefreshTokens()
	_, err = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if got := retrieveCode(t, err); got != "invalid_grant" {
		t.Fatalf("revoked: %q", got)
	}
	s.SetDeny(true)
	q = authorize(t, oc.AuthCodeURL("s2", oauth2.S256ChallengeOption(v)))
	if q.Get("error") != "access_denied" || q.Get("state") != "s2" {
		t.Fatalf("deny: %v", q)
	}
	oc.ClientSecret = "wrong"
	_, err = oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if got := retrieveCode(t, err); got != "invalid_client" {
		t.Fatalf("bad secret: %q", got)
	}
}
