package scenario_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncgate/syncgate/bench/loadgen"
	"github.com/syncgate/syncgate/bench/scenario"
	"github.com/syncgate/syncgate/bench/systems"
	"github.com/syncgate/syncgate/bench/upstream"
)

// env builds the real systems (go build, npm ci) once per test and serves the fake upstream in
// this process.
func env(t *testing.T, names ...string) systems.Env {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(upstream.New(1))
	t.Cleanup(up.Close)
	e := systems.Env{RepoRoot: root, WorkDir: t.TempDir(), Upstream: up.URL + upstream.Prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := systems.Prepare(ctx, e, names); err != nil {
		t.Fatal(err)
	}
	return e
}

func start(t *testing.T, e systems.Env, name string) *systems.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := systems.Start(ctx, e, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func TestEverySystemDeliversTheFanOutWithoutLoss(t *testing.T) {
	names := []string{systems.Syncgate, systems.Node, systems.Bare}
	e := env(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := start(t, e, name)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			r, err := scenario.Fanout(ctx, p, os.Getpid(), scenario.FanoutConfig{Sockets: 20, Events: 30, Rate: 300, Warmup: 3, Quiet: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Complete || r.Stats.Received != 600 || r.Stats.Lost != 0 || r.Send.OK != 30 {
				t.Fatalf("%s: complete %v, send %+v, stats %+v", name, r.Complete, r.Send, r.Stats)
			}
			if r.DeliveriesPerSec() <= 0 || r.Stats.Percentile(0.99) <= 0 || len(r.Stats.Latencies) != 600 {
				t.Fatalf("%s: %v deliveries/s, p99 %v", name, r.DeliveriesPerSec(), r.Stats.Percentile(0.99))
			}
		})
	}
}

func TestIdleMemoryIsReadForEachTransport(t *testing.T) {
	e := env(t, systems.Node)
	p := start(t, e, systems.Node)
	for _, tr := range []string{loadgen.WebSocket, loadgen.Polling} {
		r, err := scenario.Idle(context.Background(), p, scenario.IdleConfig{Sockets: 50, Transport: tr, Settle: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Alive != 50 || r.RSSBefore <= 0 || r.RSSAfter <= 0 || r.HeapBefore <= 0 || r.HeapPerConn() == -1 {
			t.Fatalf("%s: %+v", tr, r)
		}
	}
}

func TestNodePeerAdmitsOnlyMembersOfTheOrg(t *testing.T) {
	e := env(t, systems.Node)
	p := start(t, e, systems.Node)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The fake upstream's users belong to org 1 only; a socket asking for /org/2 must be
	// refused, or the reference would leak other orgs' events and the comparison be unfair.
	f := loadgen.NewFleet(loadgen.Config{Addr: p.Addr, Sockets: 2, Orgs: 2}, 1)
	defer f.Close()
	if err := f.Connect(ctx); !errors.Is(err, loadgen.ErrRefused) {
		t.Fatalf("connect to /org/2: err = %v, want ErrRefused", err)
	}
}

func TestOpenLoopRatesKeepUpAtALowRateOnEverySystem(t *testing.T) {
	names := []string{systems.Syncgate, systems.NodeCluster, systems.Bare}
	if _, err := centrifugoCached(); err == nil {
		names = append(names, systems.Centrifugo)
	} else {
		t.Log("centrifugo not built yet (syncbench builds it on first use): its row is skipped here")
	}
	e := env(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := start(t, e, name)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// 20 sockets, 400 and 800 deliveries/s offered for 1 s each: 20 and 40 events.
			steps, err := scenario.Rates(ctx, p, os.Getpid(), scenario.RateConfig{Sockets: 20, Rates: []float64{400, 800},
				Duration: time.Second, Warmup: 3, Quiet: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(steps) != 2 {
				t.Fatalf("%d steps, want 2", len(steps))
			}
			for i, want := range []int{20, 40} {
				s := steps[i]
				if s.Events != want || s.Send.Sent != want || s.Send.OK != want || s.Send.Failed != 0 || len(s.Send.Lag) != want {
					t.Fatalf("step %d: events %d, send %+v; want %d sent and answered", i, s.Events, s.Send, want)
				}
				if s.Stats.Received != int64(20*want) || s.Stats.Lost != 0 || s.OfferedDeliveries() != int64(20*want) {
					t.Fatalf("step %d: stats %+v, want %d received, none lost", i, s.Stats, 20*want)
				}
				// Whether it kept up is a performance figure (the suite shares the machine with
				// other tests): here only that every delivery was counted and the step measured.
				if s.DeliveredShare() != 1 || s.Window <= 0 || s.GenCoreBusy != -1 {
					t.Fatalf("step %d: share %v, window %v, gen busy %v", i, s.DeliveredShare(), s.Window, s.GenCoreBusy)
				}
			}
			// The send took about 1 s: an open loop keeps its schedule, not the server's pace.
			if span := steps[1].Send.SendSpan; span < 900*time.Millisecond || span > 10*time.Second {
				t.Fatalf("second step sent over %v, want about 1s", span)
			}
		})
	}
}

// centrifugoCached reports whether the Centrifugo binary is already built.
func centrifugoCached() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "syncbench", "centrifugo-"+systems.CentrifugoVersion, "centrifugo")
	_, err = os.Stat(bin)
	return bin, err
}
