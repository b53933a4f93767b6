package namespaces

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type ackResult struct {
	args []any
	err  error
}

// emitWithAck runs sock.EmitWithAck in the background.
func emitWithAck(ctx context.Context, sock *Socket, event string, args ...any) <-chan ackResult {
	out := make(chan ackResult, 1)
	go func() {
		res, err := sock.EmitWithAck(ctx, event, args...)
		out <- ackResult{res, err}
	}()
	return out
}

// TestEmitWithAckServerToClient: the server's ack ids, the answer, a timeout, a late answer
// that is ignored, and a disconnect while waiting.
func TestEmitWithAckServerToClient(t *testing.T) {
	socks := newSockets()
	s := startSIO(t, Handler{Match: orgs, OnConnect: socks.onConnect})
	c := s.dial()
	c.connect("/org/1", "")
	sock := socks.next(t)

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	res := emitWithAck(ctx, sock, "q", 1)
	c.expect(`2/org/1,0["q",1]`)
	c.sio(`3/org/1,0["a",2]`)
	r := recv(t, res, "the ack")
	if r.err != nil || !reflect.DeepEqual(r.args, []any{"a", json.Number("2")}) {
		t.Fatalf("ack %v %v, want [a 2]", r.args, r.err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	res = emitWithAck(short, sock, "q", 2)
	c.expect(`2/org/1,1["q",2]`)
	r = recv(t, res, "the timeout")
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("unanswered ack: %v, want DeadlineExceeded", r.err)
	}
	c.sio(`3/org/1,1["late"]`) // must be ignored
	c.sio(`3/org/1,42["unknown id"]`)

	res = emitWithAck(ctx, sock, "q", 3)
	c.expect(`2/org/1,2["q",3]`)
	c.sio(`3/org/1,2["third"]`)
	if r := recv(t, res, "the third ack"); r.err != nil || !reflect.DeepEqual(r.args, []any{"third"}) {
		t.Fatalf("third ack %v %v", r.args, r.err)
	}

	res = emitWithAck(ctx, sock, "q", 4)
	c.expect(`2/org/1,3["q",4]`)
	c.sio("1/org/1,")
	if r := recv(t, res, "the disconnect"); !errors.Is(r.err, ErrDisconnected) {
		t.Fatalf("ack after disconnect: %v, want ErrDisconnected", r.err)
	}
	if _, err := sock.EmitWithAck(ctx, "q"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("EmitWithAck on a gone socket: %v", err)
	}
}

// TestAckClientToServer: the client's ack id is answered once, even if the handler calls
// ack twice.
func TestAckClientToServer(t *testing.T) {
	s := startSIO(t, Handler{
		Match: orgs,
		OnEvent: func(_ *Socket, event string, args []any, ack func(...any)) {
			if ack != nil {
				ack(append([]any{"ok"}, args...)...)
				ack("twice")
			}
		},
	})
	c := s.dial()
	c.connect("/org/1", "")
	c.sio(`2/org/1,7["ask",3,{"k":[true]}]`)
	c.expect(`3/org/1,7["ok",3,{"k":[true]}]`)
	c.sio(`2/org/1,8["ask"]`)
	c.expect(`3/org/1,8["ok"]`) // not a second answer to 7
}

// TestBinaryRoundTrip: BINARY_EVENT and BINARY_ACK both ways, attachments restored in place.
func TestBinaryRoundTrip(t *testing.T) {
	socks := newSockets()
	got := make(chan []any, 1)
	s := startSIO(t, Handler{
		Match:     orgs,
		OnConnect: socks.onConnect,
		OnEvent: func(_ *Socket, _ string, args []any, ack func(...any)) {
			got <- args
			ack([]byte{4, 5}, "x", map[string]any{"nested": []byte{6}})
		},
	})
	c := s.dial()
	c.connect("/org/1", "")
	sock := socks.next(t)

	c.sio(`51-/org/1,9["bin",{"_placeholder":true,"num":0},"plain"]`)
	c.sendBinary([]byte{1, 2, 3})
	if args := recv(t, got, "the binary event"); !reflect.DeepEqual(args, []any{[]byte{1, 2, 3}, "plain"}) {
		t.Fatalf("handler got %v", args)
	}
	c.expect(`62-/org/1,9[{"_placeholder":true,"num":0},"x",{"nested":{"_placeholder":true,"num":1}}]`)
	c.expectBinary([]byte{4, 5})
	c.expectBinary([]byte{6})

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	res := emitWithAck(ctx, sock, "b", []byte{7})
	c.expect(`51-/org/1,0["b",{"_placeholder":true,"num":0}]`)
	c.expectBinary([]byte{7})
	c.sio(`61-/org/1,0[{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{8, 9})
	if r := recv(t, res, "the binary ack"); r.err != nil || !reflect.DeepEqual(r.args, []any{[]byte{8, 9}}) {
		t.Fatalf("binary ack %v %v", r.args, r.err)
	}
}

// TestHostileBinaryPacketsCloseConnection: attachment bookkeeping is driven by the client,
// so every inconsistency must end the connection rather than confuse or grow the server.
func TestHostileBinaryPacketsCloseConnection(t *testing.T) {
	for name, send := range map[string]func(c *tclient){
		// A placeholder pointing past the attachments would index out of range.
		"placeholder out of range": func(c *tclient) {
			c.sio(`51-/org/1,["bin",{"_placeholder":true,"num":5}]`)
			c.sendBinary([]byte{1})
		},
		// Announcing huge attachment counts would make the server wait for and hold them.
		"too many attachments": func(c *tclient) { c.sio(`5257-/org/1,["bin"]`) },
		// An attachment nobody announced cannot be attributed to any packet.
		"unannounced attachment": func(c *tclient) { c.sendBinary([]byte{1}) },
		// Interleaving text would let packets mix their attachments.
		"text before attachments": func(c *tclient) {
			c.sio(`51-/org/1,["bin",{"_placeholder":true,"num":0}]`)
			c.sio(`2/org/1,["e"]`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			handled := make(chan []any, 4)
			s := startSIO(t, Handler{
				Match:   orgs,
				OnEvent: func(_ *Socket, _ string, args []any, _ func(...any)) { handled <- args },
			})
			c := s.dial()
			c.connect("/org/1", "")
			send(c)
			c.expectClosed()
			if len(handled) != 0 {
				t.Fatalf("handled %v", <-handled)
			}
		})
	}
}
