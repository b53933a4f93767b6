package sessions

import (
	"errors"
	"testing"

	"golang.org/x/oauth2"
)

func TestConfigRefused(t *testing.T) {
	ok := func() Config {
		return Config{Store: NewMemoryStore(), OAuth: OAuth{Config: &oauth2.Config{RedirectURL: "https://app.example/auth/callback"}}}
	}
	bad := map[string]func(*Config){
		"no store":             func(c *Config) { c.Store = nil },
		"no oauth":             func(c *Config) { c.OAuth.Config = nil },
		"no redirect URL":      func(c *Config) { c.OAuth.Config.RedirectURL = "" },
		"cookie name with ;":   func(c *Config) { c.CookieName = "a;b" },
		"__Host- over http":    func(c *Config) { c.CookieName = "__Host-sg"; c.Insecure = true },
		"two routes one path":  func(c *Config) { c.LogoutPath = DefaultLoginPath },
		"route not local path": func(c *Config) { c.CallbackPath = "https://evil.example/cb" },
	}
	for name, mutate := range bad {
		c := ok()
		mutate(&c)
		if m, err := New(c); !errors.Is(err, ErrConfig) {
			if m != nil {
				_ = m.Close()
			}
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	m, err := New(ok())
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
}
