package namespaces

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/syncgate/syncgate/auth"
	"github.com/syncgate/syncgate/engineio"
	"github.com/syncgate/syncgate/internal/testenv"
)

const membershipsPath = "/users/me/memberships"

// startMemberSIO serves /org/N with the real admission: auth.Memberships asking a FakeAPI
// whether the CONNECT's auth.token is a member of N. Admitted sockets ack event "e".
func startMemberSIO(t *testing.T, api *testenv.FakeAPI, opts Options) *sioServer {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	m, err := auth.NewMemberships(auth.MembershipsConfig{URL: api.URL() + membershipsPath, Timeout: 20 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatalf("NewMemberships: %v", err)
	}
	t.Cleanup(m.Close)
	opts.Engine.PingInterval = time.Hour
	opts.Logger = quiet
	srv := NewServer(opts)
	srv.Handle(Handler{
		Match: orgs,
		Admit: func(ctx context.Context, req *ConnectRequest) (any, error) {
			var a struct{ Token string }
			_ = json.Unmarshal(req.Auth, &a)
			return nil, m.Check(ctx, auth.CredentialsFromHeader(req.Handshake.Header, a.Token), strings.TrimPrefix(req.Namespace, "/org/"))
		},
		OnConnect: func(s *Socket) {
			s.On("e", func(_ *Socket, args []any, ack func(...any)) {
				if ack != nil {
					ack("ok")
				}
			})
		},
	})
	s := &sioServer{t: t, srv: srv, http: httptest.NewServer(srv)}
	t.Cleanup(func() {
		_ = srv.Close()
		s.http.Close()
	})
	return s
}

// memberStillAdmitted checks the server is healthy after an attack: a member connects to
// /org/1 and gets an ack for an event.
func memberStillAdmitted(s *sioServer) {
	s.t.Helper()
	c := s.dial()
	c.connect("/org/1", `{"token":"member"}`)
	c.sio(`2/org/1,7["e"]`)
	c.expect(`3/org/1,7["ok"]`)
}

// rawConn is an attacking websocket session, driven from goroutines (no t.Fatal).
type rawConn struct {
	ws     *websocket.Conn
	closed chan struct{} // the server closed the connection
	frames atomic.Int64  // frames received before the close
}

func (s *sioServer) rawDial() *rawConn {
	s.t.Helper()
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		s.t.Fatalf("dial: %v", err)
	}
	s.t.Cleanup(func() { _ = ws.Close() })
	r := &rawConn{ws: ws, closed: make(chan struct{})}
	go func() {
		defer close(r.closed)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			r.frames.Add(1)
		}
	}()
	return r
}

// waitClosed waits until the server has closed every conn.
func waitClosed(t *testing.T, conns ...*rawConn) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for i, c := range conns {
		select {
		case <-c.closed:
		case <-deadline:
			t.Fatalf("connection %d still open after the attack", i)
		}
	}
}

