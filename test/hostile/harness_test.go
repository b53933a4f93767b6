package hostile

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/internal/testenv"
)

// binPath is the syncgate binary, built once per test run by TestMain (plain build, no -race:
// the attacks measure the gateway's own memory).
var binPath string

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "syncgate-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "syncgate")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", binPath, "github.com/syncgate/syncgate/cmd/syncgate")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "hostile: go build ./cmd/syncgate: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// The fixtures every gateway of the suite has.
const (
	adminToken = "hostile-suite-admin-token-0123456789"
	// healthyIP is where healthy() connects from: an address no attack uses, so that per-IP
	// limits hit by an attack from 127.0.0.1 never mask (or fake) the gateway's health.
	healthyIP = "127.0.0.9"
	// maxPayload is the suite's --max-payload unless a test sets its own.
	maxPayload = 100_000
)

// triggerFile declares one trigger with the org in the path, one with the org in a header,
// and one client event.
const triggerFile = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
  - event: task.updated
    method: PATCH
    path: /tasks/{taskId}
    org: header:X-Org
client_events:
  - event: view.cell.select
    fields: {viewId: id, rowId: id}
`

// gw is one syncgate process in front of a FakeAPI running in the test process.
type gw struct {
	t     *testing.T
	api   *testenv.FakeAPI
	addr  string // 127.0.0.1:PORT of the main listener
	base  string // http://127.0.0.1:PORT
	admin string // http://127.0.0.1:PORT of the admin listener
	cmd   *exec.Cmd
	out   *tail
	done  chan struct{} // closed when the process has been reaped

	nodeOnce sync.Once
	node     *testenv.Node
	hseq     int
	api1     *http.Client // one keep-alive connection from healthyIP: request order is event order
}

// startGateway starts syncgate with the suite's defaults and extra flags (later flags win),
// waits for /healthz, and kills it on cleanup. Memberships: alice is an admin of org 1,
// carol of org 2, multi of orgs 1..40, dave a follower (null role) of org 1.
func startGateway(t *testing.T, flags ...string) *gw {
	t.Helper()
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("carol", testenv.Membership{Org: 2, Role: "admin"})
	api.SetMemberships("dave", testenv.Membership{Org: 1})
	var many []testenv.Membership
	for i := 1; i <= 40; i++ {
		many = append(many, testenv.Membership{Org: i, Role: "admin"})
	}
	api.SetMemberships("multi", many...)

	dir := t.TempDir()
	trig := filepath.Join(dir, "triggers.yaml")
	if err := os.WriteFile(trig, []byte(triggerFile), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--admin-token", adminToken,
		"--upstream", api.URL(), "--triggers", trig, "--log-format", "json", "--log-level", "info",
		"--max-payload", strconv.Itoa(maxPayload), "--ping-interval", "5s", "--ping-timeout", "5s",
		"--shutdown-timeout", "1s",
	}
	args = append(args, flags...)
	cmd := exec.Command(binPath, args...)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &tail{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start syncgate: %v", err)
	}
	g := &gw{t: t, api: api, cmd: cmd, out: out, done: make(chan struct{})}
	addrs := make(chan [2]string, 1)
	go out.scan(pr, addrs)
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(g.done)
	}()
	t.Cleanup(func() {
		select {
		case <-g.done:
		default:
			_ = cmd.Process.Kill()
			<-g.done
		}
		if t.Failed() && g.addr != "" { // a start failure already said why
			t.Logf("syncgate output (tail):\n%s", out.String())
		}
	})
	select {
	case a := <-addrs:
		g.addr, g.admin = a[0], "http://"+a[1]
	case <-g.done:
		t.Fatalf("syncgate %q exited at start (%v): %s", flags, cmd.ProcessState, firstLine(out.String()))
	case <-time.After(15 * time.Second):
		t.Fatalf("syncgate did not log its listening address within 15s:\n%s", out.String())
	}
	g.base = "http://" + g.addr
	g.api1 = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: dialerFrom(healthyIP).DialContext, MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	t.Cleanup(g.api1.CloseIdleConnections)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(g.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("syncgate /healthz not 200 within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return g
}

// cleanEnv is the environment without SYNCGATE_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCGATE_") {
			env = append(env, kv)
		}
	}
	return env
}

// tail keeps the last 16 KiB of the gateway's output.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// scan reads the JSON log lines, keeping a tail, and sends the listeners' addresses once
// both are known.
func (b *tail) scan(r io.Reader, addrs chan<- [2]string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var main, admin string
	for sc.Scan() {
		line := sc.Bytes()
		b.mu.Lock()
		b.buf = append(b.buf, line...)
		b.buf = append(b.buf, '\n')
		if len(b.buf) > 16<<10 {
			b.buf = append([]byte(nil), b.buf[len(b.buf)-16<<10:]...)
		}
		b.mu.Unlock()
		if addrs == nil {
			continue
		}
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		switch l.Msg {
		case "admin listener":
			admin = l.Addr
		case "syncgate listening":
			main = l.Addr
		}
		if main != "" && admin != "" {
			addrs <- [2]string{main, admin}
			addrs = nil
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// alive reports whether the process is still running.
func (g *gw) alive() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// Node returns the gateway's official socket.io-client driver, started on first use.
func (g *gw) Node() *testenv.Node {
	g.nodeOnce.Do(func() { g.node = testenv.StartNode(g.t) })
	return g.node
}

// dialerFrom dials from the loopback address ip (any 127/8 address is local on Linux).
func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}

// sockOpts are socket.io-client options: websocket only, no reconnection, from healthyIP,
// with the credential as the zsid cookie ("" for none).
func sockOpts(cred string) map[string]any {
	o := map[string]any{"reconnection": false, "transports": []string{"websocket"}, "localAddress": healthyIP}
	if cred != "" {
		o["extraHeaders"] = map[string]string{"Cookie": "zsid=" + cred}
	}
	return o
}

// healthy asserts that the gateway still serves: the process runs, /healthz answers 200, and
// a legitimate member's socket (official client) is admitted to org 1 and receives the event
// fired by a proxied PUT.
func (g *gw) healthy() {
	t := g.t
	t.Helper()
	if !g.alive() {
		t.Fatalf("healthy: syncgate exited (%v)", g.cmd.ProcessState)
	}
	resp, err := g.api1.Get(g.base + "/healthz")
	if err != nil {
		t.Fatalf("healthy: GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthy: /healthz %d", resp.StatusCode)
	}
	g.hseq++
	name := fmt.Sprintf("healthy%d", g.hseq)
	n := g.Node()
	if _, err := n.Connect(name, g.base+"/org/1", sockOpts("alice")); err != nil {
		t.Fatalf("healthy: legitimate member of org 1 not admitted: %v", err)
	}
	defer n.Close(name)
	person := 9000 + g.hseq
	st, body := g.apiDo("PUT", fmt.Sprintf("/api/orgs/1/people/views/7/rows/%d", person), map[string]string{"Cookie": "zsid=alice"}, "")
	if st != 200 {
		t.Fatalf("healthy: PUT through the proxy: %d %s", st, body)
	}
	ev, err := n.WaitEvent(name, "personview.addrow", 10*time.Second)
	if err != nil {
		t.Fatalf("healthy: no event after the PUT: %v", err)
	}
	var data struct{ ViewID, PersonID int }
	if err := ev.Arg(0, &data); err != nil || data.ViewID != 7 || data.PersonID != person {
		t.Fatalf("healthy: event %v, want viewId 7 personId %d (%v)", ev, person, err)
	}
}

// apiDo sends one request through the gateway's main listener from healthyIP, on the one
// keep-alive connection, and returns status and body.
func (g *gw) apiDo(method, path string, hdr map[string]string, body string) (int, string) {
	return g.do(g.api1, g.base+path, method, hdr, body)
}

// adminDo sends one request to the admin listener.
func (g *gw) adminDo(method, path string, hdr map[string]string, body string) (int, string) {
	return g.do(http.DefaultClient, g.admin+path, method, hdr, body)
}

func (g *gw) do(c *http.Client, url, method string, hdr map[string]string, body string) (int, string) {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// raw sends a raw HTTP/1.1 request (request line and headers as given, plus Host and,
// unless a header sets it, Connection: close) from 127.0.0.1 and returns the response, or an error when the server
// closed the connection without one.
func (g *gw) raw(requestLine string, headers ...string) (*http.Response, string, error) {
	c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := requestLine + "\r\nHost: " + g.addr + "\r\n"
	hasConnection := false
	for _, h := range headers {
		msg += h + "\r\n"
		hasConnection = hasConnection || strings.HasPrefix(strings.ToLower(h), "connection:")
	}
	if !hasConnection {
		msg += "Connection: close\r\n"
	}
	if _, err := io.WriteString(c, msg+"\r\n"); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b), nil
}

// rss is the gateway's resident set size in bytes, from /proc/PID/status.
func (g *gw) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0 // exited
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// sampler samples the gateway's VmRSS every 5 ms until stop.
type sampler struct {
	g          *gw
	base, peak int64
	stopc      chan struct{}
	done       chan struct{}
}

// sampleRSS starts sampling; the baseline is the RSS right now.
func (g *gw) sampleRSS() *sampler {
	s := &sampler{g: g, base: g.rss(), stopc: make(chan struct{}), done: make(chan struct{})}
	s.peak = s.base
	go func() {
		defer close(s.done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			if r := g.rss(); r > s.peak {
				s.peak = r
			}
			select {
			case <-s.stopc:
				return
			case <-tk.C:
			}
		}
	}()
	return s
}

// stop ends sampling, logs baseline, peak and growth in MB, and returns the growth in MB.
func (s *sampler) stop(what string) float64 {
	close(s.stopc)
	<-s.done
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	growth := mb(s.peak - s.base)
	s.g.t.Logf("RSS %s: baseline %.1f MB, peak %.1f MB, growth %.1f MB", what, mb(s.base), mb(s.peak), growth)
	return growth
}

// memberCalls is how many membership checks reached the upstream.
func (g *gw) memberCalls() int { return g.api.Calls("/users/me/memberships") }

// sio is a raw Engine.IO/Socket.IO client over a gorilla websocket.
type sio struct {
	t  *testing.T
	ws *websocket.Conn
}

// wsURL is the Engine.IO websocket URL of the gateway.
func (g *gw) wsURL() string { return "ws://" + g.addr + "/socket.io/?EIO=4&transport=websocket" }

// dialWS opens a websocket from ip with the given headers; resp is the handshake answer.
func (g *gw) dialWS(ip string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{NetDialContext: dialerFrom(ip).DialContext, HandshakeTimeout: 5 * time.Second}
	return d.Dial(g.wsURL(), hdr)
}

// openSIO dials from ip and reads the Engine.IO open packet, failing the test on error.
func (g *gw) openSIO(ip string, hdr http.Header) *sio {
	g.t.Helper()
	s, err := g.tryOpenSIO(ip, hdr)
	if err != nil {
		g.t.Fatal(err)
	}
	return s
}

// tryOpenSIO is openSIO returning its error; safe on any goroutine. The connection is
// closed on cleanup.
func (g *gw) tryOpenSIO(ip string, hdr http.Header) (*sio, error) {
	ws, resp, err := g.dialWS(ip, hdr)
	if err != nil {
		st := 0
		if resp != nil {
			st = resp.StatusCode
		}
		return nil, fmt.Errorf("websocket from %s: %w (status %d)", ip, err, st)
	}
	g.t.Cleanup(func() { _ = ws.Close() })
	s := &sio{t: g.t, ws: ws}
	m, err := s.read(5 * time.Second)
	if err != nil || !strings.HasPrefix(m, "0{") {
		return nil, fmt.Errorf("websocket open packet: %q %v", m, err)
	}
	return s, nil
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(ip string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialerFrom(ip).DialContext}}
}

// send writes one text message.
func (s *sio) send(m string) error {
	_ = s.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return s.ws.WriteMessage(websocket.TextMessage, []byte(m))
}

// read returns the next text message that is not an Engine.IO ping (pings are answered).
func (s *sio) read(timeout time.Duration) (string, error) {
	_ = s.ws.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			return "", err
		}
		if string(b) == "2" {
			_ = s.send("3")
			continue
		}
		return string(b), nil
	}
}

// connect sends a Socket.IO CONNECT to nsp with auth {"token": token} (none if "") and
// returns "" when admitted, else the connect_error message.
func (s *sio) connect(nsp, token string) (string, error) {
	pkt := "40" + nsp + ","
	if token != "" {
		b, _ := json.Marshal(map[string]string{"token": token})
		pkt += string(b)
	}
	if err := s.send(pkt); err != nil {
		return "", err
	}
	return s.connectAnswer(nsp, 10*time.Second)
}

// connectAnswer reads until the answer to a CONNECT of nsp.
func (s *sio) connectAnswer(nsp string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := s.read(time.Until(deadline))
		if err != nil {
			return "", fmt.Errorf("answer to CONNECT %s: %w", nsp, err)
		}
		if strings.HasPrefix(m, "40"+nsp+",") {
			return "", nil
		}
		if rest, ok := strings.CutPrefix(m, "44"+nsp+","); ok {
			var e struct{ Message string }
			_ = json.Unmarshal([]byte(rest), &e)
			return e.Message, nil
		}
	}
}

// closedWithin reads (answering pings) until the server closes the connection; it returns
// an error if the connection is still open after timeout.
func (s *sio) closedWithin(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_ = s.ws.SetReadDeadline(deadline)
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return fmt.Errorf("connection still open after %v", timeout)
			}
			return nil
		}
		if string(b) == "2" {
			_ = s.send("3")
		}
	}
}

// pollOpen makes a polling handshake from 127.0.0.1 with extra headers; it returns the
// status, the body and the sid if one was handed out.
func (g *gw) pollOpen(hdr map[string]string) (int, string, string) {
	g.t.Helper()
	st, body := g.do(http.DefaultClient, g.base+"/socket.io/?EIO=4&transport=polling", "GET", hdr, "")
	sid := ""
	if rest, ok := strings.CutPrefix(body, "0"); ok && st == 200 {
		var open struct{ Sid string }
		if json.Unmarshal([]byte(rest), &open) == nil {
			sid = open.Sid
		}
	}
	return st, body, sid
}

// pollURL is the polling URL of session sid.
func (g *gw) pollURL(sid string) string {
	return g.base + "/socket.io/?EIO=4&transport=polling&sid=" + sid
}

// firstLine is the first line of s (a flag error before the usage text).
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
