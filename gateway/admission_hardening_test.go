package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/testenv"
)

const membershipsPath = "/users/me/memberships"

// floodConn is a raw Socket.IO client over a websocket from a chosen loopback address,
// usable from goroutines: it never calls t.Fatal.
type floodConn struct {
	ws *websocket.Conn
}

// dialFrom opens an Engine.IO websocket from local address ip (a second loopback address
// plays another client IP) and reads the open packet.
func dialFrom(h *harness, ip string) (*floodConn, error) {
	d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := d.Dial(u, nil)
	if err != nil {
		return nil, fmt.Errorf("dial from %s: %w", ip, err)
	}
	h.t.Cleanup(func() { _ = ws.Close() })
	c := &floodConn{ws: ws}
	if msg, err := c.next(); err != nil || !strings.HasPrefix(msg, "0{") {
		return nil, fmt.Errorf("open packet %q: %v", msg, err)
	}
	return c, nil
}

// next returns the next message that is not a ping (pings are answered).
func (c *floodConn) next() (string, error) {
	for range 100 {
		_ = c.ws.SetReadDeadline(time.Now().Add(testenv.DefaultTimeout))
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return "", err
		}
		if string(b) == "2" {
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		return string(b), nil
	}
	return "", fmt.Errorf("only pings")
}

// connect sends a CONNECT to nsp with auth token tok and returns the answer.
func (c *floodConn) connect(nsp, tok string) (string, error) {
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`40`+nsp+`,{"token":"`+tok+`"}`)); err != nil {
		return "", err
	}
	return c.next()
}

// drainUntilClosed reads until the server closes the connection and returns what it read;
// an error if it stays open.
func (c *floodConn) drainUntilClosed() ([]string, error) {
	var got []string
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(testenv.DefaultTimeout))
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return got, fmt.Errorf("connection still open after %d messages", len(got))
			}
			return got, nil
		}
		got = append(got, string(b))
	}
}

// memberAdmittedFrom connects member to /org/1 from ip and requires the CONNECT answer.
func memberAdmittedFrom(h *harness, ip string) error {
	c, err := dialFrom(h, ip)
	if err != nil {
		return err
	}
	defer c.ws.Close()
	msg, err := c.connect("/org/1", "member")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(msg, `40/org/1,{`) || !strings.Contains(msg, `"sid":`) {
		return fmt.Errorf("member from %s got %q, want admitted", ip, msg)
	}
	return nil
}

// TestRandomTokenConnectFloodOnOneConnection: each CONNECT with an unknown token is a cache
// miss and an upstream call; one connection sending 2,000 of them must cost at most 50
// calls and be closed.
func TestRandomTokenConnectFloodOnOneConnection(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	h := startGateway(t, api, nil, "--admission-failures-per-ip", "off")
	c, err := dialFrom(h, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := range 2000 {
			msg := fmt.Sprintf(`40/org/%d,{"token":"random-%d"}`, i%1000+1, i)
			if c.ws.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
				return
			}
		}
	}()
	got, err := c.drainUntilClosed()
	if err != nil {
		t.Fatal(err)
	}
	calls := api.Calls(membershipsPath)
	t.Logf("2,000 CONNECTs with random tokens on one connection: %d membership calls upstream, %d answers before the close", calls, len(got))
	if calls > 50 {
		t.Fatalf("%d membership calls upstream, want <= 50", calls)
	}
	if err := memberAdmittedFrom(h, "127.0.0.1"); err != nil {
		t.Fatalf("after the flood: %v", err)
	}
}

