package browser_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// chromiumPath is Debian's Chromium; playwright-core launches it (it downloads no browser).
const chromiumPath = "/usr/bin/chromium"

// commandTimeout bounds one driver command; the driver's own waits time out sooner (15s).
const commandTimeout = 40 * time.Second

// chromium is a running browser/node/driver.js: headless Chromium behind playwright-core,
// driven one JSON command at a time.
type chromium struct {
	t         *testing.T
	artifacts string
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	replies   chan driverReply
	stderr    *lockedBuffer
	nextID    int
	pages     []string
}

type driverReply struct {
	ID     int             `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startChromium starts the driver and the browser; artifacts (screenshots) go to
// test-artifacts/browser/ of the repo. On failure every open page is screenshotted there.
func startChromium(t *testing.T) *chromium {
	t.Helper()
	root := testenv.RepoRoot(t)
	dir := needNodeModules(t, root, "browser/node", "playwright-core")
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s: %v: run ./scripts/test.sh, which installs Debian's chromium", chromiumPath, err)
	}
	artifacts := filepath.Join(root, "test-artifacts", "browser")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"executablePath": chromiumPath, "timeoutMs": 15000})
	cmd := exec.Command(nodeBin(t), "driver.js", string(cfg))
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	c := &chromium{t: t, artifacts: artifacts, cmd: cmd, replies: make(chan driverReply, 1), stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node driver.js: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var r driverReply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				r = driverReply{ID: -1, Error: fmt.Sprintf("bad driver output %q: %v", sc.Text(), err)}
			}
			c.replies <- r
		}
		close(c.replies)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.pages {
				_, _ = c.do("screenshot", map[string]any{"page": p, "path": filepath.Join(artifacts, "failure-"+p+".png")})
				if logs, err := c.do("console", map[string]any{"page": p}); err == nil {
					t.Logf("console of page %s: %s", p, logs)
				}
			}
		}
		_ = c.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("driver stderr:\n%s", c.stderr.String())
		}
	})
	select {
	case r, ok := <-c.replies:
		if !ok || !r.OK {
			t.Fatalf("Chromium did not start: %s\n%s", r.Error, c.stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("Chromium did not start within 90s:\n%s", c.stderr.String())
	}
	return c
}

// do runs one driver command and returns its result.
func (c *chromium) do(cmd string, args map[string]any) (json.RawMessage, error) {
	c.nextID++
	msg := map[string]any{"id": c.nextID, "cmd": cmd}
	for k, v := range args {
		msg[k] = v
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if _, err := c.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("driver stdin: %w", err)
	}
	select {
	case r, ok := <-c.replies:
		switch {
		case !ok:
			return nil, errors.New("driver exited")
		case r.ID != c.nextID:
			return nil, fmt.Errorf("driver answered %d to command %d: %s", r.ID, c.nextID, r.Error)
		case !r.OK:
			return nil, errors.New(r.Error)
		}
		return r.Result, nil
	case <-time.After(commandTimeout):
		return nil, fmt.Errorf("no answer to %s within %s", cmd, commandTimeout)
	}
}

// page is one browser window with a context (cookies) of its own.
type page struct {
	c    *chromium
	name string
}

// open makes a new window of width×height.
func (c *chromium) open(name string, width, height int) *page {
	c.t.Helper()
	if _, err := c.do("open", map[string]any{"page": name, "width": width, "height": height}); err != nil {
		c.t.Fatalf("open page %s: %v", name, err)
	}
	c.pages = append(c.pages, name)
	return &page{c: c, name: name}
}

func (p *page) run(cmd string, args map[string]any) json.RawMessage {
	p.c.t.Helper()
	args["page"] = p.name
	res, err := p.c.do(cmd, args)
	if err != nil {
		p.c.t.Fatalf("page %s: %s %v: %v", p.name, cmd, args, err)
	}
	return res
}

func (p *page) gotoURL(url string) {
	p.c.t.Helper()
	var status int
	if err := json.Unmarshal(p.run("goto", map[string]any{"url": url}), &status); err != nil || status != 200 {
		p.c.t.Fatalf("page %s: GET %s: %d %v", p.name, url, status, err)
	}
}

func (p *page) click(selector string) {
	p.c.t.Helper()
	p.run("click", map[string]any{"selector": selector})
}

// wait waits until selector is "attached", "detached", "visible" or "hidden".
func (p *page) wait(selector, state string) {
	p.c.t.Helper()
	p.run("wait", map[string]any{"selector": selector, "state": state})
}

// waitText waits until the first element of selector contains text.
func (p *page) waitText(selector, text string) {
	p.c.t.Helper()
	p.run("waitText", map[string]any{"selector": selector, "text": text})
}

func (p *page) text(selector string) string {
	p.c.t.Helper()
	var s *string
	if err := json.Unmarshal(p.run("text", map[string]any{"selector": selector}), &s); err != nil || s == nil {
		p.c.t.Fatalf("page %s: no %s (%v)", p.name, selector, err)
	}
	return *s
}

func (p *page) attr(selector, name string) string {
	p.c.t.Helper()
	var s *string
	if err := json.Unmarshal(p.run("attr", map[string]any{"selector": selector, "name": name}), &s); err != nil || s == nil {
		p.c.t.Fatalf("page %s: %s has no %s (%v)", p.name, selector, name, err)
	}
	return *s
}

func (p *page) count(selector string) int {
	p.c.t.Helper()
	var n int
	if err := json.Unmarshal(p.run("count", map[string]any{"selector": selector}), &n); err != nil {
		p.c.t.Fatal(err)
	}
	return n
}

// screenshot saves the window to test-artifacts/browser/NAME.png.
func (p *page) screenshot(name string) {
	p.c.t.Helper()
	p.run("screenshot", map[string]any{"path": filepath.Join(p.c.artifacts, name+".png")})
}

// errors returns the uncaught script errors of the page so far.
func (p *page) errors() []string {
	p.c.t.Helper()
	var errs []string
	if err := json.Unmarshal(p.run("errors", map[string]any{}), &errs); err != nil {
		p.c.t.Fatal(err)
	}
	return errs
}

// sideBySide saves the windows next to each other, labelled, as one PNG at path.
func (c *chromium) sideBySide(path string, pages []*page, labels []string) {
	c.t.Helper()
	names := make([]string, len(pages))
	for i, p := range pages {
		names[i] = p.name
	}
	if _, err := c.do("sideBySide", map[string]any{"pages": names, "labels": labels, "path": path}); err != nil {
		c.t.Fatalf("side-by-side screenshot: %v", err)
	}
}
