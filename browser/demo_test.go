package browser_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// Seed data of the demo API: org 1's people are IDs 1-8 (view 1 "Phone bank" has 4, 5, 6),
// org 2's are 9-16 (view 1 "Door knocking" has 11, 12).
const (
	edna     = "7"  // Edna Krabappel, org 1, not in view 1
	apu      = "8"  // Apu Nahasapeemapetilon, org 1, not in view 1
	milhouse = "13" // Milhouse Van Houten, org 2, not in view 1
)

// login opens the demo page, logs in as user and waits until the socket of the user's first
// org is connected and view 1 is shown. (The notice keeps its last text when it hides, so
// waiting for a text never races its timeout.)
func login(t *testing.T, p *page, base, user, org string) {
	t.Helper()
	p.gotoURL(base + "/")
	p.wait(`#status[data-state="offline"]`, "attached") // no org before a login
	p.click(`button[data-user="` + user + `"]`)
	p.wait(`#orgs button[data-org="`+org+`"][aria-pressed="true"]`, "attached")
	p.wait(`#status[data-state="connected"]`, "attached")
	p.wait(`#rows li`, "attached")
}

// The README's walkthrough in real browsers: two windows of one org see each other's changes,
// another org's window sees nothing, and a gateway restart shows offline and then recovers by
// fetching the list again.
func TestDemoInChromium(t *testing.T) {
	started := time.Now()
	gw := startGateway(t)
	c := startChromium(t)
	a := c.open("A", 640, 600)
	b := c.open("B", 640, 600)
	carol := c.open("carol", 640, 600)
	login(t, a, gw.url, "alice", "1")
	login(t, b, gw.url, "alice", "1")
	login(t, carol, gw.url, "carol", "2")
	if got := a.text("#view-title"); got != "View 1: Phone bank" {
		t.Fatalf("A shows %q, want view 1 of org 1", got)
	}
	if got := carol.text("#view-title"); got != "View 1: Door knocking" {
		t.Fatalf("carol shows %q, want view 1 of org 2", got)
	}

	// A adds Edna; B's list shows her, with a notice naming her.
	a.click(`#others li[data-person="` + edna + `"] button`)
	b.wait(`#rows li[data-person="`+edna+`"]`, "attached")
	b.waitText("#notice", "Synced: Edna Krabappel added to Phone bank")
	b.wait("#notice", "visible")
	a.wait(`#rows li[data-person="`+edna+`"]`, "attached")
	c.sideBySide(filepath.Join(c.artifacts, "two-windows.png"), []*page{a, b},
		[]string{"window A: alice added Edna", "window B: alice's other window, synced"})
	if *updateDocs {
		root := testenv.RepoRoot(t)
		if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.sideBySide(filepath.Join(root, "docs", "demo.png"), []*page{a, b},
			[]string{"window A: alice adds Edna Krabappel", "window B: the same org, synced live"})
	}

	// B removes her; A's list drops her. A's own addition was not echoed back to A
	// (X-Socket-ID), so this removal is the first notice A shows.
	b.click(`#rows li[data-person="` + edna + `"] button`)
	a.wait(`#rows li[data-person="`+edna+`"]`, "detached")
	a.waitText("#notice", "Synced: Edna Krabappel removed from Phone bank")
	if seq := a.attr("#notice", "data-seq"); seq != "1" {
		t.Errorf("A showed %s notices, want 1 (its own change is not announced to it)", seq)
	}
	a.screenshot("01-removed-in-B")

	// Carol (org 2) saw none of it. Barrier: an org 2 change made now must be her first notice.
	put(t, gw.url+"/api/orgs/2/people/views/1/rows/"+milhouse, "alice")
	carol.wait(`#rows li[data-person="`+milhouse+`"]`, "attached")
	carol.waitText("#notice", "Synced: Milhouse Van Houten added to Door knocking")
	if seq := carol.attr("#notice", "data-seq"); seq != "1" {
		t.Errorf("carol (org 2) showed %s notices, want 1: org 1's changes reached her", seq)
	}
	if n := carol.count(`#rows li[data-person="` + edna + `"]`); n != 0 {
		t.Errorf("carol's list has org 1's person %s", edna)
	}
	carol.screenshot("02-carol-org-2")

	// A change before the outage that the restarted demo API will not have: after the
	// restart, the list must be fetched again for Apu to disappear.
	a.click(`#others li[data-person="` + apu + `"] button`)
	b.wait(`#rows li[data-person="`+apu+`"]`, "attached")

	gw.stop()
	for _, p := range []*page{a, b} {
		p.wait(`#status[data-state="offline"]`, "attached")
		p.waitText("#status", "offline")
	}
	a.screenshot("03-gateway-stopped")

	gw.restart()
	for _, p := range []*page{a, b} {
		p.wait(`#status[data-state="connected"]`, "attached")
		p.wait(`#rows li[data-person="`+apu+`"]`, "detached")
		p.waitText("#notice", "Synced: reconnected, the list was fetched again")
		p.wait(`#rows li[data-person="4"]`, "attached")
	}
	a.screenshot("04-gateway-restarted")

	// And live sync works again after the restart.
	b.click(`#others li[data-person="` + edna + `"] button`)
	a.wait(`#rows li[data-person="`+edna+`"]`, "attached")

	for _, p := range []*page{a, b, carol} {
		if errs := p.errors(); len(errs) > 0 {
			t.Errorf("page %s had script errors: %s", p.name, strings.Join(errs, "\n"))
		}
	}
	t.Logf("browser flow took %s", time.Since(started).Round(time.Millisecond))
}

// A follower (dave: role null) is refused by the gateway; the badge says so.
func TestDemoRefusalShowsOffline(t *testing.T) {
	gw := startGateway(t)
	c := startChromium(t)
	dave := c.open("dave", 640, 480)
	dave.gotoURL(gw.url + "/")
	dave.click(`button[data-user="dave"]`)
	dave.wait(`#status[data-state="offline"][data-reason="forbidden"]`, "attached")
	dave.waitText("#status", "forbidden")
	dave.screenshot("05-dave-forbidden")
}

// put calls the API through the gateway as a demo user.
func put(t *testing.T, url, user string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "demo_user="+user)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", url, err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s as %s: %d %s", url, user, res.StatusCode, body)
	}
}
