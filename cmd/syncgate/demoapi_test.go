package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startDemoAPISub runs serveDemoAPI on a free loopback port until the test ends and returns
// its base URL.
func startDemoAPISub(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	go func() { done <- serveDemoAPI(ctx, args, lookup, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		t.Fatalf("demo-api ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("demo-api did not listen within 10s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo-api after cancel: %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("demo-api still serving 10s after cancel")
		}
	})
	return "http://" + addr.String()
}

func getAs(t *testing.T, url, user string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Cookie", "demo_user="+user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// `syncgate demo-api` serves the example API under /v1, with access checks, and /healthz.
func TestDemoAPISubcommandServesAPI(t *testing.T) {
	base := startDemoAPISub(t, nil, "--listen", "127.0.0.1:0")
	if code, body := getAs(t, base+"/healthz", ""); code != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	code, body := getAs(t, base+"/v1/users/me/memberships", "alice")
	if code != http.StatusOK || !strings.Contains(body, `"Springfield Tenants"`) {
		t.Fatalf("alice's memberships: %d %s", code, body)
	}
	// The API checks access itself: no user, no data.
	if code, body := getAs(t, base+"/v1/users/me/memberships", ""); code != http.StatusUnauthorized {
		t.Fatalf("memberships without a user: %d %s, want 401", code, body)
	}
	// Carol holds no role in org 1.
	if code, body := getAs(t, base+"/v1/orgs/1/people", "carol"); code != http.StatusForbidden {
		t.Fatalf("carol reading org 1: %d %s, want 403", code, body)
	}
}

// SYNCGATE_DEMO_API_LISTEN is the environment twin of --listen.
func TestDemoAPISubcommandEnvTwin(t *testing.T) {
	base := startDemoAPISub(t, map[string]string{"SYNCGATE_DEMO_API_LISTEN": "127.0.0.1:0"})
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("listening on %s, want 127.0.0.1 from SYNCGATE_DEMO_API_LISTEN", base)
	}
	if code, _ := getAs(t, base+"/healthz", ""); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
}

func TestDemoAPISubcommandRejectsBadArgs(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for name, args := range map[string][]string{
		"stray argument": {"--listen", "127.0.0.1:0", "extra"},
		"unknown flag":   {"--upstream", "http://x"},
		"bad log format": {"--listen", "127.0.0.1:0", "--log-format", "xml"},
		"bad log level":  {"--listen", "127.0.0.1:0", "--log-level", "loud"},
		"bad address":    {"--listen", "127.0.0.1:99999"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := serveDemoAPI(ctx, args, none, func(a net.Addr) { t.Errorf("listening on %s", a) }); err == nil {
				t.Fatalf("serveDemoAPI(%q) = nil, want an error", args)
			}
		})
	}
}
