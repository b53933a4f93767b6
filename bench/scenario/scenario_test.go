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
