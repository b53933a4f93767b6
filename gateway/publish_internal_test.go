package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/triggers"
)

// An event the publish queue gives up on (every try failed) is not dropped silently: the
// gateway tells its org's sockets to resync, naming the event.
func TestUnpublishedEventResyncsItsOrg(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	cfg, err := ParseConfig([]string{"--upstream", api.URL(), "--admin-listen", ""}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln := testenv.Listen(t)
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = g.Close(); _ = srv.Close() })

	n := testenv.StartNode(t)
	if _, err := n.Connect("s", "http://"+ln.Addr().String()+"/org/1",
		map[string]any{"extraHeaders": map[string]string{"Cookie": "zsid=alice"}}); err != nil {
		t.Fatal(err)
	}
	// The queue's GaveUp hook (proxy: TestQueueRetriesThenCountsFailure checks it is called).
	g.resyncUnpublished(context.Background(), triggers.Event{Org: "1", Name: "personview.addrow"}, errors.New("redis: down"))
	ev, err := n.WaitEvent("s", "resync", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Reason, Event string }
	if err := ev.Arg(0, &p); err != nil || p.Reason != "event not published" || p.Event != "personview.addrow" {
		t.Fatalf("resync %v (%v), want reason \"event not published\" for personview.addrow", ev, err)
	}
}
