package hostile

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The limits of issue 13, as process-level attacks with measured bounds. Each runs against a
// fresh gateway; "peak RSS growth" is the highest VmRSS sampled during the attack minus the
// VmRSS just before it.

// 1. Websocket ping control frames from a client that never reads: every ping makes the
// server queue a pong, so an unbounded queue grows with the attacker's upload rate.
func TestPingFrameFloodBounded(t *testing.T) {
	g := startGateway(t, "--ping-interval", "25s", "--ping-timeout", "20s") // no heartbeat close during the flood
	ws, _, err := g.dialWS("127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	payload := []byte(strings.Repeat("p", 125)) // the largest control frame
	smp := g.sampleRSS()
	end := time.Now().Add(2 * time.Second)
	sent, stalls := 0, 0
	var werr error
	for time.Now().Before(end) {
		err := ws.WriteControl(websocket.PingMessage, payload, time.Now().Add(200*time.Millisecond))
		if err == nil {
			sent++
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			stalls++ // the server stopped reading: back-pressure, keep pushing until the end
			continue
		}
		werr = err
		break
	}
	growth := smp.stop("ping-frame flood, 2 s")
	t.Logf("pings sent: %d (%.1f MB), write stalls: %d, write error: %v", sent, float64(sent*131)/(1<<20), stalls, werr)
	s := &sio{t: t, ws: ws}
	if err := s.closedWithin(5 * time.Second); err != nil {
		t.Errorf("connection of the ping flooder: %v, want closed", err)
	}
	if growth >= 64 {
		t.Errorf("peak RSS growth %.1f MB, want < 64 MB", growth)
	}
	g.healthy()
}

// 2. Ten connections, each sending large packets and binary attachments for a namespace
// whose admission is still waiting on a slow upstream: whatever is held for a namespace
// not admitted yet must be bounded per connection.
func TestPreAdmissionPayloadFloodBounded(t *testing.T) {
	const max = 1_000_000
	g := startGateway(t, "--max-payload", fmt.Sprint(max))
	g.api.SetDelay(5 * time.Second)
	conns := make([]*sio, 10)
	for i := range conns {
		conns[i] = g.openSIO("127.0.0.1", nil)
	}
	big := `42/org/1,["view.cell.select",{"pad":"` + strings.Repeat("x", max-64) + `"}]`
	attach := `451-/org/1,["view.cell.select",{"_placeholder":true,"num":0}]`
	blob := make([]byte, max-64)
	smp := g.sampleRSS()
	start := time.Now()
	deadline := start.Add(3500 * time.Millisecond) // before the upstream answers
	written := make([]int, len(conns))
	closed := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, s := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := s.ws
			_ = ws.SetWriteDeadline(deadline)
			if ws.WriteMessage(websocket.TextMessage, []byte(`40/org/1,{"token":"alice"}`)) != nil {
				return
			}
			for k := 0; k < 20; k++ {
				var err error
				if i%2 == 0 {
					err = ws.WriteMessage(websocket.TextMessage, []byte(big))
				} else if err = ws.WriteMessage(websocket.TextMessage, []byte(attach)); err == nil {
					err = ws.WriteMessage(websocket.BinaryMessage, blob)
				}
				if err != nil {
					break
				}
				written[i] += max
			}
			closed[i] = s.closedWithin(time.Until(deadline) + 500*time.Millisecond)
		}()
	}
	wg.Wait()
	growth := smp.stop("10 connections flooding before admission")
	for i := range conns {
		t.Logf("connection %d: %.1f MB written before the server stopped it (%v)", i, float64(written[i])/(1<<20), closed[i])
		if closed[i] != nil {
			t.Errorf("connection %d (%s): %v, want closed before its admission answered (past about one --max-payload held)",
				i, map[bool]string{true: "text events", false: "binary attachments"}[i%2 == 0], closed[i])
		}
	}
	if growth >= 100 {
		t.Errorf("peak RSS growth %.1f MB, want < 100 MB", growth)
	}
	g.api.SetDelay(0)
	g.healthy()
}

