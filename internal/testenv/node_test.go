package testenv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// closedURL is a socket.io URL on a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	return "http://127.0.0.1:" + itoa(FreePort(t)) + "/org/1"
}

func TestNodeConnectToClosedPortIsAConnectError(t *testing.T) {
	n := StartNode(t)
	url := closedURL(t)
	for transport, want := range map[string]string{"polling": "xhr poll error", "websocket": "websocket error"} {
		_, err := n.Connect("a", url, map[string]any{"reconnection": false, "transports": []string{transport}})
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.Message != want {
			t.Fatalf("%s: Connect error %v, want connect_error %q", transport, err, want)
		}
		// A failed socket is forgotten, so the name can be used again.
		if _, err := n.State("a"); err == nil || !strings.Contains(err.Error(), "unknown socket") {
			t.Fatalf("%s: State of a failed socket: %v, want unknown socket", transport, err)
		}
	}
	ce, err := n.ConnectErr("b", url, map[string]any{"reconnection": false})
	if err != nil || ce.Message != "xhr poll error" {
		t.Fatalf("ConnectErr = %v, %v", ce, err)
	}
}

func TestNodeConnectTimesOutOnASilentServer(t *testing.T) {
	// The kernel accepts connections on the listener's backlog, but nothing answers.
	ln := Listen(t)
	n := StartNode(t)
	start := time.Now()
	_, err := n.Connect("a", "http://"+ln.Addr().String()+"/org/1", map[string]any{OptWaitMs: 300})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Connect to a silent server: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeout of 300ms took %v", d)
	}
}

func TestNodeKeptSocketRetriesAndReportsIt(t *testing.T) {
	n := StartNode(t)
	opts := map[string]any{OptKeep: true, "reconnectionDelay": 20, "reconnectionDelayMax": 20}
	if _, err := n.Connect("a", closedURL(t), opts); err == nil {
		t.Fatal("connected to a closed port")
	}
	ev, err := n.WaitNotice("a", TypeConnectError, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Message != "xhr poll error" || ev.Socket != "a" {
		t.Fatalf("retry notice %v", ev)
	}
	st, err := n.State("a")
	if err != nil || st.Connected {
		t.Fatalf("State = %+v, %v; want known and not connected", st, err)
	}
	n.Close("a")
	if _, err := n.State("a"); err == nil {
		t.Fatal("State of a closed socket succeeded")
	}
	if evs := n.Events("a"); len(evs) != 0 {
		t.Fatalf("Close kept %d notifications", len(evs))
	}
}

func TestNodeConnectManyCountsErrors(t *testing.T) {
	n := StartNode(t)
	res, err := n.ConnectMany("c", 20, closedURL(t), map[string]any{"reconnection": false}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 0 || res.Hanging != 0 || res.Errors["xhr poll error"] != 20 {
		t.Fatalf("ConnectMany = %+v, want 20 xhr poll errors", res)
	}
}

func TestNodeCommandsOnUnknownSocketsFail(t *testing.T) {
	n := StartNode(t)
	if err := n.Emit("ghost", "x", 1); err == nil || !strings.Contains(err.Error(), "unknown socket") {
		t.Fatalf("Emit on unknown socket: %v", err)
	}
	if _, err := n.EmitAck("ghost", time.Second, "x"); err == nil || errors.Is(err, ErrTimeout) {
		t.Fatalf("EmitAck on unknown socket: %v, want an unknown-socket error", err)
	}
}

func TestNodeDriverSurvivesBadInput(t *testing.T) {
	n := StartNode(t)
	for _, line := range []string{"garbage", "[1,2]", "null", `{"id":"x","op":"nope"}`, `{"op":"connect"}`,
		`{"id":-1,"op":"connectMany","prefix":"p","count":"many"}`, `{"id":-2,"op":"emit","name":{"a":1}}`} {
		if _, err := n.stdin.Write([]byte(line + "\n")); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
	}
	// The driver must still answer, and in order.
	if _, err := n.State("nobody"); err == nil || !strings.Contains(err.Error(), "unknown socket") {
		t.Fatalf("State after bad input: %v", err)
	}
	// stderr is its own pipe: what the driver wrote there may be read after its answer.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(n.Stderr(), "bad JSON line ignored"); {
		if time.Now().After(deadline) {
			t.Fatalf("driver stderr does not report the bad line: %q", n.Stderr())
		}
		time.Sleep(10 * time.Millisecond) // polling a pipe's copy: nothing to await
	}
}

func TestNodeDriverDeathFailsCommandsAndWaits(t *testing.T) {
	n := StartNode(t)
	if err := n.proc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-n.proc.exited
	if _, err := n.State("a"); !errors.Is(err, ErrDriverExited) {
		t.Fatalf("State after the driver died: %v, want ErrDriverExited", err)
	}
	if _, err := n.NextEvent("a", time.Minute); !errors.Is(err, ErrDriverExited) {
		t.Fatalf("NextEvent after the driver died: %v, want ErrDriverExited", err)
	}
}

func TestBinRoundTrip(t *testing.T) {
	in := []byte{0, 1, 2, 255}
	args := wireArgs([]any{in, "s"})
	ev := Event{Type: TypeEvent, Event: "x"}
	for _, a := range args {
		raw, err := jsonRaw(a)
		if err != nil {
			t.Fatal(err)
		}
		ev.Args = append(ev.Args, raw)
	}
	out, err := DecodeBin(ev.Args[0])
	if err != nil || string(out) != string(in) {
		t.Fatalf("DecodeBin = %v, %v; want %v", out, err, in)
	}
	if _, err := DecodeBin(ev.Args[1]); err == nil {
		t.Fatal("DecodeBin accepted a string")
	}
	var s string
	if err := ev.Arg(1, &s); err != nil || s != "s" {
		t.Fatalf("Arg(1) = %q, %v", s, err)
	}
	if err := ev.Arg(2, &s); err == nil {
		t.Fatal("Arg(2) of two args succeeded")
	}
}
