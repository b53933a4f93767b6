package namespaces

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// gate is an admission hook for "/org/slow" that blocks until released; other namespaces
// are admitted at once.
type gate struct {
	entered  chan string // the namespace whose admission started
	release  chan struct{}
	canceled chan error // the hook's ctx ended before release
}

func newGate() *gate {
	return &gate{entered: make(chan string, 16), release: make(chan struct{}), canceled: make(chan error, 16)}
}

func (g *gate) admit(ctx context.Context, req *ConnectRequest) (any, error) {
	if req.Namespace != "/org/slow" {
		return nil, nil
	}
	g.entered <- req.Namespace
	select {
	case <-g.release:
		return "admitted", nil
	case <-ctx.Done():
		g.canceled <- ctx.Err()
		return nil, ctx.Err()
	}
}

// TestSlowAdmissionBlocksNobodyElse: an admission hook waiting on the upstream holds up
// neither another connection's admission nor the same connection's other namespaces.
func TestSlowAdmissionBlocksNobodyElse(t *testing.T) {
	g := newGate()
	socks := newSockets()
	s := startSIO(t, Handler{Match: orgs, Admit: g.admit, OnConnect: socks.onConnect})

	a := s.dial()
	a.sio("0/org/slow,")
	recv(t, g.entered, "the slow admission")
	a.connect("/org/fast", "")         // same connection, other namespace
	s.dial().connect("/org/fast", "")  // another connection
	s.dial().connect("/org/other", "") // and another namespace
	for i := 0; i < 3; i++ {
		if sock := socks.next(t); sock.Namespace() == "/org/slow" {
			t.Fatal("the slow socket was admitted before its hook answered")
		}
	}
	if s.srv.Namespace("/org/slow") != nil {
		t.Fatal("namespace exists before its first admission finished")
	}
	close(g.release)
	a.connected("/org/slow")
	if sock := socks.next(t); sock.Namespace() != "/org/slow" || sock.Data() != "admitted" {
		t.Fatalf("admitted %s with data %v", sock.Namespace(), sock.Data())
	}
	if ns := s.srv.Namespace("/org/slow"); ns == nil || ns.Len() != 1 {
		t.Fatalf("after admission: namespace %v", ns)
	}
}

// TestPacketsDuringAdmissionDeliveredInOrder: what a client sends right after CONNECT, before
// the hook answers, is handled after admission, in order, with handlers set in OnConnect.
func TestPacketsDuringAdmissionDeliveredInOrder(t *testing.T) {
	g := newGate()
	got := make(chan string, 64)
	s := startSIO(t, Handler{
		Match: orgs,
		Admit: g.admit,
		OnConnect: func(sock *Socket) {
			sock.On("e", func(_ *Socket, args []any, ack func(...any)) {
				got <- fmt.Sprint(args...)
				if ack != nil {
					ack("ok", args[0])
				}
			})
		},
	})
	c := s.dial()
	c.sio("0/org/slow,")
	recv(t, g.entered, "the slow admission")
	for i := 0; i < 20; i++ {
		if i == 7 {
			c.sio(fmt.Sprintf(`2/org/slow,99["e",%d]`, i)) // one asks for an ack
			continue
		}
		c.sio(fmt.Sprintf(`2/org/slow,["e",%d]`, i))
	}
	// The reader handles a connection's packets in order: once this CONNECT is answered, the
	// 20 events above have been received and are waiting for the admission.
	c.connect("/org/probe", "")
	if len(got) != 0 {
		t.Fatalf("%d events handled before admission", len(got))
	}
	close(g.release)
	c.connected("/org/slow")
	c.expect(`3/org/slow,99["ok",7]`)
	for i := 0; i < 20; i++ {
		if v := recv(t, got, "an event"); v != fmt.Sprint(i) {
			t.Fatalf("event %d handled as %q: out of order", i, v)
		}
	}
}

