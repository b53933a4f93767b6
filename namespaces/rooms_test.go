package namespaces

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestNamespaceLifecycle: a namespace exists exactly while admitted sockets are in it.
func TestNamespaceLifecycle(t *testing.T) {
	g := newGate()
	socks := newSockets()
	left := make(chan string, 8)
	s := startSIO(t, Handler{
		Match: orgs,
		Admit: g.admit,
		OnConnect: func(sock *Socket) {
			sock.OnDisconnect(func(reason string) { left <- reason })
			socks.onConnect(sock)
		},
	})
	if got := s.srv.Namespaces(); len(got) != 0 {
		t.Fatalf("fresh server has namespaces %v", got)
	}
	a, b := s.dial(), s.dial()
	a.sio("0/org/slow,")
	recv(t, g.entered, "admission")
	if s.srv.Namespace("/org/slow") != nil {
		t.Fatal("namespace created before admission")
	}
	close(g.release)
	a.connected("/org/slow")
	socks.next(t)
	b.connect("/org/slow", "")
	socks.next(t)
	if ns := s.srv.Namespace("/org/slow"); ns == nil || ns.Len() != 2 {
		t.Fatalf("namespace after two admissions: %v", ns)
	}
	a.sio("1/org/slow,")
	if r := recv(t, left, "a's disconnect"); r != "client namespace disconnect" {
		t.Fatalf("reason %q", r)
	}
	if ns := s.srv.Namespace("/org/slow"); ns == nil || ns.Len() != 1 {
		t.Fatalf("namespace after one left: %v", ns)
	}
	_ = b.ws.NetConn().Close()
	recv(t, left, "b's disconnect")
	if ns := s.srv.Namespace("/org/slow"); ns != nil {
		t.Fatalf("empty namespace kept with %d sockets", ns.Len())
	}
	if got := s.srv.Namespaces(); len(got) != 0 {
		t.Fatalf("namespaces %v remain", got)
	}
}

// TestDeliverToUnjoinedNamespaceCreatesNothing: broadcasting to a namespace nobody joined
// (any org ID an event names) must not allocate a namespace per name.
func TestDeliverToUnjoinedNamespaceCreatesNothing(t *testing.T) {
	s := startSIO(t, Handler{Match: orgs})
	for i := 0; i < 100; i++ {
		if n := s.srv.DeliverLocal(&Broadcast{Nsp: fmt.Sprint("/org/", i), Event: "e"}); n != 0 {
			t.Fatalf("delivered to %d sockets", n)
		}
		if err := s.srv.Emit(fmt.Sprint("/org/x", i), "e"); err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
	if got := s.srv.Namespaces(); len(got) != 0 {
		t.Fatalf("broadcasts created namespaces %v", got)
	}
}

// events reads event packets of nsp until the marker event and returns their names.
func events(t *testing.T, c *tclient, nsp string) []string {
	t.Helper()
	var out []string
	for i := 0; i < 100; i++ {
		p := c.nextText()
		prefix := "2" + nsp + ",[\""
		if !strings.HasPrefix(p, prefix) {
			t.Fatalf("packet %q, want an event of %s", p, nsp)
		}
		name, _, _ := strings.Cut(p[len(prefix):], "\"")
		if name == "marker" {
			return out
		}
		out = append(out, name)
	}
	t.Fatal("no marker")
	return nil
}

// TestRoomsExceptAndSocketTargeting: rooms select, except removes, a socket ID is a room of
// its own, and a socket in several selected rooms gets a broadcast once.
func TestRoomsExceptAndSocketTargeting(t *testing.T) {
	socks := newSockets()
	s := startSIO(t, Handler{Match: orgs, OnConnect: socks.onConnect})
	clients := map[string]*tclient{}
	sock := map[string]*Socket{}
	for _, name := range []string{"A", "B", "C"} {
		clients[name] = s.dial()
		clients[name].connect("/org/1", "")
		sock[name] = socks.next(t)
	}
	sock["A"].Join("x")
	sock["B"].Join("x")
	sock["B"].Join("y")
	if r := sock["B"].Rooms(); !slices.Equal(slices.Sorted(slices.Values(r)), []string{"x", "y"}) {
		t.Fatalf("B's rooms %v", r)
	}

	want := map[string][]string{}
	send := func(event string, rooms, except []string, to ...string) {
		t.Helper()
		n := s.srv.DeliverLocal(&Broadcast{Nsp: "/org/1", Event: event, Rooms: rooms, Except: except})
		if n != len(to) {
			t.Errorf("%s reached %d sockets, want %d", event, n, len(to))
		}
		for _, name := range to {
			want[name] = append(want[name], event)
		}
	}
	send("rooms-x", []string{"x"}, nil, "A", "B")
	send("x-except-y", []string{"x"}, []string{"y"}, "A")
	send("to-C-by-id", []string{sock["C"].ID()}, nil, "C")
	send("except-A-by-id", nil, []string{sock["A"].ID()}, "B", "C")
	send("x-or-y-once", []string{"x", "y"}, nil, "A", "B")
	send("nobody", []string{"empty-room"}, nil)
	sock["B"].Leave("x")
	send("x-after-leave", []string{"x"}, nil, "A")
	s.srv.DeliverLocal(&Broadcast{Nsp: "/org/1", Event: "marker"})

	for _, name := range []string{"A", "B", "C"} {
		if got := events(t, clients[name], "/org/1"); !slices.Equal(got, want[name]) {
			t.Errorf("%s got %v, want %v", name, got, want[name])
		}
	}
}

// TestBroadcastStaysInItsNamespace: per-org isolation. A broadcast to /org/1 never reaches a
// socket of /org/2, even on the same connection and in a room of the same name; and a
// client cannot talk to a namespace it has not joined.
func TestBroadcastStaysInItsNamespace(t *testing.T) {
	socks := newSockets()
	seen := make(chan string, 16)
	s := startSIO(t, Handler{
		Match: orgs,
		Admit: func(_ context.Context, req *ConnectRequest) (any, error) {
			if req.Namespace == "/org/3" {
				return nil, &ConnectError{Message: "forbidden"}
			}
			return nil, nil
		},
		OnConnect: socks.onConnect,
		OnEvent: func(sock *Socket, event string, _ []any, _ func(...any)) {
			seen <- sock.Namespace() + " " + event
		},
	})
	both := s.dial()
	both.connect("/org/1", "")
	s1 := socks.next(t)
	both.connect("/org/2", "")
	s2 := socks.next(t)
	s1.Join("staff")
	s2.Join("staff")

	s.srv.DeliverLocal(&Broadcast{Nsp: "/org/2", Event: "for-org-2", Rooms: []string{"staff"}})
	s.srv.DeliverLocal(&Broadcast{Nsp: "/org/1", Event: "for-org-1", Rooms: []string{s2.ID()}})
	s.srv.DeliverLocal(&Broadcast{Nsp: "/org/1", Event: "marker"})
	both.expect(`2/org/2,["for-org-2"]`)
	both.expect(`2/org/1,["marker"]`) // for-org-1 named a socket of /org/2: nobody

	// Events to namespaces the client did not join (or was refused) are dropped.
	both.sio("0/org/3,")
	both.expect(`4/org/3,{"message":"forbidden"}`)
	both.sio(`2/org/3,["sneak"]`)
	both.sio(`2/org/4,["sneak"]`)
	both.sio(`2/org/2,["legit"]`)
	if got := recv(t, seen, "an event"); got != "/org/2 legit" {
		t.Fatalf("handled %q first", got)
	}
}
