package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/syncgate/syncgate/internal/testenv"
	"github.com/syncgate/syncgate/namespaces"
)

// TestNodeSingleTransport: the official client pinned to one transport connects, stays on
// it, and events flow both ways, a namespace broadcast included.
func TestNodeSingleTransport(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			res := connect(t, node, tr, ts.orgURL("1"), only(tr, nil))
			if res.Transport != tr {
				t.Fatalf("connected over %q, want %q", res.Transport, tr)
			}
			if got := ts.socket(t, res.Sid).Transport(); got != tr {
				t.Fatalf("server sees transport %q, want %q", got, tr)
			}

			if err := node.Emit(tr, "echo", "hello", 1, map[string]any{"k": "v"}); err != nil {
				t.Fatal(err)
			}
			ev := waitEvent(t, node, tr, "echo")
			assertJSON(t, "echo args", ev.Args, []any{"hello", 1, map[string]any{"k": "v"}})

			payload := map[string]any{"viewId": 2, "personId": 3}
			if err := ts.server().Emit("/org/1", "personview.addrow", payload); err != nil {
				t.Fatal(err)
			}
			ev = waitEvent(t, node, tr, "personview.addrow")
			assertJSON(t, "broadcast args", ev.Args, []any{payload})

			st, err := node.State(tr)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Connected || st.Transport != tr {
				t.Fatalf("client state %+v, want connected over %s", st, tr)
			}
			node.Close(tr)
			if reason := ts.gone(t, res.Sid); reason != "client namespace disconnect" {
				t.Fatalf("server saw disconnect %q, want %q", reason, "client namespace disconnect")
			}
		})
	}
}

// TestNodeAckClientToServer: socket.timeout().emit(..., cb) gets the server's ack arguments.
func TestNodeAckClientToServer(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			res := connect(t, node, tr, ts.orgURL("1"), only(tr, nil))
			ack, err := node.EmitAck(tr, 0, "echo", "hello", 42, map[string]any{"k": []any{1, "two"}})
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, "echo ack", ack, []any{"hello", 42, map[string]any{"k": []any{1, "two"}}})

			ack, err = node.EmitAck(tr, 0, "whoami")
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, "whoami ack", ack, []any{"/org/1", res.Sid})
			node.Close(tr)
		})
	}
}

// TestNodeAckServerToClient: Socket.EmitWithAck gets the client's answer; concurrent
// requests get their own answers (ack IDs are not mixed up).
func TestNodeAckServerToClient(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			const n = 5
			events := make([]string, n)
			for i := range events {
				events[i] = "question" + string(rune('a'+i))
				node.OnAck(tr, events[i], "answer", i)
			}
			res := connect(t, node, tr, ts.orgURL("1"), only(tr, nil))
			sock := ts.socket(t, res.Sid)

			answers := make([][]any, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range events {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
					defer cancel()
					answers[i], errs[i] = sock.EmitWithAck(ctx, events[i], "q", i)
				}()
			}
			wg.Wait()
			for i := range events {
				if errs[i] != nil {
					t.Fatalf("%s: %v", events[i], errs[i])
				}
				assertJSON(t, events[i]+" answer", answers[i], []any{"answer", i})
			}
			for range events {
				ev, err := node.NextEvent(tr, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !ev.AckRequested {
					t.Fatalf("client saw %v without an ack request", ev)
				}
			}
			node.Close(tr)
		})
	}
}