// TestFloodDuringAdmissionClosesConnection: a client must not make the server buffer without
// bound while its admission waits on the upstream.
func TestFloodDuringAdmissionClosesConnection(t *testing.T) {
	g := newGate()
	s := startSIO(t, Handler{Match: orgs, Admit: g.admit})
	c := s.dial()
	c.sio("0/org/slow,")
	recv(t, g.entered, "the slow admission")
	for i := 0; i <= maxPendingPackets; i++ {
		c.sio(`2/org/slow,["e"]`)
	}
	c.expectClosed()
	if err := recv(t, g.canceled, "the hook's cancellation"); !errors.Is(err, context.Canceled) {
		t.Fatalf("hook ctx ended with %v, want context.Canceled", err)
	}
	eventually(t, "the admission goroutine ends", noAdmissionRunning)
	if s.srv.Namespace("/org/slow") != nil {
		t.Fatal("a socket joined after its connection was closed")
	}
}

// TestAdmissionRefusedSendsConnectError: a refusal reaches the client as CONNECT_ERROR with
// the message and ConnectError.Data; no namespace is created; the connection stays usable.
func TestAdmissionRefusedSendsConnectError(t *testing.T) {
	s := startSIO(t, Handler{
		Match: orgs,
		Admit: func(_ context.Context, req *ConnectRequest) (any, error) {
			switch req.Namespace {
			case "/org/1":
				return nil, &ConnectError{Message: "forbidden", Data: map[string]any{"org": "1"}}
			case "/org/2":
				return nil, fmt.Errorf("membership check: %w", errors.New("unauthorized"))
			}
			return nil, nil
		},
	})
	c := s.dial()
	c.sio("0/org/1,")
	c.expect(`4/org/1,{"data":{"org":"1"},"message":"forbidden"}`)
	c.sio("0/org/2,")
	c.expect(`4/org/2,{"message":"membership check: unauthorized"}`)
	if s.srv.Namespace("/org/1") != nil || s.srv.Namespace("/org/2") != nil {
		t.Fatal("a refused admission created a namespace")
	}
	// A refused namespace keeps no state: events to it are ignored and a retry is vetted again.
	c.sio(`2/org/1,["sneak"]`)
	c.sio("0/org/1,")
	c.expect(`4/org/1,{"data":{"org":"1"},"message":"forbidden"}`)
	c.connect("/org/3", "")
}

// TestDisconnectDuringAdmissionLeavesNoSocket: a client that goes away while its admission
// runs cancels the hook's ctx and leaves nothing behind, even when the hook admits anyway.
func TestDisconnectDuringAdmissionLeavesNoSocket(t *testing.T) {
	for _, ignoreCtx := range []bool{false, true} {
		t.Run(fmt.Sprintf("hookIgnoresCtx=%v", ignoreCtx), func(t *testing.T) {
			entered := make(chan struct{}, 1)
			ended := make(chan error, 1)
			connected := make(chan *Socket, 1)
			s := startSIO(t, Handler{
				Match: orgs,
				Admit: func(ctx context.Context, _ *ConnectRequest) (any, error) {
					entered <- struct{}{}
					<-ctx.Done()
					ended <- ctx.Err()
					if ignoreCtx {
						return "admitted anyway", nil
					}
					return nil, ctx.Err()
				},
				OnConnect: func(sock *Socket) { connected <- sock },
			})
			c := s.dial()
			c.sio("0/org/1,")
			recv(t, entered, "the admission")
			_ = c.ws.NetConn().Close()
			if err := recv(t, ended, "the hook's ctx to end"); !errors.Is(err, context.Canceled) {
				t.Fatalf("hook ctx ended with %v, want context.Canceled (client gone)", err)
			}
			eventually(t, "the admission goroutine ends", noAdmissionRunning)
			if ns := s.srv.Namespace("/org/1"); ns != nil {
				t.Fatalf("namespace /org/1 has %d sockets of a gone client", ns.Len())
			}
			select {
			case sock := <-connected:
				t.Fatalf("OnConnect ran for socket %s of a gone client", sock.ID())
			default:
			}
			eventually(t, "the session is gone", func() bool { return s.srv.Engine().Count() == 0 })
		})
	}
}
