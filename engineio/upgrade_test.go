package engineio

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// probe opens the upgrade websocket of sid and completes the probe exchange.
func (ts *testServer) probe(sid string) *websocket.Conn {
	ts.t.Helper()
	ws := ts.dialWS(nil, "EIO=4&transport=websocket&sid="+sid, nil)
	sendText(ts.t, ws, "2probe")
	if got := readText(ts.t, ws); got != "3probe" {
		ts.t.Fatalf("probe answer %q, want 3probe", got)
	}
	return ws
}

func sendN(t *testing.T, c *Conn, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := c.Send(NewMessageString(fmt.Sprint("m", i))); err != nil {
			t.Fatalf("Send m%d: %v", i, err)
		}
	}
}

// expectMessages reads m<from>..m<to-1> from ws, in order.
func expectMessages(t *testing.T, ws *websocket.Conn, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if got, want := readText(t, ws), fmt.Sprint("4m", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestUpgradeKeepsQueuedPacketsInOrder: packets queued before the probe, during the probe
// and while the upgrade completes all arrive over the websocket, once each, in order.
func TestUpgradeKeepsQueuedPacketsInOrder(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	sid, r := ts.openPolling(nil)
	sendN(t, r.conn, 0, 10) // nobody polls: they stay queued
	ws := ts.probe(sid)
	sendN(t, r.conn, 10, 20)
	sendText(t, ws, "5")
	sendN(t, r.conn, 20, 30) // races the switch of transport
	expectMessages(t, ws, 0, 30)
	eventually(t, "the transport is websocket", func() bool { return r.conn.Transport() == WebSocket })
	sendN(t, r.conn, 30, 31)
	expectMessages(t, ws, 30, 31)

	// The client's messages go over the websocket from now on.
	sendText(t, ws, "4up")
	if m := awaitMessage(t, r); string(m.data) != "up" {
		t.Fatalf("listener got %q, want up", m.data)
	}
}

// TestUpgradeSplitsOrderAcrossTransports: what a poll took before the upgrade is not sent
// again; the rest follows over the websocket in order; a poll during the probe ends with a
// noop.
func TestUpgradeSplitsOrderAcrossTransports(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	sid, r := ts.openPolling(nil)
	sendN(t, r.conn, 0, 3)
	if resp, body := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil); body != "4m0\x1e4m1\x1e4m2" {
		t.Fatalf("poll: %d %q", resp.StatusCode, body)
	}
	pending := ts.backgroundGet(ts.url(pollQuery(sid)), nil)
	eventually(t, "the GET is parked", parked(r.conn))
	ws := ts.probe(sid)
	if res := awaitPoll(t, pending); res.status != http.StatusOK || res.body != "6" {
		t.Fatalf("parked poll after the probe: %d %q, want 200 \"6\"", res.status, res.body)
	}
	sendN(t, r.conn, 3, 6)
	sendText(t, ws, "5")
	sendN(t, r.conn, 6, 9)
	expectMessages(t, ws, 3, 9)
	eventually(t, "the transport is websocket", func() bool { return r.conn.Transport() == WebSocket })
	if resp, _ := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("poll after the upgrade: %d, want 400", resp.StatusCode)
	}
}

// TestFailedProbeKeepsPollingSession: a bad probe aborts the upgrade but not the session,
// which keeps its queue and can be upgraded afterwards.
func TestFailedProbeKeepsPollingSession(t *testing.T) {
	ts := startServer(t, Options{PingInterval: time.Hour}, nil)
	sid, r := ts.openPolling(nil)
	bad := ts.dialWS(nil, "EIO=4&transport=websocket&sid="+sid, nil)
	sendText(t, bad, "2notprobe")
	if err := readUntilClosed(t, bad); err == nil {
		t.Fatal("bad probe socket not closed")
	}
	sendN(t, r.conn, 0, 2)
	if resp, body := ts.do(http.MethodGet, ts.url(pollQuery(sid)), "", nil); body != "4m0\x1e4m1" {
		t.Fatalf("poll after the failed probe: %d %q", resp.StatusCode, body)
	}
	ws := ts.probe(sid)
	sendText(t, ws, "5")
	sendN(t, r.conn, 2, 3)
	expectMessages(t, ws, 2, 3)
	if n := ts.eio.Count(); n != 1 {
		t.Fatalf("Count() = %d, want 1", n)
	}
}