// TestNodeBinaryBothWays: Buffers travel both ways, at the top level and nested in objects
// and arrays, in events and in acks.
func TestNodeBinaryBothWays(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	b1, b2, b3 := []byte{0, 1, 2, 255}, []byte("nested\x00file"), bytes.Repeat([]byte{0xAB}, 70000)
	for _, tr := range allTransports {
		t.Run(tr, func(t *testing.T) {
			node.OnAck(tr, "give", []byte{7, 7}, map[string]any{"b": testenv.Bin([]byte{8, 8})})
			res := connect(t, node, tr, ts.orgURL("1"), only(tr, nil))
			sock := ts.socket(t, res.Sid)

			// Client to server, answered by an ack that carries the same Buffers back.
			obj := map[string]any{"file": testenv.Bin(b2), "parts": []any{"x", testenv.Bin(b3)}, "n": 5}
			ack, err := node.EmitAck(tr, 0, "echo", b1, obj)
			if err != nil {
				t.Fatal(err)
			}
			got := serverArgs(t, ts, res.Sid, "echo")
			if len(got) != 2 {
				t.Fatalf("server got %d args, want 2", len(got))
			}
			wantBytes(t, "server arg 0", got[0], b1)
			m, ok := got[1].(map[string]any)
			if !ok {
				t.Fatalf("server arg 1 is %T, want an object", got[1])
			}
			wantBytes(t, "server arg 1.file", m["file"], b2)
			parts, ok := m["parts"].([]any)
			if !ok || len(parts) != 2 {
				t.Fatalf("server arg 1.parts = %#v", m["parts"])
			}
			wantBytes(t, "server arg 1.parts[1]", parts[1], b3)
			if n, _ := m["n"].(json.Number); n != "5" {
				t.Fatalf("server arg 1.n = %#v, want 5", m["n"])
			}

			if len(ack) != 2 {
				t.Fatalf("ack has %d args, want 2", len(ack))
			}
			if b := decodeBin(t, ack[0]); !bytes.Equal(b, b1) {
				t.Fatalf("ack arg 0 = %x, want %x", b, b1)
			}
			var back struct {
				File  json.RawMessage
				Parts []json.RawMessage
				N     int
			}
			if err := json.Unmarshal(ack[1], &back); err != nil {
				t.Fatal(err)
			}
			if b := decodeBin(t, back.File); !bytes.Equal(b, b2) {
				t.Fatalf("ack file = %q, want %q", b, b2)
			}
			if len(back.Parts) != 2 || !bytes.Equal(decodeBin(t, back.Parts[1]), b3) || back.N != 5 {
				t.Fatalf("ack object = %s", ack[1])
			}

			// Server to client.
			if err := sock.Emit("blob", b1, map[string]any{"nested": map[string]any{"b": b2}, "list": []any{b3, "t"}}); err != nil {
				t.Fatal(err)
			}
			ev := waitEvent(t, node, tr, "blob")
			if len(ev.Args) != 2 || !bytes.Equal(decodeBin(t, ev.Args[0]), b1) {
				t.Fatalf("blob args = %v", ev)
			}
			var blob struct {
				Nested struct{ B json.RawMessage }
				List   []json.RawMessage
			}
			if err := json.Unmarshal(ev.Args[1], &blob); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(decodeBin(t, blob.Nested.B), b2) || len(blob.List) != 2 || !bytes.Equal(decodeBin(t, blob.List[0]), b3) {
				t.Fatalf("blob object = %s", ev.Args[1])
			}

			// A binary ack from the client.
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			ans, err := sock.EmitWithAck(ctx, "give")
			if err != nil {
				t.Fatal(err)
			}
			if len(ans) != 2 {
				t.Fatalf("client's ack = %#v, want 2 args", ans)
			}
			wantBytes(t, "client ack 0", ans[0], []byte{7, 7})
			am, _ := ans[1].(map[string]any)
			wantBytes(t, "client ack 1.b", am["b"], []byte{8, 8})
			node.Close(tr)
		})
	}
}

// TestNodeRoomBroadcastReachesOnlyMembers: a broadcast to a room reaches its members only,
// and Except leaves them out.
func TestNodeRoomBroadcastReachesOnlyMembers(t *testing.T) {
	ts := startServer(t, serverConfig{})
	node := testenv.StartNode(t)
	connect(t, node, "member", ts.orgURL("1"), only("websocket", nil))
	connect(t, node, "other", ts.orgURL("1"), only("polling", nil))
	ack, err := node.EmitAck("member", 0, "join", "view:2")
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, "join ack", ack, []any{"view:2"})

	srv := ts.server()
	send := func(b *namespaces.Broadcast) {
		t.Helper()
		if err := srv.Broadcast(b); err != nil {
			t.Fatal(err)
		}
	}
	send(&namespaces.Broadcast{Nsp: "/org/1", Rooms: []string{"view:2"}, Event: "room.only", Args: []any{1}})
	send(&namespaces.Broadcast{Nsp: "/org/1", Except: []string{"view:2"}, Event: "not.room", Args: []any{2}})
	send(&namespaces.Broadcast{Nsp: "/org/1", Event: "all", Args: []any{3}})

	// waitEvent fails on anything received before the awaited event: "member" must not have
	// got not.room, "other" must not have got room.only.
	waitEvent(t, node, "member", "room.only")
	waitEvent(t, node, "member", "all")
	waitEvent(t, node, "other", "not.room")
	waitEvent(t, node, "other", "all")
}

// serverArgs waits until socket sid has received event and returns its arguments.
func serverArgs(t *testing.T, ts *testServer, sid, event string) []any {
	t.Helper()
	var args []any
	ts.reg.wait(t, "event "+event+" on socket "+sid, func(r *registry) bool {
		for _, e := range r.events {
			if e.Socket == sid && e.Event == event {
				args = e.Args
				return true
			}
		}
		return false
	})
	return args
}

func wantBytes(t *testing.T, what string, got any, want []byte) {
	t.Helper()
	b, ok := got.([]byte)
	if !ok {
		t.Fatalf("%s is %T, want []byte", what, got)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("%s = %d bytes %.20x, want %d bytes %.20x", what, len(b), b, len(want), want)
	}
}