// 3. Half-open polling handshakes, each with ~900 KB of headers (within net/http's 1 MB
// MaxHeaderBytes): a session that keeps its handshake's headers keeps them all.
func TestHalfOpenHandshakeHeaderFloodBounded(t *testing.T) {
	g := startGateway(t)
	var req strings.Builder
	req.WriteString("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: " + g.addr + "\r\n")
	line := strings.Repeat("h", 1000)
	for i := 0; i < 900; i++ {
		fmt.Fprintf(&req, "X-Pad-%03d: %s\r\n", i, line)
	}
	req.WriteString("\r\n")
	msg := []byte(req.String())
	t.Logf("handshake size: %.0f KB", float64(len(msg))/1024)

	const n, parallel = 250, 16
	smp := g.sampleRSS()
	conns := make(chan net.Conn, n)
	var opened, failed atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
			if err != nil {
				failed.Add(1)
				return
			}
			conns <- c
			_ = c.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err := c.Write(msg); err != nil {
				failed.Add(1)
				return
			}
			// Read the handshake's answer (so the gateway has surely processed it), then
			// leave the session half-open: never poll, never close.
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				failed.Add(1)
				return
			}
			if resp.StatusCode == 200 {
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	growth := smp.stop("250 half-open handshakes of ~900 KB headers")
	t.Logf("sessions opened: %d, handshakes failed: %d", opened.Load(), failed.Load())
	if st, _ := g.apiDo("GET", "/healthz", nil, ""); st != 200 {
		t.Fatalf("/healthz with the sessions open: %d", st)
	}
	close(conns)
	for c := range conns {
		_ = c.Close()
	}
	if growth >= 64 {
		t.Errorf("peak RSS growth %.1f MB, want < 64 MB", growth)
	}
	g.healthy()
}

