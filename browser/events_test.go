package browser_test

import (
	"regexp"
	"strings"
	"testing"
)

// The demo's raw-events panel beside the table: the connection (namespace and state) and
// every event the socket receives, newest first, with its namespace, IDs and time; an org
// switch moves it to the other namespace. The table still works as before.
func TestDemoEventsPanelInChromium(t *testing.T) {
	gw := startGateway(t)
	c := startChromium(t)
	p := c.open("events", 1100, 700)
	login(t, p, gw.url, "alice", "1")
	p.wait(`#connection[data-state="connected"][data-nsp="/org/1"]`, "attached")
	if n := p.count(`#event-log li`); n != 0 {
		t.Fatalf("the panel lists %d events before any change", n)
	}

	// Another user's change: the table and the panel both show it.
	put(t, gw.url+"/api/orgs/1/people/views/1/rows/"+edna, "bob")
	p.wait(`#rows li[data-person="`+edna+`"]`, "attached")
	p.wait(`#event-log li[data-event="personview.addrow"]`, "attached")
	row := `#event-log li[data-event="personview.addrow"]`
	if nsp := p.text(row + " .nsp"); nsp != "/org/1" {
		t.Errorf("event namespace = %q, want /org/1", nsp)
	}
	ids := p.text(row + " .ids")
	if !strings.Contains(ids, `"personId":`+edna) || !strings.Contains(ids, `"viewId":1`) {
		t.Errorf("event IDs = %q, want personId %s and viewId 1", ids, edna)
	}
	if at := p.attr(row+" time", "datetime"); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(at) {
		t.Errorf("event time = %q, want an ISO time", at)
	}

	// Newest first: a second event goes on top.
	put(t, gw.url+"/api/orgs/1/people/views/1/rows/"+apu, "bob")
	p.wait(`#event-log[data-count="2"]`, "attached")
	if ids := p.text(`#event-log li:first-child .ids`); !strings.Contains(ids, `"personId":`+apu) {
		t.Errorf("first listed event = %q, want the newest (person %s)", ids, apu)
	}
	p.screenshot("06-events-panel")

	// Another org: the panel follows the socket to /org/2 and lists its events there.
	p.click(`#orgs button[data-org="2"]`)
	p.wait(`#connection[data-state="connected"][data-nsp="/org/2"]`, "attached")
	put(t, gw.url+"/api/orgs/2/people/views/1/rows/"+milhouse, "alice")
	p.wait(`#event-log li[data-nsp="/org/2"]`, "attached")
	if ids := p.text(`#event-log li[data-nsp="/org/2"] .ids`); !strings.Contains(ids, `"personId":`+milhouse) {
		t.Errorf("org 2 event IDs = %q", ids)
	}
	p.click(`#events-clear`)
	p.wait(`#event-log[data-count="0"]`, "attached")

	// The connection line shows an outage too.
	gw.stop()
	p.wait(`#connection[data-state="offline"]`, "attached")
	gw.restart()
	p.wait(`#connection[data-state="connected"]`, "attached")
	p.wait(`#event-log li[data-event="resync"]`, "attached") // the gateway's own event is listed too
	if errs := p.errors(); len(errs) > 0 {
		t.Errorf("script errors: %s", strings.Join(errs, "\n"))
	}
}
