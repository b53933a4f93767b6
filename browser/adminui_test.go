package browser_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/syncgate/syncgate/internal/testenv"
)

var adminListeningLine = regexp.MustCompile(`msg="admin listener" addr=127\.0\.0\.1:(\d+)`)

// The official Socket.IO Admin UI, the real bundle of @socket.io/admin-ui (its ui/dist,
// served from loopback as an operator would host it), logs in to a syncgate node's admin
// listener and lists the socket a demo page opened; the socket's page shows its handshake
// with the credential redacted.
func TestAdminUIInChromium(t *testing.T) {
	root := testenv.RepoRoot(t)
	dist := filepath.Join(needNodeModules(t, root, "browser/node", "@socket.io/admin-ui"), "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	ui := httptest.NewServer(http.FileServer(http.Dir(dist)))
	t.Cleanup(ui.Close)

	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret admin"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "--demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--admin-ui-user", "admin", "--admin-ui-origins", ui.URL)
	cmd.Env = cleanEnv("SYNCGATE_ADMIN_UI_PASSWORD_HASH=" + string(hash))
	cmd.SysProcAttr = childAttr()
	pub, admin := startBinary(t, cmd)

	c := startChromium(t)
	demo := c.open("demo", 640, 600)
	login(t, demo, pub, "alice", "1")

	p := c.open("admin-ui", 1400, 900) // wide: the UI opens its navigation drawer
	p.gotoURL(ui.URL + "/")
	p.wait(".v-dialog input[type=password]", "visible")
	p.fill(".v-dialog input[type=text] >> nth=0", admin)
	p.fill(".v-dialog input[type=text] >> nth=1", "admin")
	p.fill(".v-dialog input[type=password]", "s3cret admin")
	p.click(".v-dialog button[type=submit]")
	p.wait(".v-dialog input[type=password]", "hidden")

	p.click(`.v-navigation-drawer a:has-text("Sockets")`)
	p.waitText(".v-data-table tbody", "127.0.0.1")
	if n := p.count(".v-data-table tbody tr"); n != 1 {
		t.Fatalf("the socket list has %d rows, want alice's one socket", n)
	}
	p.screenshot("admin-ui-sockets")

	p.click(".v-data-table tbody tr")
	p.waitText("body", "[redacted]")
	if body := p.text("body"); strings.Contains(body, "demo_user=alice") {
		t.Fatalf("the socket's page shows the demo credential cookie")
	}
	p.screenshot("admin-ui-socket")
	for _, pg := range []*page{demo, p} {
		if errs := pg.errors(); len(errs) > 0 {
			t.Errorf("page %s had script errors: %s", pg.name, strings.Join(errs, "\n"))
		}
	}
}

// startBinary starts cmd (syncgate on 127.0.0.1:0 for both listeners), waits until both
// listen and returns their base URLs; the process is killed on cleanup.
func startBinary(t *testing.T, cmd *exec.Cmd) (public, admin string) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start syncgate: %v", err)
	}
	var log lockedBuffer
	exited := make(chan struct{})
	pubc, admc := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			_, _ = log.Write([]byte(line + "\n"))
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				pubc <- m[1]
			}
			if m := adminListeningLine.FindStringSubmatch(line); m != nil {
				admc <- m[1]
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Kill)
		<-exited
		if t.Failed() {
			t.Logf("syncgate log:\n%s", log.String())
		}
	})
	deadline := time.After(30 * time.Second)
	for public == "" || admin == "" {
		select {
		case p := <-pubc:
			public = "http://127.0.0.1:" + p
		case p := <-admc:
			admin = "http://127.0.0.1:" + p
		case <-exited:
			t.Fatalf("syncgate exited before listening:\n%s", log.String())
		case <-deadline:
			t.Fatalf("syncgate did not listen within 30s:\n%s", log.String())
		}
	}
	return public, admin
}

// fill types value into the first element of selector.
func (p *page) fill(selector, value string) {
	p.c.t.Helper()
	p.run("fill", map[string]any{"selector": selector, "value": value})
}
