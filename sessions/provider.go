package sessions

import (
	"fmt"
	"net"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// GoogleUserinfoURL is Google's OpenID Connect userinfo endpoint.
const GoogleUserinfoURL = "https://openidconnect.googleapis.com/v1/userinfo"

// Provider describes an identity provider in configuration terms (the
// gateway's --oauth-* flags).
type Provider struct {
	Name         string // "google" or "generic"
	ClientID     string
	ClientSecret string
	RedirectURL  string   // absolute URL of the callback route, as registered at the provider
	Scopes       []string // google default: openid email profile
	// Generic only (google uses golang.org/x/oauth2/google.Endpoint and GoogleUserinfoURL):
	AuthURL, TokenURL string
	UserinfoURL       string // optional
}

// OAuth validates p and builds the Manager's OAuth settings. Google gets
// access_type=offline and prompt=consent, so that every login (and the
// session rotation it causes) comes with a refresh token. URLs must be
// https, except on loopback hosts (development, tests).
func (p Provider) OAuth() (OAuth, error) {
	if p.ClientID == "" {
		return OAuth{}, fmt.Errorf("%w: oauth client ID is required", ErrConfig)
	}
	if err := checkProviderURL("redirect URL", p.RedirectURL); err != nil {
		return OAuth{}, err
	}
	cfg := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: p.Scopes}
	switch p.Name {
	case "google":
		cfg.Endpoint = google.Endpoint
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"openid", "email", "profile"}
		}
		return OAuth{
			Config:      cfg,
			UserinfoURL: GoogleUserinfoURL,
			AuthOptions: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")},
		}, nil
	case "generic":
		for _, u := range []struct{ name, v string }{{"auth URL", p.AuthURL}, {"token URL", p.TokenURL}} {
			if err := checkProviderURL(u.name, u.v); err != nil {
				return OAuth{}, err
			}
		}
		if p.UserinfoURL != "" {
			if err := checkProviderURL("userinfo URL", p.UserinfoURL); err != nil {
				return OAuth{}, err
			}
		}
		cfg.Endpoint = oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL}
		return OAuth{Config: cfg, UserinfoURL: p.UserinfoURL}, nil
	default:
		return OAuth{}, fmt.Errorf("%w: oauth provider %q: want google or generic", ErrConfig, p.Name)
	}
}

// checkProviderURL wants an absolute https URL, or http on a loopback host.
func checkProviderURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: oauth %s %q must be an absolute URL", ErrConfig, name, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || isLoopback(h) {
			return nil
		}
		return fmt.Errorf("%w: oauth %s %q must use https (http only on loopback)", ErrConfig, name, raw)
	default:
		return fmt.Errorf("%w: oauth %s %q must be http(s)", ErrConfig, name, raw)
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
