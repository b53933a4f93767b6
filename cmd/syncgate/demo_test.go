package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// The built binary in --demo mode: the README's walkthrough, end to end, then a clean stop.
func TestDemoBinaryEndToEnd(t *testing.T) {
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	d := startDaemon(t, "--demo", "--listen", "127.0.0.1:"+strconv.Itoa(port))
	if err := d.waitLine("syncgate listening", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	n := testenv.StartNode(t)
	demoUser := func(name string) map[string]any {
		return map[string]any{"reconnection": false, "extraHeaders": map[string]string{"Cookie": "demo_user=" + name}}
	}
	if _, err := n.Connect("alice", base+"/org/1", demoUser("alice")); err != nil {
		t.Fatalf("alice joining /org/1: %v", err)
	}
	// Dave follows org 1 but holds no role in it: no socket by default.
	if ce, err := n.ConnectErr("dave", base+"/org/1", demoUser("dave")); err != nil || ce.Message != "forbidden" {
		t.Fatalf("dave joining /org/1: %v %v, want connect_error forbidden", ce, err)
	}
	// Carol belongs to org 2 only.
	if ce, err := n.ConnectErr("carol", base+"/org/1", demoUser("carol")); err != nil || ce.Message != "forbidden" {
		t.Fatalf("carol joining /org/1: %v %v, want connect_error forbidden", ce, err)
	}

	req, err := http.NewRequest("PUT", base+"/api/orgs/1/people/views/1/rows/5", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "demo_user=bob")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT row: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT row as bob: %d %s", resp.StatusCode, body)
	}

	ev, err := n.WaitEvent("alice", "personview.addrow", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Skipped) != 0 {
		t.Fatalf("alice received %v first", ev.Skipped)
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Args[0]))
	dec.UseNumber()
	var payload map[string]any
	if err := dec.Decode(&payload); err != nil || len(payload) != 2 ||
		payload["viewId"] != json.Number("1") || payload["personId"] != json.Number("5") {
		t.Fatalf("payload %s, want exactly {\"viewId\":1,\"personId\":5}", ev.Args[0])
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := d.waitExit(10 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("after SIGTERM: exit %d, %v; want 0", code, err)
	}
	if dis, err := n.WaitDisconnect("alice", 0); err != nil {
		t.Fatalf("alice's socket after shutdown: %v", err)
	} else if dis.Reason == "io client disconnect" {
		t.Fatalf("alice disconnected herself: %v", dis)
	}
}
