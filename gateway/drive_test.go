package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/drive"
	"github.com/syncgate/syncgate/gateway"
	"github.com/syncgate/syncgate/internal/fakedrive"
	"github.com/syncgate/syncgate/internal/oauthtest"
	"github.com/syncgate/syncgate/internal/testenv"
)

// addRowIn is the PoC mutation of org; it fires personview.addrow to every socket of /org/N.
func addRowIn(org string) string { return "/api/orgs/" + org + "/people/views/2/rows/3" }

// barrierAddRow makes b PUT a row in org through n and checks that each socket's next event
// is that personview.addrow, with nothing before it: whatever was sent to those sockets
// before the PUT has arrived, and there was nothing.
func barrierAddRow(t *testing.T, n *sessionNode, b *browser, org string, ws *testenv.Node, socks ...string) {
	t.Helper()
	if got := b.api(n, "PUT", addRowIn(org)); got != http.StatusOK {
		t.Fatalf("PUT %s: %d", addRowIn(org), got)
	}
	for _, s := range socks {
		waitOnly(t, ws, s, "personview.addrow")
	}
}

// A change of a watched file reaches every socket that watches it, in every org that
// watches it, exactly once, even though two users' feeds (alice's and dave's) both see it;
// sockets that watch nothing get nothing, whether of the same org or another.
func TestDriveChangeReachesEveryWatcherOnce(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1, "dave": 1, "bob": 1, "carol": 2})
	fake := env.drive
	fake.AddFile("fileA", "Alice's notes", "alice") // only alice: her feed must poll
	fake.AddFile("fileD", "Dave's notes", "dave")   // only dave: his feed must poll too
	fake.AddFile("plan1", "Plan", "alice", "dave", "carol")
	n := env.startDriveNode()
	ab, alice := env.loginAs(n, "alice")
	_, dave := env.loginAs(n, "dave")
	_, bob := env.loginAs(n, "bob")
	cb, carol := env.loginAs(n, "carol")

	ws := testenv.StartNode(t)
	org1, org2 := n.base+"/org/1", n.base+"/org/2"
	connect(t, ws, "a1", org1, sockOpts("websocket", n.base, alice))
	connect(t, ws, "a2", org1, sockOpts("polling", n.base, alice))
	connect(t, ws, "d", org1, sockOpts("websocket", n.base, dave))
	connect(t, ws, "b", org1, sockOpts("websocket", n.base, bob))   // same org, watches nothing
	connect(t, ws, "c", org2, sockOpts("websocket", n.base, carol)) // other org, watches nothing
	connect(t, ws, "c2", org2, sockOpts("polling", n.base, carol))  // other org, watches plan1
	watch(t, ws, "a1", "fileA", 1)
	watch(t, ws, "a1", "plan1", 1)
	watch(t, ws, "a2", "plan1", 1)
	watch(t, ws, "a2", "plan1", 1) // twice is one watch
	watch(t, ws, "d", "fileD", 1)
	watch(t, ws, "d", "plan1", 1)
	watch(t, ws, "c2", "plan1", 1)

	watchers := []string{"a1", "a2", "d", "c2"}
	for _, v := range []int64{2, 3} {
		if got := fake.Touch("plan1"); got != v {
			t.Fatalf("Touch = %d, want %d", got, v)
		}
		touched := time.Now()
		for _, s := range watchers {
			waitChanged(t, ws, s, "plan1", v)
		}
		// Both covering feeds have now seen version v: a second report of it would be
		// queued before the next version's, or before the barrier below.
		waitPolledSince(t, fake, "alice", touched)
		waitPolledSince(t, fake, "dave", touched)
	}
	barrierAddRow(t, n, ab, "1", ws, "a1", "a2", "d", "b")
	barrierAddRow(t, n, cb, "2", ws, "c", "c2")
	if got := fake.Count(fakedrive.FilesGet, ""); got != 5 {
		t.Fatalf("files.get calls %d, want 5 (one per distinct user and file: repeat watches answered locally)", got)
	}
}