// TestFailedAdmissionsFromOneIPRateLimited: closing a connection only makes an attacker
// open another; failures per client IP must bound the upstream calls of all its
// connections, without an upstream call once spent, while members from other addresses
// keep being admitted.
func TestFailedAdmissionsFromOneIPRateLimited(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	api.SetMemberships("newcomer", testenv.Membership{Org: 1, Role: "admin"})
	const burst = 15
	h := startGateway(t, api, nil, "--admission-failures-per-ip", fmt.Sprintf("1/h,burst=%d", burst))

	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		rateLimited int
		legitErrs   []error
		legitOK     int
	)
	wg.Go(func() { // a member elsewhere keeps connecting during the flood
		for ctx.Err() == nil {
			err := memberAdmittedFrom(h, "127.0.0.2")
			mu.Lock()
			if err != nil {
				legitErrs = append(legitErrs, err)
			} else {
				legitOK++
			}
			mu.Unlock()
		}
	})
	var floods sync.WaitGroup
	for k := range 20 { // 20 connections × up to 11 refusals each without the per-IP limit
		floods.Go(func() {
			c, err := dialFrom(h, "127.0.0.1")
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 200 {
				msg, err := c.connect(fmt.Sprintf("/org/%d", i+1), fmt.Sprintf("random-%d-%d", k, i))
				if err != nil {
					return // closed: too many refusals on this connection
				}
				if strings.Contains(msg, `"message":"rate_limited"`) {
					mu.Lock()
					rateLimited++
					mu.Unlock()
				}
			}
		})
	}
	floods.Wait()
	// Members keep being admitted from another address after the flood as well.
	mu.Lock()
	okBefore := legitOK
	mu.Unlock()
	deadline := time.Now().Add(testenv.DefaultTimeout)
	for {
		mu.Lock()
		n := legitOK
		mu.Unlock()
		if n >= okBefore+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no member admitted from 127.0.0.2 after the flood")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	calls := api.Calls(membershipsPath)
	t.Logf("20 connections from one IP: %d membership calls upstream (burst %d), %d CONNECTs refused rate_limited; member from another IP admitted %d times",
		calls, burst, rateLimited, legitOK)
	if len(legitErrs) > 0 {
		t.Fatalf("member from another address refused during the flood: %v", legitErrs[0])
	}
	if legitOK == 0 {
		t.Fatal("member from another address never connected")
	}
	// The member's own calls hit the cache after the first one. The bucket counts
	// failures, so CONNECTs already in flight when it empties still reach the upstream:
	// at most one per connection here (each sends its next CONNECT after an answer).
	const conns = 20
	if calls > burst+conns+1 {
		t.Fatalf("%d membership calls upstream from one IP's failures, want <= burst %d + %d in flight (+1 for the member)", calls, burst, conns)
	}
	if rateLimited == 0 {
		t.Fatal("no CONNECT was refused rate_limited")
	}
	// Spent: credentials that would need an upstream call are refused without one, even
	// valid ones; a member whose answer is cached costs nothing and is still admitted.
	c, err := dialFrom(h, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.connect("/org/1", "newcomer")
	if err != nil || msg != `44/org/1,{"message":"rate_limited"}` {
		t.Fatalf("uncached member from the spent IP got %q, %v; want rate_limited", msg, err)
	}
	if err := memberAdmittedFrom(h, "127.0.0.1"); err != nil {
		t.Fatalf("cached member from the spent IP: %v; want admitted from the cache", err)
	}
	if n := api.Calls(membershipsPath); n != calls {
		t.Fatalf("a CONNECT from the spent IP called the upstream (%d → %d)", calls, n)
	}
}

// TestAdmissionFailuresPerIPFlag: a typo in the limit must stop the gateway at start, naming
// the flag, rather than run with no limit.
func TestAdmissionFailuresPerIPFlag(t *testing.T) {
	up := []string{"--upstream", "http://api/v1"}
	cfg, err := gateway.ParseConfig(up, noEnv)
	if err != nil || cfg.AdmissionFailuresPerIP != "1/s,burst=20" {
		t.Fatalf("default: %q, %v", cfg.AdmissionFailuresPerIP, err)
	}
	for _, v := range []string{"off", "10/s", "30/m,burst=5"} {
		if _, err := gateway.ParseConfig(append(up, "--admission-failures-per-ip", v), noEnv); err != nil {
			t.Errorf("--admission-failures-per-ip %q: %v", v, err)
		}
	}
	for _, v := range []string{"10", "fast", "1/s,burst=0", "1/d"} {
		_, err := gateway.ParseConfig(append(up, "--admission-failures-per-ip", v), noEnv)
		if err == nil || !strings.Contains(err.Error(), "--admission-failures-per-ip") {
			t.Errorf("--admission-failures-per-ip %q: %v, want an error naming the flag", v, err)
		}
	}
	env := func(k string) (string, bool) {
		if k == "SYNCGATE_ADMISSION_FAILURES_PER_IP" {
			return "5/m", true
		}
		return "", false
	}
	if cfg, err := gateway.ParseConfig(up, env); err != nil || cfg.AdmissionFailuresPerIP != "5/m" {
		t.Fatalf("from the environment: %q, %v", cfg.AdmissionFailuresPerIP, err)
	}
}

// TestPerOrgModeOrgSprayOnOneConnection: in per-org mode every org is its own upstream call,
// so a real member spraying CONNECTs at 2,000 org IDs she does not belong to (each a cache
// miss) must cost at most 50 membership calls in all, her connection must be closed, and she
// must still be admitted to her own org afterwards.
func TestPerOrgModeOrgSprayOnOneConnection(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	h := startGateway(t, api, nil, "--admission-failures-per-ip", "off",
		"--memberships-path", "/users/me/memberships/{org}", "--memberships-role", "data.role")
	c, err := dialFrom(h, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := range 2000 {
			msg := fmt.Sprintf(`40/org/%d,{"token":"member"}`, i+2)
			if c.ws.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
				return
			}
		}
	}()
	if _, err := c.drainUntilClosed(); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, r := range api.Requests() {
		if strings.HasPrefix(r.Path, membershipsPath+"/") {
			calls++
		}
	}
	t.Logf("per-org mode, 2,000 CONNECTs of one member to foreign orgs on one connection: %d membership calls upstream", calls)
	if calls > 50 {
		t.Fatalf("%d membership calls upstream, want <= 50", calls)
	}
	if err := memberAdmittedFrom(h, "127.0.0.1"); err != nil {
		t.Fatalf("after the spray: %v", err)
	}
}
