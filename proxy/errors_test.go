package proxy

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// closedPort returns the address of a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestUpstreamDownIs502AndFiresNothing(t *testing.T) {
	u, _ := url.Parse("http://" + closedPort(t) + "/v1")
	r := newRig(t, nil, func(c *Config) { c.Upstream = u })
	resp, data := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", strings.NewReader("{}"), nil)
	if resp.StatusCode != http.StatusBadGateway || string(data) != `{"error":"upstream unavailable"}` {
		t.Fatalf("got %d %q", resp.StatusCode, data)
	}
	r.waitDone(t)
	r.expectNoEvents(t)
}

func TestSlowUpstreamIs504AndFiresNothing(t *testing.T) {
	release := make(chan struct{})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	r := newRig(t, up, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	defer close(release)
	start := time.Now()
	resp, data := r.do(t, "PUT", "/api/orgs/1/people/views/2/rows/3", nil, nil)
	if resp.StatusCode != http.StatusGatewayTimeout || string(data) != `{"error":"upstream timeout"}` {
		t.Fatalf("got %d %q", resp.StatusCode, data)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	r.waitDone(t)
	r.expectNoEvents(t)
}

func TestNewRejectsBadConfig(t *testing.T) {
	up, _ := url.Parse("http://127.0.0.1:9/v1")
	rel, _ := url.Parse("/v1")
	pub := newRecorder()
	for name, cfg := range map[string]Config{
		"no upstream":     {Publisher: pub},
		"relative":        {Upstream: rel, Publisher: pub},
		"no publisher":    {Upstream: up},
		"prefix no slash": {Upstream: up, Publisher: pub, Prefix: "api"},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
}
