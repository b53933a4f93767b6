package namespaces

import (
	"fmt"
	"slices"
	"testing"
)

// TestObserverSeesLifecycleOnce: an installed Observer hears of a socket's connect, each
// room it newly joins or leaves (a second Join of the same room is no change), the events
// it sends and gets, and its disconnect; Sockets and SocketsIn list what is live.
func TestObserverSeesLifecycleOnce(t *testing.T) {
	socks := newSockets()
	s := startSIO(t, Handler{Match: orgs, OnConnect: socks.onConnect})
	notes := make(chan string, 64)
	s.srv.SetObserver(&Observer{
		Connected:    func(sock *Socket) { notes <- "connected" },
		Disconnected: func(sock *Socket, reason string) { notes <- "disconnected " + reason },
		Joined:       func(sock *Socket, room string) { notes <- "joined " + room },
		Left:         func(sock *Socket, room string) { notes <- "left " + room },
		Received:     func(sock *Socket, event string, args []any) { notes <- fmt.Sprint("received ", event, args) },
		Sent:         func(sock *Socket, event string, args []any) { notes <- fmt.Sprint("sent ", event, args) },
	})
	c := s.dial()
	id := c.connect("/org/1", "")
	sock := socks.next(t)
	if got := recv(t, notes, "connected"); got != "connected" {
		t.Fatalf("first note %q", got)
	}
	sock.Join("a")
	sock.Join("a")
	sock.Join("b")
	if got := s.srv.Sockets(); len(got) != 1 || got[0] != sock {
		t.Fatalf("Sockets() = %v", got)
	}
	ns := s.srv.Namespace("/org/1")
	if got := ns.SocketsIn("b"); len(got) != 1 || got[0].ID() != id {
		t.Fatalf("SocketsIn(b) = %v", got)
	}
	if got := ns.SocketsIn("nobody"); len(got) != 0 {
		t.Fatalf("SocketsIn(nobody) = %v", got)
	}
	sock.Leave("a")
	sock.Leave("a")
	if err := s.srv.Emit("/org/1", "ping", "x"); err != nil {
		t.Fatal(err)
	}
	c.expect(`2/org/1,["ping","x"]`)
	c.sio(`2/org/1,["pong",1]`)
	c.sio("1/org/1,")
	var got []string
	for len(got) == 0 || !slices.Contains(got, "disconnected client namespace disconnect") {
		got = append(got, recv(t, notes, "the notes up to the disconnect"))
	}
	want := []string{"joined a", "joined b", "left a", "sent ping[x]", "received pong[1]", "disconnected client namespace disconnect"}
	if !slices.Equal(got, want) {
		t.Fatalf("notes %q, want %q", got, want)
	}
}
