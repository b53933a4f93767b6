package demo_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/syncgate/syncgate/demo"
)

// startSite serves the page at / and the API under /v1 on one loopback server, as the
// gateway will, so a cookie set by /demo/login reaches the API.
func startSite(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", demo.Page())
	mux.Handle("/v1/", demo.NewAPI())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func fetch(t *testing.T, client *http.Client, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return res, string(b)
}

func TestPageIsServed(t *testing.T) {
	res, body := fetch(t, http.DefaultClient, "GET", startSite(t)+"/", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{`src="/demo/app.js"`, `href="/demo/style.css"`, `id="root"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// No CDN: the page must not load anything from another origin.
	if strings.Contains(body, `src="http`) || strings.Contains(body, `src="//`) || strings.Contains(body, `href="http`) {
		t.Error("page loads something from another origin")
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
}

// The CSP allows no inline script or style: the build must not emit any, or the page breaks.
func TestPageHasNoInlineScriptOrStyle(t *testing.T) {
	_, body := fetch(t, http.DefaultClient, "GET", startSite(t)+"/", nil)
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(m, ` src="/demo/`) {
			t.Errorf("inline script %s", m)
		}
	}
	for _, bad := range []string{"<style", " style=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("page has %q", bad)
		}
	}
}

// Every file the page references is one the handler serves (the build's file names are fixed).
func TestPageReferencesOnlyServedFiles(t *testing.T) {
	site := startSite(t)
	_, body := fetch(t, http.DefaultClient, "GET", site+"/", nil)
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 2 {
		t.Fatalf("page references %d files, want the script and the style sheet", len(refs))
	}
	for _, m := range refs {
		if res, _ := fetch(t, http.DefaultClient, "GET", site+m[1], nil); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s (referenced by the page): %d", m[1], res.StatusCode)
		}
	}
}

func TestAssetsHaveTheirContentTypes(t *testing.T) {
	site := startSite(t)
	cases := []struct{ path, contentType, contains string }{
		{"/demo/app.js", "text/javascript; charset=utf-8", "personview.addrow"},
		{"/demo/style.css", "text/css; charset=utf-8", ".badge"},
		{"/demo/licenses.txt", "text/plain; charset=utf-8", "socket.io-client"},
		{"/demo/socket.io-client.LICENSE", "text/plain; charset=utf-8", "The MIT License"},
	}
	for _, tc := range cases {
		res, body := fetch(t, http.DefaultClient, "GET", site+tc.path, nil)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != tc.contentType ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q nosniff=%q, body has %q: %v", tc.path, res.StatusCode,
				res.Header.Get("Content-Type"), res.Header.Get("X-Content-Type-Options"), tc.contains, strings.Contains(body, tc.contains))
		}
		etag := res.Header.Get("ETag")
		res, _ = fetch(t, http.DefaultClient, "GET", site+tc.path, http.Header{"If-None-Match": {etag}})
		if etag == "" || res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %q: %d, want 304", tc.path, etag, res.StatusCode)
		}
	}
}

// The login buttons are rendered by the script, one per demo user.
func TestPageScriptOffersEveryDemoUser(t *testing.T) {
	_, js := fetch(t, http.DefaultClient, "GET", startSite(t)+"/demo/app.js", nil)
	for _, u := range demo.Users() {
		if !strings.Contains(js, `"`+u+`"`) {
			t.Errorf("app.js has no login for %s", u)
		}
	}
}

// Only the listed files are served: no directory listing, no other embedded or repo file.
func TestPageServesNothingElse(t *testing.T) {
	site := startSite(t)
	for _, path := range []string{"/demo/", "/demo/index.html", "/static/app.js", "/demo/../go.mod",
		"/demo/app.js.map", "/index.html", "/demo/%2e%2e/page.go", "/demo/socket.io.min.js", "/src/main.jsx"} {
		res, _ := fetch(t, http.DefaultClient, "GET", site+path, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestLoginSetsTheCookieTheAPIReads(t *testing.T) {
	site := startSite(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}

	res, body := fetch(t, client, "POST", site+"/demo/login?user=carol", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"user":"carol"`) {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	if c.Name != "demo_user" || c.Value != "carol" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Fatalf("cookie %+v, want demo_user=carol; Path=/; HttpOnly; SameSite=Lax", c)
	}
	res, body = fetch(t, client, "GET", site+"/v1/users/me/memberships", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Shelbyville Renters") {
		t.Fatalf("memberships with the login cookie: %d %s", res.StatusCode, body)
	}

	res, _ = fetch(t, client, "POST", site+"/demo/logout", nil)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	res, _ = fetch(t, client, "GET", site+"/v1/users/me/memberships", nil)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("memberships after logout: %d, want 401", res.StatusCode)
	}
}

func TestLoginRejectsUnknownUsers(t *testing.T) {
	site := startSite(t)
	// "alice; Path=/x" would inject cookie attributes if the name were copied unchecked.
	for _, user := range []string{"", "mallory", "Alice", "alice%3B%20Path%3D%2Fx", "alice%0d%0aX-Injected:%201"} {
		res, body := fetch(t, http.DefaultClient, "POST", site+"/demo/login?user="+user, nil)
		if res.StatusCode != http.StatusBadRequest || len(res.Cookies()) != 0 || !strings.Contains(body, "unknown user") {
			t.Errorf("login as %q: %d cookies=%v body %s, want 400 and no cookie", user, res.StatusCode, res.Cookies(), body)
		}
	}
}

// A GET (an <img> or a link on any site) must not log a visitor in.
func TestLoginIsPostOnly(t *testing.T) {
	res, _ := fetch(t, http.DefaultClient, "GET", startSite(t)+"/demo/login?user=alice", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || len(res.Cookies()) != 0 {
		t.Fatalf("GET /demo/login: %d cookies=%v, want 405 and no cookie", res.StatusCode, res.Cookies())
	}
}

// Login CSRF: another site's form must not log the visitor in as a user of its choosing.
func TestLoginFromForeignOriginIsRejected(t *testing.T) {
	site := startSite(t)
	for _, h := range []http.Header{
		{"Origin": {"http://evil.example"}},
		{"Sec-Fetch-Site": {"cross-site"}},
	} {
		res, _ := fetch(t, http.DefaultClient, "POST", site+"/demo/login?user=alice", h)
		if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
			t.Errorf("login with %v: %d cookies=%v, want 403 and no cookie", h, res.StatusCode, res.Cookies())
		}
	}
	res, _ := fetch(t, http.DefaultClient, "POST", site+"/demo/login?user=alice",
		http.Header{"Origin": {site}, "Sec-Fetch-Site": {"same-origin"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("same-origin login: %d, want 200", res.StatusCode)
	}
}

// Person names are typed in by users; the page must never parse API text as HTML. React
// escapes what it renders; these are the ways around that, in the page's and the kit's sources.
func TestPageSourcesNeverParseHTML(t *testing.T) {
	sinks := []string{"dangerouslySetInnerHTML", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"}
	checked := 0
	for _, dir := range []string{"web/src", "../client/src"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			for _, sink := range sinks {
				if strings.Contains(string(b), sink) {
					t.Errorf("%s uses %s", path, sink)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d source files, want the page's and the kit's", checked)
	}
}

func TestPageScriptIsValidJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	if out, err := exec.Command(node, "--check", "static/app.js").CombinedOutput(); err != nil {
		t.Errorf("node --check static/app.js: %v\n%s", err, out)
	}
}