// heapPeak samples the heap until stop is called and returns the peak growth over the
// heap at the start (after a GC).
func heapPeak() (stop func() int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc)
	var peak atomic.Int64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if g := int64(ms.HeapAlloc) - base; g > peak.Load() {
				peak.Store(g)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// TestLargePacketsDuringSlowAdmissionHoldOneBudget: while the membership upstream is slow,
// a client that is not admitted yet can stream large events or binary attachments (up to
// 256 per packet) that the server must hold until the answer; without one small budget per
// connection, 10 such clients pin about a gigabyte.
func TestLargePacketsDuringSlowAdmissionHoldOneBudget(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	api.SetDelay(5 * time.Second) // every admission waits on the upstream during the attack
	const maxPayload = 1_000_000
	s := startMemberSIO(t, api, Options{Engine: engineio.Options{MaxPayload: maxPayload}})

	big := strings.Repeat("x", 900_000)
	text := []byte(`42/org/1,["e","` + big + `"]`) // one event of ~900 KB
	blob := []byte(big)                            // one ~900 KB binary attachment
	const conns, framesEach = 10, 30               // up to 27 MB sent per connection

	stop := heapPeak()
	var attackers []*rawConn
	var wg sync.WaitGroup
	for i := range conns {
		c := s.rawDial()
		attackers = append(attackers, c)
		wg.Go(func() {
			var frames []func() error
			switch i % 3 {
			case 0: // large events to a namespace whose admission is pending
				frames = append(frames, func() error {
					return c.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`40/org/1,{"token":"attacker-%d"}`, i)))
				})
				for range framesEach {
					frames = append(frames, func() error { return c.ws.WriteMessage(websocket.TextMessage, text) })
				}
			case 1, 2: // attachments of one binary packet: to a pending namespace, or one never joined
				nsp := "/org/1"
				if i%3 == 2 {
					nsp = "/org/9"
				} else {
					frames = append(frames, func() error {
						return c.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`40/org/1,{"token":"attacker-%d"}`, i)))
					})
				}
				frames = append(frames, func() error {
					return c.ws.WriteMessage(websocket.TextMessage, []byte(`4`+"5"+`200-`+nsp+`,["e",{"_placeholder":true,"num":0}]`))
				})
				for range framesEach {
					frames = append(frames, func() error { return c.ws.WriteMessage(websocket.BinaryMessage, blob) })
				}
			}
			for _, f := range frames {
				if f() != nil {
					return // closed by the server
				}
			}
		})
	}
	wg.Wait()
	waitClosed(t, attackers...)
	peak := stop()
	t.Logf("peak heap growth with %d attacking connections (max payload %d): %.1f MB", conns, maxPayload, float64(peak)/1e6)
	if peak > 100<<20 {
		t.Fatalf("peak heap growth %d bytes for %d unadmitted connections, want < 100 MB", peak, conns)
	}
	if n := s.srv.Stats().ClosedOverBudget.Load(); n != conns {
		t.Fatalf("%d connections closed over budget, want %d", n, conns)
	}
	if s.srv.Namespace("/org/1") != nil {
		t.Fatal("an attacking socket was admitted")
	}
	api.SetDelay(0)
	memberStillAdmitted(s)
}

// TestPacketsDuringAdmissionWithinBudgetStillDelivered: the budget must not break a normal
// client that sends one full-size message right after CONNECT, before its admission ends.
func TestPacketsDuringAdmissionWithinBudgetStillDelivered(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
	api.SetDelay(200 * time.Millisecond)
	const maxPayload = 100_000
	s := startMemberSIO(t, api, Options{Engine: engineio.Options{MaxPayload: maxPayload}})
	c := s.dial()
	c.sio(`0/org/1,{"token":"member"}`)
	c.sio(`2/org/1,5["e","` + strings.Repeat("y", maxPayload-20) + `"]`)
	c.connected("/org/1")
	c.expect(`3/org/1,5["ok"]`)
}

// randomConnects sends n CONNECTs with distinct random tokens, each to its own namespace,
// as fast as the connection takes them.
func randomConnects(c *rawConn, n int) {
	for i := range n {
		if c.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`40/org/%d,{"token":"random-%d"}`, i+1, i))) != nil {
			return
		}
	}
}

// TestConnectFloodWithRandomTokensClosesConnection: every random token is a cache miss and
// one upstream call; one connection sending 2,000 CONNECTs must not cost 2,000 calls.
func TestConnectFloodWithRandomTokensClosesConnection(t *testing.T) {
	// A slow upstream lets the whole flood arrive before any admission fails: the close
	// must not depend on the upstream answering faster than the attacker writes.
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("upstream delay %v", delay), func(t *testing.T) {
			api := testenv.NewFakeAPI(t)
			api.SetMemberships("member", testenv.Membership{Org: 1, Role: "admin"})
			api.SetDelay(delay)
			s := startMemberSIO(t, api, Options{})
			c := s.rawDial()
			randomConnects(c, 2000)
			waitClosed(t, c)
			calls := api.Calls(membershipsPath)
			t.Logf("2,000 CONNECTs with random tokens: %d upstream membership calls, %d frames answered before the close", calls, c.frames.Load())
			if calls > 50 {
				t.Fatalf("%d upstream membership calls for one connection, want <= 50", calls)
			}
			if n := s.srv.Stats().ClosedAdmitFailures.Load(); n != 1 {
				t.Fatalf("ClosedAdmitFailures = %d, want 1", n)
			}
			api.SetDelay(0)
			memberStillAdmitted(s)
		})
	}
}

