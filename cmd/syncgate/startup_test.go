package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deadUpstream is an upstream URL nothing is asked of: these runs stop before serving.
const deadUpstream = "http://127.0.0.1:1/v1"

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A broken trigger file must stop the gateway at start, naming where it is broken: a
// gateway that starts with half its triggers silently leaves clients with stale data.
func TestMalformedTriggerFileExitsNamingFileAndLine(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"yaml syntax", "triggers:\n  - event: a\n    method: [PUT\n", 3, "YAML syntax error"},
		{"GET trigger", "triggers:\n  - event: a\n    method: GET\n    path: /orgs/{orgId}/x\n", 3, "not a mutation"},
		{"unknown key", "triggers:\n  - event: a\n    method: PUT\n    path: /orgs/{orgId}/x\n    methd: POST\n", 5, `unknown key "methd"`},
		{"no org", "triggers:\n  - event: a\n    method: PUT\n    path: /tasks/{taskId}\n", 2, "no org source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "triggers.yaml", []byte(tt.src))
			res := runBinary(t, nil, "--upstream", deadUpstream, "--listen", "127.0.0.1:0", "--triggers", file)
			if res.code == 0 {
				t.Fatalf("exit code 0 with a malformed trigger file; stderr: %s", res.stderr)
			}
			want := file + ":" + strconv.Itoa(tt.line) + ":"
			if !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, tt.msg) {
				t.Fatalf("stderr %q does not name %q with %q", res.stderr, want, tt.msg)
			}
			if strings.Contains(res.stderr, "listening") {
				t.Fatalf("started listening despite the bad file: %s", res.stderr)
			}
		})
	}
}

// The file may come from the environment twin too (containers configure by env).
func TestMalformedTriggerFileFromEnvironment(t *testing.T) {
	file := writeFile(t, "t.yaml", []byte("triggers:\n  - event: Bad Name\n    method: PUT\n    path: /orgs/{orgId}/x\n"))
	res := runBinary(t, []string{"SYNCGATE_UPSTREAM=" + deadUpstream, "SYNCGATE_TRIGGERS=" + file, "SYNCGATE_LISTEN=127.0.0.1:0"})
	if res.code == 0 || !strings.Contains(res.stderr, file+":2:") {
		t.Fatalf("exit %d, stderr %q; want non-zero naming %s:2", res.code, res.stderr, file)
	}
}

// An oversized file (a mistake, or a file swapped by someone else) must not be read into
// memory whole nor half-applied.
func TestOversizedTriggerFileRefused(t *testing.T) {
	data := []byte("triggers: []\n# " + strings.Repeat("x", 1<<20) + "\n")
	file := writeFile(t, "big.yaml", data)
	res := runBinary(t, nil, "--upstream", deadUpstream, "--listen", "127.0.0.1:0", "--triggers", file)
	if res.code == 0 || !strings.Contains(res.stderr, file+":1:") || !strings.Contains(res.stderr, "too large") {
		t.Fatalf("exit %d, stderr %q; want non-zero with %s:1: ... too large", res.code, res.stderr, file)
	}
}

func TestMissingTriggerFileRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "absent.yaml")
	res := runBinary(t, nil, "--upstream", deadUpstream, "--listen", "127.0.0.1:0", "--triggers", file)
	if res.code == 0 || !strings.Contains(res.stderr, "absent.yaml") {
		t.Fatalf("exit %d, stderr %q; want non-zero naming the file", res.code, res.stderr)
	}
}

func TestBadConfigurationExitsNamingTheFlag(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no upstream", nil, nil, "--upstream: required"},
		{"bad ttl", nil, []string{"--upstream", deadUpstream, "--membership-ttl", "0s"}, "--membership-ttl"},
		{"bad env twin", []string{"SYNCGATE_UPSTREAM=" + deadUpstream, "SYNCGATE_PING_INTERVAL=often"}, nil, "SYNCGATE_PING_INTERVAL"},
		{"bad origin", nil, []string{"--upstream", deadUpstream, "--allowed-origins", "https://*.example"}, "--allowed-origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBinary(t, tt.env, tt.args...)
			if res.code == 0 || !strings.Contains(res.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want non-zero naming %q", res.code, res.stderr, tt.want)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	res := runBinary(t, nil, "--help")
	if res.code != 0 || !strings.Contains(res.stderr, "-upstream") || !strings.Contains(res.stderr, "-allowed-origins") {
		t.Fatalf("--help: exit %d, stderr %q", res.code, res.stderr)
	}
}
