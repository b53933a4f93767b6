package interop

import (
	"sync"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// TestNodeThousandConcurrentConnects: 500 websocket and 500 polling clients connect at the
// same time; none is refused or left hanging, the namespace holds exactly 1,000 sockets,
// and once they all close the namespace and every Engine.IO session are gone.
func TestNodeThousandConcurrentConnects(t *testing.T) {
	const perTransport = 500
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	url := ts.orgURL("1")

	start := time.Now()
	results := make([]testenv.ManyResult, len(allTransports))
	errs := make([]error, len(allTransports))
	var wg sync.WaitGroup
	for i, tr := range allTransports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = node.ConnectMany(tr, perTransport, url, only(tr, nil), 100)
		}()
	}
	wg.Wait()
	for i, tr := range allTransports {
		if errs[i] != nil {
			t.Fatalf("%s: %v", tr, errs[i])
		}
		if r := results[i]; r.Connected != perTransport || r.Hanging != 0 || len(r.Errors) != 0 {
			t.Fatalf("%s: %+v, want %d connected, none hanging, no errors", tr, r, perTransport)
		}
	}

	t.Logf("clients connected in %v", time.Since(start))

	total := perTransport * len(allTransports)
	ts.reg.wait(t, "every socket admitted", func(r *registry) bool { return r.admits["/org/1"] == total })
	srv := ts.server()
	if n := nsLen(srv, "/org/1"); n != total {
		t.Fatalf("/org/1 holds %d sockets, want %d", n, total)
	}
	if n := srv.Engine().Count(); n != total {
		t.Fatalf("%d Engine.IO sessions, want %d", n, total)
	}

	start = time.Now()
	node.CloseAll()
	ts.reg.wait(t, "every socket gone", func(r *registry) bool { return r.leaves["/org/1"] == total })
	t.Logf("clients closed in %v", time.Since(start))
	if srv.Namespace("/org/1") != nil {
		t.Fatalf("/org/1 still exists with %d sockets", nsLen(srv, "/org/1"))
	}
	// The sessions end after the sockets' DISCONNECT packets; nothing announces it, so poll.
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for srv.Engine().Count() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d Engine.IO sessions still open %v after the clients closed", srv.Engine().Count(), waitTimeout)
		}
		<-tick.C
	}
	t.Logf("sessions ended in %v", time.Since(start))
}
