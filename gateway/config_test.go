package gateway_test

import (
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestEnvName(t *testing.T) {
	if got := gateway.EnvName("allowed-origins"); got != "SYNCGATE_ALLOWED_ORIGINS" {
		t.Fatalf("EnvName = %q", got)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := gateway.ParseConfig([]string{"--upstream", "http://api:9000/v1"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.DefaultConfig()
	want.Upstream = "http://api:9000/v1"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestParseConfigValues(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(c gateway.Config) bool
	}{
		{"env twin of upstream", nil, map[string]string{"SYNCGATE_UPSTREAM": "https://api.example/v1"},
			func(c gateway.Config) bool { return c.Upstream == "https://api.example/v1" }},
		{"env durations and ints", []string{"--upstream", "http://a"},
			map[string]string{"SYNCGATE_MEMBERSHIP_TTL": "5s", "SYNCGATE_UPSTREAM_TIMEOUT": "1500ms", "SYNCGATE_MAX_PAYLOAD": "2048"},
			func(c gateway.Config) bool {
				return c.MembershipTTL == 5*time.Second && c.UpstreamTimeout == 1500*time.Millisecond && c.MaxPayload == 2048
			}},
		{"env lists", []string{"--upstream", "http://a"},
			map[string]string{"SYNCGATE_ALLOWED_ORIGINS": "https://a.example, https://b.example", "SYNCGATE_MEMBER_ROLES": "admin,organizer"},
			func(c gateway.Config) bool {
				return reflect.DeepEqual(c.AllowedOrigins, []string{"https://a.example", "https://b.example"}) &&
					reflect.DeepEqual(c.MemberRoles, []string{"admin", "organizer"})
			}},
		{"flag wins over env", []string{"--upstream", "http://flag", "--member-roles", "*", "--allowed-origins", "https://f.example"},
			map[string]string{"SYNCGATE_UPSTREAM": "http://env", "SYNCGATE_MEMBER_ROLES": "admin", "SYNCGATE_ALLOWED_ORIGINS": "https://e.example"},
			func(c gateway.Config) bool {
				return c.Upstream == "http://flag" && reflect.DeepEqual(c.MemberRoles, []string{"*"}) &&
					reflect.DeepEqual(c.AllowedOrigins, []string{"https://f.example"})
			}},
		{"empty flag clears env list", []string{"--upstream", "http://a", "--allowed-origins", "", "--member-roles", ""},
			map[string]string{"SYNCGATE_ALLOWED_ORIGINS": "https://e.example", "SYNCGATE_MEMBER_ROLES": "*"},
			func(c gateway.Config) bool { return c.AllowedOrigins == nil && c.MemberRoles == nil }},
		{"demo needs no upstream", nil, map[string]string{"SYNCGATE_DEMO": "true"},
			func(c gateway.Config) bool { return c.Demo && c.Upstream == "" }},
		{"empty lists", []string{"--upstream", "http://a", "--allowed-origins", " , ", "--member-roles", ""}, nil,
			func(c gateway.Config) bool { return c.AllowedOrigins == nil && c.MemberRoles == nil }},
		{"log settings", []string{"--upstream", "http://a", "--log-format", "json", "--log-level", "debug"}, nil,
			func(c gateway.Config) bool { return c.LogFormat == "json" && c.LogLevel == "debug" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := gateway.ParseConfig(tt.args, envOf(tt.env))
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
}

func TestParseConfigErrorsNameTheFlag(t *testing.T) {
	up := []string{"--upstream", "http://api/v1"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"no upstream", nil, nil, "--upstream: required"},
		{"upstream scheme", []string{"--upstream", "ftp://api/v1"}, nil, "--upstream: scheme"},
		{"upstream without host", []string{"--upstream", "http:///v1"}, nil, "--upstream: no host"},
		{"upstream with query", []string{"--upstream", "http://api/v1?k=secret"}, nil, "--upstream: must not have a query"},
		{"upstream from env, bad", nil, map[string]string{"SYNCGATE_UPSTREAM": "api:9000"}, "--upstream"},
		{"api prefix without slash", append(up, "--api-prefix", "api"), nil, "--api-prefix"},
		{"api prefix with trailing slash", append(up, "--api-prefix", "/api/"), nil, "--api-prefix"},
		{"api prefix shadows socket.io", append(up, "--api-prefix", "/socket.io"), nil, "--api-prefix"},
		{"memberships path relative", append(up, "--memberships-path", "users/me"), nil, "--memberships-path"},
		{"zero ttl", append(up, "--membership-ttl", "0s"), nil, "--membership-ttl: must be positive"},
		{"negative upstream timeout", append(up, "--upstream-timeout", "-1s"), nil, "--upstream-timeout: must be positive"},
		{"zero ping interval", append(up, "--ping-interval", "0s"), nil, "--ping-interval"},
		{"zero ping timeout", append(up, "--ping-timeout", "0s"), nil, "--ping-timeout"},
		{"negative recovery window", append(up, "--recovery-window", "-1s"), nil, "--recovery-window"},
		{"redis not a redis URL", append(up, "--redis", "http://cache:6379"), nil, "--redis"},
		{"tiny max payload", append(up, "--max-payload", "10"), nil, "--max-payload"},
		{"tiny queue", append(up, "--max-queue-bytes", "10"), nil, "--max-queue-bytes"},
		{"log format", append(up, "--log-format", "xml"), nil, "--log-format"},
		{"log level", append(up, "--log-level", "trace"), nil, "--log-level"},
		{"bad env duration", up, map[string]string{"SYNCGATE_MEMBERSHIP_TTL": "soon"}, "SYNCGATE_MEMBERSHIP_TTL"},
		{"bad env bool", up, map[string]string{"SYNCGATE_DEMO": "maybe"}, "SYNCGATE_DEMO"},
		{"bad flag duration", append(up, "--ping-interval", "often"), nil, "ping-interval"},
		{"unknown flag", append(up, "--upstreem", "x"), nil, "upstreem"},
		{"stray argument", append(up, "extra"), nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.ParseConfig(tt.args, envOf(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig(%q, %v) = %v, want an error containing %q", tt.args, tt.env, err, tt.want)
			}
		})
	}
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	_, err := gateway.ParseConfig([]string{"--membership-ttl", "0s", "--log-format", "xml"}, noEnv)
	for _, want := range []string{"--upstream", "--membership-ttl", "--log-format"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestParseConfigHelp(t *testing.T) {
	if _, err := gateway.ParseConfig([]string{"--help"}, noEnv); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
}

// A wildcard or a path in an allowed origin would be a looser check than it reads.
func TestNewRejectsBadAllowedOrigin(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	for _, o := range []string{"https://*.example", "https://app.example/path", "app.example"} {
		cfg, err := gateway.ParseConfig([]string{"--upstream", api.URL(), "--allowed-origins", o}, noEnv)
		if err != nil {
			t.Fatalf("ParseConfig: %v", err)
		}
		g, err := gateway.New(cfg, gateway.Options{})
		if err == nil {
			_ = g.Close()
			t.Fatalf("New accepted allowed origin %q", o)
		}
		if !strings.Contains(err.Error(), "--allowed-origins") {
			t.Fatalf("New(%q): %v, want an error naming --allowed-origins", o, err)
		}
	}
}
