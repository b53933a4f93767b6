package sessions

import (
	"errors"
	"testing"

	"golang.org/x/oauth2/google"
)

func TestProviderGoogle(t *testing.T) {
	o, err := Provider{Name: "google", ClientID: "id", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"}.OAuth()
	if err != nil {
		t.Fatal(err)
	}
	if o.Config.Endpoint != google.Endpoint || o.UserinfoURL != GoogleUserinfoURL || len(o.Config.Scopes) != 3 || len(o.AuthOptions) != 2 {
		t.Fatalf("google settings %+v", o)
	}
	// Offline access is what makes Google issue a refresh token.
	u := o.Config.AuthCodeURL("st", o.AuthOptions...)
	if got := queryParam(t, u, "access_type"); got != "offline" {
		t.Fatalf("access_type %q", got)
	}
}

func TestProviderGeneric(t *testing.T) {
	p := Provider{
		Name: "generic", ClientID: "id", RedirectURL: "https://app.example/auth/callback",
		AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token", UserinfoURL: "https://idp.example/userinfo",
	}
	o, err := p.OAuth()
	if err != nil || o.Config.Endpoint.TokenURL != p.TokenURL || o.UserinfoURL != p.UserinfoURL {
		t.Fatalf("%+v %v", o, err)
	}
	bad := map[string]func(*Provider){
		"unknown provider": func(p *Provider) { p.Name = "github" },
		"no client id":     func(p *Provider) { p.ClientID = "" },
		"no token URL":     func(p *Provider) { p.TokenURL = "" },
		// Tokens and codes in clear over the network.
		"plain http token URL":    func(p *Provider) { p.TokenURL = "http://idp.example/token" },
		"plain http redirect URL": func(p *Provider) { p.RedirectURL = "http://app.example/auth/callback" },
		"relative auth URL":       func(p *Provider) { p.AuthURL = "/authorize" },
		"userinfo with userinfo":  func(p *Provider) { p.UserinfoURL = "https://u:p@idp.example/userinfo" },
	}
	for name, mutate := range bad {
		q := p
		mutate(&q)
		if _, err := q.OAuth(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	loop := p
	loop.TokenURL, loop.RedirectURL = "http://127.0.0.1:9/token", "http://localhost:8080/auth/callback"
	if _, err := loop.OAuth(); err != nil {
		t.Errorf("http on loopback refused: %v", err)
	}
}
