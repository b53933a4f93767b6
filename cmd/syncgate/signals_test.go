package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncgate/syncgate/internal/testenv"
)

// SIGHUP reloads the trigger file atomically; a broken file keeps the old set.
func TestSIGHUPReloadsTriggersAndKeepsTheOldSetOnError(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	file := filepath.Join(t.TempDir(), "triggers.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("triggers:\n  - event: row.put\n    method: PUT\n    path: /orgs/{orgId}/rows/{rowId}\n")
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	d := startDaemon(t, "--upstream", api.URL(), "--triggers", file, "--listen", "127.0.0.1:"+strconv.Itoa(port))
	if err := d.waitLine("syncgate listening", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	n := testenv.StartNode(t)
	o := map[string]any{"reconnection": false, "transports": []string{"websocket"}, "extraHeaders": map[string]string{"Cookie": "zsid=alice"}}
	if _, err := n.Connect("a", base+"/org/1", o); err != nil {
		t.Fatal(err)
	}
	put := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", base+"/api"+path, nil)
		req.Header.Set("Cookie", "zsid=alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	expect := func(event string) {
		t.Helper()
		ev, err := n.WaitEvent("a", event, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Skipped) != 0 {
			t.Fatalf("received %v before %s", ev.Skipped, event)
		}
	}

	write("triggers:\n  - event: row.put\n    method: GET\n") // broken
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	if err := d.waitLine("trigger file not reloaded", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	put("/orgs/1/rows/5")
	expect("row.put") // the old set still fires

	write("triggers:\n  - event: row.replaced\n    method: PUT\n    path: /orgs/{orgId}/rows/{rowId}\n")
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	if err := d.waitLine("triggers reloaded", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	put("/orgs/1/rows/6")
	expect("row.replaced") // and nothing of the old name before it
}

// SIGTERM with 500 sockets connected and API calls in flight: every call completes, every
// socket is told to reconnect (a transport close, not a server kick), the process exits 0
// within --shutdown-timeout.
func TestSIGTERMDrainsSocketsAndFinishesCalls(t *testing.T) {
	api := testenv.NewFakeAPI(t)
	api.SetMemberships("alice", testenv.Membership{Org: 1, Role: "admin"})
	port := testenv.FreePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	d := startDaemon(t, "--upstream", api.URL(), "--triggers", pocFile, "--listen", "127.0.0.1:"+strconv.Itoa(port),
		"--shutdown-timeout", "8s")
	if err := d.waitLine("syncgate listening", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	n := testenv.StartNode(t)
	o := map[string]any{"reconnection": false, "transports": []string{"websocket"}, "notify": true,
		"extraHeaders": map[string]string{"Cookie": "zsid=alice"}}
	res, err := n.ConnectMany("s", 500, base+"/org/1", o, 100)
	if err != nil || res.Connected != 500 {
		t.Fatalf("connect 500: %+v %v", res, err)
	}

	api.SetDelay(1500 * time.Millisecond) // calls now take a while upstream
	const calls = 20
	var wg sync.WaitGroup
	statuses := make(chan int, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", base+"/api/orgs/1/people/views/1/rows/"+strconv.Itoa(i+1), nil)
			req.Header.Set("Cookie", "zsid=alice")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(api.Requests()) < calls { // every call reached the upstream: they are in flight
		if time.Now().After(deadline) {
			t.Fatalf("only %d calls reached the upstream", len(api.Requests()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("an in-flight call ended with %d: cut by the shutdown", s)
		}
	}
	code, err := d.waitExit(10 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exit %d %v", code, err)
	}
	if took := time.Since(start); took > 8*time.Second+2*time.Second {
		t.Fatalf("shutdown took %v, over the timeout", took)
	}
	for i := 0; i < 500; i++ {
		name := "s" + strconv.Itoa(i)
		ev, err := n.WaitDisconnect(name, 5*time.Second)
		if err != nil {
			t.Fatalf("socket %s: %v", name, err)
		}
		if ev.Reason == "io server disconnect" {
			t.Fatalf("socket %s: %q would not reconnect", name, ev.Reason)
		}
	}
}