// TestRetriedRefusedConnectCountsEachTime: a refused namespace keeps no state and may be
// asked again; each retry must count, or one connection retries forever.
func TestRetriedRefusedConnectCountsEachTime(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	s := startMemberSIO(t, api, Options{})
	c := s.dial()
	for range defaultMaxAdmitFailures {
		c.sio(`0/org/1,{"token":"bad"}`)
		c.expect(`4/org/1,{"message":"unauthorized"}`)
	}
	c.sio(`0/org/1,{"token":"bad"}`)
	c.expect(`4/org/1,{"message":"unauthorized"}`)
	c.expectClosed()
	if n := api.Calls(membershipsPath); n != 1 {
		t.Fatalf("%d upstream calls for one refused token, want 1 (refusal cached)", n)
	}
}

// TestPendingAdmissionsPerConnectionCapped: with a slow upstream nothing fails for a
// while, so the failure count alone does not stop one connection from opening an
// admission, and an upstream call, per namespace at once. Past maxPendingAdmissions a
// CONNECT waits for a slot (a page joining many orgs at once is no attack) and is answered.
func TestPendingAdmissionsPerConnectionCapped(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	const orgsJoined = 3 * maxPendingAdmissions
	for i := range orgsJoined {
		api.SetMemberships(fmt.Sprintf("m-%d", i+1), testenv.Membership{Org: i + 1, Role: "admin"})
	}
	api.SetDelay(200 * time.Millisecond)
	s := startMemberSIO(t, api, Options{})
	c := s.dial()
	for i := range orgsJoined {
		c.sio(fmt.Sprintf(`0/org/%d,{"token":"m-%d"}`, i+1, i+1))
	}
	connected := map[string]bool{}
	for range orgsJoined {
		got := c.nextText()
		if !strings.HasPrefix(got, "0/org/") || !strings.Contains(got, `"sid"`) {
			t.Fatalf("got %q, want a CONNECT answer", got)
		}
		connected[strings.SplitN(got, ",", 2)[0]] = true
	}
	if len(connected) != orgsJoined {
		t.Fatalf("%d distinct namespaces connected, want %d", len(connected), orgsJoined)
	}
	if n, most := api.Calls(membershipsPath), api.MaxInFlight(); n != orgsJoined || most != maxPendingAdmissions {
		t.Fatalf("%d upstream calls, at most %d at once; want %d, at most %d at once", n, most, orgsJoined, maxPendingAdmissions)
	}
	api.SetDelay(0)
}

// TestConnectsPastTheNamespaceCapCountAsRefusals: CONNECTs past maxNamespacesPerConn cost
// no upstream call, but are refusals all the same: a connection repeating them is closed.
func TestConnectsPastTheNamespaceCapCountAsRefusals(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetDelay(time.Hour) // the first 32 admissions never answer
	s := startMemberSIO(t, api, Options{})
	c := s.dial()
	for i := range maxNamespacesPerConn {
		c.sio(fmt.Sprintf(`0/org/%d,{"token":"slow-%d"}`, i+1, i))
	}
	for i := range defaultMaxAdmitFailures + 1 {
		c.sio(fmt.Sprintf(`0/org/%d,{"token":"late"}`, maxNamespacesPerConn+1+i))
		c.expect(fmt.Sprintf(`4/org/%d,{"message":"%s"}`, maxNamespacesPerConn+1+i, errTooManyNamespaces))
	}
	c.expectClosed()
	if n := s.srv.Stats().ClosedAdmitFailures.Load(); n != 1 {
		t.Fatalf("ClosedAdmitFailures = %d, want 1", n)
	}
	if n := api.MaxInFlight(); n > maxPendingAdmissions {
		t.Fatalf("%d upstream calls at once, want <= %d", n, maxPendingAdmissions)
	}
}
