package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// secretValue is a client secret that must never be echoed in an error message.
const secretValue = "s3cr3t-from-the-environment"

// Session mode without its OAuth settings cannot log anyone in: the gateway must refuse to
// start (exit 1), naming the missing flag, instead of serving a login that always fails.
// The client secret given in the environment is never echoed.
func TestSessionModeMissingOAuthSettingsExitNamingTheFlag(t *testing.T) {
	env := []string{"SYNCGATE_OAUTH_CLIENT_SECRET=" + secretValue}
	base := []string{"--upstream", deadUpstream, "--listen", "127.0.0.1:0", "--auth", "session", "--session-store", "memory"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no client id", []string{"--oauth-redirect-url", "https://app.example/auth/callback"},
			[]string{"--oauth-client-id", "required with --auth session"}},
		{"no redirect url", []string{"--oauth-client-id", "app"},
			[]string{"--oauth-redirect-url", "required with --auth session"}},
		{"nothing", nil, []string{"--oauth-client-id", "--oauth-redirect-url"}},
		{"generic without endpoints", []string{"--oauth-client-id", "app", "--oauth-redirect-url", "https://app.example/auth/callback",
			"--oauth-provider", "generic"}, []string{"--oauth-auth-url", "--oauth-token-url"}},
		{"unknown provider", []string{"--oauth-client-id", "app", "--oauth-redirect-url", "https://app.example/auth/callback",
			"--oauth-provider", "facebook"}, []string{"--oauth-provider"}},
		{"bad session store", []string{"--oauth-client-id", "app", "--oauth-redirect-url", "https://app.example/auth/callback",
			"--session-store", "postgres"}, []string{"--session-store"}},
		{"redis store without redis", []string{"--oauth-client-id", "app", "--oauth-redirect-url", "https://app.example/auth/callback",
			"--session-store", "redis"}, []string{"--session-store redis", "--redis"}},
		// A plain-HTTP redirect URL to a public host would send the code in clear.
		{"http redirect url", []string{"--oauth-client-id", "app", "--oauth-redirect-url", "http://app.example/auth/callback"},
			[]string{"--oauth-", "https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runBinary(t, env, append(append([]string(nil), base...), tt.args...)...)
			if res.code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", res.code, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr %q does not name %q", res.stderr, w)
				}
			}
			if strings.Contains(res.stderr, secretValue) {
				t.Errorf("stderr echoes the client secret: %q", res.stderr)
			}
			if strings.Contains(res.stderr, "listening") {
				t.Errorf("started listening despite the bad configuration: %q", res.stderr)
			}
		})
	}
}

// The README's way of running in front of the platform API: the client secret comes from the
// environment (a container secret), the rest from flags. The built binary logs a browser in
// through a real OAuth provider (a wrong secret would fail the code exchange) and proxies its
// call with the bearer token, keeping sessions in a file.
func TestSessionModeBinaryLogsInWithSecretFromEnvironment(t *testing.T) {
	idp := oauthtest.Start(t, oauthtest.Config{ClientSecret: secretValue})
	api := testenv.NewFakeAPI(t)
	api.HandleFunc("GET", "/orgs/*/people", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !idp.AccessTokenValid(tok) {
			http.Error(w, `{"error":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"data":[]}`)
	})
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	idp.AddRedirectURL(base + "/auth/callback")
	d := startDaemonEnv(t, []string{"SYNCGATE_OAUTH_CLIENT_SECRET=" + secretValue},
		"--listen", "127.0.0.1:"+strconv.Itoa(port),
		"--upstream", api.URL(),
		"--auth", "session",
		"--session-store", "bolt:"+filepath.Join(t.TempDir(), "sessions.db"),
		"--insecure-cookies",
		"--oauth-provider", "generic",
		"--oauth-client-id", idp.ClientID(),
		"--oauth-redirect-url", base+"/auth/callback",
		"--oauth-auth-url", idp.AuthURL(),
		"--oauth-token-url", idp.TokenURL(),
		"--oauth-userinfo-url", idp.UserinfoURL(),
	)
	if err := d.waitLine("syncgate listening", 20*time.Second); err != nil {
		t.Fatal(err)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) (int, *http.Response) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp
	}
	if code, _ := get("/api/orgs/1/people"); code != http.StatusUnauthorized {
		t.Fatalf("API call before login: %d, want 401", code)
	}
	// The flow ends on the landing path "/", which this gateway does not serve (no --demo).
	if _, resp := get("/auth/login"); resp.Request.URL.String() != base+"/" {
		t.Fatalf("login flow ended at %s, want %s/", resp.Request.URL, base)
	}
	if st := idp.Stats(); st.Exchanges != 1 || st.Rejected != 0 {
		t.Fatalf("provider stats %+v: the code exchange with the environment's secret failed", st)
	}
	if code, _ := get("/api/orgs/1/people"); code != http.StatusOK {
		t.Fatalf("API call after login: %d, want 200", code)
	}
	if strings.Contains(d.stderr(), secretValue) {
		t.Fatal("the client secret appears in the log")
	}
}

// startDaemonEnv is startDaemon with extra environment variables (SYNCGATE_* twins).
func startDaemonEnv(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start syncgate: %v", err)
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{}), more: make(chan struct{})}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			close(d.more)
			d.more = make(chan struct{})
			d.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-readDone
		d.err = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("syncgate stderr:\n%s", d.stderr())
		}
	})
	return d
}