// 4. One connection sending 2,000 CONNECTs with random tokens: each would be a membership
// call upstream (the attacker makes the gateway flood the API for free).
func TestConnectFloodRandomTokensLimited(t *testing.T) {
	g := startGateway(t, "--admission-failures-per-ip", "1/s,burst=20")
	attacker := g.openSIO("127.0.0.1", nil)

	// A legitimate user on another address keeps connecting during the flood.
	stop := make(chan struct{})
	var admitted, refused atomic.Int32
	var legitErr atomic.Value
	legitDone := make(chan struct{})
	go func() {
		defer close(legitDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s, err := g.tryOpenSIO("127.0.0.2", http.Header{"Cookie": {"zsid=alice"}})
			if err == nil {
				var msg string
				if msg, err = s.connect("/org/1", ""); err == nil && msg != "" {
					err = fmt.Errorf("connect_error %q", msg)
				}
				_ = s.ws.Close()
			}
			if err != nil {
				refused.Add(1)
				legitErr.Store(err.Error())
			} else {
				admitted.Add(1)
			}
			time.Sleep(20 * time.Millisecond) // pacing of a human reconnecting, not a wait for state
		}
	}()

	sentN := 0
	for i := 0; i < 2000; i++ {
		pkt := fmt.Sprintf(`40/org/%d,{"token":%q}`, 1+i%30, randToken())
		if attacker.send(pkt) != nil {
			break
		}
		sentN++
	}
	closedErr := attacker.closedWithin(10 * time.Second)
	// The legitimate user gets at least one more admission after the flood.
	for until := time.Now().Add(5 * time.Second); admitted.Load() < 3 && refused.Load() == 0 && time.Now().Before(until); {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-legitDone
	calls := g.memberCalls()
	t.Logf("CONNECTs sent: %d, membership calls upstream: %d, legitimate admissions during the flood: %d (refused %d)",
		sentN, calls, admitted.Load(), refused.Load())
	if closedErr != nil {
		t.Errorf("flooding connection: %v, want closed", closedErr)
	}
	if calls > 50 {
		t.Errorf("%d membership calls upstream, want <= 50", calls)
	}
	if refused.Load() != 0 || admitted.Load() == 0 {
		t.Errorf("legitimate user from 127.0.0.2: %d admitted, %d refused (last: %v)", admitted.Load(), refused.Load(), legitErr.Load())
	}
	g.healthy()
}

// handshakeStatus makes one websocket handshake from ip and returns its HTTP status
// (101 when upgraded; the connection is closed on cleanup).
func (g *gw) handshakeStatus(ip string, hdr http.Header) int {
	ws, resp, err := g.dialWS(ip, hdr)
	if err == nil {
		g.t.Cleanup(func() { _ = ws.Close() })
		return 101
	}
	if resp == nil {
		g.t.Fatalf("websocket from %s: %v", ip, err)
	}
	return resp.StatusCode
}

// pollStatus makes one polling handshake from ip and returns its status.
func (g *gw) pollStatus(ip string, hdr map[string]string) int {
	st, _ := g.do(clientFrom(ip), g.base+"/socket.io/?EIO=4&transport=polling", "GET", hdr, "")
	return st
}

// 5. One address holding every connection it can: --max-connections-per-ip refuses the
// next one with 429 before any session exists; other addresses are unaffected; a forged
// X-Forwarded-For from an untrusted peer changes nothing.
func TestConnectionsPerIPLimited(t *testing.T) {
	g := startGateway(t, "--max-connections-per-ip", "3")
	held := make([]*sio, 3)
	for i := range held {
		held[i] = g.openSIO("127.0.0.1", nil)
	}
	if st := g.handshakeStatus("127.0.0.1", nil); st != 429 {
		t.Errorf("4th websocket from 127.0.0.1: %d, want 429", st)
	}
	if st := g.pollStatus("127.0.0.1", nil); st != 429 {
		t.Errorf("polling handshake from 127.0.0.1 at the limit: %d, want 429", st)
	}
	if st := g.handshakeStatus("127.0.0.1", http.Header{"X-Forwarded-For": {"10.9.9.9"}}); st != 429 {
		t.Errorf("websocket from 127.0.0.1 claiming X-Forwarded-For 10.9.9.9 (untrusted peer): %d, want 429", st)
	}
	if st := g.handshakeStatus("127.0.0.2", nil); st != 101 {
		t.Errorf("websocket from 127.0.0.2: %d, want 101", st)
	}
	// A closed connection gives its slot back (else one IP locks itself out for good).
	_ = held[0].ws.Close()
	deadline := time.Now().Add(5 * time.Second)
	for st := 0; st != 101; {
		if st = g.handshakeStatus("127.0.0.1", nil); st != 101 && time.Now().After(deadline) {
			t.Errorf("websocket from 127.0.0.1 after closing one: %d, want 101 within 5s", st)
			break
		}
		time.Sleep(20 * time.Millisecond) // the server notices the close asynchronously
	}
	g.healthy()
}

// 5b. Behind a trusted proxy the client address is X-Forwarded-For's, so one client behind
// the proxy cannot use up the proxy's whole allowance, nor escape its own.
func TestConnectionsPerIPTrustedProxyForwardedFor(t *testing.T) {
	g := startGateway(t, "--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.3/32")
	xff := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	for i := 0; i < 2; i++ {
		if st := g.handshakeStatus("127.0.0.3", xff("10.0.0.1")); st != 101 {
			t.Fatalf("websocket %d of client 10.0.0.1 via the trusted proxy: %d, want 101", i+1, st)
		}
	}
	if st := g.handshakeStatus("127.0.0.3", xff("10.0.0.1")); st != 429 {
		t.Errorf("3rd websocket of client 10.0.0.1 via the trusted proxy: %d, want 429", st)
	}
	if st := g.handshakeStatus("127.0.0.3", xff("10.0.0.2")); st != 101 {
		t.Errorf("websocket of client 10.0.0.2 via the trusted proxy: %d, want 101", st)
	}
	g.healthy()
}

// 6. A member of org 1 naming org 2 in the header a trigger takes its org from: the API
// call is the upstream's business, but the event would land in org 2.
func TestHeaderOrgSpoofFiresNothing(t *testing.T) {
	g := startGateway(t)
	n := g.Node()
	if _, err := n.Connect("c2", g.base+"/org/2", sockOpts("carol")); err != nil {
		t.Fatal(err)
	}
	if st, body := g.apiDo("PATCH", "/api/tasks/5", map[string]string{"Cookie": "zsid=alice", "X-Org": "2"}, "{}"); st/100 != 2 {
		t.Fatalf("alice's PATCH with X-Org: 2: %d %s, want the upstream's 2xx", st, body)
	}
	if st, body := g.apiDo("PATCH", "/api/tasks/6", map[string]string{"Cookie": "zsid=carol", "X-Org": "2"}, "{}"); st/100 != 2 {
		t.Fatalf("carol's PATCH: %d %s", st, body)
	}
	ev, err := n.WaitEvent("c2", "task.updated", 0)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ TaskID int }
	if _ = ev.Arg(0, &d); d.TaskID != 6 || len(ev.Skipped) != 0 {
		t.Errorf("org 2's socket got %v (skipped %v) first, want only carol's task 6: alice's X-Org: 2 fired into org 2", ev, ev.Skipped)
	}
	g.healthy()
}

