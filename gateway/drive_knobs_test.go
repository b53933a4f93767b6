package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"github.com/syncgate/syncgate/internal/testenv"
)

// callsOf returns user's calls to endpoint at the fake Drive, oldest first.
func callsOf(fake *fakedrive.Server, user, endpoint string) []fakedrive.Call {
	var out []fakedrive.Call
	for _, c := range fake.Calls() {
		if c.User == user && c.Endpoint == endpoint {
			out = append(out, c)
		}
	}
	return out
}

// awaitCalls waits (on the fake's call notifications, bounded) until cond holds for user's
// calls to endpoint, and returns them.
func awaitCalls(t *testing.T, fake *fakedrive.Server, user, endpoint, what string, cond func([]fakedrive.Call) bool) []fakedrive.Call {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		next := fake.Next()
		if cs := callsOf(fake, user, endpoint); cond(cs) {
			return cs
		}
		select {
		case <-next:
		case <-deadline.C:
			t.Fatalf("%s %s at the fake Drive: never %s (%d calls)", user, endpoint, what, len(callsOf(fake, user, endpoint)))
		}
	}
}

// The Drive watcher is configured from outside the process: --drive-endpoint sends every
// Drive call to a Drive-compatible endpoint (here the fake Drive, with no client handed to
// the gateway), and the poll interval and backoff cap flags set its pace. With today's
// defaults (3 s first poll interval, backoff 1 s doubling to 64 s) none of the bounds
// below could hold.
func TestDriveEndpointAndTimingsFromFlags(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1})
	fake := env.drive
	fake.AddFile("doc1", "Notes", "alice")
	n := env.startDriveNode(
		"--drive-endpoint", strings.TrimSuffix(fake.Endpoint(), "/"), // the missing slash is added
		"--drive-poll-interval", "100ms",
		"--drive-poll-max-interval", "200ms",
		"--drive-recheck-interval", "1s",
		"--drive-backoff-max", "1s",
		"--drive-meta-cache", "1s",
		"--drive-list-cache", "1s",
	)
	_, alice := env.loginAs(n, "alice")
	ws := testenv.StartNode(t)
	connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	watch(t, ws, "a", "doc1", 1) // files.get went to --drive-endpoint with alice's token
	if fake.Count(fakedrive.FilesGet, "alice") == 0 {
		t.Fatal("the watch made no files.get call to --drive-endpoint as alice")
	}

	// Poll interval: four changes.list polls within 2.9 s (the default interval alone is 3 s).
	start := time.Now()
	before := len(callsOf(fake, "alice", fakedrive.ChangesList))
	awaitCalls(t, fake, "alice", fakedrive.ChangesList, "polled 4 times", func(cs []fakedrive.Call) bool { return len(cs) >= before+4 })
	if took := time.Since(start); took > 2900*time.Millisecond {
		t.Fatalf("4 polls took %v with --drive-poll-max-interval 200ms", took)
	}
	if v := fake.Touch("doc1"); v != 2 {
		t.Fatalf("Touch = %d", v)
	}
	waitChanged(t, ws, "a", "doc1", 2)

	// Backoff cap: four 503s in a row. Each wait is at most the cap (1 s) plus a poll
	// interval; uncapped, the fourth would wait 4 to 8 s.
	failFrom := len(callsOf(fake, "alice", fakedrive.ChangesList))
	fake.Fail("alice", fakedrive.ChangesList, http.StatusServiceUnavailable, fakedrive.ReasonBackendError, 4)
	cs := awaitCalls(t, fake, "alice", fakedrive.ChangesList, "answered again after 4 failures", func(cs []fakedrive.Call) bool {
		return len(cs) >= failFrom+5 && cs[failFrom+3].Status == http.StatusServiceUnavailable && cs[failFrom+4].Status == http.StatusOK
	})
	for i := failFrom + 1; i <= failFrom+4; i++ {
		if gap := cs[i].Time.Sub(cs[i-1].Time); gap > 1900*time.Millisecond {
			t.Fatalf("changes.list call %d came %v after failure %d, past --drive-backoff-max 1s", i-failFrom, gap, i-failFrom)
		}
	}
	if v := fake.Touch("doc1"); v != 3 {
		t.Fatalf("Touch = %d", v)
	}
	waitChanged(t, ws, "a", "doc1", 3)
}

// The Drive flags are validated with the rest: the endpoint carries users' tokens, so
// plain http is for loopback only; intervals must be positive and ordered.
func TestDriveFlagsValidated(t *testing.T) {
	base := []string{"--upstream", "http://127.0.0.1:1/"}
	for _, tc := range []struct {
		flags []string
		bad   string // "" = valid
	}{
		{[]string{"--drive-endpoint", "https://drive-proxy.internal/drive/v3/"}, ""},
		{[]string{"--drive-endpoint", "http://127.0.0.1:4443/drive/v3/"}, ""},
		{[]string{"--drive-endpoint", "http://localhost:4443/drive/v3"}, ""},
		{[]string{"--drive-endpoint", "http://drive-proxy.internal/drive/v3/"}, "--drive-endpoint: http only to a loopback host"},
		{[]string{"--drive-endpoint", "ftp://x/"}, "--drive-endpoint: scheme must be https"},
		{[]string{"--drive-endpoint", "/drive/v3/"}, "--drive-endpoint: want an absolute URL"},
		{[]string{"--drive-endpoint", "https://user:pw@drive.internal/"}, "--drive-endpoint: want an absolute URL"},
		{[]string{"--drive-poll-interval", "0s"}, "--drive-poll-interval: must be positive"},
		{[]string{"--drive-poll-interval", "1m"}, "--drive-poll-interval: 1m0s exceeds --drive-poll-max-interval 30s"},
		{[]string{"--drive-backoff-max", "500ms"}, "--drive-backoff-max: must be at least the first backoff"},
		{[]string{"--drive-list-cache", "-1s"}, "--drive-list-cache: must be positive"},
	} {
		_, err := gateway.ParseConfig(append(base, tc.flags...), noEnv)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%q: %v", tc.flags, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q: error %v, want one containing %q", tc.flags, err, tc.bad)
		}
	}
	// Defaults are today's values, from package drive.
	cfg, err := gateway.ParseConfig(base, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DriveEndpoint != "" || cfg.DrivePollInterval != 3*time.Second || cfg.DrivePollMaxInterval != 30*time.Second ||
		cfg.DriveRecheckInterval != 5*time.Minute || cfg.DriveBackoffMax != 64*time.Second ||
		cfg.DriveMetaCache != 15*time.Second || cfg.DriveListCache != 30*time.Second {
		t.Fatalf("drive defaults changed: %+v", cfg)
	}
}
