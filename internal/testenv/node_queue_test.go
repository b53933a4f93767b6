package testenv

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func jsonRaw(v any) (json.RawMessage, error) { return json.Marshal(v) }

// feed hands the Node notification lines as if the driver had written them.
func feed(n *Node, lines ...string) {
	for _, l := range lines {
		n.notify([]byte(l))
	}
}

func TestWaitEventReportsWhatCameBefore(t *testing.T) {
	n := StartNode(t)
	feed(n,
		`{"type":"event","name":"b","event":"org1.changed","args":[1]}`,
		`{"type":"transport","name":"b","transport":"websocket"}`,
		`{"type":"event","name":"b","event":"org2.ping","args":[{"$bin":"AQ=="}],"ack":true}`,
		`{"type":"event","name":"b","event":"after","args":[]}`,
	)
	ev, err := n.WaitEvent("b", "org2.ping", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.AckRequested || len(ev.Skipped) != 1 || ev.Skipped[0].Event != "org1.changed" {
		t.Fatalf("WaitEvent = %v skipped %v; want org1.changed skipped (the transport notice is not an event)", ev, ev.Skipped)
	}
	if b, err := DecodeBin(ev.Args[0]); err != nil || len(b) != 1 || b[0] != 1 {
		t.Fatalf("binary arg %s: %v %v", ev.Args[0], b, err)
	}
	next, err := n.NextEvent("b", time.Second)
	if err != nil || next.Event != "after" || len(next.Skipped) != 0 {
		t.Fatalf("NextEvent = %v, %v; want after", next, err)
	}
	tr, err := n.WaitNotice("b", TypeTransport, time.Second)
	if err != nil || tr.Transport != "websocket" {
		t.Fatalf("WaitNotice transport = %v, %v", tr, err)
	}
	if all := n.Events("b"); len(all) != 4 || all[0].Seq >= all[3].Seq {
		t.Fatalf("Events kept %v, want all 4 in order", all)
	}
}

func TestWaitEventTimeoutSaysWhatArrivedAndConsumesNothing(t *testing.T) {
	n := StartNode(t)
	feed(n, `{"type":"event","name":"a","event":"other","args":["x"]}`,
		`{"type":"disconnect","name":"a","reason":"io server disconnect"}`)
	_, err := n.WaitEvent("a", "wanted", 50*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	for _, part := range []string{`socket "a"`, `event "wanted"`, `event "other" ["x"]`, "disconnect (io server disconnect)"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %s", err, part)
		}
	}
	if ev, err := n.NextEvent("a", time.Second); err != nil || ev.Event != "other" {
		t.Fatalf("a timed-out wait consumed the queue: %v, %v", ev, err)
	}
	if ev, err := n.WaitDisconnect("a", time.Second); err != nil || ev.Reason != "io server disconnect" {
		t.Fatalf("WaitDisconnect = %v, %v", ev, err)
	}
}