// 7. Path forms that upstreams and front proxies read differently from the gateway
// (Tomcat's ..;, encoded dots and slashes, NUL) must not be forwarded at all.
func TestAPIAmbiguousPathsRefused(t *testing.T) {
	g := startGateway(t)
	for _, p := range []string{
		"/api/orgs/1/..;/admin",
		"/api/%2e%2e/admin",
		"/api/orgs/1/%2E%2e/2",
		"/api/orgs%2f1/people",
		"/api/orgs/1/people%2F..%2F..%2Fadmin",
		"/api/orgs/1/people%00.json",
	} {
		resp, body, err := g.raw("GET " + p + " HTTP/1.1")
		if err != nil {
			t.Errorf("GET %s: %v", p, err)
			continue
		}
		var e struct{ Error string }
		_ = json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != 400 || e.Error != "bad path" {
			t.Errorf("GET %s: %d %q, want 400 {\"error\":\"bad path\"}", p, resp.StatusCode, body)
		}
	}
	if reqs := g.api.Requests(); len(reqs) != 0 {
		t.Errorf("%d requests reached the upstream, first %s %q, want 0", len(reqs), reqs[0].Method, reqs[0].Path)
	}
	g.healthy()
}

// 7b. An h2c upgrade through the proxy would tunnel a connection past the gateway's
// per-request checks (h2c smuggling).
func TestAPIH2CUpgradeRefused(t *testing.T) {
	g := startGateway(t)
	resp, body, err := g.raw("GET /api/orgs/1/people HTTP/1.1",
		"Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 {
		t.Errorf("h2c upgrade on /api: %d %q, want 400", resp.StatusCode, body)
	}
	if reqs := g.api.Requests(); len(reqs) != 0 {
		t.Errorf("%d requests reached the upstream, want 0", len(reqs))
	}
	g.healthy()
}

// endsWithin reports whether the server answers or closes c within d (reading whatever it
// sends).
func endsWithin(c net.Conn, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return time.Since(start), false
	}
	return time.Since(start), true
}

// 8. Slowloris: headers sent a few bytes at a time keep a connection (and its goroutine and
// buffers) forever unless headers must arrive within --read-header-timeout.
func TestSlowlorisHeadersDisconnected(t *testing.T) {
	g := startGateway(t, "--read-header-timeout", "1s")
	c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(200 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if _, err := fmt.Fprintf(c, "X-%d: y\r\n", i); err != nil {
				return
			}
		}
	}()
	took, ended := endsWithin(c, 5*time.Second)
	t.Logf("slowloris connection ended: %v after %v", ended, took)
	if !ended {
		t.Errorf("slowloris connection still open after %v with --read-header-timeout 1s", took)
	}
	g.healthy()
}

// 8b. A polling POST whose body dribbles in forever holds the session's only POST slot;
// past ping interval + ping timeout the session must end.
func TestDribblingPollingPostEndsSession(t *testing.T) {
	g := startGateway(t, "--ping-interval", "1s", "--ping-timeout", "1s", "--read-header-timeout", "1s")
	_, _, sid := g.pollOpen(nil)
	if sid == "" {
		t.Fatal("no polling session")
	}
	c, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n4", sid, g.addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if _, err := io.WriteString(c, "x"); err != nil {
				return
			}
		}
	}()
	// Ping interval + timeout = 2s; allow 3s of slack.
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, rerr := http.ReadResponse(br, nil)
	took := time.Since(start)
	var ne net.Error
	if errors.As(rerr, &ne) && ne.Timeout() {
		t.Errorf("dribbling POST still open after %v (ping interval + timeout = 2s)", took)
	} else {
		st := 0
		if resp != nil {
			st = resp.StatusCode
			resp.Body.Close()
		}
		t.Logf("dribbling POST ended after %v (status %d, %v)", took, st, rerr)
	}
	if st, body := g.do(http.DefaultClient, g.pollURL(sid), "GET", nil, ""); st != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Errorf("session after the dribbling POST: %d %q, want it ended", st, body)
	}
	g.healthy()
}