// drive.unwatch ends one socket's watch only; the other sockets watching the file still get
// its changes.
func TestDriveUnwatchStopsDelivery(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1})
	env.drive.AddFile("plan1", "Plan", "alice")
	env.drive.AddFile("plan2", "Budget", "alice")
	n := env.startDriveNode()
	_, alice := env.loginAs(n, "alice")
	ws := testenv.StartNode(t)
	connect(t, ws, "a1", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	connect(t, ws, "a2", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	watch(t, ws, "a1", "plan1", 1)
	watch(t, ws, "a1", "plan2", 1)
	watch(t, ws, "a2", "plan1", 1)

	if a := driveCall(t, ws, "a1", gateway.EventDriveUnwatch, map[string]any{"fileId": "plan1"}); !a.OK {
		t.Fatalf("drive.unwatch: %+v, want ok", a)
	}
	if a := driveCall(t, ws, "a1", gateway.EventDriveUnwatch, map[string]any{"fileId": "never-watched"}); !a.OK {
		t.Fatalf("drive.unwatch of a file not watched: %+v, want ok (idempotent)", a)
	}
	if a := driveCall(t, ws, "a1", gateway.EventDriveUnwatch); a.OK || a.Error != "malformed" {
		t.Fatalf("drive.unwatch without a file: %+v, want malformed", a)
	}
	// plan1 changes before plan2 in alice's one feed, so its event would come first.
	env.drive.Touch("plan1")
	env.drive.Touch("plan2")
	waitChanged(t, ws, "a2", "plan1", 2)
	waitChanged(t, ws, "a1", "plan2", 2)
}

// A refused watch says why, and joins no room: the socket gets nothing of the file even
// while another socket of its org watches it.
func TestDriveWatchRefusals(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1, "bob": 1, "erin": 1})
	env.drive.AddFile("plan1", "Plan", "alice")
	env.drive.AddFile("bobs", "Bob's", "bob")
	env.drive.AddFile("erins", "Erin's", "erin")
	env.drive.SetNoDriveScope("erin", true) // erin's grant lacks a Drive scope
	n := env.startDriveNode()
	ab, alice := env.loginAs(n, "alice")
	_, bob := env.loginAs(n, "bob")
	_, erin := env.loginAs(n, "erin")
	ws := testenv.StartNode(t)
	connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	connect(t, ws, "b", n.base+"/org/1", sockOpts("websocket", n.base, bob))
	connect(t, ws, "e", n.base+"/org/1", sockOpts("websocket", n.base, erin))

	// A file the user cannot read looks exactly like one that does not exist (Google's
	// 404 for both): the ack is no oracle of other users' file IDs.
	if got := watchRefused(t, ws, "b", map[string]any{"fileId": "plan1"}); got != "not_found" {
		t.Fatalf("bob watching alice's file: %q, want not_found", got)
	}
	if got := watchRefused(t, ws, "b", map[string]any{"fileId": "no-such-file"}); got != "not_found" {
		t.Fatalf("unknown file: %q, want not_found", got)
	}
	if got := watchRefused(t, ws, "e", map[string]any{"fileId": "erins"}); got != "forbidden" {
		t.Fatalf("token without a Drive scope: %q, want forbidden", got)
	}
	for _, arg := range []any{nil, 42, map[string]any{"fileId": 42}, map[string]any{"file": "plan1"}} {
		if got := watchRefused(t, ws, "b", arg); got != "malformed" {
			t.Fatalf("drive.watch %v: %q, want malformed", arg, got)
		}
	}
	watch(t, ws, "a", "plan1", 1)
	env.drive.Touch("plan1")
	waitChanged(t, ws, "a", "plan1", 2)
	barrierAddRow(t, n, ab, "1", ws, "a", "b", "e")
}

// drive.list answers the caller's own files (IDs and names) to the caller only; a second
// list within the cache lifetime costs no Google call.
func TestDriveListIsTheCallersOwn(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1, "bob": 1})
	env.drive.AddFile("plan1", "Plan", "alice")
	env.drive.AddFile("bobs", "Bob's secret", "bob")
	env.drive.AddFile("shared", "Shared", "alice", "bob")
	n := env.startDriveNode()
	ab, alice := env.loginAs(n, "alice")
	_, bob := env.loginAs(n, "bob")
	ws := testenv.StartNode(t)
	connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	connect(t, ws, "a2", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	connect(t, ws, "b", n.base+"/org/1", sockOpts("websocket", n.base, bob))

	want := map[string][]drive.File{
		"a": {{ID: "plan1", Name: "Plan"}, {ID: "shared", Name: "Shared"}},
		"b": {{ID: "bobs", Name: "Bob's secret"}, {ID: "shared", Name: "Shared"}},
	}
	for _, sock := range []string{"a", "b", "a"} {
		a := driveCall(t, ws, sock, gateway.EventDriveList)
		slices.SortFunc(a.Files, func(x, y drive.File) int { return strings.Compare(x.ID, y.ID) })
		if !a.OK || !slices.Equal(a.Files, want[sock]) {
			t.Fatalf("drive.list on %s: %+v, want ok with %v", sock, a, want[sock])
		}
	}
	if got := env.drive.Count(fakedrive.FilesList, "alice"); got != 1 {
		t.Fatalf("alice's files.list calls %d, want 1 (the second list from the cache)", got)
	}
	barrierAddRow(t, n, ab, "1", ws, "a2", "b")
}

