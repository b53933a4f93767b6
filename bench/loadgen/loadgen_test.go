package loadgen_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/upstream"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/triggers"
)

const triggerYAML = `triggers:
  - event: personview.addrow
    method: PUT
    path: /orgs/{orgId}/people/views/{viewId}/rows/{personId}
`

// startGateway runs a real syncgate gateway in process in front of the benchmark's fake
// upstream, both on loopback ports, and returns the gateway's host:port.
func startGateway(t *testing.T) string {
	t.Helper()
	up := httptest.NewServer(upstream.New(1))
	t.Cleanup(up.Close)
	cfg := gateway.DefaultConfig()
	cfg.Upstream = up.URL + upstream.Prefix
	cfg.MembershipTTL = 5 * time.Minute
	set, err := triggers.Parse("bench.yaml", []byte(triggerYAML))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: set, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		_ = g.Close()
		srv.Close()
	})
	return srv.Listener.Addr().String()
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fanout connects sockets, sends events at rate 0 and returns the phase's stats.
func fanout(t *testing.T, addr string, cfg loadgen.Config, events int, before func(*loadgen.Fleet)) (loadgen.SendResult, loadgen.PhaseStats) {
	t.Helper()
	ctx := ctxT(t)
	cfg.Addr = addr
	f := loadgen.NewFleet(cfg, 1+events)
	t.Cleanup(f.Close)
	if err := f.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(f)
	}
	s := &loadgen.Sender{Client: loadgen.NewHTTPClient(8), BaseURL: "http://" + addr + "/api", Token: "user0", Org: 1, Inflight: 8}
	f.Begin(1, events)
	res := s.Run(ctx, f, 1, events)
	if res.Failed > 0 {
		t.Fatalf("%d sends failed: %v", res.Failed, res.FirstErr)
	}
	f.Wait(ctx, int64(res.OK*f.Alive()), 2*time.Second)
	return res, f.Stats(map[int]int{1: res.OK})
}

func TestWebSocketFleetGetsEveryEventWithItsLatency(t *testing.T) {
	addr := startGateway(t)
	res, st := fanout(t, addr, loadgen.Config{Sockets: 20, Users: 5}, 30, nil)
	if res.OK != 30 {
		t.Fatalf("sent OK = %d, want 30", res.OK)
	}
	if st.Received != 600 || st.Expected != 600 || st.Lost != 0 || st.Dups != 0 || st.Strays != 0 {
		t.Fatalf("stats = %+v, want 600 received of 600, none lost, duplicated or stray", st)
	}
	if len(st.Latencies) != 600 {
		t.Fatalf("%d latencies, want 600", len(st.Latencies))
	}
	if p50, mx := st.Percentile(0.5), st.Percentile(1); p50 <= 0 || mx > 30*time.Second || p50 > mx {
		t.Fatalf("p50 %v, max %v: not plausible", p50, mx)
	}
}

func TestPollingFleetGetsEveryEvent(t *testing.T) {
	addr := startGateway(t)
	_, st := fanout(t, addr, loadgen.Config{Sockets: 5, Transport: loadgen.Polling}, 10, nil)
	if st.Received != 50 || st.Lost != 0 {
		t.Fatalf("stats = %+v, want 50 received, none lost", st)
	}
}

func TestLossesAreCountedPerSocket(t *testing.T) {
	addr := startGateway(t)
	_, st := fanout(t, addr, loadgen.Config{Sockets: 4}, 10, func(f *loadgen.Fleet) {
		f.CloseSocket(2) // this socket can receive nothing from now on
	})
	if st.Lost != 10 || st.SocketsWithLoss != 1 || st.MaxLoss != 10 || st.Received != 30 || st.Disconnected != 1 {
		t.Fatalf("stats = %+v, want socket 2's 10 events lost and 30 received", st)
	}
}

func TestSocketOfAnOrgTheUserIsNotInIsRefused(t *testing.T) {
	addr := startGateway(t)
	// Users of the fake upstream belong to org 1 only: socket 1 asks for /org/2.
	f := loadgen.NewFleet(loadgen.Config{Addr: addr, Sockets: 2, Orgs: 2}, 1)
	defer f.Close()
	err := f.Connect(ctxT(t))
	if !errors.Is(err, loadgen.ErrRefused) {
		t.Fatalf("connect err = %v, want ErrRefused", err)
	}
}

func TestFailedMutationsAreNotExpected(t *testing.T) {
	addr := startGateway(t)
	f := loadgen.NewFleet(loadgen.Config{Addr: addr, Sockets: 1}, 4)
	defer f.Close()
	if err := f.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	// An unknown token: the upstream answers 401, so nothing fires and nothing is expected.
	s := &loadgen.Sender{Client: http.DefaultClient, BaseURL: "http://" + addr + "/api", Token: "intruder", Org: 1}
	f.Begin(1, 3)
	res := s.Run(ctxT(t), f, 1, 3)
	if res.OK != 0 || res.Failed != 3 || res.FirstErr == nil {
		t.Fatalf("send result = %+v, want 3 failures", res)
	}
}

func TestOpenLoopKeepsItsScheduleAndCountsFailures(t *testing.T) {
	addr := startGateway(t)
	f := loadgen.NewFleet(loadgen.Config{Addr: addr, Sockets: 5}, 1+60)
	defer f.Close()
	if err := f.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	client := loadgen.NewOpenLoopClient()
	defer client.CloseIdleConnections()
	last := false
	o := &loadgen.OpenLoop{Client: client, BaseURL: "http://" + addr + "/api", Token: "user0", Org: 1, Rate: 100,
		AfterLastSend: func() { last = true }}
	f.Begin(1, 30)
	res := o.Run(ctxT(t), f, 1, 30)
	if res.Sent != 30 || res.OK != 30 || res.Failed != 0 || len(res.Lag) != 30 || !last {
		t.Fatalf("result = %+v (after-last-send called: %v), want 30 sent and answered", res, last)
	}
	// 30 events at 100/s: the last leaves 290 ms after the first, whatever the answers take.
	if res.SendSpan < 280*time.Millisecond || res.SendSpan > 2*time.Second {
		t.Fatalf("send span %v, want about 290ms", res.SendSpan)
	}
	if !f.Wait(ctxT(t), 150, 2*time.Second) {
		t.Fatalf("%d of 150 deliveries", f.Delivered())
	}

	// An unknown token: the upstream answers 401 to every send, and each is counted failed.
	o.Token = "intruder"
	f.Begin(31, 30)
	bad := o.Run(ctxT(t), f, 31, 30)
	if bad.Sent != 30 || bad.OK != 0 || bad.Failed != 30 || bad.FirstErr == nil {
		t.Fatalf("result = %+v, want 30 failures", bad)
	}
}
