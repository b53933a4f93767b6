package interop

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// upgradeGate holds the client's websocket upgrade request (a websocket request for an
// existing session) until the test opens the gate, so that events are certainly sent while
// the client is still on polling with its upgrade under way.
type upgradeGate struct {
	held     chan struct{} // closed when the first upgrade request arrives
	heldOnce sync.Once
	open     chan struct{} // closed by the test to let upgrade requests through
}

func newUpgradeGate() *upgradeGate {
	return &upgradeGate{held: make(chan struct{}), open: make(chan struct{})}
}

func (g *upgradeGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("transport") == "websocket" && q.Get("sid") != "" {
			g.heldOnce.Do(func() { close(g.held) })
			select {
			case <-g.open:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestNodeUpgradeKeepsOrder: the client connects over polling and upgrades to websocket
// while the server streams numbered events: some sent before the upgrade can complete, some
// while it runs, some after. The client must see every number exactly once, in order, and
// the transport notice between the first and the last ones.
func TestNodeUpgradeKeepsOrder(t *testing.T) {
	gate := newUpgradeGate()
	ts := startServer(t, serverConfig{Front: gate.wrap})
	node := testenv.StartNode(t)
	node.OnAck("up", "n", "ok")
	// Default transports: polling first, then the upgrade.
	res := connect(t, node, "up", ts.orgURL("1"), map[string]any{"reconnection": false})
	if res.Transport != "polling" {
		t.Fatalf("connected over %q, want polling", res.Transport)
	}
	sock := ts.socket(t, res.Sid)
	select {
	case <-gate.held:
	case <-time.After(waitTimeout):
		t.Fatalf("the client asked for no upgrade within %v", waitTimeout)
	}

	srv := ts.server()
	// emit sends number i: a namespace broadcast, or with acked a direct emit whose ack from
	// the client paces the stream (the client has received everything up to i).
	emit := func(i int, acked bool) {
		t.Helper()
		if !acked {
			if err := srv.Emit("/org/1", "n", i); err != nil {
				t.Fatal(err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		ans, err := sock.EmitWithAck(ctx, "n", i)
		if err != nil {
			t.Fatalf("number %d: %v", i, err)
		}
		assertJSON(t, "ack", ans, []any{"ok"})
	}

	const (
		before = 20    // sent while the upgrade request is held: over polling
		after  = 50    // sent once the server has switched to websocket
		pace   = 25    // every pace-th number waits for the client's ack
		maxN   = 20000 // bound: the upgrade must complete before this many numbers
	)
	for i := range before {
		emit(i, i == before-1)
	}
	if tr := sock.Transport(); tr != "polling" {
		t.Fatalf("transport %q while the upgrade request is held", tr)
	}
	close(gate.open)

	firstAfter, during, total := -1, 0, before
	for n := 0; n < after; total++ {
		if total >= maxN {
			t.Fatalf("server still on %s after %d numbers", sock.Transport(), total)
		}
		onWS := sock.Transport() == "websocket"
		emit(total, (total+1)%pace == 0)
		switch {
		case onWS && firstAfter < 0:
			firstAfter = total
			n++
		case onWS:
			n++
		default:
			during++
		}
	}

	seqs := make([]int, total)
	for want := range total {
		ev, err := node.NextEvent("up", 0)
		if err != nil {
			t.Fatalf("waiting for number %d: %v", want, err)
		}
		var got int
		if ev.Event != "n" || ev.Arg(0, &got) != nil || got != want {
			t.Fatalf("got %v, want number %d (lost, duplicated or reordered)", ev, want)
		}
		seqs[want] = ev.Seq
	}
	if err := sock.Emit("end"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, node, "up", "end") // nothing after the last number but "end": no duplicates

	notice, err := node.WaitNotice("up", testenv.TypeTransport, 0)
	if err != nil {
		t.Fatal(err)
	}
	if notice.Transport != "websocket" || len(notice.Skipped) != 0 {
		t.Fatalf("transport notice %v after %v, want websocket and nothing before", notice, notice.Skipped)
	}
	for i := range before {
		if seqs[i] > notice.Seq {
			t.Fatalf("number %d (sent before the upgrade could complete) arrived after the transport notice", i)
		}
	}
	for i := firstAfter; i < total; i++ {
		if seqs[i] < notice.Seq {
			t.Fatalf("number %d (sent over websocket) arrived before the transport notice", i)
		}
	}
	if tr := sock.Transport(); tr != "websocket" {
		t.Fatalf("server transport %q after the upgrade", tr)
	}
	t.Logf("%d numbers before the upgrade, %d while it ran, %d after", before, during, total-firstAfter)
}