// A grant revoked at Google ends the user's watches: each of its sockets is told
// drive.watch.lost per file and gets no more changes, while another user's watch of the
// same file goes on until that user loses access to the file.
func TestDriveRevokedGrantLosesWatches(t *testing.T) {
	t.Parallel()
	env := newDriveEnv(t, map[string]int{"alice": 1, "dave": 1})
	fake := env.drive
	fake.AddFile("fileA", "Alice's notes", "alice")
	fake.AddFile("plan1", "Plan", "alice", "dave")
	n := env.startDriveNode()
	ab, alice := env.loginAs(n, "alice")
	_, dave := env.loginAs(n, "dave")
	ws := testenv.StartNode(t)
	connect(t, ws, "a", n.base+"/org/1", sockOpts("websocket", n.base, alice))
	connect(t, ws, "d", n.base+"/org/1", sockOpts("websocket", n.base, dave))
	watch(t, ws, "a", "fileA", 1) // alice's feed covers both files, dave's only rechecks
	watch(t, ws, "a", "plan1", 1)
	watch(t, ws, "d", "plan1", 1)

	fake.Revoke("alice")
	lost := map[string]bool{}
	for range 2 {
		ev := waitOnly(t, ws, "a", gateway.EventDriveLost)
		var p struct {
			FileID string `json:"fileId"`
		}
		if err := ev.Arg(0, &p); err != nil {
			t.Fatal(err)
		}
		driveArg(t, ev, p.FileID, 0, false)
		lost[p.FileID] = true
	}
	if !lost["fileA"] || !lost["plan1"] {
		t.Fatalf("drive.watch.lost for %v, want fileA and plan1", lost)
	}
	if got := watchRefused(t, ws, "a", map[string]any{"fileId": "plan1"}); got != "forbidden" {
		t.Fatalf("watch after the grant was revoked: %q, want forbidden", got)
	}

	// dave's feed takes over plan1 from its own page token; alice's socket left the room.
	fake.Touch("plan1")
	waitChanged(t, ws, "d", "plan1", 2)
	barrierAddRow(t, n, ab, "1", ws, "a", "d")

	// Losing access to the one file ends that watch too.
	fake.Unshare("plan1", "dave")
	driveArg(t, waitOnly(t, ws, "d", gateway.EventDriveLost), "plan1", 0, false)
}

// --drive reads Drive with each user's own token, which only session mode has.
func TestDriveNeedsSessionMode(t *testing.T) {
	t.Parallel()
	api := testenv.NewFakeAPI(t)
	cfg, err := gateway.ParseConfig([]string{"--upstream", api.URL(), "--drive"}, noEnv)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	g, err := gateway.New(cfg, gateway.Options{Triggers: pocTriggers(t)})
	if err == nil {
		_ = g.Close()
		t.Fatal("gateway.New with --drive in proxy mode succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "--auth session") {
		t.Fatalf("error %q does not name --auth session", err)
	}
}

// Without --drive the events are refused as unavailable, not ignored.
func TestDriveEventsUnavailableWithoutFlag(t *testing.T) {
	t.Parallel()
	env := newSessionEnv(t, oauthtest.Config{})
	n := env.startSessionNode()
	b := newBrowser(t)
	b.login(n)
	ws := testenv.StartNode(t)
	connect(t, ws, "s", n.base+"/org/1", sockOpts("websocket", n.base, b.cookie(n)))
	for _, ev := range []string{gateway.EventDriveWatch, gateway.EventDriveList} {
		if a := driveCall(t, ws, "s", ev, map[string]any{"fileId": "plan1"}); a.OK || a.Error != "unavailable" {
			t.Fatalf("%s without --drive: %+v, want unavailable", ev, a)
		}
	}
}
